//  cdrd_server — cdrd's requests: CDR ingest and queries (docs/ipc.md).
//
//  `cdr` carries one CDR (cm_cdr JSON). The loop thread decodes and
//  validates it and hands it to the storage actor (cdrd_writer), which
//  stores CDRs in batches: one transaction for everything that queued up
//  during the previous commit, then the CSV lines are appended and
//  fdatasync'ed. Only then does the server answer each request with
//  `ack` {uniqueid, stored: "new"|"duplicate"}: an ack always means
//  "durably in the database and the CSV". A CDR that fails validation
//  gets `error` {error, retry: false}; a database or disk failure, or
//  more than CDRD_SERVER_PENDING_MAX requests waiting for the actor, gets
//  `error` {error, retry: true} and sipd sends it again.
//
//  `cdr.query` returns stored rows: filters uniqueid, src, dst, from, to
//  (ISO 8601 times on start_time, from inclusive, to exclusive),
//  disposition, limit (1..500, default 100), offset; reply `cdr.rows`
//  {count, rows: [cdr...]} ordered by start_time. The filter is checked
//  in the loop; the actor runs the query after ending its open batch, so
//  the rows include every CDR acknowledged before.
//
//  Nothing in the loop blocks on the disk: commits, fdatasyncs and
//  queries all happen in the actor's thread.

#ifndef CDRD_SERVER_H_INCLUDED
#define CDRD_SERVER_H_INCLUDED

#include "cm_service.h"

#include <czmq.h>

#define CDRD_SERVER_PENDING_MAX 900  //  requests queued to the actor at
                                     //  most (below its pipe HWM)

typedef struct _cdrd_server_t cdrd_server_t;

//  Open the store (backend, dsn as in [cdrd]), the CSV writer when csv_dir
//  is not NULL, repair CSV rows a crash left unwritten, and register the
//  `cdr` and `cdr.query` handlers on service. Returns NULL with the reason
//  in error. Caller owns return value and must destroy it when done.
cdrd_server_t *
    cdrd_server_new (const char *backend, const char *dsn,
                     const char *csv_dir, zloop_t *loop,
                     cm_service_t *service, char *error, size_t size);

//  Let the actor finish the open batch (commit, CSV) and send the acks of
//  everything it stored, then stop it and close. NULL-safe.
void
    cdrd_server_destroy (cdrd_server_t **self_p);

#endif
