//  cdrd_store — backend-independent facade. See cdrd_store.h.

#include "cdrd_store.h"
#include "cdrd_backend.h"
#include "cm_log.h"

#include <string.h>

struct _cdrd_store_t {
    const cdrd_backend_t *backend;  //  operations (static table)
    void *handle;                   //  backend state (owned)
    bool in_transaction;            //  begin called, not yet finished
};

//  Backends built into this binary, by [cdrd] backend name.
static const cdrd_backend_t *const s_backends[] = {&cdrd_sqlite_backend,
                                                   NULL};

void
cdrd_filter_init (cdrd_filter_t *filter)
{
    assert (filter);
    memset (filter, 0, sizeof *filter);
    filter->disposition = -1;
}

int
cdrd_filter_parse (cdrd_filter_t *filter, json_t *body, char *error,
                   size_t size)
{
    assert (filter);
    cdrd_filter_init (filter);
    if (!json_is_object (body)) {
        snprintf (error, size, "query body must be a JSON object");
        return -1;
    }
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
    if (offset
        && (!json_is_integer (offset) || json_integer_value (offset) < 0)) {
        snprintf (error, size, "offset must be an integer >= 0");
        return -1;
    }
    filter->limit = limit ? (size_t) json_integer_value (limit) : 0;
    filter->offset = offset ? (size_t) json_integer_value (offset) : 0;
    return 0;
}

cdrd_store_t *
cdrd_store_new (const char *backend, const char *dsn, bool track_csv,
                char *error, size_t size)
{
    assert (backend);
    assert (dsn);
    const cdrd_backend_t *ops = NULL;
    for (int i = 0; s_backends[i]; i++)
        if (streq (s_backends[i]->name, backend))
            ops = s_backends[i];
    if (!ops) {
        snprintf (error, size,
                  "backend '%s' is not supported by this build yet (only "
                  "sqlite)",
                  backend);
        return NULL;
    }
    void *handle = ops->open (dsn, track_csv, error, size);
    if (!handle)
        return NULL;
    cdrd_store_t *self = (cdrd_store_t *) zmalloc (sizeof (cdrd_store_t));
    self->backend = ops;
    self->handle = handle;
    return self;
}

void
cdrd_store_destroy (cdrd_store_t **self_p)
{
    assert (self_p);
    cdrd_store_t *self = *self_p;
    if (!self)
        return;
    cdrd_store_rollback (self);
    self->backend->close (&self->handle);
    free (self);
    *self_p = NULL;
}

const char *
cdrd_store_backend (cdrd_store_t *self)
{
    assert (self);
    return self->backend->name;
}

int
cdrd_store_begin (cdrd_store_t *self)
{
    assert (self);
    assert (!self->in_transaction);
    if (self->backend->begin (self->handle) != 0)
        return -1;
    self->in_transaction = true;
    return 0;
}

int
cdrd_store_insert (cdrd_store_t *self, const cm_cdr_t *cdr)
{
    assert (self);
    assert (cdr);
    assert (self->in_transaction);
    return self->backend->insert (self->handle, cdr);
}

int
cdrd_store_commit (cdrd_store_t *self)
{
    assert (self);
    assert (self->in_transaction);
    self->in_transaction = false;
    if (self->backend->commit (self->handle) != 0) {
        self->backend->rollback (self->handle);
        return -1;
    }
    return 0;
}

void
cdrd_store_rollback (cdrd_store_t *self)
{
    assert (self);
    if (!self->in_transaction)
        return;
    self->in_transaction = false;
    self->backend->rollback (self->handle);
}

zlistx_t *
cdrd_store_query (cdrd_store_t *self, const cdrd_filter_t *filter)
{
    assert (self);
    assert (filter);
    return self->backend->query (self->handle, filter);
}

int64_t
cdrd_store_count (cdrd_store_t *self)
{
    assert (self);
    return self->backend->count (self->handle);
}

zlistx_t *
cdrd_store_csv_pending (cdrd_store_t *self)
{
    assert (self);
    return self->backend->csv_pending (self->handle);
}

int
cdrd_store_csv_done (cdrd_store_t *self, zlistx_t *uniqueids)
{
    assert (self);
    assert (uniqueids);
    if (zlistx_size (uniqueids) == 0)
        return 0;
    return self->backend->csv_done (self->handle, uniqueids,
                                    self->in_transaction);
}
