//  cdrd_writer — the storage actor. See cdrd_writer.h for the protocol.
//
//  The actor thread owns everything in self_t: the store (one SQLite
//  connection), the CSV writer and the open batch. It blocks on its pipe,
//  takes a CDR into the open transaction, and keeps taking while more
//  messages are already waiting (up to CDRD_WRITER_BATCH_MAX); when the
//  pipe is drained the batch ends (s_flush): commit, CSV append and
//  fdatasync, then one DONE message with every result. An idle cdrd thus
//  commits a lone CDR at once, and a busy one commits everything that
//  queued up during the previous commit in one go. A query or FLUSH ends
//  the open batch first, which keeps results in request order.
//
//  CSV rows must be written exactly once although a crash can hit between
//  the commit and the CSV write. The store records every new uniqueid in
//  cdr_csv_pending inside the same transaction as the row; once the CSV
//  flush is done those ids are removed as part of the next batch's
//  transaction (or after TIDY_DELAY_MS without one, or at exit), which
//  saves one commit per batch. At start-up, and after a failed CSV flush,
//  the leftovers are checked against the day files and written only if
//  missing (s_csv_catch_up).

#include "cdrd_writer.h"
#include "cm_log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#define TIDY_DELAY_MS 1000      //  idle time before clearing csv_written

//  One CDR of the open batch.
typedef struct {
    uint64_t ticket;            //  the server's request ticket
    cm_cdr_t *cdr;              //  the record (owned)
    bool is_new;                //  inserted now (not a duplicate)
} s_item_t;

//  One result in a DONE message (packed array, same process).
typedef struct {
    uint64_t ticket;            //  request ticket
    uint32_t status;            //  cdrd_writer_status_t
} s_result_t;

//  Actor state: owned by the actor thread alone once it runs.
typedef struct {
    zsock_t *pipe;              //  to the server (borrowed)
    cdrd_store_t *store;        //  owned
    cdrd_csv_t *csv;            //  owned; NULL when csv = no
    zlistx_t *batch;            //  s_item_t awaiting commit (owned)
    bool in_transaction;        //  store transaction open
    bool csv_behind;            //  a CSV flush failed; catch up
    zlistx_t *csv_written;      //  ids flushed to CSV, still marked
                                //  pending in the store (owned strings)
    uint64_t batches;           //  commits
    bool terminated;            //  $TERM received
} self_t;

//  The server's handle.
struct _cdrd_writer_t {
    zactor_t *actor;            //  the thread (owned)
    zmsg_t *outbox;             //  "CDR" message being filled (owned)
    size_t outbox_count;        //  CDRs in it
    uint64_t batches;           //  last reported commit count
    bool csv_behind;            //  last reported CSV state
    bool flushed;               //  FLUSHED seen since the last FLUSH
};

static void
s_item_destroy (s_item_t **item_p)
{
    s_item_t *item = *item_p;
    if (!item)
        return;
    cm_cdr_destroy (&item->cdr);
    free (item);
    *item_p = NULL;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->batch);
    zlistx_destroy (&self->csv_written);
    cdrd_csv_destroy (&self->csv);
    cdrd_store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------
//  Actor side

//  Send DONE for the whole batch (reason NULL: success) and empty it.
static void
s_send_done (self_t *self, const char *reason)
{
    size_t count = zlistx_size (self->batch);
    s_result_t *results = (s_result_t *) zmalloc (
        (count ? count : 1) * sizeof (s_result_t));
    size_t n = 0;
    for (s_item_t *item = (s_item_t *) zlistx_first (self->batch); item;
         item = (s_item_t *) zlistx_next (self->batch), n++) {
        results[n].ticket = item->ticket;
        results[n].status = reason    ? CDRD_WRITER_RETRY
                            : item->is_new ? CDRD_WRITER_NEW
                                           : CDRD_WRITER_DUPLICATE;
    }
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "DONE");
    zmsg_addstr (msg, reason ? reason : "");
    zmsg_addstr (msg, self->csv_behind ? "1" : "0");
    zmsg_addmem (msg, &self->batches, sizeof self->batches);
    zmsg_addmem (msg, results, count * sizeof (s_result_t));
    free (results);
    if (zmsg_send (&msg, self->pipe) != 0)
        zmsg_destroy (&msg);
    zlistx_purge (self->batch);
}

