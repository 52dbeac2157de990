//  cdrd_server — CDR ingest with group commit, and queries. See
//  cdrd_server.h for the protocol and docs/cdr.md for the guarantees.
//
//  A batch is the set of `cdr` requests received since the last flush.
//  The first one opens a store transaction; requests are added while more
//  are already waiting on the socket, and the batch is flushed (commit,
//  CSV, acks) as soon as the socket is drained, at BATCH_MAX requests, or
//  by a 50 ms one-shot timer under a never-ending stream (and before a
//  query, and at shutdown). An idle cdrd thus commits a lone CDR at once,
//  and a busy one commits everything that queued up during the previous
//  commit in one go.
//  Acks are only sent after the commit returned and the CSV lines were
//  fdatasync'ed, so an `ack` always means "durably stored".
//
//  CSV rows must be written exactly once although a crash can hit between
//  the commit and the CSV write. The store records every new uniqueid in
//  cdr_csv_pending inside the same transaction as the row; once the CSV
//  flush is done those ids are removed as part of the next batch's
//  transaction (or at shutdown), which saves one commit per batch. At
//  start-up, and after a failed CSV flush, the leftovers are checked
//  against the day files and written only if missing (s_csv_catch_up).
//  So each batch costs two fsyncs: the SQLite commit and the CSV
//  fdatasync.

#include "cdrd_server.h"
#include "cdrd_csv.h"
#include "cdrd_store.h"
#include "cm_cdr.h"
#include "cm_log.h"

#include <string.h>

#define FLUSH_DELAY_MS 50       //  oldest a batch may get under a
                                //  steady stream
#define BATCH_MAX 1000          //  flush at once beyond this
#define TIDY_DELAY_MS 1000      //  idle time before clearing csv_written

typedef struct {
    zframe_t *routing_id;       //  requester (owned)
    char *id;                   //  request id (owned)
    cm_cdr_t *cdr;              //  the record (owned)
    bool is_new;                //  inserted now (not a duplicate)
} s_item_t;

struct _cdrd_server_t {
    cm_service_t *service;      //  borrowed
    zloop_t *loop;              //  borrowed
    cdrd_store_t *store;        //  owned
    cdrd_csv_t *csv;            //  owned; NULL when csv = no
    zlistx_t *batch;            //  s_item_t awaiting commit (owned)
    bool in_transaction;        //  store transaction open
    bool flush_armed;           //  one-shot timer pending
    int flush_timer;            //  its id while armed
    bool tidy_armed;            //  csv_written clean-up timer pending
    int tidy_timer;             //  its id while armed
    bool csv_behind;            //  a CSV flush failed; catch up
    zlistx_t *csv_written;      //  ids flushed to CSV, still marked
                                //  pending in the store (owned strings)
    uint64_t stored_new;        //  rows inserted
    uint64_t stored_duplicate;  //  duplicates acknowledged
    uint64_t rejected;          //  invalid CDRs refused
    uint64_t batches;           //  commits
};

