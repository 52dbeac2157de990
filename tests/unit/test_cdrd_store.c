//  test_cdrd_store — unit tests for cdrd_store (SQLite backend) and
//  cdrd_csv: idempotent inserts, transactions, query filters, CSV-pending
//  tracking, persistence, schema file identity, CSV day files, header,
//  partial-line repair and lookups.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../cdrd/cdrd_backend.h"
#include "../../cdrd/cdrd_csv.h"
#include "../../cdrd/cdrd_store.h"
#include "cm_log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY 86400000LL
#define T0 1795703400000LL     //  2026-11-26T14:30:00.000Z

typedef struct {
    char dir[64];
    char dsn[128];
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

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (f->dir, sizeof f->dir, "/tmp/test_cdrd_store.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->dsn, sizeof f->dsn, "%s/db/cdr.sqlite", f->dir);
    cm_log_set_level (CM_LOG_ERROR);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_rm_rf (f->dir);
    free (f);
    return 0;
}

//  n-th test CDR: src 10<n%3>, start T0 + n minutes (+ a day for n >= 10),
//  answered when n is even.
static cm_cdr_t *
s_cdr (int n)
{
    char id[32], src[8];
    snprintf (id, sizeof id, "id-%02d", n);
    snprintf (src, sizeof src, "10%d", n % 3);
    cm_cdr_t *cdr = cm_cdr_new (id);
    int64_t start = T0 + n * 60000LL + (n >= 10 ? DAY : 0);
    cm_cdr_set_start_time (cdr, start);
    cm_cdr_set_end_time (cdr, start + 30500);
    cm_cdr_set_src (cdr, src);
    cm_cdr_set_dst (cdr, "200");
    cm_cdr_set_dialed (cdr, "9200");
    cm_cdr_set_direction (cdr, CM_CDR_OUTBOUND);
    if (n % 2 == 0) {
        cm_cdr_set_answer_time (cdr, start + 5000);
        cm_cdr_set_disposition (cdr, CM_CDR_ANSWERED);
        cm_cdr_set_sip_code (cdr, 200);
        cm_cdr_set_cause (cdr, 16);
        cm_cdr_set_call_tag (cdr, 101);
        cm_cdr_set_released_by (cdr, CM_CDR_CALLER);
        cm_cdr_fci_add (cdr, "codec", "PCMA");
    }
    else {
        cm_cdr_set_disposition (cdr, CM_CDR_BUSY);
        cm_cdr_set_sip_code (cdr, 486);
        cm_cdr_set_cause (cdr, 17);
        cm_cdr_set_call_tag (cdr, 203);
        cm_cdr_set_released_by (cdr, CM_CDR_CALLEE);
    }
    return cdr;
}

static void
s_insert_range (cdrd_store_t *store, int from, int to)
{
    assert_int_equal (cdrd_store_begin (store), 0);
    for (int n = from; n < to; n++) {
        cm_cdr_t *cdr = s_cdr (n);
        assert_int_equal (cdrd_store_insert (store, cdr), 1);
        cm_cdr_destroy (&cdr);
    }
    assert_int_equal (cdrd_store_commit (store), 0);
}

static void
test_schema_matches_sql_file (void **state)
{
    (void) state;
    FILE *file = fopen ("cdrd/sql/sqlite.sql", "r");
    if (!file)
        skip ();    //  not run from the source tree
    char text[8192];
    size_t n = fread (text, 1, sizeof text - 1, file);
    text[n] = '\0';
    fclose (file);
    assert_string_equal (cdrd_sqlite_backend.schema, text);
}

static void
test_open_errors (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char error[256] = "";
    assert_null (cdrd_store_new ("postgresql", f->dsn, false, error,
                                 sizeof error));
    assert_non_null (strstr (error, "'postgresql' is not supported"));
    assert_null (cdrd_store_new ("sqlite", "/proc/nope/cdr.sqlite", false,
                                 error, sizeof error));
    assert_non_null (strstr (error, "/proc/nope/cdr.sqlite"));
    cdrd_store_t *store = cdrd_store_new ("sqlite", f->dsn, false, error,
                                          sizeof error);
    assert_non_null (store);
    assert_string_equal (cdrd_store_backend (store), "sqlite");
    assert_int_equal (cdrd_store_count (store), 0);
    cdrd_store_destroy (&store);
    assert_null (store);
    cdrd_store_destroy (&store);
}

static void
test_insert_is_idempotent (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char error[256];
    cdrd_store_t *store = cdrd_store_new ("sqlite", f->dsn, true, error,
                                          sizeof error);
    assert_non_null (store);
    cm_cdr_t *cdr = s_cdr (0);
    assert_int_equal (cdrd_store_begin (store), 0);
    assert_int_equal (cdrd_store_insert (store, cdr), 1);
    assert_int_equal (cdrd_store_insert (store, cdr), 0);  //  same batch
    assert_int_equal (cdrd_store_commit (store), 0);
    assert_int_equal (cdrd_store_begin (store), 0);
    assert_int_equal (cdrd_store_insert (store, cdr), 0);  //  later batch
    assert_int_equal (cdrd_store_commit (store), 0);
    assert_int_equal (cdrd_store_count (store), 1);
    //  Rolled back inserts leave nothing.
    cm_cdr_t *other = s_cdr (1);
    assert_int_equal (cdrd_store_begin (store), 0);
    assert_int_equal (cdrd_store_insert (store, other), 1);
    cdrd_store_rollback (store);
    assert_int_equal (cdrd_store_count (store), 1);
    //  Only the new row is pending for CSV.
    zlistx_t *pending = cdrd_store_csv_pending (store);
    assert_non_null (pending);
    assert_int_equal (zlistx_size (pending), 1);
    assert_string_equal ((char *) zlistx_first (pending), "id-00");
    assert_int_equal (cdrd_store_csv_done (store, pending), 0);
    zlistx_destroy (&pending);
    pending = cdrd_store_csv_pending (store);
    assert_int_equal (zlistx_size (pending), 0);
    zlistx_destroy (&pending);
    //  Persistence across close/open; the row reads back equal.
    cdrd_store_destroy (&store);
    store = cdrd_store_new ("sqlite", f->dsn, true, error, sizeof error);
    assert_int_equal (cdrd_store_count (store), 1);
    cdrd_filter_t filter;
    cdrd_filter_init (&filter);
    zlistx_t *rows = cdrd_store_query (store, &filter);
    assert_int_equal (zlistx_size (rows), 1);
    assert_true (cm_cdr_eq ((cm_cdr_t *) zlistx_first (rows), cdr));
    assert_string_equal (cm_cdr_fci_get ((cm_cdr_t *) zlistx_first (rows),
                                         "codec"),
                         "PCMA");
    zlistx_destroy (&rows);
    //  Destroy with an open transaction rolls it back.
    assert_int_equal (cdrd_store_begin (store), 0);
    assert_int_equal (cdrd_store_insert (store, other), 1);
    cdrd_store_destroy (&store);
    store = cdrd_store_new ("sqlite", f->dsn, false, error, sizeof error);
    assert_int_equal (cdrd_store_count (store), 1);
    cdrd_store_destroy (&store);
    cm_cdr_destroy (&cdr);
    cm_cdr_destroy (&other);
}

static size_t
s_query_count (cdrd_store_t *store, cdrd_filter_t *filter, const char *first)
{
    zlistx_t *rows = cdrd_store_query (store, filter);
    assert_non_null (rows);
    size_t count = zlistx_size (rows);
    if (first) {
        assert_true (count > 0);
        assert_string_equal (cm_cdr_uniqueid ((cm_cdr_t *) zlistx_first (rows)),
                             first);
    }
    zlistx_destroy (&rows);
    return count;
}

static void
test_query_filters (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char error[256];
    cdrd_store_t *store = cdrd_store_new ("sqlite", f->dsn, false, error,
                                          sizeof error);
    s_insert_range (store, 0, 14);
    cdrd_filter_t filter;
    cdrd_filter_init (&filter);
    assert_int_equal (s_query_count (store, &filter, "id-00"), 14);
    filter.limit = 5;
    assert_int_equal (s_query_count (store, &filter, "id-00"), 5);
    filter.offset = 12;
    assert_int_equal (s_query_count (store, &filter, "id-12"), 2);
    cdrd_filter_init (&filter);
    filter.src = "101";
    assert_int_equal (s_query_count (store, &filter, "id-01"), 5);  //  1,4,7,10,13
    filter.disposition = CM_CDR_BUSY;
    assert_int_equal (s_query_count (store, &filter, "id-01"), 3);  //  1,7,13
    cdrd_filter_init (&filter);
    filter.dst = "nobody";
    assert_int_equal (s_query_count (store, &filter, NULL), 0);
    cdrd_filter_init (&filter);
    filter.from = T0 + DAY;
    assert_int_equal (s_query_count (store, &filter, "id-10"), 4);
    filter.from = T0 + 2 * 60000;
    filter.to = T0 + 5 * 60000;     //  exclusive
    assert_int_equal (s_query_count (store, &filter, "id-02"), 3);
    cdrd_filter_init (&filter);
    filter.uniqueid = "id-07";
    assert_int_equal (s_query_count (store, &filter, "id-07"), 1);
    //  Text with quotes and commas is stored and found as is.
    cm_cdr_t *odd = s_cdr (20);
    cm_cdr_set_uniqueid (odd, "odd");
    cm_cdr_set_src (odd, "O'Brien, \"Pat\"");
    assert_int_equal (cdrd_store_begin (store), 0);
    assert_int_equal (cdrd_store_insert (store, odd), 1);
    assert_int_equal (cdrd_store_commit (store), 0);
    cdrd_filter_init (&filter);
    filter.src = "O'Brien, \"Pat\"";
    assert_int_equal (s_query_count (store, &filter, "odd"), 1);
    cm_cdr_destroy (&odd);
    cdrd_store_destroy (&store);
}

static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    static char text[65536];
    size_t n = fread (text, 1, sizeof text - 1, file);
    text[n] = '\0';
    fclose (file);
    return text;
}

