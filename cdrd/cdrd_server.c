//  cdrd_server — CDR ingest and queries on cdrd's control socket. See
//  cdrd_server.h for the protocol and docs/cdr.md for the guarantees.
//
//  The loop thread does only cheap work: decode and validate a request,
//  give it a ticket, remember who asked (routing id, request id) in a
//  FIFO and pass it to the storage actor (cdrd_writer): CDRs go in one
//  message per burst, once the socket is drained (or every SEND_DELAY_MS
//  under a stream that never drains), so a burst becomes one batch. The actor answers
//  every ticket in the order it was given, so the FIFO's head is always
//  the next result's request; the server then sends `ack`, `error` or
//  `cdr.rows`. An ack is sent only for results the actor reports after
//  its commit and CSV fdatasync, which keeps DESIGN §2's contract: sipd
//  drops a CDR from its journal only once it is durable here.
//
//  Backpressure: the actor's pipe has a high-water mark, and a send that
//  reaches it would block the loop. Beyond CDRD_SERVER_PENDING_MAX
//  requests in the FIFO, new CDRs get `error` {retry: true} at once; the
//  journal backs off and resends.

#include "cdrd_server.h"
#include "cdrd_csv.h"
#include "cdrd_store.h"
#include "cdrd_writer.h"
#include "cm_cdr.h"
#include "cm_log.h"

#include <string.h>

#define FLUSH_TIMEOUT_MS 30000  //  longest wait for the actor at shutdown
#define SEND_DELAY_MS 10        //  longest a CDR waits in the outbox while
                                //  requests keep coming

//  A request handed to the actor, waiting for its result.
typedef struct {
    uint64_t ticket;                            //  given to the actor
    zframe_t *routing_id;                       //  requester (owned)
    char *id;                                   //  request id (owned)
    char uniqueid[CM_CDR_UNIQUEID_MAX + 1];     //  CDR's; "" for a query
} s_pending_t;

struct _cdrd_server_t {
    cm_service_t *service;      //  borrowed
    zloop_t *loop;              //  borrowed
    cdrd_writer_t *writer;      //  storage actor (owned)
    const char *backend;        //  backend name (static string)
    zlistx_t *pending;          //  s_pending_t in ticket order (owned)
    uint64_t next_ticket;       //  ticket of the next request
    bool send_armed;            //  outbox timer pending
    int send_timer;             //  its id while armed
    uint64_t stored_new;        //  rows inserted
    uint64_t stored_duplicate;  //  duplicates acknowledged
    uint64_t rejected;          //  invalid CDRs refused
    uint64_t busy;              //  CDRs refused while the actor was behind
};

static void
s_pending_destroy (s_pending_t **pending_p)
{
    s_pending_t *pending = *pending_p;
    if (!pending)
        return;
    zframe_destroy (&pending->routing_id);
    free (pending->id);
    free (pending);
    *pending_p = NULL;
}

static void
s_reply (cdrd_server_t *self, zframe_t *routing_id, const char *id,
         const char *type, json_t *body)
{
    cm_msg_t *reply = cm_msg_new (type, id, &body);
    if (reply)
        cm_service_reply (self->service, routing_id, &reply);
}

static void
s_reply_error (cdrd_server_t *self, zframe_t *routing_id, const char *id,
               const char *reason, bool retry)
{
    s_reply (self, routing_id, id, "error",
             json_pack ("{s:s, s:b}", "error", reason, "retry", retry));
}

//  Remember a request for the actor; returns its ticket.
static uint64_t
s_pending_add (cdrd_server_t *self, zframe_t *routing_id, cm_msg_t *request,
               const char *uniqueid)
{
    s_pending_t *pending = (s_pending_t *) zmalloc (sizeof (s_pending_t));
    pending->ticket = self->next_ticket++;
    pending->routing_id = zframe_dup (routing_id);
    pending->id = strdup (cm_msg_id (request) ? cm_msg_id (request) : "");
    snprintf (pending->uniqueid, sizeof pending->uniqueid, "%s", uniqueid);
    zlistx_add_end (self->pending, pending);
    return pending->ticket;
}

//  Drop the newest pending request (its hand-over to the actor failed).
static void
s_pending_drop_last (cdrd_server_t *self)
{
    s_pending_t *pending = (s_pending_t *) zlistx_last (self->pending);
    if (pending) {
        s_reply_error (self, pending->routing_id, pending->id,
                       "storage unavailable", true);
        zlistx_delete (self->pending, zlistx_cursor (self->pending));
    }
}

