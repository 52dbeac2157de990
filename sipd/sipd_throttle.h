//  sipd_throttle — brute-force protection for digest authentication.
//
//  Failed authentications are counted per source IP address. When
//  [sipd] auth_fail_limit failures fall within auth_fail_window seconds,
//  the address is blocked for auth_block_time seconds: its requests are
//  answered 403 without looking at the credentials. The block is logged
//  once per burst (start, and a summary of the requests refused when it
//  ends). Memory is bounded: stale entries expire, and the table never
//  exceeds a fixed number of addresses.

#ifndef SIPD_THROTTLE_H_INCLUDED
#define SIPD_THROTTLE_H_INCLUDED

#include "sipd_clock.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct _sipd_throttle_t sipd_throttle_t;

//  Most addresses tracked at once; beyond it new addresses are not
//  tracked (warned once) until entries expire.
#define SIPD_THROTTLE_MAX_ENTRIES 65536

//  Create. limit failures within window seconds block for block_time
//  seconds (all >= 1). Caller owns return value and must destroy it.
sipd_throttle_t *
    sipd_throttle_new (int limit, int window, int block_time);

//  Destroy. NULL-safe, idempotent; sets *self_p to NULL.
void
    sipd_throttle_destroy (sipd_throttle_t **self_p);

//  True when ip is blocked now. Counts the refused request.
bool
    sipd_throttle_is_blocked (sipd_throttle_t *self, const char *ip);

//  Record a failed authentication from ip. Returns true when this failure
//  starts a block.
bool
    sipd_throttle_failure (sipd_throttle_t *self, const char *ip);

//  Record a successful authentication from ip: forgets its failures
//  (a block in force stays until it ends).
void
    sipd_throttle_success (sipd_throttle_t *self, const char *ip);

//  Drop entries whose window and block have passed; logs the end of each
//  block. Call about once a second.
void
    sipd_throttle_expire (sipd_throttle_t *self);

//  Number of addresses tracked.
size_t
    sipd_throttle_size (sipd_throttle_t *self);

//  Replace the time source (tests). fn NULL restores time (NULL).
void
    sipd_throttle_set_clock (sipd_throttle_t *self, sipd_clock_fn *fn,
                             void *arg);

#endif
