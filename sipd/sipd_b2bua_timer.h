//  sipd_b2bua_timer — the B2BUA's call timers: no answer, 2xx
//  retransmission, linger, keep-alive (part of sipd_b2bua, see
//  sipd_b2bua_private.h).
//
//  A call keeps the ids of its running timers in its timer_* fields; when
//  one comes due, sipd_b2bua_timer.c acts on the field that holds it.

#ifndef SIPD_B2BUA_TIMER_H_INCLUDED
#define SIPD_B2BUA_TIMER_H_INCLUDED

#include "sipd_b2bua_private.h"

//  Start a timer for call, due in delay_ms. Returns its id (to store in
//  one of the call's timer_* fields), 0 on failure.
int
    sipd_b2bua_timer_start (sipd_b2bua_t *self, call_t *call, int delay_ms);

//  Stop the timer *timer_p (0: none) and set *timer_p to 0.
void
    sipd_b2bua_timer_stop (sipd_b2bua_t *self, int *timer_p);

#endif
