//  test_sipd_dialplan — unit tests for number analysis: extensions,
//  trunk prefix, no trunk, no route, trunk source detection, bad input.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_dialplan.h"

#include <string.h>

static zhashx_t *
s_extensions (void)
{
    zhashx_t *map = zhashx_new ();
    zhashx_insert (map, "100", "secret100");
    zhashx_insert (map, "101", "secret101");
    zhashx_insert (map, "9001", "x");   //  an extension that starts with 9
    return map;
}

static void
test_extension (void **state)
{
    (void) state;
    zhashx_t *ext = s_extensions ();
    sipd_dialplan_t *plan = sipd_dialplan_new (ext, "9", "127.0.0.1:5070");
    zhashx_destroy (&ext);      //  the plan copied the keys
    assert_non_null (plan);
    sipd_route_t route;
    assert_int_equal (sipd_dialplan_route (plan, "101", false, &route),
                      SIPD_ROUTE_EXTENSION);
    assert_int_equal (route.kind, SIPD_ROUTE_EXTENSION);
    assert_int_equal (route.direction, SIPD_DIR_INTERNAL);
    assert_string_equal (route.number, "101");
    //  An extension wins over the prefix.
    assert_int_equal (sipd_dialplan_route (plan, "9001", false, &route),
                      SIPD_ROUTE_EXTENSION);
    assert_string_equal (route.number, "9001");
    //  From the trunk: inbound.
    assert_int_equal (sipd_dialplan_route (plan, "100", true, &route),
                      SIPD_ROUTE_EXTENSION);
    assert_int_equal (route.direction, SIPD_DIR_INBOUND);
    assert_true (sipd_dialplan_is_extension (plan, "100"));
    assert_false (sipd_dialplan_is_extension (plan, "102"));
    assert_false (sipd_dialplan_is_extension (plan, NULL));
    sipd_dialplan_destroy (&plan);
    assert_null (plan);
    sipd_dialplan_destroy (&plan);      //  idempotent
}

static void
test_trunk_prefix (void **state)
{
    (void) state;
    zhashx_t *ext = s_extensions ();
    sipd_dialplan_t *plan = sipd_dialplan_new (ext, "9", "127.0.0.1:5070");
    sipd_route_t route;
    assert_int_equal (sipd_dialplan_route (plan, "90049301234", false,
                                           &route),
                      SIPD_ROUTE_TRUNK);
    assert_int_equal (route.direction, SIPD_DIR_OUTBOUND);
    assert_string_equal (route.number, "0049301234");
    assert_int_equal (sipd_dialplan_route (plan, "9+4930", false, &route),
                      SIPD_ROUTE_TRUNK);
    assert_string_equal (route.number, "+4930");
    //  The prefix alone, or letters after it: no route.
    assert_int_equal (sipd_dialplan_route (plan, "9", false, &route),
                      SIPD_ROUTE_NONE);
    assert_int_equal (sipd_dialplan_route (plan, "9abc", false, &route),
                      SIPD_ROUTE_NONE);
    assert_int_equal (sipd_dialplan_route (plan, "912+3", false, &route),
                      SIPD_ROUTE_NONE);
    //  From the trunk back to the trunk: refused.
    assert_int_equal (sipd_dialplan_route (plan, "9123", true, &route),
                      SIPD_ROUTE_NONE);
    assert_true (sipd_dialplan_has_trunk (plan));
    assert_string_equal (sipd_dialplan_trunk_ip (plan), "127.0.0.1");
    assert_int_equal (sipd_dialplan_trunk_port (plan), 5070);
    sipd_dialplan_destroy (&plan);
    zhashx_destroy (&ext);
}

static void
test_longer_prefix (void **state)
{
    (void) state;
    zhashx_t *ext = s_extensions ();
    sipd_dialplan_t *plan = sipd_dialplan_new (ext, "00", "[::1]:5070");
    assert_non_null (plan);
    sipd_route_t route;
    assert_int_equal (sipd_dialplan_route (plan, "00123", false, &route),
                      SIPD_ROUTE_TRUNK);
    assert_string_equal (route.number, "123");
    assert_int_equal (sipd_dialplan_route (plan, "0123", false, &route),
                      SIPD_ROUTE_NONE);
    assert_true (sipd_dialplan_is_trunk_source (plan, "::1", 5070));
    assert_true (sipd_dialplan_is_trunk_source (plan, "0:0::1", 5070));
    assert_false (sipd_dialplan_is_trunk_source (plan, "127.0.0.1", 5070));
    sipd_dialplan_destroy (&plan);
    zhashx_destroy (&ext);
}

