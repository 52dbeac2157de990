//  cdrd_backend — the operations a CDR database backend provides to
//  cdrd_store. One const table per backend (cdrd_sqlite_backend today;
//  PostgreSQL and MariaDB later). Each operation gets the backend's own
//  handle; errors are logged by the backend and reported as -1 / NULL.
//  Semantics are those of the matching cdrd_store_* call.

#ifndef CDRD_BACKEND_H_INCLUDED
#define CDRD_BACKEND_H_INCLUDED

#include "cdrd_store.h"

typedef struct {
    const char *name;       //  [cdrd] backend value
    const char *schema;     //  cdrd/sql/<backend>.sql, embedded
    //  Open and create the schema; NULL with reason in error on failure.
    void *(*open) (const char *dsn, bool track_csv, char *error,
                   size_t size);
    void (*close) (void **handle_p);
    int (*begin) (void *handle);
    int (*insert) (void *handle, const cm_cdr_t *cdr);
    int (*commit) (void *handle);
    void (*rollback) (void *handle);
    zlistx_t *(*query) (void *handle, const cdrd_filter_t *filter);
    int64_t (*count) (void *handle);
    zlistx_t *(*csv_pending) (void *handle);
    //  Inside an open transaction (in_transaction) the deletes join it.
    int (*csv_done) (void *handle, zlistx_t *uniqueids, bool in_transaction);
} cdrd_backend_t;

//  The SQLite backend (cdrd_sqlite.c).
extern const cdrd_backend_t cdrd_sqlite_backend;

#endif
