//  test_sipd_location — unit tests for sipd_location: binding, update
//  ordering, removal, the contact limit, expiry, call state, status JSON,
//  events on a real PUB socket, persistence and reload.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_location.h"
#include "cm_msg.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    zhashx_t *numbers;      //  configured extensions
    char dir[64];           //  temporary spool directory
    int64_t now;            //  fake clock
} fixture_t;

static int64_t
s_clock (void *arg)
{
    return ((fixture_t *) arg)->now;
}

static int
s_setup (void **state)
{
    fixture_t *fx = (fixture_t *) calloc (1, sizeof (fixture_t));
    fx->numbers = zhashx_new ();
    zhashx_insert (fx->numbers, "100", "secret100");
    zhashx_insert (fx->numbers, "101", "secret101");
    zhashx_insert (fx->numbers, "99", "secret99");
    snprintf (fx->dir, sizeof fx->dir, "/tmp/test_sipd_location.XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    fx->now = 1800000000;
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char path[128];
    snprintf (path, sizeof path, "%s/registrations.json", fx->dir);
    (void) remove (path);   //  may not exist
    assert_int_equal (rmdir (fx->dir), 0);  //  nothing else left behind
    zhashx_destroy (&fx->numbers);
    free (fx);
    return 0;
}

static sipd_location_t *
s_location (fixture_t *fx, bool persist, sipd_events_t *events)
{
    sipd_location_t *location
        = sipd_location_new (fx->numbers, persist ? fx->dir : NULL, events);
    assert_non_null (location);
    sipd_location_set_clock (location, s_clock, fx);
    if (persist)
        sipd_location_load (location);
    return location;
}

static sipd_contact_t
s_contact (fixture_t *fx, const char *uri, const char *call_id,
           uint32_t cseq, int lifetime)
{
    sipd_contact_t contact = {.uri = uri, .call_id = call_id, .cseq = cseq,
                              .expires = fx->now + lifetime,
                              .user_agent = "TestPhone/1.0"};
    contact.source.transport = SIPD_TRANSPORT_UDP;
    snprintf (contact.source.ip, sizeof contact.source.ip, "127.0.0.1");
    contact.source.port = 5099;
    return contact;
}

static void
test_bind_lookup_unbind (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, false, NULL);
    assert_true (sipd_location_has_extension (location, "100"));
    assert_false (sipd_location_has_extension (location, "555"));
    assert_string_equal (sipd_location_state (location, "100"), "offline");
    assert_null (sipd_location_state (location, "555"));

    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:5099", "c1", 1, 60);
    sipd_contact_t b = s_contact (fx, "sip:100@127.0.0.1:6000", "c2", 1, 120);
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    assert_int_equal (sipd_location_bind (location, "100", &b), 0);
    assert_int_equal (sipd_location_bind (location, "555", &a), -1);
    sipd_contact_t bad = a;
    bad.uri = NULL;
    assert_int_equal (sipd_location_bind (location, "100", &bad), -1);
    assert_int_equal (sipd_location_size (location), 2);
    assert_string_equal (sipd_location_state (location, "100"), "idle");

    sipd_contact_t found[4];
    assert_int_equal (sipd_location_contacts (location, "100", found, 4), 2);
    //  latest expiry first
    assert_string_equal (found[0].uri, "sip:100@127.0.0.1:6000");
    assert_string_equal (found[1].uri, "sip:100@127.0.0.1:5099");
    assert_string_equal (found[1].user_agent, "TestPhone/1.0");
    assert_int_equal (found[1].source.port, 5099);
    assert_int_equal (sipd_location_contacts (location, "100", found, 1), 1);
    assert_int_equal (sipd_location_contacts (location, "101", found, 4), 0);
    assert_int_equal (sipd_location_contacts (location, "555", found, 4), 0);

    //  ordering (RFC 3261 §10.3 step 7)
    sipd_contact_t again = a;
    assert_int_equal (sipd_location_check (location, "100", &again),
                      SIPD_LOCATION_OUT_OF_ORDER);
    again.cseq = 2;
    assert_int_equal (sipd_location_check (location, "100", &again),
                      SIPD_LOCATION_UPDATE);
    again.cseq = 1;
    again.call_id = "other";
    assert_int_equal (sipd_location_check (location, "100", &again),
                      SIPD_LOCATION_UPDATE);
    sipd_contact_t fresh = s_contact (fx, "sip:x@h", "c9", 1, 60);
    assert_int_equal (sipd_location_check (location, "100", &fresh),
                      SIPD_LOCATION_NEW);

    //  update in place keeps one binding
    again.expires = fx->now + 500;
    assert_int_equal (sipd_location_bind (location, "100", &again), 0);
    assert_int_equal (sipd_location_size (location), 2);
    assert_int_equal (sipd_location_contacts (location, "100", found, 4), 2);
    assert_string_equal (found[0].uri, "sip:100@127.0.0.1:5099");
    assert_string_equal (found[0].call_id, "other");

    assert_int_equal (sipd_location_unbind (location, "100", &a), 0);
    assert_int_equal (sipd_location_unbind (location, "100", &a), -1);
    assert_int_equal (sipd_location_unbind (location, "555", &a), -1);
    assert_int_equal (sipd_location_size (location), 1);
    assert_int_equal (sipd_location_unbind (location, "100", &b), 0);
    assert_string_equal (sipd_location_state (location, "100"), "offline");
    sipd_location_destroy (&location);
    assert_null (location);
    sipd_location_destroy (&location);
}

