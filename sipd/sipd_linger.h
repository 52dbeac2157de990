//  sipd_linger — match keys of ended transactions, remembered until a
//  deadline so that late retransmissions are absorbed.
//
//  An INVITE server transaction that got its ACK (Confirmed, RFC 3261
//  §17.2.1) only absorbs ACK retransmissions for T4 (5 s) over UDP:
//  timer I. Keeping the whole libosip2 transaction for that (15 KB of
//  struct, zeroed at creation, plus the request and response it holds)
//  made it a large part of a call's memory traffic. sipd_server ends it
//  at once and keeps its key here instead: what matches a lingering key
//  is dropped, as the transaction would have absorbed it.
//
//  Keys are added with non-decreasing deadlines in practice (every entry
//  lingers T4); sipd_linger_expire still looks at every entry whose
//  deadline is due, oldest first, and stops at the first that is not.

#ifndef SIPD_LINGER_H_INCLUDED
#define SIPD_LINGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sipd_linger_t sipd_linger_t;

//  Caller owns return value and must destroy it when done.
sipd_linger_t *
    sipd_linger_new (void);

//  NULL-safe; sets *self_p to NULL.
void
    sipd_linger_destroy (sipd_linger_t **self_p);

//  Remember a copy of key until deadline (any clock, same unit as
//  sipd_linger_expire's now). A key already there keeps the later of the
//  two deadlines. Returns 0, or -1 (no memory).
int
    sipd_linger_add (sipd_linger_t *self, const char *key, int64_t deadline);

//  True when key lingers.
bool
    sipd_linger_has (sipd_linger_t *self, const char *key);

//  Forget the keys whose deadline is at or before now.
void
    sipd_linger_expire (sipd_linger_t *self, int64_t now);

//  Keys lingering.
size_t
    sipd_linger_size (sipd_linger_t *self);

#endif
