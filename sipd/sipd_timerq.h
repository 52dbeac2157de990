//  sipd_timerq — a queue of deadlines, earliest first (a binary min-heap),
//  for the transaction timers of sipd_server.
//
//  Each entry is a deadline (any monotonic unit, here microseconds of
//  osip_gettimeofday) and the id of what is due then (a txn_id). The
//  queue does not remove entries early: a caller that moves an id's
//  deadline pushes a new entry and recognises the stale one when it
//  pops (its deadline no longer matches what the caller remembers).
//  Push and pop cost O(log n), and finding what is due costs nothing for
//  what is not: a timer tick touches only due entries, however many
//  transactions are alive.

#ifndef SIPD_TIMERQ_H_INCLUDED
#define SIPD_TIMERQ_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sipd_timerq_t sipd_timerq_t;

//  Create an empty queue. Caller owns return value and must destroy it.
sipd_timerq_t *
    sipd_timerq_new (void);

//  Destroy. NULL-safe; sets *self_p to NULL.
void
    sipd_timerq_destroy (sipd_timerq_t **self_p);

//  Add an entry: id is due at deadline. Returns 0, or -1 when out of
//  memory (the entry is not added).
int
    sipd_timerq_push (sipd_timerq_t *self, int64_t deadline, int id);

//  Remove the earliest entry if its deadline is <= now: sets *id_p and
//  *deadline_p and returns true; false when nothing is due.
bool
    sipd_timerq_pop_due (sipd_timerq_t *self, int64_t now, int *id_p,
                         int64_t *deadline_p);

//  The earliest deadline, or INT64_MAX when the queue is empty.
int64_t
    sipd_timerq_next (sipd_timerq_t *self);

//  Entries in the queue (stale ones included).
size_t
    sipd_timerq_size (sipd_timerq_t *self);

#endif