static void
test_instance_and_limit (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, false, NULL);
    //  same instance, new contact URI (phone moved): one binding
    sipd_contact_t a = s_contact (fx, "sip:100@10.0.0.1", "c1", 1, 60);
    a.instance = "<urn:uuid:00000000-0000-0000-0000-000000000001>";
    a.reg_id = 1;
    sipd_contact_t b = a;
    b.uri = "sip:100@10.0.0.2";
    b.call_id = "c2";
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    assert_int_equal (sipd_location_bind (location, "100", &b), 0);
    sipd_contact_t found[SIPD_LOCATION_MAX_CONTACTS + 2];
    assert_int_equal (sipd_location_contacts (location, "100", found, 4), 1);
    assert_string_equal (found[0].uri, "sip:100@10.0.0.2");
    assert_string_equal (found[0].instance, a.instance);
    assert_int_equal (found[0].reg_id, 1);

    //  the limit replaces the binding that expires first
    char uris[SIPD_LOCATION_MAX_CONTACTS + 1][32];
    for (int i = 0; i < SIPD_LOCATION_MAX_CONTACTS + 1; i++) {
        snprintf (uris[i], sizeof uris[i], "sip:101@10.1.0.%d", i);
        sipd_contact_t c = s_contact (fx, uris[i], "c", 1, 100 + i);
        assert_int_equal (sipd_location_bind (location, "101", &c), 0);
    }
    int n = sipd_location_contacts (location, "101", found,
                                    SIPD_LOCATION_MAX_CONTACTS + 2);
    assert_int_equal (n, SIPD_LOCATION_MAX_CONTACTS);
    for (int i = 0; i < n; i++)
        assert_string_not_equal (found[i].uri, "sip:101@10.1.0.0");
    assert_int_equal (sipd_location_size (location),
                      SIPD_LOCATION_MAX_CONTACTS + 1);

    //  "*": removes all but those of the same Call-ID with a higher CSeq
    sipd_contact_t keep = s_contact (fx, "sip:101@10.1.0.99", "keep", 50, 60);
    assert_int_equal (sipd_location_bind (location, "101", &keep), 0);
    assert_int_equal (
        sipd_location_unbind_all (location, "101", "keep", 10), 9);
    assert_int_equal (sipd_location_contacts (location, "101", found, 4), 1);
    assert_string_equal (found[0].uri, "sip:101@10.1.0.99");
    assert_int_equal (
        sipd_location_unbind_all (location, "101", "keep", 51), 1);
    assert_int_equal (sipd_location_unbind_all (location, "555", NULL, 0),
                      0);
    assert_string_equal (sipd_location_state (location, "101"), "offline");
    sipd_location_destroy (&location);
}

