//  sipd_server_loop — running sipd_server's transactions: events queue
//  their transaction on the ready list, sipd_server_run runs those (and
//  only those), the zloop tick gives due transactions their timer events
//  from the deadline queue, ended transactions are freed after the run
//  (part of sipd_server; see the top of sipd_server.c).

#ifndef SIPD_SERVER_LOOP_H_INCLUDED
#define SIPD_SERVER_LOOP_H_INCLUDED

#include "sipd_server_private.h"

//  Queue an event on a transaction and remember to run it. Takes
//  ownership of evt.
void
    sipd_server_add_event (sipd_server_t *self, osip_transaction_t *tr,
                           osip_event_t *evt);

//  Free transactions that ended during the last execute.
void
    sipd_server_collect (sipd_server_t *self);

//  Run the transactions on the ready list, then free the ended ones.
//  Not re-entered: from inside a callback it returns at once and the
//  outer run drains the list.
void
    sipd_server_run (sipd_server_t *self);

//  The zloop timer handler (every TIMER_MS, arg the server): transaction
//  timers, sipd_nist expiry, heap trim after a burst.
int
    sipd_server_timer (zloop_t *loop, int timer_id, void *arg);

#endif