static void
test_no_trunk (void **state)
{
    (void) state;
    zhashx_t *ext = s_extensions ();
    sipd_dialplan_t *plan = sipd_dialplan_new (ext, "9", "");
    assert_non_null (plan);
    sipd_route_t route;
    assert_int_equal (sipd_dialplan_route (plan, "9123", false, &route),
                      SIPD_ROUTE_NONE);
    assert_string_equal (route.number, "9123");
    assert_false (sipd_dialplan_has_trunk (plan));
    assert_false (sipd_dialplan_is_trunk_source (plan, "127.0.0.1", 5070));
    assert_string_equal (sipd_dialplan_trunk_ip (plan), "");
    sipd_dialplan_destroy (&plan);
    //  Empty prefix: nothing reaches the trunk.
    plan = sipd_dialplan_new (ext, "", "127.0.0.1:5070");
    assert_int_equal (sipd_dialplan_route (plan, "123", false, &route),
                      SIPD_ROUTE_NONE);
    sipd_dialplan_destroy (&plan);
    zhashx_destroy (&ext);
}

static void
test_no_route_and_bad_input (void **state)
{
    (void) state;
    zhashx_t *ext = s_extensions ();
    sipd_dialplan_t *plan = sipd_dialplan_new (ext, "9", "127.0.0.1:5070");
    sipd_route_t route;
    assert_int_equal (sipd_dialplan_route (plan, "555", false, &route),
                      SIPD_ROUTE_NONE);
    assert_string_equal (route.number, "555");
    assert_int_equal (route.direction, SIPD_DIR_INTERNAL);
    assert_int_equal (sipd_dialplan_route (plan, NULL, false, &route),
                      SIPD_ROUTE_NONE);
    assert_int_equal (sipd_dialplan_route (plan, "", false, &route),
                      SIPD_ROUTE_NONE);
    //  Junk never lands in dst.
    assert_int_equal (sipd_dialplan_route (plan, "bob\r\nX: y", false,
                                           &route),
                      SIPD_ROUTE_NONE);
    assert_string_equal (route.number, "");
    char big[200];
    memset (big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal (sipd_dialplan_route (plan, big, false, &route),
                      SIPD_ROUTE_NONE);
    big[0] = '9';
    assert_int_equal (sipd_dialplan_route (plan, big, false, &route),
                      SIPD_ROUTE_NONE);
    //  NULL map works (no extensions).
    sipd_dialplan_t *empty = sipd_dialplan_new (NULL, "9", "");
    assert_int_equal (sipd_dialplan_route (empty, "100", false, &route),
                      SIPD_ROUTE_NONE);
    sipd_dialplan_destroy (&empty);
    sipd_dialplan_destroy (&plan);
    zhashx_destroy (&ext);
}

static void
test_trunk_source (void **state)
{
    (void) state;
    sipd_dialplan_t *plan = sipd_dialplan_new (NULL, "9", "127.0.0.1:5070");
    assert_true (sipd_dialplan_is_trunk_source (plan, "127.0.0.1", 5070));
    assert_false (sipd_dialplan_is_trunk_source (plan, "127.0.0.1", 5071));
    assert_false (sipd_dialplan_is_trunk_source (plan, "127.0.0.2", 5070));
    assert_false (sipd_dialplan_is_trunk_source (plan, "garbage", 5070));
    assert_false (sipd_dialplan_is_trunk_source (plan, "::1", 5070));
    assert_false (sipd_dialplan_is_trunk_source (plan, NULL, 5070));
    sipd_dialplan_destroy (&plan);
    //  localhost resolves; the default port is 5060.
    plan = sipd_dialplan_new (NULL, "9", "localhost");
    assert_non_null (plan);
    assert_int_equal (sipd_dialplan_trunk_port (plan), 5060);
    sipd_dialplan_destroy (&plan);
    //  Unparsable trunk: NULL.
    assert_null (sipd_dialplan_new (NULL, "9", "127.0.0.1:99999"));
    assert_null (sipd_dialplan_new (NULL, "9", "no-such-host.invalid:5070"));
}

static void
test_direction_name (void **state)
{
    (void) state;
    assert_string_equal (sipd_direction_name (SIPD_DIR_INTERNAL), "internal");
    assert_string_equal (sipd_direction_name (SIPD_DIR_OUTBOUND), "outbound");
    assert_string_equal (sipd_direction_name (SIPD_DIR_INBOUND), "inbound");
    assert_string_equal (sipd_direction_name (SIPD_DIR_CALLBACK), "callback");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_extension),
        cmocka_unit_test (test_trunk_prefix),
        cmocka_unit_test (test_longer_prefix),
        cmocka_unit_test (test_no_trunk),
        cmocka_unit_test (test_no_route_and_bad_input),
        cmocka_unit_test (test_trunk_source),
        cmocka_unit_test (test_direction_name),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
