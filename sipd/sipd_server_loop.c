//  sipd_server_loop — running sipd_server's transactions (see
//  sipd_server_loop.h).

#include "sipd_server_loop.h"
#include "sipd_server_recv.h"
#include "cm_log.h"

#include <osip2/osip_time.h>

#include <malloc.h>
#include <string.h>

//  Queue an event on a transaction and remember to run it.
void
sipd_server_add_event (sipd_server_t *self, osip_transaction_t *tr,
                       osip_event_t *evt)
{
    evt->transactionid = tr->transactionid;
    osip_transaction_add_event (tr, evt);
    zlistx_add_end (self->ready, tr);
}

// ---------------------------------------------------------------------
//  The transaction loop

//  Free transactions that ended during the last execute.
void
sipd_server_collect (sipd_server_t *self)
{
    osip_transaction_t *tr = zlistx_first (self->dead);
    while (tr) {
        //  normally empty here; never leave a dangling pointer in it
        while (zlistx_find (self->ready, tr))
            zlistx_detach_cur (self->ready);
        s_txn_t *txn = osip_transaction_get_reserved1 (tr);
        if (txn)
            free (txn->key);
        free (txn);
        osip_transaction_set_reserved1 (tr, NULL);
        osip_transaction_free2 (tr);
        tr = zlistx_next (self->dead);
    }
    zlistx_purge (self->dead);
}

//  ---------------------------------------------------------------------
//  Transaction timers

//  A libosip2 timer deadline in microseconds, or -1 when not armed.
static int64_t
s_tv_us (const struct timeval *tv)
{
    if (tv->tv_sec == -1)
        return -1;
    return (int64_t) tv->tv_sec * 1000000 + tv->tv_usec;
}

