//  test_cdrd_writer — unit tests for cdrd's storage actor: results come
//  only after the commit (a second connection holding the write lock
//  keeps the actor from committing, and no result may arrive meanwhile),
//  everything queued during a commit goes into one batch, results keep
//  request order, a locked database and a failed CSV write are reported
//  RETRY (and repaired later, each row once), queries see acknowledged
//  rows, the outbox goes over as one batch, and shutdown commits what the
//  actor took (flush delivers the results; destroy alone leaves them
//  unreported, so they are resent and stored once).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../cdrd/cdrd_csv.h"
#include "../../cdrd/cdrd_store.h"
#include "../../cdrd/cdrd_writer.h"
#include "cm_log.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1795703400000LL     //  2026-11-26T14:30:00.000Z

typedef struct {
    uint64_t ticket;
    cdrd_writer_status_t status;
    char text[4096];
} result_t;

typedef struct {
    char dir[64];               //  temporary data dir
    char dsn[128];              //  SQLite file
    char csv_dir[128];          //  CSV dir
    char csv_path[160];         //  the day file of T0
    cdrd_writer_t *writer;
    result_t results[256];      //  results received, in order
    size_t count;               //  results received
} fixture_t;

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

static void
s_start (fixture_t *f)
{
    char error[256];
    cdrd_store_t *store = cdrd_store_new ("sqlite", f->dsn, true, error,
                                          sizeof error);
    if (!store)
        fail_msg ("store: %s", error);
    cdrd_csv_t *csv = cdrd_csv_new (f->csv_dir);
    assert_non_null (csv);
    f->writer = cdrd_writer_new (&store, &csv, error, sizeof error);
    if (!f->writer)
        fail_msg ("writer: %s", error);
    assert_null (store);
    assert_null (csv);
}

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (f->dir, sizeof f->dir, "/tmp/test_cdrd_writer.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->dsn, sizeof f->dsn, "%s/cdr.sqlite", f->dir);
    snprintf (f->csv_dir, sizeof f->csv_dir, "%s/cdr", f->dir);
    snprintf (f->csv_path, sizeof f->csv_path, "%s/20261126.csv",
              f->csv_dir);
    cm_log_set_level (CM_LOG_ERROR);
    s_start (f);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    cdrd_writer_destroy (&f->writer);
    s_rm_rf (f->dir);
    free (f);
    return 0;
}

static void
s_on_result (uint64_t ticket, cdrd_writer_status_t status, const char *text,
             void *arg)
{
    fixture_t *f = (fixture_t *) arg;
    assert_true (f->count < 256);
    result_t *result = &f->results[f->count++];
    result->ticket = ticket;
    result->status = status;
    snprintf (result->text, sizeof result->text, "%s", text ? text : "");
}