//  Write CSV rows that the store says may be missing; see the file
//  comment. Each day file involved is read once into a set of its
//  uniqueids. Returns 0 when the CSV is complete.
static int
s_csv_catch_up (self_t *self)
{
    zlistx_t *ids = cdrd_store_csv_pending (self->store);
    if (!ids)
        return -1;
    zhashx_t *files = zhashx_new ();      //  path -> set of uniqueids
    zhashx_set_destructor (files, (zhashx_destructor_fn *) zhashx_destroy);
    int rc = 0;
    size_t written = 0;
    for (const char *id = (const char *) zlistx_first (ids); id && !rc;
         id = (const char *) zlistx_next (ids)) {
        cdrd_filter_t filter;
        cdrd_filter_init (&filter);
        filter.uniqueid = id;
        zlistx_t *rows = cdrd_store_query (self->store, &filter);
        cm_cdr_t *cdr = rows ? (cm_cdr_t *) zlistx_first (rows) : NULL;
        if (cdr) {
            char path[4096];
            cdrd_csv_path (self->csv, cm_cdr_start_time (cdr), path,
                           sizeof path);
            zhashx_t *present = (zhashx_t *) zhashx_lookup (files, path);
            if (!present) {
                present = cdrd_csv_ids (self->csv, cm_cdr_start_time (cdr));
                if (present)
                    zhashx_insert (files, path, present);
            }
            if (!present)
                rc = -1;
            else if (!zhashx_lookup (present, id)) {
                rc = cdrd_csv_append (self->csv, cdr);
                zhashx_update (present, id, (void *) 1);
                written++;
            }
        }
        zlistx_destroy (&rows);
    }
    zhashx_destroy (&files);
    if (rc == 0 && cdrd_csv_flush (self->csv) == 0
        && cdrd_store_csv_done (self->store, ids) == 0) {
        if (zlistx_size (ids))
            CM_LOG (CM_LOG_INFO, "writer",
                    "CSV caught up: %zu row(s) checked, %zu written",
                    zlistx_size (ids), written);
        self->csv_behind = false;
    }
    else {
        rc = -1;
        self->csv_behind = true;
    }
    zlistx_destroy (&ids);
    return rc;
}

//  Append the batch's new rows to the CSV and fdatasync. Returns 0 or -1
//  (then the CSV is marked behind and caught up at the next batch).
static int
s_flush_csv (self_t *self)
{
    if (self->csv_behind)
        //  This batch's new rows are in cdr_csv_pending like the earlier
        //  ones: the catch-up writes them all, each once.
        return s_csv_catch_up (self);
    int rc = 0;
    size_t appended = 0;
    for (s_item_t *item = (s_item_t *) zlistx_first (self->batch);
         item && !rc; item = (s_item_t *) zlistx_next (self->batch))
        if (item->is_new) {
            rc = cdrd_csv_append (self->csv, item->cdr);
            appended++;
        }
    if (rc == 0 && appended)
        rc = cdrd_csv_flush (self->csv);
    if (rc != 0) {
        //  Rows are in the database; the CSV is repaired by the next
        //  flush. The batch is reported RETRY so the ack follows the CSV.
        self->csv_behind = true;
        return -1;
    }
    //  Mark them written in the next transaction, saving a commit.
    for (s_item_t *item = (s_item_t *) zlistx_first (self->batch); item;
         item = (s_item_t *) zlistx_next (self->batch))
        if (item->is_new)
            zlistx_add_end (self->csv_written,
                            strdup (cm_cdr_uniqueid (item->cdr)));
    return 0;
}

//  End the open batch: commit, CSV, DONE.
static void
s_flush (self_t *self)
{
    if (!self->in_transaction)
        return;
    self->in_transaction = false;
    if (cdrd_store_commit (self->store) != 0) {
        s_send_done (self, "database commit failed");
        return;
    }
    self->batches++;
    //  The commit also removed the earlier batch's ids from
    //  cdr_csv_pending (s_on_cdr).
    zlistx_purge (self->csv_written);
    if (self->csv && s_flush_csv (self) != 0) {
        s_send_done (self, "CSV write failed");
        return;
    }
    s_send_done (self, NULL);
}

//  Clear cdr_csv_pending on its own after an idle while.
static void
s_tidy (self_t *self)
{
    if (!self->in_transaction && zlistx_size (self->csv_written)
        && cdrd_store_csv_done (self->store, self->csv_written) == 0)
        zlistx_purge (self->csv_written);
}

