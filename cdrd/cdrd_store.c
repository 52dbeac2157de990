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
