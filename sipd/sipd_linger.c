//  sipd_linger — match keys of ended transactions until a deadline. See
//  sipd_linger.h.
//
//  A zhashx finds keys; a zlistx in insertion order (which is deadline
//  order, every key lingering the same time) finds the expired ones.

#include "sipd_linger.h"

#include <czmq.h>

typedef struct {
    char *key;                  //  owned; also the zhashx key
    int64_t deadline;
} s_entry_t;

struct _sipd_linger_t {
    zhashx_t *by_key;           //  key -> s_entry_t (borrowed)
    zlistx_t *queue;            //  s_entry_t, oldest first (owned)
};

static void
s_entry_destroy (void **item_p)
{
    s_entry_t *entry = *item_p;
    if (entry) {
        free (entry->key);
        free (entry);
    }
    *item_p = NULL;
}

sipd_linger_t *
sipd_linger_new (void)
{
    sipd_linger_t *self = zmalloc (sizeof *self);
    self->by_key = zhashx_new ();
    self->queue = zlistx_new ();
    //  the entries own their keys: the index borrows them
    zhashx_set_key_duplicator (self->by_key, NULL);
    zhashx_set_key_destructor (self->by_key, NULL);
    zlistx_set_destructor (self->queue, s_entry_destroy);
    return self;
}

void
sipd_linger_destroy (sipd_linger_t **self_p)
{
    assert (self_p);
    sipd_linger_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->by_key);
    zlistx_destroy (&self->queue);
    free (self);
    *self_p = NULL;
}

int
sipd_linger_add (sipd_linger_t *self, const char *key, int64_t deadline)
{
    assert (self);
    assert (key);
    s_entry_t *entry = zhashx_lookup (self->by_key, key);
    if (entry) {
        if (deadline > entry->deadline)
            entry->deadline = deadline;
        return 0;
    }
    entry = malloc (sizeof *entry);
    char *copy = strdup (key);
    if (!entry || !copy) {
        free (entry);
        free (copy);
        return -1;
    }
    entry->key = copy;
    entry->deadline = deadline;
    zlistx_add_end (self->queue, entry);
    zhashx_insert (self->by_key, entry->key, entry);
    return 0;
}

bool
sipd_linger_has (sipd_linger_t *self, const char *key)
{
    assert (self);
    return key && zhashx_lookup (self->by_key, key) != NULL;
}

void
sipd_linger_expire (sipd_linger_t *self, int64_t now)
{
    assert (self);
    s_entry_t *entry;
    while ((entry = zlistx_first (self->queue)) && entry->deadline <= now) {
        zhashx_delete (self->by_key, entry->key);
        zlistx_delete (self->queue, zlistx_cursor (self->queue));
    }
}

size_t
sipd_linger_size (sipd_linger_t *self)
{
    assert (self);
    return zlistx_size (self->queue);
}