//  Take one CDR into the open batch, opening it if needed. When the
//  transaction cannot begin (database locked beyond the busy timeout),
//  the CDR joins a failed batch and 1 is returned: the caller fails the
//  rest of its message with it instead of waiting again for each CDR.
static int
s_on_cdr (self_t *self, uint64_t ticket, cm_cdr_t *cdr, bool failing)
{
    s_item_t *item = (s_item_t *) zmalloc (sizeof (s_item_t));
    item->ticket = ticket;
    item->cdr = cdr;
    if (failing) {
        zlistx_add_end (self->batch, item);
        return 1;
    }
    if (!self->in_transaction) {
        if (cdrd_store_begin (self->store) != 0) {
            zlistx_add_end (self->batch, item);
            return 1;
        }
        self->in_transaction = true;
        //  Rows of the previous batch are in the CSV now; if this fails
        //  they stay pending and the next start checks them again.
        if (zlistx_size (self->csv_written))
            (void) cdrd_store_csv_done (self->store, self->csv_written);
    }
    int rc = cdrd_store_insert (self->store, cdr);
    zlistx_add_end (self->batch, item);
    if (rc < 0) {
        cdrd_store_rollback (self->store);
        self->in_transaction = false;
        s_send_done (self, "database insert failed");
        return 0;
    }
    item->is_new = rc == 1;
    return 0;
}

static void
s_send_rows (self_t *self, uint64_t ticket, cdrd_writer_status_t status,
             const char *text)
{
    uint32_t code = (uint32_t) status;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "ROWS");
    zmsg_addmem (msg, &ticket, sizeof ticket);
    zmsg_addmem (msg, &code, sizeof code);
    zmsg_addstr (msg, text);
    if (zmsg_send (&msg, self->pipe) != 0)
        zmsg_destroy (&msg);
}

//  Answer a cdr.query from committed state.
static void
s_on_query (self_t *self, uint64_t ticket, const char *text)
{
    s_flush (self);
    json_t *body = json_loads (text, 0, NULL);
    cdrd_filter_t filter;
    char error[256];
    if (!body
        || cdrd_filter_parse (&filter, body, error, sizeof error) != 0) {
        s_send_rows (self, ticket, CDRD_WRITER_QUERY_FAILED,
                     body ? error : "bad query body");
        json_decref (body);
        return;
    }
    zlistx_t *rows = cdrd_store_query (self->store, &filter);
    json_decref (body);     //  filter's strings point into body
    if (!rows) {
        s_send_rows (self, ticket, CDRD_WRITER_QUERY_FAILED,
                     "database query failed");
        return;
    }
    json_t *list = json_array ();
    for (cm_cdr_t *cdr = (cm_cdr_t *) zlistx_first (rows); cdr;
         cdr = (cm_cdr_t *) zlistx_next (rows))
        json_array_append_new (list, cm_cdr_to_json (cdr));
    json_t *reply = json_pack ("{s:i, s:o}", "count",
                               (int) zlistx_size (rows), "rows", list);
    char *reply_text = json_dumps (reply, JSON_COMPACT);
    s_send_rows (self, ticket, CDRD_WRITER_ROWS, reply_text);
    free (reply_text);
    json_decref (reply);
    zlistx_destroy (&rows);
}

//  Read a fixed-size frame into out. Returns 0 or -1.
static int
s_pop_mem (zmsg_t *msg, void *out, size_t size)
{
    zframe_t *frame = zmsg_pop (msg);
    int rc = frame && zframe_size (frame) == size ? 0 : -1;
    if (rc == 0)
        memcpy (out, zframe_data (frame), size);
    zframe_destroy (&frame);
    return rc;
}