//  The earlier of two deadlines (-1: none).
static int64_t
s_earlier (int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

//  The earliest deadline among the timers libosip2 checks for the
//  transaction's current state (see __osip_*_need_timer_*_event), or -1.
static int64_t
s_next_deadline (const osip_transaction_t *tr)
{
    state_t st = tr->state;
    if (tr->ctx_type == ICT && tr->ict_context) {
        const osip_ict_t *c = tr->ict_context;
        if (st == ICT_CALLING)
            return s_earlier (s_tv_us (&c->timer_a_start),
                              s_tv_us (&c->timer_b_start));
        if (st == ICT_COMPLETED)
            return s_tv_us (&c->timer_d_start);
    }
    else if (tr->ctx_type == IST && tr->ist_context) {
        const osip_ist_t *c = tr->ist_context;
        if (st == IST_COMPLETED)
            return s_earlier (s_tv_us (&c->timer_g_start),
                              s_tv_us (&c->timer_h_start));
        if (st == IST_CONFIRMED)
            return s_tv_us (&c->timer_i_start);
    }
    else if (tr->ctx_type == NICT && tr->nict_context) {
        const osip_nict_t *c = tr->nict_context;
        if (st == NICT_TRYING || st == NICT_PROCEEDING)
            return s_earlier (s_tv_us (&c->timer_e_start),
                              s_tv_us (&c->timer_f_start));
        if (st == NICT_COMPLETED)
            return s_tv_us (&c->timer_k_start);
    }
    else if (tr->ctx_type == NIST && tr->nist_context) {
        if (st == NIST_COMPLETED)
            return s_tv_us (&tr->nist_context->timer_j_start);
    }
    return -1;
}

//  True when the armed deadline has passed (libosip2: now > deadline).
static bool
s_expired (const struct timeval *deadline, const struct timeval *now)
{
    return deadline->tv_sec != -1 && osip_timercmp (now, deadline, >);
}

//  The timer event libosip2's osip_timers_*_execute would queue for this
//  transaction now (one per tick, in its order of precedence), or -1.
static int
s_due_timer (const osip_transaction_t *tr, const struct timeval *now)
{
    state_t st = tr->state;
    if (tr->ctx_type == ICT && tr->ict_context) {
        const osip_ict_t *c = tr->ict_context;
        if (st == ICT_CALLING && s_expired (&c->timer_b_start, now))
            return TIMEOUT_B;
        if (st == ICT_CALLING && s_expired (&c->timer_a_start, now))
            return TIMEOUT_A;
        if (st == ICT_COMPLETED && s_expired (&c->timer_d_start, now))
            return TIMEOUT_D;
    }
    else if (tr->ctx_type == IST && tr->ist_context) {
        const osip_ist_t *c = tr->ist_context;
        if (st == IST_CONFIRMED && s_expired (&c->timer_i_start, now))
            return TIMEOUT_I;
        if (st == IST_COMPLETED && s_expired (&c->timer_h_start, now))
            return TIMEOUT_H;
        if (st == IST_COMPLETED && s_expired (&c->timer_g_start, now))
            return TIMEOUT_G;
    }
    else if (tr->ctx_type == NICT && tr->nict_context) {
        const osip_nict_t *c = tr->nict_context;
        bool active = st == NICT_TRYING || st == NICT_PROCEEDING;
        if (st == NICT_COMPLETED && s_expired (&c->timer_k_start, now))
            return TIMEOUT_K;
        if (active && s_expired (&c->timer_f_start, now))
            return TIMEOUT_F;
        if (active && s_expired (&c->timer_e_start, now))
            return TIMEOUT_E;
    }
    else if (tr->ctx_type == NIST && tr->nist_context) {
        if (st == NIST_COMPLETED
            && s_expired (&tr->nist_context->timer_j_start, now))
            return TIMEOUT_J;
    }
    return -1;
}

//  A Confirmed IST or a Completed NICT (UDP: timer I or K armed) only
//  absorbs retransmissions until that timer (sipd_linger.h): end it now.
//  The IST's key lingers until the deadline, so that ACK retransmissions
//  are not taken for the ACK of a 2xx; a response that matches no client
//  transaction is dropped anyway unless it is a 2xx to INVITE, so the
//  NICT needs nothing. Returns true when the transaction ended.
static bool
s_linger (sipd_server_t *self, osip_transaction_t *tr, s_txn_t *txn)
{
    bool confirmed = tr->ctx_type == IST && tr->state == IST_CONFIRMED;
    bool completed = tr->ctx_type == NICT && tr->state == NICT_COMPLETED;
    if ((!confirmed && !completed) || !txn->key)
        return false;   //  pre-RFC 3261 peers keep libosip2's matching
    int64_t deadline = s_next_deadline (tr);
    if (deadline < 0)
        return false;
    if (confirmed && sipd_linger_add (self->ist_linger, txn->key, deadline)
                         != 0)
        return false;
    sipd_server_cb_kill (confirmed ? OSIP_IST_KILL_TRANSACTION
                                   : OSIP_NICT_KILL_TRANSACTION,
                         tr);
    return true;
}

//  Queue the transaction's next timer deadline, unless it is queued
//  already. An earlier entry with another deadline becomes stale.
static void
s_schedule (sipd_server_t *self, osip_transaction_t *tr)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (!txn || txn->killed || s_linger (self, tr, txn))
        return;
    int64_t due = s_next_deadline (tr);
    if (due == txn->due)
        return;
    txn->due = due;
    if (due >= 0 && sipd_timerq_push (self->timerq, due, txn->id) != 0) {
        CM_LOG (CM_LOG_ERROR, "server", "txn=%d: no memory for its timer",
                txn->id);
        txn->due = -1;
    }
}

