//  cdrd_store — the CDR database behind cdrd, whatever the backend.
//
//  A thin facade over a backend operations table (cdrd_backend.h). Today
//  the only backend is SQLite (cdrd_sqlite), the embedded default;
//  PostgreSQL and MariaDB plug in later as further tables implementing the
//  same operations on the same logical schema (cdrd/sql/*.sql).
//
//  Writes are grouped: begin, any number of inserts, commit. An insert
//  is idempotent on uniqueid: storing a CDR that is already there is not
//  an error, it reports "duplicate" and changes nothing, which makes
//  at-least-once delivery from sipd exactly-once in the table.
//
//  With CSV tracking on, each newly inserted uniqueid is also recorded in
//  cdr_csv_pending in the same transaction; cdrd removes it once the CSV
//  line is flushed (cdrd_store_csv_done), and after a crash re-checks the
//  leftovers against the CSV files (cdrd_store_csv_pending).
//
//  All calls are synchronous (a commit is a write plus one fsync in WAL
//  mode), so only cdrd's storage actor (cdrd_writer) calls them, never
//  the loop. One store is used by one thread at a time.

#ifndef CDRD_STORE_H_INCLUDED
#define CDRD_STORE_H_INCLUDED

#include "cm_cdr.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDRD_STORE_QUERY_DEFAULT 100    //  rows when no limit is given
#define CDRD_STORE_QUERY_MAX 500        //  largest limit (IPC body size)

//  Query filter; zero/NULL fields do not filter.
typedef struct {
    const char *uniqueid;           //  exact match
    const char *src;                //  exact match
    const char *dst;                //  exact match
    int64_t from;                   //  start_time >= from (ms since epoch)
    int64_t to;                     //  start_time < to (ms since epoch)
    int disposition;                //  cm_cdr_disposition_t, -1 = any
    size_t limit;                   //  rows, 0 = CDRD_STORE_QUERY_DEFAULT
    size_t offset;                  //  rows to skip (paging)
} cdrd_filter_t;

typedef struct _cdrd_store_t cdrd_store_t;

//  Initialise a filter that matches everything.
void
    cdrd_filter_init (cdrd_filter_t *filter);

//  Fill filter from a cdr.query body (docs/ipc.md): uniqueid, src, dst,
//  disposition, from, to (UTC times), limit (1..CDRD_STORE_QUERY_MAX),
//  offset. The filter's strings borrow from body. Returns 0, or -1 with
//  the reason in error.
int
    cdrd_filter_parse (cdrd_filter_t *filter, json_t *body, char *error,
                       size_t size);

//  Open the store: backend "sqlite" ("postgresql" and "mariadb" are not
//  built yet and fail with a clear reason), dsn as in [cdrd] dsn. Creates
//  the schema when missing. track_csv: record new rows in
//  cdr_csv_pending. On failure returns NULL and writes the reason into
//  error. Caller owns return value and must destroy it when done.
cdrd_store_t *
    cdrd_store_new (const char *backend, const char *dsn, bool track_csv,
                    char *error, size_t size);

//  Close. An open transaction is rolled back. NULL-safe.
void
    cdrd_store_destroy (cdrd_store_t **self_p);

//  Backend name ("sqlite").
const char *
    cdrd_store_backend (cdrd_store_t *self);

//  Start a write transaction. Returns 0 or -1.
int
    cdrd_store_begin (cdrd_store_t *self);

//  Insert a validated CDR inside a transaction. Returns 1 when the row is
//  new, 0 when a row with that uniqueid exists already, -1 on a database
//  error (the caller then rolls back).
int
    cdrd_store_insert (cdrd_store_t *self, const cm_cdr_t *cdr);

//  Commit: once this returns 0 the rows are durable. -1 on failure (the
//  transaction is rolled back).
int
    cdrd_store_commit (cdrd_store_t *self);

//  Roll back an open transaction (no-op when none).
void
    cdrd_store_rollback (cdrd_store_t *self);

//  Rows matching filter, ordered by start_time then uniqueid, as a list
//  of cm_cdr_t (destructor set). Returns NULL on a database error.
//  Caller owns return value and must destroy it when done.
zlistx_t *
    cdrd_store_query (cdrd_store_t *self, const cdrd_filter_t *filter);

//  Number of rows in the table, -1 on error.
int64_t
    cdrd_store_count (cdrd_store_t *self);

//  uniqueids still in cdr_csv_pending (list of char *, destructor set),
//  NULL on error. Caller owns return value.
zlistx_t *
    cdrd_store_csv_pending (cdrd_store_t *self);

//  Remove these uniqueids (char *) from cdr_csv_pending: inside an open
//  transaction the deletes become part of it (no extra commit), otherwise
//  they run in a transaction of their own. Returns 0 or -1.
int
    cdrd_store_csv_done (cdrd_store_t *self, zlistx_t *uniqueids);

#endif