static void
test_expiry_and_call_state (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, false, NULL);
    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:1", "c1", 1, 10);
    sipd_contact_t b = s_contact (fx, "sip:100@127.0.0.1:2", "c2", 1, 20);
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    assert_int_equal (sipd_location_bind (location, "100", &b), 0);
    assert_int_equal (sipd_location_tick (location), 0);
    fx->now += 10;
    //  an expired binding is no longer returned, even before the tick
    sipd_contact_t found[4];
    assert_int_equal (sipd_location_contacts (location, "100", found, 4), 1);
    assert_int_equal (sipd_location_tick (location), 1);
    assert_int_equal (sipd_location_size (location), 1);

    assert_int_equal (
        sipd_location_set_call_state (location, "100", SIPD_CALL_STATE_RINGING),
        0);
    assert_string_equal (sipd_location_state (location, "100"), "ringing");
    assert_int_equal (
        sipd_location_set_call_state (location, "100", SIPD_CALL_STATE_BUSY),
        0);
    assert_string_equal (sipd_location_state (location, "100"), "busy");
    assert_int_equal (
        sipd_location_set_call_state (location, "555", SIPD_CALL_STATE_BUSY),
        -1);
    assert_int_equal (sipd_location_set_call_state (
                          location, "100", (sipd_call_state_t) 7),
                      -1);
    fx->now += 10;
    assert_int_equal (sipd_location_tick (location), 1);
    //  still in a call although the registration ran out
    assert_string_equal (sipd_location_state (location, "100"), "busy");
    assert_int_equal (
        sipd_location_set_call_state (location, "100", SIPD_CALL_STATE_IDLE),
        0);
    assert_string_equal (sipd_location_state (location, "100"), "offline");
    sipd_location_destroy (&location);
}

static void
test_status_json (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, false, NULL);
    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:5099", "c1", 1, 60);
    a.source.transport = SIPD_TRANSPORT_TCP;
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    fx->now += 5;
    json_t *status = sipd_location_status (location, NULL, 0, 100);
    char *text = json_dumps (status, JSON_COMPACT);
    assert_string_equal (
        text,
        "{\"extensions\":["
        "{\"number\":\"99\",\"state\":\"offline\",\"contacts\":[]},"
        "{\"number\":\"100\",\"state\":\"idle\",\"contacts\":[{\"uri\":"
        "\"sip:100@127.0.0.1:5099\",\"user_agent\":\"TestPhone/1.0\","
        "\"expires_in\":55,\"transport\":\"tcp\",\"received\":"
        "\"127.0.0.1:5099\"}]},"
        "{\"number\":\"101\",\"state\":\"offline\",\"contacts\":[]}],"
        "\"total\":3,\"offset\":0}");
    free (text);
    json_decref (status);

    //  paging and single extension
    status = sipd_location_status (location, NULL, 1, 1);
    text = json_dumps (status, JSON_COMPACT);
    assert_non_null (strstr (text, "\"extensions\":[{\"number\":\"100\""));
    assert_non_null (strstr (text, "}]}],\"total\":3,\"offset\":1}"));
    free (text);
    json_decref (status);
    status = sipd_location_status (location, NULL, 7, 100);
    assert_int_equal (json_array_size (json_object_get (status, "extensions")),
                      0);
    json_decref (status);
    status = sipd_location_status (location, "101", 0, 0);
    text = json_dumps (status, JSON_COMPACT);
    assert_string_equal (text,
                         "{\"extensions\":[{\"number\":\"101\",\"state\":"
                         "\"offline\",\"contacts\":[]}],\"total\":1,"
                         "\"offset\":0}");
    free (text);
    json_decref (status);
    status = sipd_location_status (location, "555", 0, 0);
    assert_int_equal (json_integer_value (json_object_get (status, "total")),
                      0);
    json_decref (status);
    sipd_location_destroy (&location);
}

//  Receive one event with a timeout; NULL when none arrives.
static cm_msg_t *
s_event (zsock_t *sub)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    cm_msg_t *msg = NULL;
    if (zpoller_wait (poller, 2000))
        msg = cm_msg_recv (sub);
    zpoller_destroy (&poller);
    return msg;
}