static void
s_handle (self_t *self, zmsg_t *msg)
{
    char *command = zmsg_popstr (msg);
    uint64_t ticket = 0;
    if (!command)
        return;
    if (streq (command, "CDR")) {
        //  Any number of ticket + record pairs, in request order.
        cm_cdr_t *cdr = NULL;
        bool failing = false;
        while (s_pop_mem (msg, &ticket, sizeof ticket) == 0
               && s_pop_mem (msg, &cdr, sizeof cdr) == 0 && cdr) {
            failing = s_on_cdr (self, ticket, cdr, failing) == 1;
            cdr = NULL;
            //  A full batch is committed before the rest is taken.
            if (!failing && zlistx_size (self->batch) >= CDRD_WRITER_BATCH_MAX)
                s_flush (self);
        }
        if (failing)
            s_send_done (self, "database unavailable");
    }
    else if (streq (command, "QUERY")) {
        char *text = NULL;
        if (s_pop_mem (msg, &ticket, sizeof ticket) == 0
            && (text = zmsg_popstr (msg)))
            s_on_query (self, ticket, text);
        zstr_free (&text);
    }
    else if (streq (command, "FLUSH")) {
        s_flush (self);
        zstr_send (self->pipe, "FLUSHED");
    }
    else if (streq (command, "$TERM"))
        self->terminated = true;
    else
        CM_LOG (CM_LOG_ERROR, "writer", "unknown command %s", command);
    zstr_free (&command);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) args;
    self->pipe = pipe;
    //  SIGINT/SIGTERM go to the loop thread, whose zloop must wake up
    //  to end; this thread learns about shutdown from the pipe.
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    //  SIGTERM ends the server's loop, not this thread: the server still
    //  flushes through it during shutdown.
    zpoller_set_nonstop (poller, true);
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        int timeout = !self->in_transaction && zlistx_size (self->csv_written)
                          ? TIDY_DELAY_MS
                          : -1;
        if (!zpoller_wait (poller, timeout)) {
            if (zpoller_expired (poller))
                s_tidy (self);
            continue;
        }
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg) {
            if (errno == EINTR)
                continue;
            break;
        }
        s_handle (self, msg);
        zmsg_destroy (&msg);
        //  Group commit: keep taking while more is already queued.
        if (self->in_transaction
            && (zlistx_size (self->batch) >= CDRD_WRITER_BATCH_MAX
                || !(zsock_events (pipe) & ZMQ_POLLIN)))
            s_flush (self);
    }
    s_flush (self);
    s_tidy (self);
    zpoller_destroy (&poller);
    s_self_destroy (&self);
}

//  ---------------------------------------------------------------------
//  Server side

cdrd_writer_t *
cdrd_writer_new (cdrd_store_t **store_p, cdrd_csv_t **csv_p, char *error,
                 size_t size)
{
    assert (store_p);
    assert (*store_p);
    assert (csv_p);
    self_t *state = (self_t *) zmalloc (sizeof (self_t));
    state->store = *store_p;
    *store_p = NULL;
    state->csv = *csv_p;
    *csv_p = NULL;
    state->batch = zlistx_new ();
    zlistx_set_destructor (state->batch,
                           (zlistx_destructor_fn *) s_item_destroy);
    state->csv_written = zlistx_new ();
    zlistx_set_destructor (state->csv_written,
                           (zlistx_destructor_fn *) zstr_free);
    //  Before the thread exists, so still single-threaded.
    if (state->csv && s_csv_catch_up (state) != 0) {
        snprintf (error, size, "cannot bring CSV files up to date");
        s_self_destroy (&state);
        return NULL;
    }
    cdrd_writer_t *self = (cdrd_writer_t *) zmalloc (sizeof (cdrd_writer_t));
    self->actor = zactor_new (s_actor, state);
    return self;
}

