//  Unit tests for the IPC envelope (cm_msg) and for request/reply through
//  cm_service and cm_client over inproc:// — good messages, truncated,
//  wrong JSON, missing fields, huge frames, timeouts.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cm_client.h"
#include "cm_log.h"
#include "cm_msg.h"
#include "cm_service.h"

#include <string.h>

//  Build a zmsg from raw frames (NULL-terminated list).
static zmsg_t *
s_frames (const char *first, ...)
{
    zmsg_t *zmsg = zmsg_new ();
    va_list args;
    va_start (args, first);
    for (const char *f = first; f; f = va_arg (args, const char *))
        zmsg_addstr (zmsg, f);
    va_end (args);
    return zmsg;
}

//  Decode and return the error text ("" when it decoded).
static const char *
s_decode_error (zmsg_t *zmsg, char *error, size_t size)
{
    error[0] = 0;
    cm_msg_t *msg = cm_msg_decode (&zmsg, error, size);
    assert_null (zmsg);     //  ownership taken in every case
    if (msg) {
        cm_msg_destroy (&msg);
        return "";
    }
    return error;
}

static void
test_roundtrip (void **state)
{
    json_t *body = json_pack ("{s:s, s:i}", "uniqueid", "abc", "n", 7);
    cm_msg_t *msg = cm_msg_new ("cdr", "r-1", &body);
    assert_null (body);
    assert_non_null (msg);
    zmsg_t *zmsg = cm_msg_encode (msg);
    assert_int_equal (zmsg_size (zmsg), 2);
    char error[256];
    cm_msg_t *copy = cm_msg_decode (&zmsg, error, sizeof error);
    assert_non_null (copy);
    assert_string_equal (cm_msg_type (copy), "cdr");
    assert_string_equal (cm_msg_id (copy), "r-1");
    assert_string_equal (cm_msg_get_str (copy, "uniqueid"), "abc");
    assert_int_equal (cm_msg_get_int (copy, "n", -1), 7);
    assert_int_equal (cm_msg_get_int (copy, "absent", -1), -1);
    assert_null (cm_msg_get_str (copy, "n"));     //  mistyped
    cm_msg_t *reply = cm_msg_reply (copy, "ack", NULL);
    assert_string_equal (cm_msg_id (reply), "r-1");
    cm_msg_t *error_reply = cm_msg_error (copy, "busy");
    assert_string_equal (cm_msg_type (error_reply), "error");
    assert_string_equal (cm_msg_get_str (error_reply, "error"), "busy");
    cm_msg_destroy (&error_reply);
    cm_msg_destroy (&reply);
    cm_msg_destroy (&copy);
    cm_msg_destroy (&msg);
    assert_null (msg);
    cm_msg_destroy (&msg);  //  NULL-safe
}

static void
test_invalid_type_on_new (void **state)
{
    json_t *body = json_object ();
    assert_null (cm_msg_new ("Bad Type", NULL, &body));
    assert_null (body);     //  consumed even on failure
    assert_null (cm_msg_new ("", NULL, NULL));
    assert_null (cm_msg_new ("x23456789012345678901234567890123", NULL,
                             NULL));
    json_t *array = json_array ();
    assert_null (cm_msg_new ("ok", NULL, &array));
}

static void
test_truncated (void **state)
{
    char error[256];
    assert_string_equal (
        s_decode_error (s_frames ("ping", NULL), error, sizeof error),
        "expected 2 frames [type][json], got 1");
    assert_string_equal (
        s_decode_error (s_frames ("ping", "{\"v\":1}", "extra", NULL), error,
                        sizeof error),
        "expected 2 frames [type][json], got 3");
    assert_string_equal (
        s_decode_error (s_frames ("ping", "{\"v\":1", NULL), error,
                        sizeof error),
        "invalid JSON body: '}' expected near end of file (offset 6)");
    zmsg_t *empty = zmsg_new ();
    assert_string_equal (s_decode_error (empty, error, sizeof error),
                         "expected 2 frames [type][json], got 0");
}

