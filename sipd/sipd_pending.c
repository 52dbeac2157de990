//  sipd_pending — pending CDR locations in append order, indexed by
//  uniqueid. See sipd_pending.h.
//
//  Each entry is one allocation: the location, the flags, the uniqueid
//  and three links. The append order is a doubly linked list, so an ack
//  removes any entry in O(1) once the index has found it. The index is a
//  chained hash table; its bucket array (a power of two) doubles when
//  there are more entries than buckets and halves when there are fewer
//  than a quarter. That costs 8 to 16 bytes per entry while the queue
//  grows, at most 32 while it drains, and a queue that drained after an
//  outage gives the memory back.

#include "sipd_pending.h"

#include <czmq.h>
#include <string.h>

#define BUCKETS_MIN 64          //  smallest bucket array (power of two)

struct _sipd_pending_t {
    sipd_pending_cdr_t *head;   //  oldest entry (owned, with the chain)
    sipd_pending_cdr_t *tail;   //  newest entry (borrowed)
    sipd_pending_cdr_t **buckets;   //  hash chains (owned array)
    size_t nbuckets;            //  buckets, a power of two
    size_t size;                //  entries
};

sipd_pending_t *
sipd_pending_new (void)
{
    sipd_pending_t *self = (sipd_pending_t *) zmalloc (sizeof (sipd_pending_t));
    self->nbuckets = BUCKETS_MIN;
    self->buckets = (sipd_pending_cdr_t **) zmalloc (
        self->nbuckets * sizeof (sipd_pending_cdr_t *));
    return self;
}

void
sipd_pending_destroy (sipd_pending_t **self_p)
{
    assert (self_p);
    sipd_pending_t *self = *self_p;
    if (!self)
        return;
    sipd_pending_cdr_t *cdr = self->head;
    while (cdr) {
        sipd_pending_cdr_t *next = cdr->next;
        free (cdr);
        cdr = next;
    }
    free (self->buckets);
    free (self);
    *self_p = NULL;
}

//  FNV-1a: uniqueids are short UUID strings, any spread-out hash will do.
static size_t
s_hash (const char *key)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *) key; *p; p++)
        hash = (hash ^ *p) * 1099511628211ULL;
    return (size_t) hash;
}

static sipd_pending_cdr_t **
s_bucket (sipd_pending_t *self, const char *uniqueid)
{
    return &self->buckets[s_hash (uniqueid) & (self->nbuckets - 1)];
}

//  Move every entry into a bucket array of the new size.
static void
s_rehash (sipd_pending_t *self, size_t nbuckets)
{
    free (self->buckets);
    self->nbuckets = nbuckets;
    self->buckets = (sipd_pending_cdr_t **) zmalloc (
        nbuckets * sizeof (sipd_pending_cdr_t *));
    for (sipd_pending_cdr_t *cdr = self->head; cdr; cdr = cdr->next) {
        sipd_pending_cdr_t **bucket = s_bucket (self, cdr->uniqueid);
        cdr->chain = *bucket;
        *bucket = cdr;
    }
}

sipd_pending_cdr_t *
sipd_pending_add (sipd_pending_t *self, const char *uniqueid,
                  uint32_t segment, uint64_t offset, size_t length)
{
    assert (self);
    assert (uniqueid);
    if (length > SIPD_PENDING_LENGTH_MAX
        || sipd_pending_lookup (self, uniqueid))
        return NULL;
    size_t keylen = strlen (uniqueid);
    sipd_pending_cdr_t *cdr = (sipd_pending_cdr_t *) zmalloc (
        sizeof (sipd_pending_cdr_t) + keylen + 1);
    memcpy (cdr->uniqueid, uniqueid, keylen + 1);
    cdr->segment = segment;
    cdr->offset = offset;
    cdr->length = (uint32_t) length;
    cdr->prev = self->tail;
    if (self->tail)
        self->tail->next = cdr;
    else
        self->head = cdr;
    self->tail = cdr;
    sipd_pending_cdr_t **bucket = s_bucket (self, uniqueid);
    cdr->chain = *bucket;
    *bucket = cdr;
    if (++self->size > self->nbuckets)
        s_rehash (self, self->nbuckets * 2);
    return cdr;
}

sipd_pending_cdr_t *
sipd_pending_lookup (sipd_pending_t *self, const char *uniqueid)
{
    assert (self);
    assert (uniqueid);
    for (sipd_pending_cdr_t *cdr = *s_bucket (self, uniqueid); cdr;
         cdr = cdr->chain)
        if (streq (cdr->uniqueid, uniqueid))
            return cdr;
    return NULL;
}

void
sipd_pending_remove (sipd_pending_t *self, sipd_pending_cdr_t **cdr_p)
{
    assert (self);
    assert (cdr_p);
    sipd_pending_cdr_t *cdr = *cdr_p;
    assert (cdr);
    sipd_pending_cdr_t **link = s_bucket (self, cdr->uniqueid);
    while (*link != cdr) {
        assert (*link);         //  the entry belongs to this list
        link = &(*link)->chain;
    }
    *link = cdr->chain;
    if (cdr->prev)
        cdr->prev->next = cdr->next;
    else
        self->head = cdr->next;
    if (cdr->next)
        cdr->next->prev = cdr->prev;
    else
        self->tail = cdr->prev;
    free (cdr);
    *cdr_p = NULL;
    self->size--;
    if (self->nbuckets > BUCKETS_MIN && self->size < self->nbuckets / 4)
        s_rehash (self, self->nbuckets / 2);
}

sipd_pending_cdr_t *
sipd_pending_first (sipd_pending_t *self)
{
    assert (self);
    return self->head;
}

size_t
sipd_pending_size (sipd_pending_t *self)
{
    assert (self);
    return self->size;
}