void
cdrd_writer_destroy (cdrd_writer_t **self_p)
{
    assert (self_p);
    cdrd_writer_t *self = *self_p;
    if (!self)
        return;
    //  The actor takes (and commits) what is still in the outbox.
    cdrd_writer_send (self);
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

zsock_t *
cdrd_writer_sock (cdrd_writer_t *self)
{
    assert (self);
    return zactor_sock (self->actor);
}

void
cdrd_writer_store (cdrd_writer_t *self, uint64_t ticket, cm_cdr_t **cdr_p)
{
    assert (self);
    assert (cdr_p);
    assert (*cdr_p);
    if (!self->outbox) {
        self->outbox = zmsg_new ();
        zmsg_addstr (self->outbox, "CDR");
    }
    zmsg_addmem (self->outbox, &ticket, sizeof ticket);
    zmsg_addmem (self->outbox, cdr_p, sizeof *cdr_p);
    *cdr_p = NULL;      //  the actor will own it
    self->outbox_count++;
}

size_t
cdrd_writer_queued (cdrd_writer_t *self)
{
    assert (self);
    return self->outbox_count;
}

//  Destroy the records of an outbox that could not be sent.
static void
s_outbox_destroy (zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    if (!msg)
        return;
    char *command = zmsg_popstr (msg);
    zstr_free (&command);
    uint64_t ticket;
    cm_cdr_t *cdr = NULL;
    while (s_pop_mem (msg, &ticket, sizeof ticket) == 0
           && s_pop_mem (msg, &cdr, sizeof cdr) == 0)
        cm_cdr_destroy (&cdr);
    zmsg_destroy (msg_p);
}

int
cdrd_writer_send (cdrd_writer_t *self)
{
    assert (self);
    if (!self->outbox)
        return 0;
    self->outbox_count = 0;
    if (zmsg_send (&self->outbox, self->actor) != 0) {
        s_outbox_destroy (&self->outbox);
        return -1;
    }
    return 0;
}

int
cdrd_writer_query (cdrd_writer_t *self, uint64_t ticket, json_t *body)
{
    assert (self);
    assert (body);
    //  After the CDRs queued before it.
    if (cdrd_writer_send (self) != 0)
        return -1;
    char *text = json_dumps (body, JSON_COMPACT);
    if (!text)
        return -1;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "QUERY");
    zmsg_addmem (msg, &ticket, sizeof ticket);
    zmsg_addstr (msg, text);
    free (text);
    if (zmsg_send (&msg, self->actor) != 0) {
        zmsg_destroy (&msg);
        return -1;
    }
    return 0;
}

static void
s_recv_done (cdrd_writer_t *self, zmsg_t *msg, cdrd_writer_fn *fn, void *arg)
{
    char *reason = zmsg_popstr (msg);
    char *behind = zmsg_popstr (msg);
    uint64_t batches = 0;
    zframe_t *results = NULL;
    if (!reason || !behind
        || s_pop_mem (msg, &batches, sizeof batches) != 0
        || !(results = zmsg_pop (msg))
        || zframe_size (results) % sizeof (s_result_t)) {
        CM_LOG (CM_LOG_ERROR, "writer", "malformed DONE from the actor");
        goto out;
    }
    self->batches = batches;
    self->csv_behind = streq (behind, "1");
    size_t count = zframe_size (results) / sizeof (s_result_t);
    for (size_t i = 0; i < count; i++) {
        s_result_t result;
        memcpy (&result, zframe_data (results) + i * sizeof result,
                sizeof result);
        fn (result.ticket, (cdrd_writer_status_t) result.status,
            *reason ? reason : NULL, arg);
    }
out:
    zframe_destroy (&results);
    zstr_free (&reason);
    zstr_free (&behind);
}

int
cdrd_writer_recv (cdrd_writer_t *self, cdrd_writer_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    zmsg_t *msg = zmsg_recv (self->actor);
    if (!msg)
        return -1;
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "DONE"))
        s_recv_done (self, msg, fn, arg);
    else if (command && streq (command, "ROWS")) {
        uint64_t ticket = 0;
        uint32_t status = 0;
        char *text = NULL;
        if (s_pop_mem (msg, &ticket, sizeof ticket) == 0
            && s_pop_mem (msg, &status, sizeof status) == 0
            && (text = zmsg_popstr (msg)))
            fn (ticket, (cdrd_writer_status_t) status, text, arg);
        zstr_free (&text);
    }
    else if (command && streq (command, "FLUSHED"))
        self->flushed = true;
    zstr_free (&command);
    zmsg_destroy (&msg);
    return 0;
}

int
cdrd_writer_flush (cdrd_writer_t *self, cdrd_writer_fn *fn, void *arg,
                   int timeout_ms)
{
    assert (self);
    self->flushed = false;
    if (cdrd_writer_send (self) != 0 || zstr_send (self->actor, "FLUSH") != 0)
        return -1;
    zpoller_t *poller = zpoller_new (self->actor, NULL);
    zpoller_set_nonstop (poller, true);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!self->flushed && zclock_mono () < deadline)
        if (zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            cdrd_writer_recv (self, fn, arg);
    zpoller_destroy (&poller);
    return self->flushed ? 0 : -1;
}

uint64_t
cdrd_writer_batches (cdrd_writer_t *self)
{
    assert (self);
    return self->batches;
}

bool
cdrd_writer_csv_behind (cdrd_writer_t *self)
{
    assert (self);
    return self->csv_behind;
}