static void
test_events (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char error[256];
    sipd_events_t *events
        = sipd_events_new ("inproc://test-location-events", error,
                           sizeof error);
    assert_non_null (events);
    zsock_t *sub = zsock_new_sub (">inproc://test-location-events", "");
    assert_non_null (sub);
    zclock_sleep (50);  //  let the subscription reach the PUB socket
    sipd_location_t *location = s_location (fx, false, events);
    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:5099", "c1", 1, 60);
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);

    cm_msg_t *msg = s_event (sub);
    assert_non_null (msg);
    assert_string_equal (cm_msg_type (msg), "reg");
    assert_string_equal (cm_msg_get_str (msg, "number"), "100");
    assert_string_equal (cm_msg_get_str (msg, "event"), "registered");
    assert_int_equal (cm_msg_get_int (msg, "expires_in", -1), 60);
    cm_msg_destroy (&msg);
    msg = s_event (sub);
    assert_non_null (msg);
    assert_string_equal (cm_msg_type (msg), "ext.status");
    assert_string_equal (cm_msg_get_str (msg, "state"), "idle");
    cm_msg_destroy (&msg);

    //  a refresh does not change the state: only a reg event
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    msg = s_event (sub);
    assert_string_equal (cm_msg_get_str (msg, "event"), "refreshed");
    cm_msg_destroy (&msg);
    fx->now += 60;
    assert_int_equal (sipd_location_tick (location), 1);
    msg = s_event (sub);
    assert_string_equal (cm_msg_get_str (msg, "event"), "expired");
    cm_msg_destroy (&msg);
    msg = s_event (sub);
    assert_string_equal (cm_msg_type (msg), "ext.status");
    assert_string_equal (cm_msg_get_str (msg, "state"), "offline");
    cm_msg_destroy (&msg);
    assert_int_equal (sipd_events_count (events), 5);

    //  bad type
    json_t *body = json_object ();
    assert_int_equal (sipd_events_publish (events, "bad type!", &body), -1);
    assert_null (body);
    assert_int_equal (sipd_events_publish (events, NULL, NULL), -1);
    assert_non_null (sipd_events_sock (events));
    sipd_location_destroy (&location);
    zsock_destroy (&sub);
    sipd_events_destroy (&events);
    assert_null (events);
    sipd_events_destroy (&events);
}

static void
test_persistence (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, true, NULL);
    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:5099", "c1", 7, 60);
    a.source.transport = SIPD_TRANSPORT_TCP;
    a.source.conn_id = 42;
    a.instance = "<urn:uuid:1>";
    a.reg_id = 2;
    a.user_agent = "Odd \"Phone\" \\ 1.0\x01";
    sipd_contact_t b = s_contact (fx, "sip:101@[::1]:5099", "c2", 1, 10);
    b.user_agent = NULL;
    snprintf (b.source.ip, sizeof b.source.ip, "::1");
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    assert_int_equal (sipd_location_bind (location, "101", &b), 0);
    //  written on the tick, not on every change
    char path[128];
    snprintf (path, sizeof path, "%s/registrations.json", fx->dir);
    assert_false (zsys_file_exists (path));
    assert_int_equal (sipd_location_tick (location), 0);
    assert_true (zsys_file_exists (path));
    sipd_location_destroy (&location);

    //  reload after 20 s: b expired meanwhile and is dropped
    fx->now += 20;
    location = s_location (fx, true, NULL);
    assert_int_equal (sipd_location_size (location), 1);
    assert_int_equal (sipd_location_load (location), 1);  //  idempotent
    assert_int_equal (sipd_location_size (location), 1);
    sipd_contact_t found[2];
    assert_int_equal (sipd_location_contacts (location, "100", found, 2), 1);
    assert_string_equal (found[0].uri, "sip:100@127.0.0.1:5099");
    assert_string_equal (found[0].call_id, "c1");
    assert_int_equal (found[0].cseq, 7);
    assert_string_equal (found[0].instance, "<urn:uuid:1>");
    assert_int_equal (found[0].reg_id, 2);
    assert_string_equal (found[0].user_agent, "Odd \"Phone\" \\ 1.0\x01");
    assert_int_equal (found[0].source.transport, SIPD_TRANSPORT_TCP);
    assert_int_equal (found[0].source.conn_id, 0);  //  connection is gone
    assert_int_equal (found[0].expires, fx->now + 40);
    assert_string_equal (sipd_location_state (location, "100"), "idle");
    sipd_location_destroy (&location);

    //  a corrupt file is ignored
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs ("{\"bindings\":[{\"number\":1}, 7, \"x\"", file);
    fclose (file);
    location = s_location (fx, true, NULL);
    assert_int_equal (sipd_location_size (location), 0);
    sipd_location_destroy (&location);
    file = fopen (path, "w");
    fputs ("{\"bindings\":[{\"number\":1}, 7, {\"number\":\"100\"}]}", file);
    fclose (file);
    location = s_location (fx, true, NULL);
    assert_int_equal (sipd_location_size (location), 0);
    sipd_location_destroy (&location);
}