static void
test_wrong_json (void **state)
{
    char error[256];
    assert_non_null (strstr (s_decode_error (s_frames ("ping", "not json",
                                                       NULL),
                                             error, sizeof error),
                             "invalid JSON body"));
    assert_string_equal (s_decode_error (s_frames ("ping", "[1,2]", NULL),
                                         error, sizeof error),
                         "body is not a JSON object");
    assert_non_null (strstr (
        s_decode_error (s_frames ("ping", "{\"v\":1,\"v\":1}", NULL), error,
                        sizeof error),
        "duplicate"));
    zmsg_t *binary = zmsg_new ();
    zmsg_addstr (binary, "ping");
    zmsg_addmem (binary, "{\"v\":1,\"x\":\"\0\"}", 15);
    assert_non_null (strstr (s_decode_error (binary, error, sizeof error),
                             "invalid JSON body"));
}

static void
test_missing_fields (void **state)
{
    char error[256];
    assert_string_equal (s_decode_error (s_frames ("ping", "{}", NULL), error,
                                         sizeof error),
                         "missing or unsupported \"v\" (want 1)");
    assert_string_equal (s_decode_error (s_frames ("ping", "{\"v\":2}", NULL),
                                         error, sizeof error),
                         "missing or unsupported \"v\" (want 1)");
    assert_string_equal (s_decode_error (s_frames ("ping",
                                                   "{\"v\":1,\"id\":5}",
                                                   NULL),
                                         error, sizeof error),
                         "\"id\" must be a string of 1-64 characters");
    assert_non_null (strstr (s_decode_error (s_frames ("PING", "{\"v\":1}",
                                                       NULL),
                                             error, sizeof error),
                             "invalid message type"));
    assert_string_equal (s_decode_error (s_frames ("ping", "{\"v\":1}", NULL),
                                         error, sizeof error),
                         "");
}

static void
test_huge_frames (void **state)
{
    char error[256];
    size_t size = CM_MSG_BODY_MAX + 1;
    char *big = (char *) malloc (size + 1);
    memset (big, ' ', size);
    big[0] = '{';
    memcpy (big + size - 7, "\"v\":1}", 6);
    big[size - 1] = ' ';
    big[size] = 0;
    assert_non_null (strstr (s_decode_error (s_frames ("ping", big, NULL),
                                             error, sizeof error),
                             "exceeds"));
    free (big);
    char type[200];
    memset (type, 'a', sizeof type - 1);
    type[sizeof type - 1] = 0;
    assert_non_null (strstr (s_decode_error (s_frames (type, "{\"v\":1}",
                                                       NULL),
                                             error, sizeof error),
                             "invalid message type"));
}

//  --- service and client over inproc -------------------------------------

typedef struct {
    int replies;            //  callbacks with a reply
    int timeouts;           //  callbacks with NULL
    char last_type[32];     //  type of the last reply
    char name[32];          //  pong name
} s_result_t;

static void
s_on_reply (cm_msg_t *reply, void *arg)
{
    s_result_t *result = (s_result_t *) arg;
    if (reply) {
        result->replies++;
        snprintf (result->last_type, sizeof result->last_type, "%s",
                  cm_msg_type (reply));
        const char *name = cm_msg_get_str (reply, "name");
        if (name)
            snprintf (result->name, sizeof result->name, "%s", name);
    }
    else
        result->timeouts++;
}

static int
s_stop_when_done (zloop_t *loop, int timer_id, void *arg)
{
    s_result_t *result = (s_result_t *) arg;
    return result->replies + result->timeouts >= 3 ? -1 : 0;
}

static void
test_service_and_client (void **state)
{
    zloop_t *loop = zloop_new ();
    char error[256];
    cm_service_t *service = cm_service_new ("testd", "inproc://test-svc",
                                            loop, error, sizeof error);
    assert_non_null (service);
    //  Binding the same endpoint twice fails with a reason.
    assert_null (cm_service_new ("testd", "inproc://test-svc", loop, error,
                                 sizeof error));
    assert_non_null (strstr (error, "cannot bind inproc://test-svc"));

    cm_client_t *client = cm_client_new ("inproc://test-svc", loop);
    cm_client_t *nowhere = cm_client_new ("inproc://nobody-home", loop);
    assert_non_null (client);
    s_result_t result = {0};
    assert_int_equal (cm_client_request (client, "ping", NULL, 2000,
                                         s_on_reply, &result), 0);
    assert_int_equal (cm_client_request (client, "unknown", NULL, 2000,
                                         s_on_reply, &result), 0);
    assert_int_equal (cm_client_request (nowhere, "ping", NULL, 300,
                                         s_on_reply, &result), 0);
    assert_int_equal (cm_client_pending (client), 2);
    zloop_timer (loop, 20, 0, s_stop_when_done, &result);
    zloop_start (loop);
    assert_int_equal (result.replies, 2);
    assert_int_equal (result.timeouts, 1);
    assert_string_equal (result.name, "testd");
    assert_string_equal (result.last_type, "error");
    assert_int_equal (cm_client_pending (client), 0);

    //  Destroying with a request outstanding calls back with NULL.
    assert_int_equal (cm_client_request (nowhere, "ping", NULL, 10000,
                                         s_on_reply, &result), 0);
    cm_client_destroy (&nowhere);
    assert_int_equal (result.timeouts, 2);
    cm_client_destroy (&client);
    cm_service_destroy (&service);
    zloop_destroy (&loop);
}

