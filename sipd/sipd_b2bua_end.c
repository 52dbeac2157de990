//  sipd_b2bua_end — how calls end (see sipd_b2bua_end.h).

#include "sipd_b2bua_end.h"

#include "cm_log.h"
#include "sipd_b2bua_dialog.h"
#include "sipd_b2bua_fork.h"
#include "sipd_b2bua_timer.h"
#include "sipd_cause.h"
#include "sipd_msg.h"

//  Record how the call was released; the first record wins.
void
sipd_b2bua_release (call_t *call, int tag, int sip_code, int reason_cause)
{
    //  A second release is normal (a BYE racing a timeout): ignored.
    (void) sipd_call_release (call->rec, tag, sip_code, reason_cause);
}

//  Build the CDR of rec and hand it to the sink.
void
sipd_b2bua_emit_cdr (sipd_b2bua_t *self, sipd_call_t *rec)
{
    cm_cdr_t *cdr = sipd_call_cdr (rec);
    CM_LOG_CALL (CM_LOG_INFO, "b2bua", sipd_call_uniqueid (rec),
                 "call ended src=%s dst=%s disposition=%s sip_code=%d "
                 "cause=%d call_tag=%d released_by=%s",
                 CM_PII (sipd_call_src (rec)), CM_PII (sipd_call_dst (rec)),
                 cm_cdr_disposition_name (cm_cdr_disposition (cdr)),
                 cm_cdr_sip_code (cdr), cm_cdr_cause (cdr),
                 cm_cdr_call_tag (cdr),
                 cm_cdr_released_by_name (cm_cdr_released_by (cdr)));
    if (self->cdr_fn)
        self->cdr_fn (self->cdr_arg, &cdr);
    else {
        char *json = cm_cdr_encode_json (cdr);
        CM_LOG (CM_LOG_INFO, "cdr", "cdr %s", json ? json : "?");
        free (json);
    }
    cm_cdr_destroy (&cdr);
}

//  Send BYE on a leg, with an optional Reason. Fire and forget: the
//  response comes back to sipd_b2bua_relay_response, finds no relay and is
//  dropped.
void
sipd_b2bua_send_bye (sipd_b2bua_t *self, call_t *call, sipd_leg_t *leg,
                     const char *reason)
{
    char contact[128];
    sipd_b2bua_contact (self, sipd_leg_dest (leg), contact, sizeof contact);
    osip_message_t *bye = sipd_leg_request (leg, "BYE", contact, NULL, NULL);
    if (!bye)
        return;
    if (reason)
        sipd_msg_add_header (bye, "Reason", reason);
    int txn = sipd_server_send_request (self->server, &bye, sipd_leg_dest (leg),
                                        sipd_b2bua_relay_response, self);
    if (txn < 0)
        CM_LOG_CALL (CM_LOG_WARN, "b2bua", call->id,
                     "cannot send BYE");
}

//  The call is over: write the CDR, free the extensions, cancel what is
//  still ringing, and remove the call now or once the forks are done.
void
sipd_b2bua_call_end (sipd_b2bua_t *self, call_t *call)
{
    if (call->state == CALL_ENDED)
        return;
    call->state = CALL_ENDED;
    sipd_b2bua_timer_stop (self, &call->timer_answer);
    sipd_b2bua_timer_stop (self, &call->timer_ack);
    sipd_b2bua_timer_stop (self, &call->timer_keepalive);
    sipd_b2bua_cancel_forks (self, call, -1);
    sipd_b2bua_emit_cdr (self, call->rec);
    sipd_b2bua_ext_count (self, sipd_call_src (call->rec), -1);
    if (call->callee_counted)
        sipd_b2bua_ext_count (self, sipd_call_dst (call->rec), -1);
    call->callee_counted = false;
    if (sipd_b2bua_forks_pending (call) == 0)
        sipd_b2bua_call_remove (self, call);
    else
        call->timer_linger = sipd_b2bua_timer_start (self, call, LINGER_MS);
}

//  Release a call that has not been answered: final response to the
//  caller with an optional Reason, then end.
void
sipd_b2bua_fail (sipd_b2bua_t *self, call_t *call, int tag, int code,
                 const char *phrase, const char *reason, int reason_cause)
{
    char buf[96];
    if (!reason) {
        int cause = reason_cause ? reason_cause : sipd_cause_tag_cause (tag);
        if (!cause)
            cause = sipd_cause_from_sip (code);
        if (cause)
            reason = sipd_cause_reason_format (cause, buf, sizeof buf);
    }
    sipd_b2bua_release (call, tag, code, reason_cause);
    sipd_b2bua_respond_caller (self, call, code, phrase, NULL, reason, NULL);
    sipd_b2bua_call_end (self, call);
}

int
sipd_b2bua_on_bye (void *arg, int txn_id, osip_message_t *request,
                   const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    bool from_caller = false;
    int fork = -1;
    call_t *call =
        sipd_b2bua_dialog_lookup (self, request, &from_caller, &fork);
    if (call && !from_caller && fork >= 0 && fork != call->winner) {
        //  A fork that lost the race hangs up its side: nothing to relay.
        sipd_server_respond_code (self->server, txn_id, 200, NULL);
        return 0;
    }
    sipd_leg_t *leg =
        call ? (from_caller ? call->caller : sipd_b2bua_callee (call)) : NULL;
    if (!call || !leg || call->state == CALL_ENDED) {
        sipd_server_respond_code (self->server, txn_id, 481, NULL);
        return 0;
    }
    sipd_server_respond_code (self->server, txn_id, 200, NULL);
    const char *reason = sipd_msg_header (request, "Reason");
    int cause = sipd_cause_reason_parse (reason, NULL, 0);
    char ours[96];
    if (!cause)
        reason = sipd_cause_reason_format (SIPD_CAUSE_NORMAL_CLEARING, ours,
                                           sizeof ours);
    sipd_b2bua_release (call,
                        from_caller ? SIPD_CAUSE_TAG_CALLER_BYE
                                    : SIPD_CAUSE_TAG_CALLEE_BYE,
                        200, cause);
    sipd_leg_t *other = from_caller ? sipd_b2bua_callee (call) : call->caller;
    if (other)
        sipd_b2bua_send_bye (self, call, other, reason);
    CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id, "BYE from %s",
                 from_caller ? "caller" : "callee");
    sipd_b2bua_call_end (self, call);
    return 0;
}

int
sipd_b2bua_on_cancel (void *arg, int txn_id, osip_message_t *request,
                      const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    int invite_txn = sipd_server_find_invite (self->server, request);
    call_t *call =
        invite_txn > 0 ? sipd_b2bua_call_by_txn (self, invite_txn) : NULL;
    if (!call || call->caller_txn != invite_txn) {
        sipd_server_respond_code (self->server, txn_id, 481, NULL);
        return 0;
    }
    sipd_server_respond_code (self->server, txn_id, 200, NULL);
    if (call->state >= CALL_ANSWERED)
        return 0;   //  too late: the 2xx is out (RFC 3261 §9.2)
    const char *reason = sipd_msg_header (request, "Reason");
    int cause = sipd_cause_reason_parse (reason, NULL, 0);
    CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id, "CANCEL from caller");
    sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_CALLER_CANCEL, 487, NULL,
                     reason, cause);
    return 0;
}
