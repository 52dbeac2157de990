//  sipd_timerq — a queue of deadlines, earliest first (see
//  sipd_timerq.h). A binary min-heap in one growing array.

#include "sipd_timerq.h"

#include <assert.h>
#include <stdlib.h>

#define INITIAL_SLOTS 256

typedef struct {
    int64_t deadline;
    int id;
} s_entry_t;

struct _sipd_timerq_t {
    s_entry_t *heap;            //  heap[0] is the earliest (owned)
    size_t size;                //  entries used
    size_t slots;               //  entries allocated
};

sipd_timerq_t *
sipd_timerq_new (void)
{
    sipd_timerq_t *self = (sipd_timerq_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->heap = (s_entry_t *) malloc (INITIAL_SLOTS * sizeof (s_entry_t));
    if (!self->heap) {
        free (self);
        return NULL;
    }
    self->slots = INITIAL_SLOTS;
    return self;
}

void
sipd_timerq_destroy (sipd_timerq_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->heap);
        free (*self_p);
        *self_p = NULL;
    }
}

int
sipd_timerq_push (sipd_timerq_t *self, int64_t deadline, int id)
{
    assert (self);
    if (self->size == self->slots) {
        size_t slots = self->slots * 2;
        s_entry_t *heap
            = (s_entry_t *) realloc (self->heap, slots * sizeof (s_entry_t));
        if (!heap)
            return -1;
        self->heap = heap;
        self->slots = slots;
    }
    //  Sift up from the new leaf.
    size_t i = self->size++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent].deadline <= deadline)
            break;
        self->heap[i] = self->heap[parent];
        i = parent;
    }
    self->heap[i].deadline = deadline;
    self->heap[i].id = id;
    return 0;
}

bool
sipd_timerq_pop_due (sipd_timerq_t *self, int64_t now, int *id_p,
                     int64_t *deadline_p)
{
    assert (self);
    if (self->size == 0 || self->heap[0].deadline > now)
        return false;
    *id_p = self->heap[0].id;
    *deadline_p = self->heap[0].deadline;
    //  Sift the last entry down from the root.
    s_entry_t last = self->heap[--self->size];
    size_t i = 0, n = self->size;
    while (true) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n
            && self->heap[child + 1].deadline < self->heap[child].deadline)
            child++;
        if (last.deadline <= self->heap[child].deadline)
            break;
        self->heap[i] = self->heap[child];
        i = child;
    }
    if (n > 0)
        self->heap[i] = last;
    //  Give memory back after a burst, keeping room to grow again.
    if (self->slots > INITIAL_SLOTS && self->size < self->slots / 8) {
        size_t slots = self->slots / 2;
        s_entry_t *heap
            = (s_entry_t *) realloc (self->heap, slots * sizeof (s_entry_t));
        if (heap) {
            self->heap = heap;
            self->slots = slots;
        }
    }
    return true;
}

int64_t
sipd_timerq_next (sipd_timerq_t *self)
{
    assert (self);
    return self->size ? self->heap[0].deadline : INT64_MAX;
}

size_t
sipd_timerq_size (sipd_timerq_t *self)
{
    assert (self);
    return self->size;
}
