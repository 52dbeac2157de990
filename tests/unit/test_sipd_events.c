//  test_sipd_events — unit tests for sipd_events: events reach
//  subscribers of their type prefix, and nothing is built or sent for
//  types nobody subscribed to (subscriptions tracked through XPUB,
//  disconnects included).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_events.h"
#include "cm_msg.h"

#define ENDPOINT "inproc://test-sipd-events"

//  Wait (bounded) until wanted (type) is expected.
static bool
s_wait_wanted (sipd_events_t *events, const char *type, bool expected)
{
    for (int i = 0; i < 200; i++) {
        if (sipd_events_wanted (events, type) == expected)
            return true;
        zclock_sleep (5);
    }
    return false;
}

static void
test_subscriptions (void **state)
{
    (void) state;
    char error[256];
    sipd_events_t *events = sipd_events_new (ENDPOINT, error, sizeof error);
    assert_non_null (events);
    //  nobody listens: dropped at once, not counted
    assert_false (sipd_events_wanted (events, "reg"));
    json_t *body = json_pack ("{s:s}", "number", "100");
    assert_int_equal (sipd_events_publish (events, "reg", &body), 0);
    assert_null (body);
    assert_int_equal (sipd_events_count (events), 0);

    zsock_t *sub = zsock_new_sub (">" ENDPOINT, "reg");
    assert_non_null (sub);
    assert_true (s_wait_wanted (events, "reg", true));
    assert_false (sipd_events_wanted (events, "ext.status"));
    body = json_pack ("{s:s}", "number", "100");
    assert_int_equal (sipd_events_publish (events, "ext.status", &body), 0);
    body = json_pack ("{s:s}", "number", "101");
    assert_int_equal (sipd_events_publish (events, "reg", &body), 0);
    assert_int_equal (sipd_events_count (events), 1);
    zpoller_t *poller = zpoller_new (sub, NULL);
    assert_non_null (zpoller_wait (poller, 2000));
    cm_msg_t *msg = cm_msg_recv (sub);
    assert_non_null (msg);
    assert_string_equal (cm_msg_type (msg), "reg");
    assert_string_equal (cm_msg_get_str (msg, "number"), "101");
    cm_msg_destroy (&msg);
    zpoller_destroy (&poller);

    //  a second subscriber to everything; the first one leaves
    zsock_t *all = zsock_new_sub (">" ENDPOINT, "");
    assert_non_null (all);
    assert_true (s_wait_wanted (events, "ext.status", true));
    zsock_destroy (&sub);
    assert_true (sipd_events_wanted (events, "reg"));   //  "" still there
    zsock_destroy (&all);
    assert_true (s_wait_wanted (events, "reg", false));
    assert_false (sipd_events_wanted (events, "ext.status"));

    //  a bad type is refused whenever it would be sent
    all = zsock_new_sub (">" ENDPOINT, "");
    assert_true (s_wait_wanted (events, "x", true));
    body = json_object ();
    assert_int_equal (sipd_events_publish (events, "bad type!", &body), -1);
    assert_null (body);
    zsock_destroy (&all);
    sipd_events_destroy (&events);
    assert_null (events);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_subscriptions),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