static void
s_item_destroy (s_item_t **item_p)
{
    s_item_t *item = *item_p;
    if (!item)
        return;
    zframe_destroy (&item->routing_id);
    free (item->id);
    cm_cdr_destroy (&item->cdr);
    free (item);
    *item_p = NULL;
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

//  Fail every request of the batch (retry later) and drop it.
static void
s_fail_batch (cdrd_server_t *self, const char *reason)
{
    for (s_item_t *item = (s_item_t *) zlistx_first (self->batch); item;
         item = (s_item_t *) zlistx_next (self->batch))
        s_reply_error (self, item->routing_id, item->id, reason, true);
    zlistx_purge (self->batch);
}

//  Write CSV rows that the store says may be missing; see the file
//  comment. Each day file involved is read once into a set of its
//  uniqueids. Returns 0 when the CSV is complete.
static int
s_csv_catch_up (cdrd_server_t *self)
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
            CM_LOG (CM_LOG_INFO, "server",
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

//  When no batch came for a while, clear cdr_csv_pending on its own.
static int
s_on_tidy_timer (zloop_t *loop, int timer_id, void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    self->tidy_armed = false;
    if (!self->in_transaction && zlistx_size (self->csv_written)
        && cdrd_store_csv_done (self->store, self->csv_written) == 0)
        zlistx_purge (self->csv_written);
    return 0;
}

//  Commit the batch, write CSV, send acks.
static void
s_flush (cdrd_server_t *self)
{
    if (!self->in_transaction)
        return;
    self->in_transaction = false;
    if (cdrd_store_commit (self->store) != 0) {
        s_fail_batch (self, "database commit failed");
        return;
    }
    self->batches++;
    //  The commit also removed the earlier batch's ids from
    //  cdr_csv_pending (s_on_cdr).
    zlistx_purge (self->csv_written);
    if (self->csv && self->csv_behind) {
        //  This batch's new rows are in cdr_csv_pending like the earlier
        //  ones: the catch-up writes them all, each once.
        if (s_csv_catch_up (self) != 0) {
            s_fail_batch (self, "CSV write failed");
            return;
        }
    }
    else if (self->csv) {
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
        //  Mark them written in the next transaction, saving a commit.
        for (s_item_t *item = (s_item_t *) zlistx_first (self->batch);
             item && !rc; item = (s_item_t *) zlistx_next (self->batch))
            if (item->is_new)
                zlistx_add_end (self->csv_written,
                                strdup (cm_cdr_uniqueid (item->cdr)));
        if (zlistx_size (self->csv_written) && !self->tidy_armed) {
            self->tidy_timer = zloop_timer (self->loop, TIDY_DELAY_MS, 1,
                                            s_on_tidy_timer, self);
            self->tidy_armed = true;
        }
        if (rc != 0) {
            //  Rows are in the database; the CSV is repaired by the next
            //  flush. Ask sipd to resend so the ack follows the CSV.
            self->csv_behind = true;
            s_fail_batch (self, "CSV write failed");
            return;
        }
    }
    for (s_item_t *item = (s_item_t *) zlistx_first (self->batch); item;
         item = (s_item_t *) zlistx_next (self->batch)) {
        if (item->is_new)
            self->stored_new++;
        else
            self->stored_duplicate++;
        s_reply (self, item->routing_id, item->id, "ack",
                 json_pack ("{s:s, s:s}", "uniqueid",
                            cm_cdr_uniqueid (item->cdr), "stored",
                            item->is_new ? "new" : "duplicate"));
    }
    zlistx_purge (self->batch);
}

static int
s_on_flush_timer (zloop_t *loop, int timer_id, void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    self->flush_armed = false;
    s_flush (self);
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
    if (!self->in_transaction) {
        if (cdrd_store_begin (self->store) != 0) {
            s_reply_error (self, routing_id, cm_msg_id (request),
                           "database unavailable", true);
            cm_cdr_destroy (&cdr);
            return 0;
        }
        self->in_transaction = true;
        //  Rows of the previous batch are in the CSV now; if this fails
        //  they stay pending and the next start checks them again.
        if (zlistx_size (self->csv_written))
            (void) cdrd_store_csv_done (self->store, self->csv_written);
    }
    int rc = cdrd_store_insert (self->store, cdr);
    if (rc < 0) {
        cdrd_store_rollback (self->store);
        self->in_transaction = false;
        s_fail_batch (self, "database insert failed");
        s_reply_error (self, routing_id, cm_msg_id (request),
                       "database insert failed", true);
        cm_cdr_destroy (&cdr);
        return 0;
    }
    s_item_t *item = (s_item_t *) zmalloc (sizeof (s_item_t));
    item->routing_id = zframe_dup (routing_id);
    item->id = strdup (cm_msg_id (request) ? cm_msg_id (request) : "");
    item->cdr = cdr;
    item->is_new = rc == 1;
    zlistx_add_end (self->batch, item);
    //  Group commit: keep reading while more requests are already queued,
    //  commit as soon as the socket is drained.
    if (zlistx_size (self->batch) >= BATCH_MAX
        || !(zsock_events (cm_service_sock (service)) & ZMQ_POLLIN))
        s_flush (self);
    else if (!self->flush_armed) {
        self->flush_timer = zloop_timer (self->loop, FLUSH_DELAY_MS, 1,
                                         s_on_flush_timer, self);
        self->flush_armed = true;
    }
    return 0;
}

//  Read the cdr.query filter from the request body. Returns 0, or -1 with
//  the reason in error.
static int
s_parse_filter (json_t *body, cdrd_filter_t *filter, char *error,
                size_t size)
{
    cdrd_filter_init (filter);
    const char *text_keys[] = {"uniqueid", "src", "dst", "from", "to",
                               "disposition", NULL};
    const char *texts[6] = {NULL};
    for (int i = 0; text_keys[i]; i++) {
        json_t *value = json_object_get (body, text_keys[i]);
        if (!value || json_is_null (value))
            continue;
        if (!json_is_string (value)) {
            snprintf (error, size, "%s must be a string", text_keys[i]);
            return -1;
        }
        texts[i] = json_string_value (value);
    }
    filter->uniqueid = texts[0];
    filter->src = texts[1];
    filter->dst = texts[2];
    if ((texts[3] && cm_cdr_time_parse (texts[3], &filter->from) != 0)
        || (texts[4] && cm_cdr_time_parse (texts[4], &filter->to) != 0)) {
        snprintf (error, size,
                  "from/to must be UTC times like 2026-11-26T14:30:00.000Z");
        return -1;
    }
    cm_cdr_disposition_t disposition;
    if (texts[5]) {
        if (cm_cdr_disposition_parse (texts[5], &disposition) != 0) {
            snprintf (error, size,
                      "disposition must be ANSWERED, BUSY, NO ANSWER, "
                      "CANCELLED or FAILED");
            return -1;
        }
        filter->disposition = (int) disposition;
    }
    json_t *limit = json_object_get (body, "limit");
    json_t *offset = json_object_get (body, "offset");
    if (limit
        && (!json_is_integer (limit) || json_integer_value (limit) < 1
            || json_integer_value (limit) > CDRD_STORE_QUERY_MAX)) {
        snprintf (error, size, "limit must be an integer 1..%d",
                  CDRD_STORE_QUERY_MAX);
        return -1;
    }
    if (offset && (!json_is_integer (offset) || json_integer_value (offset) < 0)) {
        snprintf (error, size, "offset must be an integer >= 0");
        return -1;
    }
    filter->limit = limit ? (size_t) json_integer_value (limit) : 0;
    filter->offset = offset ? (size_t) json_integer_value (offset) : 0;
    return 0;
}

static int
s_on_query (cm_service_t *service, zframe_t *routing_id, cm_msg_t *request,
            void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    s_flush (self);     //  answer from committed state, acks first
    cdrd_filter_t filter;
    char error[256];
    if (s_parse_filter (cm_msg_body (request), &filter, error, sizeof error)
        != 0) {
        s_reply_error (self, routing_id, cm_msg_id (request), error, false);
        return 0;
    }
    zlistx_t *rows = cdrd_store_query (self->store, &filter);
    if (!rows) {
        s_reply_error (self, routing_id, cm_msg_id (request),
                       "database query failed", true);
        return 0;
    }
    json_t *list = json_array ();
    for (cm_cdr_t *cdr = (cm_cdr_t *) zlistx_first (rows); cdr;
         cdr = (cm_cdr_t *) zlistx_next (rows))
        json_array_append_new (list, cm_cdr_to_json (cdr));
    s_reply (self, routing_id, cm_msg_id (request), "cdr.rows",
             json_pack ("{s:i, s:o}", "count", (int) zlistx_size (rows),
                        "rows", list));
    zlistx_destroy (&rows);
    return 0;
}

static void
s_pong_extra (json_t *body, void *arg)
{
    cdrd_server_t *self = (cdrd_server_t *) arg;
    json_object_set_new (body, "backend",
                         json_string (cdrd_store_backend (self->store)));
    json_object_set_new (body, "cdr_new",
                         json_integer ((json_int_t) self->stored_new));
    json_object_set_new (body, "cdr_duplicate",
                         json_integer ((json_int_t) self->stored_duplicate));
    json_object_set_new (body, "cdr_rejected",
                         json_integer ((json_int_t) self->rejected));
    json_object_set_new (body, "csv_behind", json_boolean (self->csv_behind));
    json_object_set_new (body, "batches",
                         json_integer ((json_int_t) self->batches));
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
    self->batch = zlistx_new ();
    zlistx_set_destructor (self->batch,
                           (zlistx_destructor_fn *) s_item_destroy);
    self->csv_written = zlistx_new ();
    zlistx_set_destructor (self->csv_written,
                           (zlistx_destructor_fn *) zstr_free);
    self->store = cdrd_store_new (backend, dsn, csv_dir != NULL, error, size);
    if (!self->store)
        goto fail;
    if (csv_dir) {
        self->csv = cdrd_csv_new (csv_dir);
        if (!self->csv) {
            snprintf (error, size, "cannot create CSV directory %s", csv_dir);
            goto fail;
        }
        if (s_csv_catch_up (self) != 0) {
            snprintf (error, size, "cannot bring CSV files in %s up to date",
                      csv_dir);
            goto fail;
        }
    }
    cm_service_on (service, "cdr", s_on_cdr, self);
    cm_service_on (service, "cdr.query", s_on_query, self);
    cm_service_set_pong_extra (service, s_pong_extra, self);
    CM_LOG (CM_LOG_INFO, "server", "storing CDRs in %s %s%s%s", backend, dsn,
            csv_dir ? " and CSV in " : "", csv_dir ? csv_dir : "");
    return self;
fail:
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
    if (self->flush_armed)
        zloop_timer_end (self->loop, self->flush_timer);
    if (self->tidy_armed)
        zloop_timer_end (self->loop, self->tidy_timer);
    if (self->store) {
        s_flush (self);
        if (zlistx_size (self->csv_written))
            (void) cdrd_store_csv_done (self->store, self->csv_written);
    }
    zlistx_destroy (&self->batch);
    zlistx_destroy (&self->csv_written);
    cdrd_csv_destroy (&self->csv);
    cdrd_store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}
