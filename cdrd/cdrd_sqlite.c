//  cdrd_sqlite — the SQLite CDR backend (the embedded default).
//
//  One database file (the [cdrd] dsn path) in WAL mode with
//  synchronous=FULL: a commit appends to the WAL and fsyncs it, so an
//  acknowledged CDR survives a crash of cdrd or of the machine; readers
//  (webd, sqlite3 on the command line) never block the writer. Times are
//  stored as ISO 8601 UTC text with milliseconds, which compares and sorts
//  correctly as text, so the time filters are plain string comparisons.
//
//  The schema below is cdrd/sql/sqlite.sql verbatim; test_cdrd_store
//  checks that the two stay identical.

#include "cdrd_backend.h"
#include "cm_log.h"

#include <sqlite3.h>
#include <string.h>

static const char s_schema[] =
    "-- sipserver CDR schema for SQLite (cdrd backend = sqlite).\n"
    "-- Same logical schema as postgres.sql and mariadb.sql (DESIGN §6,\n"
    "-- docs/cdr.md). cdrd runs this at start-up; every statement is idempotent.\n"
    "-- Times are ISO 8601 UTC text with milliseconds (2026-11-26T14:30:00.123Z),\n"
    "-- which sorts and compares correctly as text.\n"
    "\n"
    "CREATE TABLE IF NOT EXISTS cdr (\n"
    "    uniqueid    TEXT    NOT NULL PRIMARY KEY,\n"
    "    start_time  TEXT    NOT NULL,\n"
    "    answer_time TEXT,\n"
    "    end_time    TEXT    NOT NULL,\n"
    "    duration    INTEGER NOT NULL,\n"
    "    billsec     INTEGER NOT NULL,\n"
    "    src         TEXT    NOT NULL,\n"
    "    dst         TEXT    NOT NULL,\n"
    "    dialed      TEXT    NOT NULL,\n"
    "    direction   TEXT    NOT NULL,\n"
    "    disposition TEXT    NOT NULL,\n"
    "    sip_code    INTEGER NOT NULL,\n"
    "    cause       INTEGER NOT NULL,\n"
    "    call_tag    INTEGER NOT NULL,\n"
    "    released_by TEXT    NOT NULL,\n"
    "    fci         TEXT    NOT NULL,\n"
    "    recording   TEXT    NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS cdr_start_time ON cdr (start_time);\n"
    "CREATE INDEX IF NOT EXISTS cdr_src ON cdr (src, start_time);\n"
    "CREATE INDEX IF NOT EXISTS cdr_dst ON cdr (dst, start_time);\n"
    "\n"
    "-- Rows committed to cdr but not yet confirmed written to the CSV day file.\n"
    "-- cdrd fills it in the same transaction as the insert and empties it once\n"
    "-- the CSV line is flushed, so a crash in between is repaired at start-up.\n"
    "CREATE TABLE IF NOT EXISTS cdr_csv_pending (\n"
    "    uniqueid    TEXT    NOT NULL PRIMARY KEY\n"
    ");\n";

static const char *s_columns =
    "uniqueid, start_time, answer_time, end_time, duration, billsec, src, "
    "dst, dialed, direction, disposition, sip_code, cause, call_tag, "
    "released_by, fci, recording";

typedef struct {
    sqlite3 *db;                //  connection (owned)
    sqlite3_stmt *insert;       //  INSERT ... ON CONFLICT DO NOTHING
    sqlite3_stmt *mark_csv;     //  INSERT INTO cdr_csv_pending
    bool track_csv;             //  record new rows for the CSV writer
} s_sqlite_t;

static void
s_log_error (s_sqlite_t *self, const char *what)
{
    CM_LOG (CM_LOG_ERROR, "store", "sqlite %s: %s", what,
            sqlite3_errmsg (self->db));
}

static int
s_exec (s_sqlite_t *self, const char *sql)
{
    char *message = NULL;
    if (sqlite3_exec (self->db, sql, NULL, NULL, &message) != SQLITE_OK) {
        CM_LOG (CM_LOG_ERROR, "store", "sqlite: %s: %s", sql,
                message ? message : "error");
        sqlite3_free (message);
        return -1;
    }
    return 0;
}

