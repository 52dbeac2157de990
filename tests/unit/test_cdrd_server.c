//  test_cdrd_server — unit tests for cdrd_server over real IPC (cm_client
//  -> cm_service on inproc, one zloop): ack after store, duplicates,
//  invalid CDRs, queries and bad filters, the start-up repair of CSV rows
//  a crash left unwritten, and "busy" refusals while the storage actor is
//  blocked (the loop keeps answering).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../cdrd/cdrd_csv.h"
#include "../../cdrd/cdrd_server.h"
#include "../../cdrd/cdrd_store.h"
#include "cm_client.h"
#include "cm_log.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1795703400000LL     //  2026-11-26T14:30:00.000Z

typedef struct {
    char dir[64];               //  temporary data dir
    char dsn[128];              //  SQLite file
    char csv_dir[128];          //  CSV dir
    char endpoint[64];          //  inproc endpoint
    zloop_t *loop;
    cm_service_t *service;
    cdrd_server_t *server;
    cm_client_t *client;
    zlistx_t *replies;          //  json_t bodies with "type" added
    size_t outstanding;         //  requests without reply yet
    size_t wanted;              //  replies to wait for (s_check_replies)
} fixture_t;

static void
s_json_free (json_t **json_p)
{
    json_decref (*json_p);
    *json_p = NULL;
}

static int
s_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static void
s_rm_rf (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return;
    struct dirent *de;
    char path[512];
    while ((de = readdir (d)))
        if (de->d_name[0] != '.') {
            snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
            if (unlink (path) != 0)
                s_rm_rf (path);
        }
    closedir (d);
    rmdir (dir);
}

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (f->dir, sizeof f->dir, "/tmp/test_cdrd_server.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->dsn, sizeof f->dsn, "%s/cdr.sqlite", f->dir);
    snprintf (f->csv_dir, sizeof f->csv_dir, "%s/cdr", f->dir);
    snprintf (f->endpoint, sizeof f->endpoint, "inproc://cdrd-bad-%d",
              (int) getpid ());
    f->loop = zloop_new ();
    //  Run once so zloop_timer_end later removes timers at once.
    zloop_timer (f->loop, 1, 1, s_stop, NULL);
    zloop_start (f->loop);
    f->replies = zlistx_new ();
    zlistx_set_destructor (f->replies, (zlistx_destructor_fn *) s_json_free);
    cm_log_set_level (CM_LOG_ERROR);
    *state = f;
    return 0;
}

static void
s_start (fixture_t *f)
{
    //  A fresh endpoint each time: closing an inproc socket is not
    //  synchronous, so a restart must not rebind the same name.
    static int starts = 0;
    snprintf (f->endpoint, sizeof f->endpoint, "inproc://cdrd-server-%d-%d",
              (int) getpid (), starts++);
    char error[256];
    f->service = cm_service_new ("cdrd", f->endpoint, f->loop, error,
                                 sizeof error);
    assert_non_null (f->service);
    f->server = cdrd_server_new ("sqlite", f->dsn, f->csv_dir, f->loop,
                                 f->service, error, sizeof error);
    if (!f->server)
        fail_msg ("server: %s", error);
    f->client = cm_client_new (f->endpoint, f->loop);
    assert_non_null (f->client);
}

static void
s_stop_server (fixture_t *f)
{
    cm_client_destroy (&f->client);
    cdrd_server_destroy (&f->server);
    cm_service_destroy (&f->service);
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_stop_server (f);
    zlistx_destroy (&f->replies);
    zloop_destroy (&f->loop);
    s_rm_rf (f->dir);
    free (f);
    return 0;
}

static void
s_on_reply (cm_msg_t *reply, void *arg)
{
    fixture_t *f = (fixture_t *) arg;
    f->outstanding--;
    json_t *body = reply ? json_deep_copy (cm_msg_body (reply))
                         : json_object ();
    json_object_set_new (body, "type",
                         json_string (reply ? cm_msg_type (reply)
                                            : "timeout"));
    zlistx_add_end (f->replies, body);
}