//  Destroying a client must leave nothing behind that the loop could call
//  later: before the loop ever ran, from a timer handler, and between two
//  runs of the same loop (valgrind / ASan see a use after free otherwise).
typedef struct {
    cm_client_t *client;    //  client to destroy from the handler
    int timeouts;           //  NULL replies seen
    int rerequest_rc;       //  cm_client_request from inside destroy
} s_late_t;

static void
s_on_late_reply (cm_msg_t *reply, void *arg)
{
    s_late_t *late = (s_late_t *) arg;
    if (!reply)
        late->timeouts++;
    if (late->client)   //  being destroyed: new requests are refused
        late->rerequest_rc = cm_client_request (late->client, "ping", NULL,
                                                10, s_on_late_reply, NULL);
}

static int
s_destroy_client (zloop_t *loop, int timer_id, void *arg)
{
    s_late_t *late = (s_late_t *) arg;
    cm_client_destroy (&late->client);
    return 0;
}

static int
s_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static void
test_client_destroy_any_time (void **state)
{
    zloop_t *loop = zloop_new ();
    s_late_t before = {0}, inside = {0}, sweep = {0};
    //  Destroyed before the loop ever ran, with a request outstanding.
    before.client = cm_client_new ("inproc://nobody-home-1", loop);
    assert_int_equal (cm_client_request (before.client, "ping", NULL, 10,
                                         s_on_late_reply, &before), 0);
    cm_client_destroy (&before.client);
    assert_int_equal (before.timeouts, 1);
    //  Destroyed from a timer handler in the pass where its sweep is due.
    zloop_timer (loop, 150, 1, s_destroy_client, &inside);
    inside.client = cm_client_new ("inproc://nobody-home-2", loop);
    assert_int_equal (cm_client_request (inside.client, "ping", NULL, 60000,
                                         s_on_late_reply, &inside), 0);
    //  A live client still times out its requests.
    cm_client_t *live = cm_client_new ("inproc://nobody-home-3", loop);
    assert_int_equal (cm_client_request (live, "ping", NULL, 50,
                                         s_on_late_reply, &sweep), 0);
    zclock_sleep (200);     //  every timer and ticket due on the first pass
    zloop_timer (loop, 300, 1, s_stop, NULL);
    zloop_start (loop);
    assert_null (inside.client);
    assert_int_equal (inside.timeouts, 1);
    assert_int_equal (inside.rerequest_rc, -1);
    assert_int_equal (sweep.timeouts, 1);
    assert_int_equal (cm_client_pending (live), 0);

    //  Destroyed between two runs of the loop, request outstanding.
    s_late_t between = {0};
    between.client = cm_client_new ("inproc://nobody-home-4", loop);
    assert_int_equal (cm_client_request (between.client, "ping", NULL, 10,
                                         s_on_late_reply, &between), 0);
    //  The callback runs during destroy and may not queue new requests.
    cm_client_destroy (&between.client);
    assert_int_equal (between.timeouts, 1);
    assert_int_equal (between.rerequest_rc, -1);
    zclock_sleep (150);
    zloop_timer (loop, 200, 1, s_stop, NULL);
    zloop_start (loop);
    cm_client_destroy (&live);
    zloop_destroy (&loop);
}

int
main (void)
{
    cm_log_init ("test", CM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_roundtrip),
        cmocka_unit_test (test_invalid_type_on_new),
        cmocka_unit_test (test_truncated),
        cmocka_unit_test (test_wrong_json),
        cmocka_unit_test (test_missing_fields),
        cmocka_unit_test (test_huge_frames),
        cmocka_unit_test (test_service_and_client),
        cmocka_unit_test (test_client_destroy_any_time),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