static void
s_close (void **handle_p)
{
    s_sqlite_t *self = (s_sqlite_t *) *handle_p;
    if (!self)
        return;
    sqlite3_finalize (self->insert);
    sqlite3_finalize (self->mark_csv);
    sqlite3_close (self->db);
    free (self);
    *handle_p = NULL;
}

static void *
s_open (const char *dsn, bool track_csv, char *error, size_t size)
{
    //  Create the directory holding the database file.
    const char *slash = strrchr (dsn, '/');
    if (slash && slash != dsn) {
        char *dir = strndup (dsn, (size_t) (slash - dsn));
        zsys_dir_create ("%s", dir);
        free (dir);
    }
    s_sqlite_t *self = (s_sqlite_t *) zmalloc (sizeof (s_sqlite_t));
    self->track_csv = track_csv;
    if (sqlite3_open_v2 (dsn, &self->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                             | SQLITE_OPEN_NOMUTEX,
                         NULL)
        != SQLITE_OK) {
        snprintf (error, size, "cannot open SQLite database %s: %s", dsn,
                  self->db ? sqlite3_errmsg (self->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout (self->db, 5000);
    if (s_exec (self, "PRAGMA journal_mode = WAL") != 0
        || s_exec (self, "PRAGMA synchronous = FULL") != 0
        || s_exec (self, s_schema) != 0) {
        snprintf (error, size, "cannot initialise SQLite database %s: %s",
                  dsn, sqlite3_errmsg (self->db));
        goto fail;
    }
    char sql[512];
    snprintf (sql, sizeof sql,
              "INSERT INTO cdr (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
              "?, ?, ?, ?, ?, ?) ON CONFLICT (uniqueid) DO NOTHING",
              s_columns);
    if (sqlite3_prepare_v2 (self->db, sql, -1, &self->insert, NULL)
            != SQLITE_OK
        || sqlite3_prepare_v2 (self->db,
                               "INSERT OR IGNORE INTO cdr_csv_pending "
                               "(uniqueid) VALUES (?)",
                               -1, &self->mark_csv, NULL)
               != SQLITE_OK) {
        snprintf (error, size, "cannot prepare SQLite statements on %s: %s",
                  dsn, sqlite3_errmsg (self->db));
        goto fail;
    }
    return self;
fail:;
    void *handle = self;
    s_close (&handle);
    return NULL;
}

static int
s_begin (void *handle)
{
    return s_exec ((s_sqlite_t *) handle, "BEGIN IMMEDIATE");
}

static int
s_commit (void *handle)
{
    return s_exec ((s_sqlite_t *) handle, "COMMIT");
}

static void
s_rollback (void *handle)
{
    s_sqlite_t *self = (s_sqlite_t *) handle;
    if (!sqlite3_get_autocommit (self->db))
        s_exec (self, "ROLLBACK");
}

static void
s_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

static int
s_insert (void *handle, const cm_cdr_t *cdr)
{
    s_sqlite_t *self = (s_sqlite_t *) handle;
    sqlite3_stmt *stmt = self->insert;
    char start[CM_CDR_TIME_SIZE], answer[CM_CDR_TIME_SIZE],
        end[CM_CDR_TIME_SIZE];
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);
    s_bind_text (stmt, 1, cm_cdr_uniqueid (cdr));
    s_bind_text (stmt, 2, cm_cdr_time_format (cm_cdr_start_time (cdr), start,
                                              sizeof start));
    if (cm_cdr_answer_time (cdr))
        s_bind_text (stmt, 3, cm_cdr_time_format (cm_cdr_answer_time (cdr),
                                                  answer, sizeof answer));
    else
        sqlite3_bind_null (stmt, 3);
    s_bind_text (stmt, 4, cm_cdr_time_format (cm_cdr_end_time (cdr), end,
                                              sizeof end));
    sqlite3_bind_int64 (stmt, 5, cm_cdr_duration (cdr));
    sqlite3_bind_int64 (stmt, 6, cm_cdr_billsec (cdr));
    s_bind_text (stmt, 7, cm_cdr_src (cdr));
    s_bind_text (stmt, 8, cm_cdr_dst (cdr));
    s_bind_text (stmt, 9, cm_cdr_dialed (cdr));
    s_bind_text (stmt, 10, cm_cdr_direction_name (cm_cdr_direction (cdr)));
    s_bind_text (stmt, 11,
                 cm_cdr_disposition_name (cm_cdr_disposition (cdr)));
    sqlite3_bind_int (stmt, 12, cm_cdr_sip_code (cdr));
    sqlite3_bind_int (stmt, 13, cm_cdr_cause (cdr));
    sqlite3_bind_int (stmt, 14, cm_cdr_call_tag (cdr));
    s_bind_text (stmt, 15,
                 cm_cdr_released_by_name (cm_cdr_released_by (cdr)));
    s_bind_text (stmt, 16, cm_cdr_fci (cdr));
    s_bind_text (stmt, 17, cm_cdr_recording (cdr));
    if (sqlite3_step (stmt) != SQLITE_DONE) {
        s_log_error (self, "insert");
        sqlite3_reset (stmt);
        return -1;
    }
    int inserted = sqlite3_changes (self->db) == 1;
    sqlite3_reset (stmt);
    if (inserted && self->track_csv) {
        sqlite3_reset (self->mark_csv);
        s_bind_text (self->mark_csv, 1, cm_cdr_uniqueid (cdr));
        int rc = sqlite3_step (self->mark_csv);
        sqlite3_reset (self->mark_csv);
        if (rc != SQLITE_DONE) {
            s_log_error (self, "insert cdr_csv_pending");
            return -1;
        }
    }
    return inserted;
}

//  Turn the current row (columns in s_columns order) into a cm_cdr.
static cm_cdr_t *
s_row_to_cdr (sqlite3_stmt *stmt)
{
    json_t *json = json_object ();
    for (int col = 0; col < CM_CDR_COLUMNS; col++) {
        const char *name = cm_cdr_column_name ((size_t) col);
        switch (sqlite3_column_type (stmt, col)) {
            case SQLITE_INTEGER:
                json_object_set_new (
                    json, name,
                    json_integer (sqlite3_column_int64 (stmt, col)));
                break;
            case SQLITE_NULL:
                json_object_set_new (json, name, json_null ());
                break;
            default:
                json_object_set_new (
                    json, name,
                    json_string ((const char *) sqlite3_column_text (stmt,
                                                                     col)));
        }
    }
    char error[256];
    cm_cdr_t *cdr = cm_cdr_from_json (json, error, sizeof error);
    if (!cdr)
        CM_LOG (CM_LOG_WARN, "store", "row %s skipped: %s",
                json_string_value (json_object_get (json, "uniqueid")),
                error);
    json_decref (json);
    return cdr;
}

static zlistx_t *
s_query (void *handle, const cdrd_filter_t *filter)
{
    s_sqlite_t *self = (s_sqlite_t *) handle;
    char sql[1024], from[CM_CDR_TIME_SIZE], to[CM_CDR_TIME_SIZE];
    int len = snprintf (sql, sizeof sql, "SELECT %s FROM cdr WHERE 1 = 1",
                        s_columns);
    if (filter->uniqueid)
        len += snprintf (sql + len, sizeof sql - (size_t) len,
                         " AND uniqueid = :uniqueid");
    if (filter->src)
        len += snprintf (sql + len, sizeof sql - (size_t) len,
                         " AND src = :src");
    if (filter->dst)
        len += snprintf (sql + len, sizeof sql - (size_t) len,
                         " AND dst = :dst");
    if (filter->from)
        len += snprintf (sql + len, sizeof sql - (size_t) len,
                         " AND start_time >= :from");
    if (filter->to)
        len += snprintf (sql + len, sizeof sql - (size_t) len,
                         " AND start_time < :to");
    if (filter->disposition >= 0)
        len += snprintf (sql + len, sizeof sql - (size_t) len,
                         " AND disposition = :disposition");
    snprintf (sql + len, sizeof sql - (size_t) len,
              " ORDER BY start_time, uniqueid LIMIT :limit OFFSET :offset");
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        s_log_error (self, "query");
        return NULL;
    }
    //  Binding a name absent from the statement is a harmless no-op
    //  (index 0 is rejected by sqlite3_bind_*).
    s_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":uniqueid"),
                 filter->uniqueid);
    s_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":src"),
                 filter->src);
    s_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":dst"),
                 filter->dst);
    s_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":from"),
                 cm_cdr_time_format (filter->from, from, sizeof from));
    s_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":to"),
                 cm_cdr_time_format (filter->to, to, sizeof to));
    s_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":disposition"),
                 filter->disposition >= 0
                     ? cm_cdr_disposition_name (
                           (cm_cdr_disposition_t) filter->disposition)
                     : NULL);
    size_t limit = filter->limit ? filter->limit : CDRD_STORE_QUERY_DEFAULT;
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":limit"),
                        (sqlite3_int64) limit);
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":offset"),
                        (sqlite3_int64) filter->offset);
    zlistx_t *rows = zlistx_new ();
    zlistx_set_destructor (rows, (zlistx_destructor_fn *) cm_cdr_destroy);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        cm_cdr_t *cdr = s_row_to_cdr (stmt);
        if (cdr)
            zlistx_add_end (rows, cdr);
    }
    if (rc != SQLITE_DONE) {
        s_log_error (self, "query");
        zlistx_destroy (&rows);
    }
    sqlite3_finalize (stmt);
    return rows;
}