static int
s_check_done (zloop_t *loop, int timer_id, void *arg)
{
    return ((fixture_t *) arg)->outstanding == 0 ? -1 : 0;
}

static void
s_request (fixture_t *f, const char *type, json_t *body)
{
    assert_int_equal (cm_client_request (f->client, type, &body, 5000,
                                         s_on_reply, f),
                      0);
    f->outstanding++;
}

//  Run the loop until every request has its reply.
static void
s_wait (fixture_t *f)
{
    int timer = zloop_timer (f->loop, 5, 0, s_check_done, f);
    zloop_start (f->loop);
    zloop_timer_end (f->loop, timer);
    assert_int_equal (f->outstanding, 0);
}

//  Request and wait for its reply.
static void
s_call (fixture_t *f, const char *type, json_t *body)
{
    s_request (f, type, body);
    s_wait (f);
}

//  n-th reply body (borrowed).
static json_t *
s_reply (fixture_t *f, size_t n)
{
    json_t *body = (json_t *) zlistx_first (f->replies);
    for (size_t i = 0; i < n && body; i++)
        body = (json_t *) zlistx_next (f->replies);
    assert_non_null (body);
    return body;
}

static const char *
s_str (json_t *body, const char *key)
{
    const char *value = json_string_value (json_object_get (body, key));
    return value ? value : "";
}

static cm_cdr_t *
s_cdr (const char *id, int64_t start)
{
    cm_cdr_t *cdr = cm_cdr_new (id);
    cm_cdr_set_start_time (cdr, start);
    cm_cdr_set_end_time (cdr, start + 3000);
    cm_cdr_set_src (cdr, "100");
    cm_cdr_set_dst (cdr, "101");
    cm_cdr_set_dialed (cdr, "101");
    cm_cdr_set_disposition (cdr, CM_CDR_BUSY);
    cm_cdr_set_sip_code (cdr, 486);
    cm_cdr_set_cause (cdr, 17);
    cm_cdr_set_call_tag (cdr, 203);
    cm_cdr_set_released_by (cdr, CM_CDR_CALLEE);
    return cdr;
}

static void
s_send_cdr (fixture_t *f, const char *id, int64_t start)
{
    cm_cdr_t *cdr = s_cdr (id, start);
    s_request (f, "cdr", cm_cdr_to_json (cdr));
    cm_cdr_destroy (&cdr);
}

//  Lines of a file starting with prefix.
static int
s_count_lines (const char *path, const char *prefix)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char line[2048];
    int count = 0;
    while (fgets (line, sizeof line, file))
        count += strncmp (line, prefix, strlen (prefix)) == 0;
    fclose (file);
    return count;
}

static void
test_ingest_and_duplicates (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start (f);
    s_send_cdr (f, "a", T0);
    s_send_cdr (f, "b", T0 + 1000);
    s_send_cdr (f, "a", T0);          //  same batch duplicate
    s_wait (f);
    assert_string_equal (s_str (s_reply (f, 0), "type"), "ack");
    assert_string_equal (s_str (s_reply (f, 0), "uniqueid"), "a");
    assert_string_equal (s_str (s_reply (f, 0), "stored"), "new");
    assert_string_equal (s_str (s_reply (f, 1), "stored"), "new");
    assert_string_equal (s_str (s_reply (f, 2), "stored"), "duplicate");
    //  A later resend is a duplicate too.
    s_send_cdr (f, "b", T0 + 1000);
    s_wait (f);
    assert_string_equal (s_str (s_reply (f, 3), "stored"), "duplicate");
    //  Invalid CDR: error, retry false.
    json_t *bad = json_pack ("{s:s}", "uniqueid", "c");
    s_request (f, "cdr", bad);
    s_wait (f);
    json_t *reply = s_reply (f, 4);
    assert_string_equal (s_str (reply, "type"), "error");
    assert_true (json_is_false (json_object_get (reply, "retry")));
    assert_non_null (strstr (s_str (reply, "error"), "start_time"));
    //  CSV: header + a + b, once each, durable before the ack.
    char path[256];
    snprintf (path, sizeof path, "%s/20261126.csv", f->csv_dir);
    assert_int_equal (s_count_lines (path, "uniqueid,"), 1);
    assert_int_equal (s_count_lines (path, "a,"), 1);
    assert_int_equal (s_count_lines (path, "b,"), 1);
}