//  One result from the actor: answer the request at the FIFO's head.
static void
s_on_result (uint64_t ticket, cdrd_writer_status_t status, const char *text,
             void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    s_pending_t *pending = (s_pending_t *) zlistx_first (self->pending);
    //  The actor answers in ticket order; anything else is a bug.
    assert (pending && pending->ticket == ticket);
    switch (status) {
        case CDRD_WRITER_NEW:
        case CDRD_WRITER_DUPLICATE:
            if (status == CDRD_WRITER_NEW)
                self->stored_new++;
            else
                self->stored_duplicate++;
            s_reply (self, pending->routing_id, pending->id, "ack",
                     json_pack ("{s:s, s:s}", "uniqueid", pending->uniqueid,
                                "stored",
                                status == CDRD_WRITER_NEW ? "new"
                                                          : "duplicate"));
            break;
        case CDRD_WRITER_ROWS: {
            json_t *body = json_loads (text, 0, NULL);
            if (body)
                s_reply (self, pending->routing_id, pending->id, "cdr.rows",
                         body);
            else
                s_reply_error (self, pending->routing_id, pending->id,
                               "database query failed", true);
            break;
        }
        case CDRD_WRITER_RETRY:
        case CDRD_WRITER_QUERY_FAILED:
        default:
            s_reply_error (self, pending->routing_id, pending->id,
                           text ? text : "storage failed", true);
    }
    zlistx_delete (self->pending, zlistx_cursor (self->pending));
}

static int
s_on_writer (zloop_t *loop, zsock_t *sock, void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    do
        if (cdrd_writer_recv (self->writer, s_on_result, self) != 0)
            break;
    while (zsock_events (sock) & ZMQ_POLLIN);
    return 0;
}

//  Send the writer's outbox to the actor. Its CDRs are the newest
//  pending requests (a query always sends the outbox first); if the send
//  fails they are answered with retry.
static void
s_send (cdrd_server_t *self)
{
    if (self->send_armed) {
        zloop_timer_end (self->loop, self->send_timer);
        self->send_armed = false;
    }
    size_t count = cdrd_writer_queued (self->writer);
    if (count && cdrd_writer_send (self->writer) != 0)
        for (size_t i = 0; i < count; i++)
            s_pending_drop_last (self);
}

static int
s_on_send_timer (zloop_t *loop, int timer_id, void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    self->send_armed = false;
    s_send (self);
    return 0;
}

static int
s_on_cdr (cm_service_t *service, zframe_t *routing_id, cm_msg_t *request,
          void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    char error[256], reason[300];
    cm_cdr_t *cdr = cm_cdr_from_json (cm_msg_body (request), error,
                                      sizeof error);
    if (!cdr) {
        self->rejected++;
        snprintf (reason, sizeof reason, "invalid cdr: %s", error);
        CM_LOG (CM_LOG_WARN, "server", "%s", reason);
        s_reply_error (self, routing_id, cm_msg_id (request), reason, false);
        return 0;
    }
    if (zlistx_size (self->pending) >= CDRD_SERVER_PENDING_MAX) {
        self->busy++;
        s_reply_error (self, routing_id, cm_msg_id (request),
                       "cdrd busy, retry later", true);
        cm_cdr_destroy (&cdr);
        return 0;
    }
    uint64_t ticket = s_pending_add (self, routing_id, request,
                                     cm_cdr_uniqueid (cdr));
    cdrd_writer_store (self->writer, ticket, &cdr);
    //  Hand over what was read in one go: the actor then commits it as
    //  one batch. A never-ending stream is sent every SEND_DELAY_MS.
    if (cdrd_writer_queued (self->writer) >= CDRD_WRITER_BATCH_MAX
        || !(zsock_events (cm_service_sock (service)) & ZMQ_POLLIN))
        s_send (self);
    else if (!self->send_armed) {
        self->send_timer = zloop_timer (self->loop, SEND_DELAY_MS, 1,
                                        s_on_send_timer, self);
        self->send_armed = true;
    }
    return 0;
}