static int64_t
s_count (void *handle)
{
    s_sqlite_t *self = (s_sqlite_t *) handle;
    sqlite3_stmt *stmt = NULL;
    int64_t count = -1;
    if (sqlite3_prepare_v2 (self->db, "SELECT count(*) FROM cdr", -1, &stmt,
                            NULL)
            == SQLITE_OK
        && sqlite3_step (stmt) == SQLITE_ROW)
        count = sqlite3_column_int64 (stmt, 0);
    else
        s_log_error (self, "count");
    sqlite3_finalize (stmt);
    return count;
}

static zlistx_t *
s_csv_pending (void *handle)
{
    s_sqlite_t *self = (s_sqlite_t *) handle;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db,
                            "SELECT uniqueid FROM cdr_csv_pending ORDER BY "
                            "rowid",
                            -1, &stmt, NULL)
        != SQLITE_OK) {
        s_log_error (self, "csv pending");
        return NULL;
    }
    zlistx_t *ids = zlistx_new ();
    zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        zlistx_add_end (ids,
                        strdup ((const char *) sqlite3_column_text (stmt, 0)));
    if (rc != SQLITE_DONE) {
        s_log_error (self, "csv pending");
        zlistx_destroy (&ids);
    }
    sqlite3_finalize (stmt);
    return ids;
}

