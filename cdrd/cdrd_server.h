//  cdrd_server — cdrd's requests: CDR ingest and queries (docs/ipc.md).
//
//  `cdr` carries one CDR (cm_cdr JSON). Valid CDRs are inserted into the
//  store inside a batch transaction that grows while more requests are
//  already queued; once the socket is drained the batch ends: commit (the
//  rows are durable), append the new rows to the CSV day files and
//  fdatasync them, then answer every request of the batch with `ack`
//  {uniqueid, stored: "new"|"duplicate"}. This group commit costs two
//  fsyncs per batch instead of per CDR. A CDR that fails
//  validation gets `error` {error, retry: false}; a database or disk
//  failure gets `error` {error, retry: true} and sipd sends it again.
//
//  `cdr.query` returns stored rows: filters uniqueid, src, dst, from, to
//  (ISO 8601 times on start_time, from inclusive, to exclusive),
//  disposition, limit (1..500, default 100), offset; reply `cdr.rows`
//  {count, rows: [cdr...]} ordered by start_time.
//
//  The store calls are synchronous in the loop: SQLite on a local disk in
//  WAL mode commits in well under a millisecond plus one fsync per batch,
//  which is acceptable for cdrd, whose loop serves nothing else
//  time-critical.

#ifndef CDRD_SERVER_H_INCLUDED
#define CDRD_SERVER_H_INCLUDED

#include "cm_service.h"

#include <czmq.h>

typedef struct _cdrd_server_t cdrd_server_t;

//  Open the store (backend, dsn as in [cdrd]), the CSV writer when csv_dir
//  is not NULL, repair CSV rows a crash left unwritten, and register the
//  `cdr` and `cdr.query` handlers on service. Returns NULL with the reason
//  in error. Caller owns return value and must destroy it when done.
cdrd_server_t *
    cdrd_server_new (const char *backend, const char *dsn,
                     const char *csv_dir, zloop_t *loop,
                     cm_service_t *service, char *error, size_t size);

//  Finish the open batch (commit, CSV, acks) and close. NULL-safe.
void
    cdrd_server_destroy (cdrd_server_t **self_p);

#endif