//  Read results until count in total or timeout_ms passed.
static void
s_wait (fixture_t *f, size_t count, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (cdrd_writer_sock (f->writer), NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (f->count < count && zclock_mono () < deadline)
        if (zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            assert_int_equal (cdrd_writer_recv (f->writer, s_on_result, f),
                              0);
    zpoller_destroy (&poller);
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

//  Put a CDR in the outbox (s_store also sends it to the actor).
static void
s_queue (fixture_t *f, uint64_t ticket, const char *id)
{
    cm_cdr_t *cdr = s_cdr (id, T0 + (int64_t) ticket * 1000);
    cdrd_writer_store (f->writer, ticket, &cdr);
    assert_null (cdr);
}

static void
s_store (fixture_t *f, uint64_t ticket, const char *id)
{
    s_queue (f, ticket, id);
    assert_int_equal (cdrd_writer_send (f->writer), 0);
    assert_int_equal (cdrd_writer_queued (f->writer), 0);
}

//  Lines of the T0 day file starting with prefix (-1: no file).
static int
s_csv_lines (fixture_t *f, const char *prefix)
{
    FILE *file = fopen (f->csv_path, "r");
    if (!file)
        return -1;
    char line[2048];
    int count = 0;
    while (fgets (line, sizeof line, file))
        count += strncmp (line, prefix, strlen (prefix)) == 0;
    fclose (file);
    return count;
}

//  A second connection, as another process would have.
static sqlite3 *
s_db_open (fixture_t *f)
{
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (f->dsn, &db), SQLITE_OK);
    return db;
}

static void
s_db_exec (sqlite3 *db, const char *sql)
{
    assert_int_equal (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static int
s_db_count (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int count = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    return count;
}

//  While another connection holds the write lock the actor cannot commit:
//  no result may arrive and nothing is in the CSV. After the lock is
//  released, all 40 CDRs (queued meanwhile) are one batch, the results
//  come in ticket order, and the rows are in the database and the CSV.
static void
test_results_only_after_commit (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    sqlite3 *db = s_db_open (f);
    s_db_exec (db, "BEGIN IMMEDIATE");
    char id[32];
    for (uint64_t i = 0; i < 40; i++) {
        snprintf (id, sizeof id, "lock-%02d", (int) (i % 35));
        s_store (f, i, id);     //  35 distinct ids, 5 repeated
    }
    s_wait (f, 1, 400);
    assert_int_equal (f->count, 0);
    assert_true (s_csv_lines (f, "lock-") <= 0);
    s_db_exec (db, "COMMIT");
    s_wait (f, 40, 5000);
    assert_int_equal (f->count, 40);
    for (size_t i = 0; i < 40; i++) {
        assert_int_equal (f->results[i].ticket, i);
        assert_int_equal (f->results[i].status,
                          i < 35 ? CDRD_WRITER_NEW : CDRD_WRITER_DUPLICATE);
    }
    assert_int_equal (cdrd_writer_batches (f->writer), 1);
    assert_false (cdrd_writer_csv_behind (f->writer));
    //  Durable by the time the results were sent.
    assert_int_equal (s_db_count (db, "SELECT count(*) FROM cdr"), 35);
    assert_int_equal (s_csv_lines (f, "lock-"), 35);
    sqlite3_close (db);
}

//  The database stays locked beyond SQLite's busy timeout (5 s): the
//  batch is reported RETRY with a reason, nothing is stored; a resend
//  once the lock is gone is stored.
static void
test_locked_database_is_retry (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    sqlite3 *db = s_db_open (f);
    s_db_exec (db, "BEGIN IMMEDIATE");
    //  Three in one message: one busy wait for all, not one each.
    s_queue (f, 1, "busy-1");
    s_queue (f, 2, "busy-2");
    s_store (f, 3, "busy-3");
    int64_t started = zclock_mono ();
    s_wait (f, 3, 8000);
    assert_true (zclock_mono () - started < 7500);
    assert_int_equal (f->count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal (f->results[i].ticket, i + 1);
        assert_int_equal (f->results[i].status, CDRD_WRITER_RETRY);
        assert_string_equal (f->results[i].text, "database unavailable");
    }
    s_db_exec (db, "COMMIT");
    assert_int_equal (s_db_count (db, "SELECT count(*) FROM cdr"), 0);
    s_store (f, 4, "busy-1");
    s_wait (f, 4, 5000);
    assert_int_equal (f->results[3].ticket, 4);
    assert_int_equal (f->results[3].status, CDRD_WRITER_NEW);
    assert_int_equal (s_db_count (db, "SELECT count(*) FROM cdr"), 1);
    assert_int_equal (s_csv_lines (f, "busy-1,"), 1);
    sqlite3_close (db);
}

//  The day file cannot be written (a directory in its place): the batch
//  is committed but reported RETRY, so the sender resends; once the file
//  can be written the next batch catches up, and the resend is a
//  duplicate. Every row ends in the CSV once.
static void
test_csv_failure_is_retry (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    assert_int_equal (mkdir (f->csv_path, 0755), 0);
    s_store (f, 1, "csv-1");
    s_store (f, 2, "csv-2");
    s_wait (f, 2, 5000);
    assert_int_equal (f->count, 2);
    assert_int_equal (f->results[0].status, CDRD_WRITER_RETRY);
    assert_string_equal (f->results[0].text, "CSV write failed");
    assert_int_equal (f->results[1].status, CDRD_WRITER_RETRY);
    assert_true (cdrd_writer_csv_behind (f->writer));
    assert_int_equal (rmdir (f->csv_path), 0);
    s_store (f, 3, "csv-1");
    s_store (f, 4, "csv-3");
    s_wait (f, 4, 5000);
    assert_int_equal (f->results[2].status, CDRD_WRITER_DUPLICATE);
    assert_int_equal (f->results[3].status, CDRD_WRITER_NEW);
    assert_false (cdrd_writer_csv_behind (f->writer));
    assert_int_equal (s_csv_lines (f, "csv-1,"), 1);
    assert_int_equal (s_csv_lines (f, "csv-2,"), 1);
    assert_int_equal (s_csv_lines (f, "csv-3,"), 1);
    assert_int_equal (s_csv_lines (f, "uniqueid,"), 1);
}

//  A query comes after the results of the CDRs sent before it and sees
//  them; a bad body is a failure, not a crash.
static void
test_query_after_results (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_store (f, 1, "q-1");
    s_store (f, 2, "q-2");
    json_t *body = json_pack ("{s:s, s:i}", "src", "100", "limit", 10);
    assert_int_equal (cdrd_writer_query (f->writer, 3, body), 0);
    json_decref (body);
    body = json_pack ("{s:i}", "limit", 0);
    assert_int_equal (cdrd_writer_query (f->writer, 4, body), 0);
    json_decref (body);
    s_wait (f, 4, 5000);
    assert_int_equal (f->count, 4);
    assert_int_equal (f->results[0].status, CDRD_WRITER_NEW);
    assert_int_equal (f->results[1].status, CDRD_WRITER_NEW);
    assert_int_equal (f->results[2].ticket, 3);
    assert_int_equal (f->results[2].status, CDRD_WRITER_ROWS);
    json_t *rows = json_loads (f->results[2].text, 0, NULL);
    assert_non_null (rows);
    assert_int_equal (json_integer_value (json_object_get (rows, "count")),
                      2);
    assert_string_equal (
        json_string_value (json_object_get (
            json_array_get (json_object_get (rows, "rows"), 1), "uniqueid")),
        "q-2");
    json_decref (rows);
    assert_int_equal (f->results[3].status, CDRD_WRITER_QUERY_FAILED);
    assert_non_null (strstr (f->results[3].text, "limit"));
}

//  CDRs queued in the outbox reach the actor only when sent, as one
//  message and one batch; a query sends the outbox first.
static void
test_outbox (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char id[32];
    for (uint64_t i = 0; i < 25; i++) {
        snprintf (id, sizeof id, "box-%02d", (int) i);
        s_queue (f, i, id);
    }
    assert_int_equal (cdrd_writer_queued (f->writer), 25);
    s_wait (f, 1, 300);
    assert_int_equal (f->count, 0);
    assert_int_equal (cdrd_writer_send (f->writer), 0);
    s_wait (f, 25, 5000);
    assert_int_equal (f->count, 25);
    assert_int_equal (cdrd_writer_batches (f->writer), 1);
    for (size_t i = 0; i < 25; i++)
        assert_int_equal (f->results[i].ticket, i);
    s_queue (f, 25, "box-25");
    json_t *body = json_pack ("{s:s}", "uniqueid", "box-25");
    assert_int_equal (cdrd_writer_query (f->writer, 26, body), 0);
    json_decref (body);
    s_wait (f, 27, 5000);
    assert_int_equal (f->results[25].status, CDRD_WRITER_NEW);
    assert_int_equal (f->results[26].status, CDRD_WRITER_ROWS);
    assert_non_null (strstr (f->results[26].text, "\"count\":1"));
}

//  Shutdown with CDRs still queued: flush delivers every result after
//  the commit; destroy without flush commits too but reports nothing, so
//  the sender resends and gets duplicates; each row is stored once.
static void
test_shutdown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char id[32];
    for (uint64_t i = 0; i < 20; i++) {
        snprintf (id, sizeof id, "down-%02d", (int) i);
        s_store (f, i, id);
    }
    assert_int_equal (cdrd_writer_flush (f->writer, s_on_result, f, 5000),
                      0);
    assert_int_equal (f->count, 20);
    for (size_t i = 0; i < 20; i++)
        assert_int_equal (f->results[i].status, CDRD_WRITER_NEW);
    //  More CDRs (half of them still in the outbox), then destroy at
    //  once: no results, but stored.
    for (uint64_t i = 20; i < 30; i++) {
        snprintf (id, sizeof id, "down-%02d", (int) i);
        if (i < 25)
            s_store (f, i, id);
        else
            s_queue (f, i, id);
    }
    cdrd_writer_destroy (&f->writer);
    assert_null (f->writer);
    sqlite3 *db = s_db_open (f);
    assert_int_equal (s_db_count (db, "SELECT count(*) FROM cdr"), 30);
    assert_int_equal (s_db_count (db, "SELECT count(*) FROM cdr_csv_pending"),
                      0);
    sqlite3_close (db);
    assert_int_equal (s_csv_lines (f, "down-"), 30);
    //  The sender resends the unacknowledged ten: duplicates.
    s_start (f);
    f->count = 0;
    for (uint64_t i = 20; i < 30; i++) {
        snprintf (id, sizeof id, "down-%02d", (int) i);
        s_store (f, i, id);
    }
    s_wait (f, 10, 5000);
    assert_int_equal (f->count, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal (f->results[i].status, CDRD_WRITER_DUPLICATE);
    assert_int_equal (s_csv_lines (f, "down-"), 30);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_results_only_after_commit,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_locked_database_is_retry,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_csv_failure_is_retry, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_query_after_results, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_outbox, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_shutdown, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