static int
s_csv_done (void *handle, zlistx_t *uniqueids, bool in_transaction)
{
    s_sqlite_t *self = (s_sqlite_t *) handle;
    sqlite3_stmt *stmt = NULL;
    if (!in_transaction && s_exec (self, "BEGIN IMMEDIATE") != 0)
        return -1;
    if (sqlite3_prepare_v2 (self->db,
                            "DELETE FROM cdr_csv_pending WHERE uniqueid = ?",
                            -1, &stmt, NULL)
        != SQLITE_OK) {
        s_log_error (self, "csv done");
        if (!in_transaction)
            s_exec (self, "ROLLBACK");
        return -1;
    }
    int rc = 0;
    for (const char *id = (const char *) zlistx_first (uniqueids); id && !rc;
         id = (const char *) zlistx_next (uniqueids)) {
        sqlite3_reset (stmt);
        s_bind_text (stmt, 1, id);
        if (sqlite3_step (stmt) != SQLITE_DONE) {
            s_log_error (self, "csv done");
            rc = -1;
        }
    }
    sqlite3_finalize (stmt);
    if (in_transaction)
        return rc;
    if (rc == 0 && s_exec (self, "COMMIT") == 0)
        return 0;
    s_exec (self, "ROLLBACK");
    return -1;
}

const cdrd_backend_t cdrd_sqlite_backend = {
    "sqlite",   s_schema, s_open,  s_close,       s_begin,   s_insert,
    s_commit,   s_rollback, s_query, s_count, s_csv_pending, s_csv_done};
