//  sipd_b2bua_timer — the B2BUA's call timers (see sipd_b2bua_timer.h).

#include "sipd_b2bua_timer.h"

#include "cm_log.h"
#include "sipd_b2bua_dialog.h"
#include "sipd_b2bua_end.h"
#include "sipd_cause.h"

//  Call timers (no answer, 2xx retransmission, linger, keep-alive) are
//  ids in a deadline queue run by one one-shot zloop timer set for the
//  earliest deadline (at most every TICK_MS), not one zloop timer each:
//  zloop walks all its timers on every poll, which would make each
//  message cost O(calls). Stopping a timer forgets its id; the queue
//  entry is then stale and skipped when it comes due.
static int s_on_tick (zloop_t *loop, int timer_id, void *arg);

//  Set the zloop timer for the earliest deadline, unless it is set for
//  that or earlier already.
static void
s_tick_arm (sipd_b2bua_t *self)
{
    int64_t next = sipd_timerq_next (self->timerq);
    if (next == INT64_MAX || (self->tick_id > 0 && self->tick_at <= next))
        return;
    if (self->tick_id > 0)
        zloop_timer_end (self->loop, self->tick_id);
    int64_t now = zclock_mono ();
    int64_t delay = next - now < TICK_MS ? TICK_MS : next - now;
    self->tick_id
        = zloop_timer (self->loop, (size_t) delay, 1, s_on_tick, self);
    self->tick_at = now + delay;
    if (self->tick_id < 0)
        self->tick_id = 0;
}

int
sipd_b2bua_timer_start (sipd_b2bua_t *self, call_t *call, int delay_ms)
{
    if (++self->next_timer <= 0)
        self->next_timer = 1;
    int id = self->next_timer;
    if (sipd_timerq_push (self->timerq, zclock_mono () + delay_ms, id) != 0)
        return 0;
    zhashx_update (self->timers, sipd_b2bua_int_key (id), (void *) call->id);
    s_tick_arm (self);
    return id;
}

void
sipd_b2bua_timer_stop (sipd_b2bua_t *self, int *timer_p)
{
    if (*timer_p > 0)
        zhashx_delete (self->timers, sipd_b2bua_int_key (*timer_p));
    *timer_p = 0;
}

//  A call timer came due.
static int
s_on_timer (sipd_b2bua_t *self, int timer_id)
{
    const char *uniqueid = (const char *) zhashx_lookup (
        self->timers, sipd_b2bua_int_key (timer_id));
    call_t *call
        = uniqueid ? (call_t *) zhashx_lookup (self->calls, uniqueid) : NULL;
    zhashx_delete (self->timers, sipd_b2bua_int_key (timer_id));
    if (!call)
        return 0;
    if (timer_id == call->timer_answer) {
        call->timer_answer = 0;
        if (call->state < CALL_ANSWERED) {
            CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id,
                         "no answer within %d ms", self->no_answer_ms);
            sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_NO_ANSWER, 480, NULL,
                             NULL, 0);
        }
    }
    else if (timer_id == call->timer_ack) {
        call->timer_ack = 0;
        if (call->state != CALL_ANSWERED)
            return 0;
        call->ack_waited_ms += call->ack_wait_ms;
        if (call->ack_waited_ms >= 64 * T1_MS) {
            //  No ACK for our 2xx: the caller is gone (RFC 3261 §13.3.1.4).
            CM_LOG_CALL (CM_LOG_WARN, "b2bua", call->id,
                         "no ACK from the caller");
            sipd_b2bua_release (call, SIPD_CAUSE_TAG_CALLER_TIMEOUT, 200, 0);
            char reason[96];
            sipd_cause_reason_format (SIPD_CAUSE_RECOVERY_ON_TIMER, reason,
                                      sizeof reason);
            sipd_b2bua_send_bye (self, call, call->caller, reason);
            if (sipd_b2bua_callee (call))
                sipd_b2bua_send_bye (self, call, sipd_b2bua_callee (call),
                                     reason);
            sipd_b2bua_call_end (self, call);
            return 0;
        }
        //  Retransmit the 2xx, T1 doubling up to T2 (RFC 3261 §13.3.1.4).
        osip_message_t *copy = NULL;
        if (call->ok && osip_message_clone (call->ok, &copy) == 0)
            sipd_server_send_response (self->server, &copy,
                                       sipd_leg_dest (call->caller));
        call->ack_wait_ms = call->ack_wait_ms * 2 > 4000
                                ? 4000
                                : call->ack_wait_ms * 2;
        call->timer_ack =
            sipd_b2bua_timer_start (self, call, call->ack_wait_ms);
    }
    else if (timer_id == call->timer_keepalive) {
        call->timer_keepalive = 0;
        if (call->state == CALL_CONFIRMED)
            sipd_b2bua_keepalive_send (self, call);
    }
    else if (timer_id == call->timer_linger) {
        call->timer_linger = 0;
        sipd_b2bua_call_remove (self, call);
    }
    return 0;
}

//  The zloop tick: run the call timers that are due (stopped ones are
//  no longer in the timers map and are skipped), then set the next tick.
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    self->tick_id = 0;      //  one-shot: zloop drops it after this call
    int64_t now = zclock_mono ();
    int id;
    int64_t deadline;
    //  Bounded: a timer started meanwhile is due T1 (500 ms) later or more.
    while (sipd_timerq_pop_due (self->timerq, now, &id, &deadline))
        if (zhashx_lookup (self->timers, sipd_b2bua_int_key (id)))
            s_on_timer (self, id);
    s_tick_arm (self);
    return 0;
}