static void
test_csv_files (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char dir[256], path[512], expect[4096];
    snprintf (dir, sizeof dir, "%s/cdr", f->dir);
    cdrd_csv_t *csv = cdrd_csv_new (dir);
    assert_non_null (csv);
    cm_cdr_t *a = s_cdr (0), *b = s_cdr (1), *c = s_cdr (10);
    assert_int_equal (cdrd_csv_contains (csv, a), 0);
    assert_int_equal (cdrd_csv_append (csv, a), 0);
    assert_int_equal (cdrd_csv_append (csv, b), 0);
    assert_int_equal (cdrd_csv_append (csv, c), 0);     //  next day
    assert_int_equal (cdrd_csv_flush (csv), 0);
    assert_string_equal (cdrd_csv_path (csv, T0, path, sizeof path) + strlen (dir),
                         "/20261126.csv");
    char *row_a = cm_cdr_csv_encode (a), *row_b = cm_cdr_csv_encode (b),
         *row_c = cm_cdr_csv_encode (c);
    snprintf (expect, sizeof expect, "%s\n%s\n%s\n", cm_cdr_csv_header (),
              row_a, row_b);
    assert_string_equal (s_slurp (path), expect);
    snprintf (path, sizeof path, "%s/20261127.csv", dir);
    snprintf (expect, sizeof expect, "%s\n%s\n", cm_cdr_csv_header (), row_c);
    assert_string_equal (s_slurp (path), expect);
    assert_int_equal (cdrd_csv_contains (csv, a), 1);
    assert_int_equal (cdrd_csv_contains (csv, c), 1);
    cm_cdr_t *prefix = s_cdr (0);
    cm_cdr_set_uniqueid (prefix, "id-0");       //  prefix of id-00
    assert_int_equal (cdrd_csv_contains (csv, prefix), 0);
    cdrd_csv_destroy (&csv);

    //  A crash left a partial line: it is cut before the next append.
    snprintf (path, sizeof path, "%s/20261126.csv", dir);
    FILE *file = fopen (path, "a");
    fputs ("id-99,2026-11-26T1", file);
    fclose (file);
    csv = cdrd_csv_new (dir);
    //  The partial line does not count as the row being there.
    cm_cdr_t *torn = s_cdr (99);
    cm_cdr_set_start_time (torn, T0);
    cm_cdr_set_end_time (torn, T0 + 1000);
    assert_int_equal (cdrd_csv_contains (csv, torn), 0);
    zhashx_t *ids = cdrd_csv_ids (csv, T0);
    assert_non_null (ids);
    assert_non_null (zhashx_lookup (ids, "id-00"));
    assert_null (zhashx_lookup (ids, "id-99"));
    zhashx_destroy (&ids);
    cm_cdr_destroy (&torn);
    cm_cdr_t *d = s_cdr (3);
    assert_int_equal (cdrd_csv_append (csv, d), 0);
    assert_int_equal (cdrd_csv_flush (csv), 0);
    char *row_d = cm_cdr_csv_encode (d);
    snprintf (expect, sizeof expect, "%s\n%s\n%s\n%s\n", cm_cdr_csv_header (),
              row_a, row_b, row_d);
    assert_string_equal (s_slurp (path), expect);
    cdrd_csv_destroy (&csv);

    //  A file holding only a partial header starts afresh.
    snprintf (path, sizeof path, "%s/20261201.csv", dir);
    file = fopen (path, "w");
    fputs ("uniqueid,start_", file);
    fclose (file);
    csv = cdrd_csv_new (dir);
    cm_cdr_t *e = s_cdr (4);
    cm_cdr_set_start_time (e, T0 + 5 * DAY);
    cm_cdr_set_answer_time (e, T0 + 5 * DAY + 1000);
    cm_cdr_set_end_time (e, T0 + 5 * DAY + 2000);
    assert_int_equal (cdrd_csv_append (csv, e), 0);
    cdrd_csv_destroy (&csv);       //  flushes
    char *row_e = cm_cdr_csv_encode (e);
    snprintf (expect, sizeof expect, "%s\n%s\n", cm_cdr_csv_header (), row_e);
    assert_string_equal (s_slurp (path), expect);

    assert_null (cdrd_csv_new ("/proc/no/such"));
    free (row_a);
    free (row_b);
    free (row_c);
    free (row_d);
    free (row_e);
    cm_cdr_destroy (&a);
    cm_cdr_destroy (&b);
    cm_cdr_destroy (&c);
    cm_cdr_destroy (&d);
    cm_cdr_destroy (&e);
    cm_cdr_destroy (&prefix);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_schema_matches_sql_file),
        cmocka_unit_test_setup_teardown (test_open_errors, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_insert_is_idempotent, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_query_filters, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_csv_files, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