static int
s_on_query (cm_service_t *service, zframe_t *routing_id, cm_msg_t *request,
            void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    cdrd_filter_t filter;
    char error[256];
    if (cdrd_filter_parse (&filter, cm_msg_body (request), error,
                           sizeof error)
        != 0) {
        s_reply_error (self, routing_id, cm_msg_id (request), error, false);
        return 0;
    }
    if (zlistx_size (self->pending) >= CDRD_SERVER_PENDING_MAX) {
        s_reply_error (self, routing_id, cm_msg_id (request),
                       "cdrd busy, retry later", true);
        return 0;
    }
    s_send (self);      //  the CDRs before the query go first
    uint64_t ticket = s_pending_add (self, routing_id, request, "");
    if (cdrd_writer_query (self->writer, ticket, cm_msg_body (request)) != 0)
        s_pending_drop_last (self);
    return 0;
}

static void
s_pong_extra (json_t *body, void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    json_object_set_new (body, "backend", json_string (self->backend));
    json_object_set_new (body, "cdr_new",
                         json_integer ((json_int_t) self->stored_new));
    json_object_set_new (body, "cdr_duplicate",
                         json_integer ((json_int_t) self->stored_duplicate));
    json_object_set_new (body, "cdr_rejected",
                         json_integer ((json_int_t) self->rejected));
    json_object_set_new (body, "cdr_busy",
                         json_integer ((json_int_t) self->busy));
    json_object_set_new (body, "cdr_queued",
                         json_integer ((json_int_t) zlistx_size (self->pending)));
    json_object_set_new (body, "csv_behind",
                         json_boolean (cdrd_writer_csv_behind (self->writer)));
    json_object_set_new (
        body, "batches",
        json_integer ((json_int_t) cdrd_writer_batches (self->writer)));
}

cdrd_server_t *
cdrd_server_new (const char *backend, const char *dsn, const char *csv_dir,
                 zloop_t *loop, cm_service_t *service, char *error,
                 size_t size)
{
    assert (backend);
    assert (dsn);
    assert (loop);
    assert (service);
    cdrd_server_t *self = (cdrd_server_t *) zmalloc (sizeof (cdrd_server_t));
    self->service = service;
    self->loop = loop;
    self->pending = zlistx_new ();
    zlistx_set_destructor (self->pending,
                           (zlistx_destructor_fn *) s_pending_destroy);
    cdrd_csv_t *csv = NULL;
    cdrd_store_t *store = cdrd_store_new (backend, dsn, csv_dir != NULL,
                                          error, size);
    if (!store)
        goto fail;
    self->backend = cdrd_store_backend (store);
    if (csv_dir) {
        csv = cdrd_csv_new (csv_dir);
        if (!csv) {
            snprintf (error, size, "cannot create CSV directory %s", csv_dir);
            goto fail;
        }
    }
    //  Start-up, before the loop runs: the CSV repair may block here.
    self->writer = cdrd_writer_new (&store, &csv, error, size);
    if (!self->writer) {
        snprintf (error, size, "cannot bring CSV files in %s up to date",
                  csv_dir ? csv_dir : "");
        goto fail;
    }
    if (zloop_reader (loop, cdrd_writer_sock (self->writer), s_on_writer,
                      self)
        != 0) {
        snprintf (error, size, "cannot watch the storage actor");
        goto fail;
    }
    cm_service_on (service, "cdr", s_on_cdr, self);
    cm_service_on (service, "cdr.query", s_on_query, self);
    cm_service_set_pong_extra (service, s_pong_extra, self);
    CM_LOG (CM_LOG_INFO, "server", "storing CDRs in %s %s%s%s", backend, dsn,
            csv_dir ? " and CSV in " : "", csv_dir ? csv_dir : "");
    return self;
fail:
    cdrd_csv_destroy (&csv);
    cdrd_store_destroy (&store);
    cdrd_server_destroy (&self);
    return NULL;
}

void
cdrd_server_destroy (cdrd_server_t **self_p)
{
    assert (self_p);
    cdrd_server_t *self = *self_p;
    if (!self)
        return;
    if (self->writer) {
        s_send (self);
        zloop_reader_end (self->loop, cdrd_writer_sock (self->writer));
        //  Everything handed over is committed and acknowledged; what
        //  the actor cannot finish in time stays unacknowledged and sipd
        //  sends it again.
        if (cdrd_writer_flush (self->writer, s_on_result, self,
                               FLUSH_TIMEOUT_MS)
            != 0)
            CM_LOG (CM_LOG_ERROR, "server",
                    "storage actor did not finish in time: %zu CDR(s) "
                    "left unacknowledged",
                    zlistx_size (self->pending));
        cdrd_writer_destroy (&self->writer);
    }
    zlistx_destroy (&self->pending);
    free (self);
    *self_p = NULL;
}
