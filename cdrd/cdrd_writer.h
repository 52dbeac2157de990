//  cdrd_writer — cdrd's storage actor: the one thread that touches the
//  database and the CSV day files (STYLE §2, §7: the loop never blocks on
//  a commit or an fdatasync).
//
//  The server (loop thread) hands validated CDRs to the actor with a
//  ticket each, several per pipe message (what it read from its socket in
//  one go), and gets results back on the actor's pipe, in request order.
//  The actor groups CDRs into one store transaction while more are
//  already queued on its pipe (at most CDRD_WRITER_BATCH_MAX), then ends
//  the batch: commit (rows durable), append the new rows to the CSV day
//  files and fdatasync them, and only then report every CDR of the batch
//  as NEW or DUPLICATE. A failed begin, insert, commit or CSV write
//  reports the whole batch as RETRY with a reason: the sender keeps those
//  CDRs and sends them again (inserts are idempotent on uniqueid). So a
//  NEW/DUPLICATE result always means "durably in the database and the
//  CSV" and the server may acknowledge it.
//
//  While the actor commits, the server keeps reading the socket and
//  queueing CDRs on the pipe; the next batch takes all of them in one
//  transaction (group commit: two fsyncs per batch, not per CDR).
//
//  Queries (cdr.query) are answered by the actor too, on its single
//  connection: an SQLite read is disk I/O that may take long on a big
//  table, so it does not belong in the loop either, and one connection in
//  one thread needs no locking. The actor ends the open batch first, so a
//  query sees every CDR acknowledged before it.
//
//  Pipe protocol (private to cdrd_writer.c; threads share nothing
//  mutable, a CDR's ownership moves with its message):
//      server → actor   "CDR" {ticket cdr-pointer}   store CDRs
//                       "QUERY" ticket json-text     cdr.query body
//                       "FLUSH"                      end the batch, answer
//                                                    "FLUSHED"
//                       "$TERM"                      end the batch, exit
//      actor → server   "DONE" reason csv_behind batches results
//                       (reason "" on success; results: packed ticket +
//                       status pairs, request order)
//                       "ROWS" ticket status text   query result
//                       "FLUSHED"

#ifndef CDRD_WRITER_H_INCLUDED
#define CDRD_WRITER_H_INCLUDED

#include "cdrd_csv.h"
#include "cdrd_store.h"
#include "cm_cdr.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define CDRD_WRITER_BATCH_MAX 1000  //  CDRs per transaction at most

typedef enum {
    CDRD_WRITER_NEW = 0,        //  stored now (durable)
    CDRD_WRITER_DUPLICATE,      //  was stored already (durable)
    CDRD_WRITER_RETRY,          //  not stored; text is the reason
    CDRD_WRITER_ROWS,           //  query result; text is the reply body
                                //  {count, rows} as JSON
    CDRD_WRITER_QUERY_FAILED    //  query failed; text is the reason
} cdrd_writer_status_t;

typedef struct _cdrd_writer_t cdrd_writer_t;

//  One result: ticket as given to cdrd_writer_store/_query; text is
//  borrowed for the call (NULL for NEW and DUPLICATE).
typedef void (cdrd_writer_fn) (uint64_t ticket, cdrd_writer_status_t status,
                               const char *text, void *arg);

//  Bring the CSV files up to date with the store (rows a crash left
//  unwritten, see cdrd_server.c), then start the actor. Takes ownership of
//  *store_p and *csv_p (csv may be NULL: CSV off) in every case. Runs in
//  the caller's thread until the actor starts; returns NULL with the
//  reason in error when the CSV cannot be repaired.
//  Caller owns return value and must destroy it when done.
cdrd_writer_t *
    cdrd_writer_new (cdrd_store_t **store_p, cdrd_csv_t **csv_p, char *error,
                     size_t size);

//  Stop the actor: it takes the outbox, ends the open batch (commit and
//  CSV) and exits.
//  Results not read by then are lost, so call cdrd_writer_flush first to
//  deliver them. NULL-safe; sets *self_p to NULL.
void
    cdrd_writer_destroy (cdrd_writer_t **self_p);

//  The actor's pipe, to register with a zloop reader; on input call
//  cdrd_writer_recv.
zsock_t *
    cdrd_writer_sock (cdrd_writer_t *self);

//  Queue one validated CDR in the outbox. Takes ownership of *cdr_p.
//  The outbox goes to the actor as one message on cdrd_writer_send (the
//  caller sends once its socket is drained, or at CDRD_WRITER_BATCH_MAX
//  CDRs), and before a query or a flush.
void
    cdrd_writer_store (cdrd_writer_t *self, uint64_t ticket,
                       cm_cdr_t **cdr_p);

//  CDRs in the outbox (not yet sent to the actor).
size_t
    cdrd_writer_queued (cdrd_writer_t *self);

//  Send the outbox to the actor. Returns 0, or -1 when the send failed
//  (its CDRs are dropped and will get no result).
int
    cdrd_writer_send (cdrd_writer_t *self);

//  Queue a cdr.query whose body (not consumed) was checked with
//  cdrd_filter_parse. Returns 0 or -1.
int
    cdrd_writer_query (cdrd_writer_t *self, uint64_t ticket, json_t *body);

//  Read one message from the actor and call fn for each result in it.
//  Returns 0, or -1 when nothing could be read.
int
    cdrd_writer_recv (cdrd_writer_t *self, cdrd_writer_fn *fn, void *arg);

//  Make the actor end its open batch and wait (blocking: for shutdown)
//  until every request sent before has its result delivered to fn.
//  Returns 0, or -1 when the actor did not answer within timeout_ms.
int
    cdrd_writer_flush (cdrd_writer_t *self, cdrd_writer_fn *fn, void *arg,
                       int timeout_ms);

//  Commits done so far and whether the CSV is behind the database, as
//  last reported by the actor (for pong).
uint64_t
    cdrd_writer_batches (cdrd_writer_t *self);
bool
    cdrd_writer_csv_behind (cdrd_writer_t *self);

#endif