static void
test_query (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start (f);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf (id, sizeof id, "q%d", i);
        s_send_cdr (f, id, T0 + i * 60000);
    }
    s_wait (f);
    zlistx_purge (f->replies);
    //  One at a time: bad filters are answered at once, valid ones by
    //  the storage actor, so replies to a burst may come in any order.
    s_call (f, "cdr.query", json_pack ("{s:s, s:s, s:i}", "from",
                                          "2026-11-26T14:31:00.000Z", "to",
                                          "2026-11-26T14:34:00.000Z",
                                          "limit", 2));
    s_call (f, "cdr.query", json_pack ("{s:s}", "uniqueid", "q4"));
    s_call (f, "cdr.query", json_pack ("{s:s}", "disposition", "nope"));
    s_call (f, "cdr.query", json_pack ("{s:i}", "limit", 501));
    s_call (f, "cdr.query", json_pack ("{s:i}", "src", 100));
    s_call (f, "cdr.query", json_pack ("{s:s, s:i}", "disposition",
                                          "BUSY", "offset", 3));
    json_t *rows = s_reply (f, 0);
    assert_string_equal (s_str (rows, "type"), "cdr.rows");
    assert_int_equal (json_integer_value (json_object_get (rows, "count")), 2);
    json_t *list = json_object_get (rows, "rows");
    assert_string_equal (s_str (json_array_get (list, 0), "uniqueid"), "q1");
    assert_string_equal (s_str (json_array_get (list, 1), "uniqueid"), "q2");
    //  Rows decode as valid CDRs.
    char error[256];
    cm_cdr_t *cdr = cm_cdr_from_json (json_array_get (list, 0), error,
                                      sizeof error);
    assert_non_null (cdr);
    cm_cdr_destroy (&cdr);
    assert_int_equal (
        json_integer_value (json_object_get (s_reply (f, 1), "count")), 1);
    assert_string_equal (s_str (s_reply (f, 2), "type"), "error");
    assert_non_null (strstr (s_str (s_reply (f, 2), "error"), "disposition"));
    assert_string_equal (s_str (s_reply (f, 3), "type"), "error");
    assert_non_null (strstr (s_str (s_reply (f, 3), "error"), "limit"));
    assert_string_equal (s_str (s_reply (f, 4), "type"), "error");
    assert_int_equal (
        json_integer_value (json_object_get (s_reply (f, 5), "count")), 2);
}

//  A crash after the SQLite commit but before (or in the middle of) the
//  CSV write: the next start writes exactly the missing rows.
static void
test_startup_repairs_csv (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char error[256];
    cdrd_store_t *store = cdrd_store_new ("sqlite", f->dsn, true, error,
                                          sizeof error);
    assert_non_null (store);
    cm_cdr_t *a = s_cdr ("crash-a", T0), *b = s_cdr ("crash-b", T0 + 1000),
             *c = s_cdr ("crash-c", T0 + 86400000LL);
    assert_int_equal (cdrd_store_begin (store), 0);
    assert_int_equal (cdrd_store_insert (store, a), 1);
    assert_int_equal (cdrd_store_insert (store, b), 1);
    assert_int_equal (cdrd_store_insert (store, c), 1);
    assert_int_equal (cdrd_store_commit (store), 0);
    cdrd_store_destroy (&store);
    //  The day file got a's row and half of b's.
    cdrd_csv_t *csv = cdrd_csv_new (f->csv_dir);
    assert_int_equal (cdrd_csv_append (csv, a), 0);
    cdrd_csv_destroy (&csv);
    char path[256], path2[256];
    snprintf (path, sizeof path, "%s/20261126.csv", f->csv_dir);
    snprintf (path2, sizeof path2, "%s/20261127.csv", f->csv_dir);
    FILE *file = fopen (path, "a");
    fputs ("crash-b,2026-11-26T14:3", file);
    fclose (file);

    s_start (f);
    assert_int_equal (s_count_lines (path, "crash-a,"), 1);
    assert_int_equal (s_count_lines (path, "crash-b,"), 1);
    assert_int_equal (s_count_lines (path2, "crash-c,"), 1);
    assert_int_equal (s_count_lines (path2, "uniqueid,"), 1);
    //  Every line of the repaired file is a complete, valid record.
    file = fopen (path, "r");
    char line[2048];
    int n = 0;
    while (fgets (line, sizeof line, file)) {
        if (n++ == 0)
            assert_true (cm_cdr_csv_is_header (line));
        else {
            cm_cdr_t *row = cm_cdr_csv_decode (line, error, sizeof error);
            if (!row)
                fail_msg ("line %d: %s", n, error);
            cm_cdr_destroy (&row);
        }
    }
    fclose (file);
    assert_int_equal (n, 3);
    s_stop_server (f);
    //  Nothing is left pending, so a second start writes nothing more.
    store = cdrd_store_new ("sqlite", f->dsn, true, error, sizeof error);
    zlistx_t *pending = cdrd_store_csv_pending (store);
    assert_int_equal (zlistx_size (pending), 0);
    zlistx_destroy (&pending);
    cdrd_store_destroy (&store);
    s_start (f);
    assert_int_equal (s_count_lines (path, "crash-b,"), 1);
    cm_cdr_destroy (&a);
    cm_cdr_destroy (&b);
    cm_cdr_destroy (&c);
}