//  Number of bindings in the file.
static int
s_file_bindings (fixture_t *fx)
{
    char path[128];
    snprintf (path, sizeof path, "%s/registrations.json", fx->dir);
    json_t *root = json_load_file (path, 0, NULL);
    int count = root ? (int) json_array_size (json_object_get (root, "bindings"))
                     : -1;
    json_decref (root);
    return count;
}

static void
test_write_coalescing (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, true, NULL);
    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:1", "c1", 1, 600);
    sipd_contact_t b = s_contact (fx, "sip:100@127.0.0.1:2", "c2", 1, 600);
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    sipd_location_tick (location);
    assert_int_equal (s_file_bindings (fx), 1);
    //  a second change in the same second waits for the next second
    assert_int_equal (sipd_location_bind (location, "100", &b), 0);
    sipd_location_tick (location);
    assert_int_equal (s_file_bindings (fx), 1);
    fx->now += 1;
    sipd_location_tick (location);
    assert_int_equal (s_file_bindings (fx), 2);
    //  removal is written too, and destroy writes what is pending
    assert_int_equal (sipd_location_unbind (location, "100", &a), 0);
    sipd_location_destroy (&location);
    assert_int_equal (s_file_bindings (fx), 1);
}

//  Wait (bounded) until the file holds count bindings, ticking as the
//  daemon's loop does (a tick while the writer is still busy with the
//  previous file leaves the change for a later tick); returns the last
//  count seen.
static int
s_wait_file_bindings (fixture_t *fx, sipd_location_t *location, int count)
{
    int seen = -1;
    for (int i = 0; i < 500 && seen != count; i++) {
        seen = s_file_bindings (fx);
        if (seen != count) {
            zclock_sleep (10);
            (void) sipd_location_tick (location);
        }
    }
    return seen;
}