//  Run the queued events of the transactions that got some, and only
//  those (what osip_*_execute does for every transaction of a list),
//  then queue their next timers. Callbacks may queue more; the loop is
//  bounded all the same.
static void
s_run_ready (sipd_server_t *self)
{
    size_t budget = RUN_BUDGET;
    osip_transaction_t *tr;
    while (budget-- > 0 && (tr = zlistx_detach (self->ready, NULL))) {
        s_txn_t *txn = osip_transaction_get_reserved1 (tr);
        if (txn && txn->killed)
            continue;   //  its queued events go with osip_transaction_free2
        osip_event_t *evt;
        while ((evt = osip_fifo_tryget (tr->transactionff)))
            osip_transaction_execute (tr, evt);
        s_schedule (self, tr);
    }
}

//  Collect the txn_ids whose queued deadline has passed (stale entries
//  are dropped here) into self->due; returns how many.
static size_t
s_collect_due (sipd_server_t *self, int64_t now_us)
{
    size_t n = 0;
    int id;
    int64_t deadline;
    while (sipd_timerq_pop_due (self->timerq, now_us, &id, &deadline)) {
        osip_transaction_t *tr = sipd_server_txn_lookup (self, id);
        s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
        if (!txn || txn->killed || txn->due != deadline)
            continue;   //  ended, or its deadline moved since
        txn->due = -1;  //  s_schedule queues it again
        if (n == self->due_slots) {
            size_t slots = self->due_slots ? self->due_slots * 2 : 256;
            int *due = realloc (self->due, slots * sizeof (int));
            if (!due) {
                //  keep it for the next tick
                txn->due = deadline;
                sipd_timerq_push (self->timerq, deadline, id);
                break;
            }
            self->due = due;
            self->due_slots = slots;
        }
        self->due[n++] = id;
    }
    return n;
}

//  Give the due transactions their timer events and run them.
static void
s_fire_timers (sipd_server_t *self)
{
    struct timeval now;
    osip_gettimeofday (&now, NULL);
    int64_t now_us = (int64_t) now.tv_sec * 1000000 + now.tv_usec;
    size_t n = s_collect_due (self, now_us);
    for (size_t i = 0; i < n; i++) {
        //  an earlier one's callbacks may have ended this one
        osip_transaction_t *tr = sipd_server_txn_lookup (self, self->due[i]);
        s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
        if (!txn || txn->killed)
            continue;
        int type = osip_fifo_size (tr->transactionff) < 1
                       ? s_due_timer (tr, &now)
                       : -1;
        osip_event_t *evt = type >= 0 ? osip_malloc (sizeof *evt) : NULL;
        if (evt) {
            memset (evt, 0, sizeof *evt);
            evt->type = (type_t) type;
            sipd_server_add_event (self, tr, evt);
        }
        else
            //  not quite due (libosip2 fires strictly after the
            //  deadline), or events pending: look again next tick
            s_schedule (self, tr);
        if (zlistx_size (self->ready) >= 256)
            s_run_ready (self);
    }
    s_run_ready (self);
}

void
sipd_server_run (sipd_server_t *self)
{
    if (self->running)
        return;  //  the outer sipd_server_run drains the ready list
    self->running = true;
    s_run_ready (self);
    self->running = false;
    sipd_server_collect (self);
}

int
sipd_server_timer (zloop_t *loop, int timer_id, void *arg)
{
    sipd_server_t *self = arg;
    self->running = true;
    s_fire_timers (self);
    self->running = false;
    sipd_server_collect (self);
    sipd_nist_expire (self->nist, sipd_server_now_ms ());
    struct timeval now;
    osip_gettimeofday (&now, NULL);
    int64_t now_us = (int64_t) now.tv_sec * 1000000 + now.tv_usec;
    sipd_linger_expire (self->ist_linger, now_us);
    //  After a burst (a fleet of phones registering) thousands of
    //  transactions expire together 32 s later; give that memory back to
    //  the system instead of keeping the heap at its peak.
    size_t size = sipd_nist_size (self->nist);
    if (size > self->nist_peak)
        self->nist_peak = size;
    else if (self->nist_peak - size >= TRIM_DROP) {
        malloc_trim (0);
        self->nist_peak = size;
    }
    return 0;
}