//  Enough replies received (count in f->wanted)?
static int
s_check_replies (zloop_t *loop, int timer_id, void *arg)
{
    fixture_t *f = (fixture_t *) arg;
    return zlistx_size (f->replies) >= f->wanted ? -1 : 0;
}

//  While the storage actor cannot commit (another connection holds the
//  write lock), the loop keeps answering: beyond CDRD_SERVER_PENDING_MAX
//  waiting CDRs it refuses more with retry: true at once. After the lock
//  is released every accepted CDR is acknowledged.
static void
test_busy_while_actor_blocked (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start (f);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (f->dsn, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                      SQLITE_OK);
    int total = CDRD_SERVER_PENDING_MAX + 5;
    for (int i = 0; i < total; i++) {
        char id[16];
        snprintf (id, sizeof id, "busy-%04d", i);
        s_send_cdr (f, id, T0 + i);
    }
    f->wanted = 5;
    int timer = zloop_timer (f->loop, 5, 0, s_check_replies, f);
    int guard = zloop_timer (f->loop, 3000, 1, s_stop, NULL);
    zloop_start (f->loop);
    zloop_timer_end (f->loop, timer);
    zloop_timer_end (f->loop, guard);
    assert_int_equal (zlistx_size (f->replies), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *reply = s_reply (f, i);
        assert_string_equal (s_str (reply, "type"), "error");
        assert_true (json_is_true (json_object_get (reply, "retry")));
        assert_non_null (strstr (s_str (reply, "error"), "busy"));
    }
    assert_int_equal (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL),
                      SQLITE_OK);
    sqlite3_close (db);
    s_wait (f);
    size_t acks = 0;
    for (json_t *reply = (json_t *) zlistx_first (f->replies); reply;
         reply = (json_t *) zlistx_next (f->replies))
        acks += streq (s_str (reply, "type"), "ack");
    assert_int_equal (acks, CDRD_SERVER_PENDING_MAX);
}

static void
test_bad_backend (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char error[256];
    f->service = cm_service_new ("cdrd", f->endpoint, f->loop, error,
                                 sizeof error);
    assert_null (cdrd_server_new ("mariadb", "mariadb://x", NULL, f->loop,
                                  f->service, error, sizeof error));
    assert_non_null (strstr (error, "'mariadb' is not supported"));
    assert_null (cdrd_server_new ("sqlite", f->dsn, "/proc/no/cdr", f->loop,
                                  f->service, error, sizeof error));
    assert_non_null (strstr (error, "/proc/no/cdr"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_ingest_and_duplicates, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_query, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_startup_repairs_csv, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_busy_while_actor_blocked,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_backend, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