//  Background writing: the tick hands a snapshot to the writer thread;
//  the file follows the bindings, destroy writes what is pending, and
//  everything (escapes included) survives a reload.
static void
test_background_write (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_location_t *location = s_location (fx, true, NULL);
    assert_int_equal (sipd_location_write_in_background (location, true), 0);
    static const char *numbers[] = {"99", "100", "101"};
    for (int i = 0; i < 25; i++) {
        char uri[64], call_id[32];
        snprintf (uri, sizeof uri, "sip:%s@10.0.0.%d:5060",
                  numbers[i % 3], i);
        snprintf (call_id, sizeof call_id, "call-%d", i);
        sipd_contact_t c = s_contact (fx, uri, call_id, 1, 600);
        c.user_agent = i == 7 ? "Odd \"Phone\" \\ 1.0\x01" : "TestPhone";
        assert_int_equal (
            sipd_location_bind (location, numbers[i % 3], &c), 0);
    }
    assert_int_equal (sipd_location_tick (location), 0);
    assert_int_equal (s_wait_file_bindings (fx, location, 25), 25);
    sipd_contact_t gone = s_contact (fx, "sip:100@10.0.0.1:5060", "x", 1, 1);
    assert_int_equal (sipd_location_unbind (location, "100", &gone), 0);
    fx->now += 1;
    assert_int_equal (sipd_location_tick (location), 0);
    assert_int_equal (s_wait_file_bindings (fx, location, 24), 24);
    //  pending at destroy: written before it returns
    assert_int_equal (sipd_location_unbind (location, "100", &gone), -1);
    sipd_contact_t last = s_contact (fx, "sip:99@10.0.0.99:1", "z", 1, 60);
    assert_int_equal (sipd_location_bind (location, "99", &last), 0);
    sipd_location_destroy (&location);
    assert_int_equal (s_file_bindings (fx), 25);

    location = s_location (fx, true, NULL);
    assert_int_equal (sipd_location_size (location), 25);
    sipd_contact_t found[SIPD_LOCATION_MAX_CONTACTS];
    int n = sipd_location_contacts (location, "100", found,
                                    SIPD_LOCATION_MAX_CONTACTS);
    assert_int_equal (n, 7);
    bool odd = false;
    for (int i = 0; i < n; i++)
        odd = odd || strcmp (found[i].user_agent,
                             "Odd \"Phone\" \\ 1.0\x01") == 0;
    assert_true (odd);
    //  flush writes at once and waits for it
    assert_int_equal (sipd_location_write_in_background (location, true), 0);
    assert_int_equal (sipd_location_unbind_all (location, "100", NULL, 0), 7);
    assert_int_equal (sipd_location_flush (location), 0);
    assert_int_equal (s_file_bindings (fx), 18);
    sipd_location_destroy (&location);
}

//  A directory that cannot be written: the failure is reported, in
//  either mode, and nothing crashes.
static void
test_write_failure (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char dir[128];
    snprintf (dir, sizeof dir, "%s/missing", fx->dir);
    sipd_location_t *location = sipd_location_new (fx->numbers, dir, NULL);
    sipd_location_set_clock (location, s_clock, fx);
    sipd_contact_t a = s_contact (fx, "sip:100@127.0.0.1:1", "c1", 1, 600);
    assert_int_equal (sipd_location_bind (location, "100", &a), 0);
    assert_int_equal (sipd_location_flush (location), -1);
    assert_int_equal (sipd_location_write_in_background (location, true), 0);
    fx->now += 1;
    assert_int_equal (sipd_location_tick (location), 0);   //  fails later
    assert_int_equal (sipd_location_flush (location), -1);
    sipd_location_destroy (&location);
}

//  Many extensions of mixed lengths: each is found, others are not, and
//  the status list comes in number order (99 before 100).
static void
test_many_extensions (void **state)
{
    (void) state;
    zhashx_t *numbers = zhashx_new ();
    for (int n = 1; n <= 3000; n += 3) {
        char number[16];
        snprintf (number, sizeof number, "%d", n);
        zhashx_insert (numbers, number, "pw");
    }
    sipd_location_t *loc = sipd_location_new (numbers, NULL, NULL);
    for (int n = 0; n <= 3000; n++) {
        char number[16];
        snprintf (number, sizeof number, "%d", n);
        assert_int_equal (sipd_location_has_extension (loc, number),
                          n % 3 == 1);
    }
    assert_false (sipd_location_has_extension (loc, ""));
    assert_false (sipd_location_has_extension (loc, "0001"));
    json_t *status = sipd_location_status (loc, NULL, 30, 5);
    assert_int_equal (json_integer_value (json_object_get (status, "total")),
                      1000);
    json_t *list = json_object_get (status, "extensions");
    assert_int_equal (json_array_size (list), 5);
    for (size_t i = 0; i < 5; i++) {
        char number[16];
        snprintf (number, sizeof number, "%zu", 1 + 3 * (30 + i));
        assert_string_equal (json_string_value (json_object_get (
                                 json_array_get (list, i), "number")),
                             number);
    }
    json_decref (status);
    sipd_location_destroy (&loc);
    zhashx_destroy (&numbers);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_bind_lookup_unbind, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_instance_and_limit, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_expiry_and_call_state, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_status_json, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_events, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_persistence, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_many_extensions),
        cmocka_unit_test_setup_teardown (test_write_coalescing, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_background_write, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_write_failure, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
