//  sipd_b2bua_fork — the callee legs of a call (see sipd_b2bua_fork.h).

#include "sipd_b2bua_fork.h"

#include "cm_log.h"
#include "sipd_b2bua_dialog.h"
#include "sipd_b2bua_end.h"
#include "sipd_b2bua_timer.h"
#include "sipd_cause.h"
#include "sipd_msg.h"

#include <stdio.h>
#include <stdlib.h>

int
sipd_b2bua_forks_pending (call_t *call)
{
    int n = 0;
    for (int i = 0; i < call->nforks; i++)
        if (call->forks[i].final == 0)
            n++;
    return n;
}

//  CANCEL every fork still without a final response except keep.
void
sipd_b2bua_cancel_forks (sipd_b2bua_t *self, call_t *call, int keep)
{
    for (int i = 0; i < call->nforks; i++) {
        fork_t *fork = &call->forks[i];
        if (i == keep || fork->final != 0 || !fork->txn || fork->cancelled)
            continue;
        if (sipd_server_cancel (self->server, fork->txn) == 0)
            fork->cancelled = true;
        else
            //  Already over: a late 2xx is still ACKed and hung up.
            CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id,
                         "fork %d not cancellable", i);
    }
}

//  A fork that answered after another one won, or after the call ended:
//  ACK it and hang it up (RFC 3261 §13.2.2.4, the B2BUA way).
static void
s_drop_fork (sipd_b2bua_t *self, call_t *call, fork_t *fork)
{
    osip_message_t *ack = sipd_leg_ack (fork->leg, fork->invite_cseq, NULL);
    if (ack)
        sipd_server_send_ack (self->server, &ack, sipd_leg_dest (fork->leg));
    fork->acked = true;
    sipd_b2bua_send_bye (self, call, fork->leg, NULL);
}

//  All forks failed: tell the caller.
static void
s_forks_failed (sipd_b2bua_t *self, call_t *call)
{
    int tag, code, cause;
    const char *phrase, *reason;
    sipd_call_failure (call->rec, call->to_extension, &tag, &code, &cause,
                       &phrase, &reason);
    sipd_b2bua_fail (self, call, tag, code, phrase, reason, cause);
}

//  The callee's INVITE goes one hop less far than the caller's
//  (Max-Forwards N-1, as a proxy does, RFC 3261 §16.6 step 3): a B2BUA
//  that starts again at 70 lets two PBXs that route a number to each
//  other loop forever. sipd_check has already answered 483 to 0 and 400
//  to a value that is not 0-255. Absent: the default 70.
static void
s_decrement_max_forwards (osip_message_t *invite,
                          const osip_message_t *caller_invite)
{
    const char *value = sipd_msg_header (caller_invite, "Max-Forwards");
    if (!value)
        return;
    char *end;
    long hops = strtol (value, &end, 10);
    if (end == value || hops < 1 || hops > 255)
        return;
    char text[8];
    snprintf (text, sizeof text, "%ld", hops - 1);
    sipd_msg_add_header (invite, "Max-Forwards", text);
}

//  Send the INVITE of fork i. Returns 0 or -1.
int
sipd_b2bua_fork_send (sipd_b2bua_t *self, call_t *call, int i, const char *sdp,
                      const char *auth_name, const char *auth_value)
{
    fork_t *fork = &call->forks[i];
    char contact[128];
    sipd_b2bua_contact (self, sipd_leg_dest (fork->leg), contact,
                        sizeof contact);
    osip_message_t *invite = sipd_leg_request (
        fork->leg, "INVITE", contact, sdp ? "application/sdp" : NULL, sdp);
    if (!invite)
        return -1;
    fork->invite_cseq = sipd_leg_local_cseq (fork->leg);
    osip_message_set_allow (invite, S_ALLOW);
    const osip_message_t *caller_invite = sipd_b2bua_caller_invite (self, call);
    if (caller_invite) {
        sipd_b2bua_copy_timer_headers (invite, caller_invite);
        s_decrement_max_forwards (invite, caller_invite);
    }
    if (auth_name && auth_value)
        osip_message_set_header (invite, auth_name, auth_value);
    int txn = sipd_server_send_request (self->server, &invite,
                                        sipd_leg_dest (fork->leg),
                                        sipd_b2bua_relay_response, self);
    if (txn <= 0) {
        fork->final = 503;
        return -1;
    }
    fork->txn = txn;
    sipd_b2bua_txn_add (self, call, txn);
    return 0;
}

//  The fork with INVITE transaction txn, or -1.
static int
s_fork_index (call_t *call, int txn)
{
    for (int i = 0; i < call->nforks; i++)
        if (call->forks[i].txn == txn)
            return i;
    return -1;
}

//  2xx from fork i.
static void
s_fork_answered (sipd_b2bua_t *self, call_t *call, int i,
                 const osip_message_t *response)
{
    fork_t *fork = &call->forks[i];
    if (call->state == CALL_ENDED || (call->winner >= 0 && call->winner != i)) {
        s_drop_fork (self, call, fork);
        return;
    }
    call->winner = i;
    sipd_b2bua_cancel_forks (self, call, i);
    bool bad;
    char *sdp = sipd_b2bua_sdp_for (call->caller, response, &bad, call->id);
    if (bad || (!sdp && call->late_offer)) {
        //  Unusable answer: hang up the callee, 488 to the caller.
        s_drop_fork (self, call, fork);
        sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_BAD_REQUEST, 488, NULL,
                         NULL, 0);
        free (sdp);
        return;
    }
    if (!call->late_offer) {
        osip_message_t *ack
            = sipd_leg_ack (fork->leg, fork->invite_cseq, NULL);
        if (ack)
            sipd_server_send_ack (self->server, &ack,
                                  sipd_leg_dest (fork->leg));
        fork->acked = true;
    }
    sipd_b2bua_timer_stop (self, &call->timer_answer);
    sipd_b2bua_respond_caller (self, call, 200, NULL, sdp, NULL, response);
    free (sdp);
    sipd_call_set_answered (call->rec);
    call->state = CALL_ANSWERED;
    if (call->to_extension)
        sipd_b2bua_ext_state (self, sipd_call_dst (call->rec),
                              SIPD_CALL_STATE_BUSY);
    //  Retransmit our 2xx until the caller's ACK (RFC 3261 §13.3.1.4).
    call->ack_wait_ms = T1_MS;
    call->ack_waited_ms = 0;
    call->timer_ack = sipd_b2bua_timer_start (self, call, T1_MS);
    CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id, "answered by fork %d",
                 i);
}

//  A response to a fork's INVITE.
static void
s_fork_response (sipd_b2bua_t *self, call_t *call, int i,
                 const osip_message_t *response, int code)
{
    fork_t *fork = &call->forks[i];
    if (response && code > 100)
        sipd_leg_update_from_response (fork->leg, response);
    if (code < 200) {
        bool lost = call->state == CALL_ENDED
                    || (call->winner >= 0 && call->winner != i);
        if (code > 100 && lost && !fork->cancelled && fork->txn
            && sipd_server_cancel (self->server, fork->txn) == 0)
            fork->cancelled = true;     //  its earlier CANCEL came too soon
        if (code == 100 || lost || call->state >= CALL_ANSWERED)
            return;
        bool bad;
        char *sdp = sipd_b2bua_sdp_for (call->caller, response, &bad, call->id);
        sipd_b2bua_respond_caller (self, call, code == 180 ? 180 : 183, NULL,
                                   sdp, NULL, NULL);
        free (sdp);
        if (call->state < CALL_EARLY)
            call->state = CALL_EARLY;
        return;
    }
    //  Final: the transaction is over.
    sipd_b2bua_txn_del (self, fork->txn);
    fork->txn = 0;
    fork->final = code;
    if (code < 300) {
        s_fork_answered (self, call, i, response);
        return;
    }
    //  A trunk challenge: answer it once with the [trunk] account.
    if ((code == 401 || code == 407) && !call->to_extension && self->trunk
        && !fork->auth_tried && call->state < CALL_ANSWERED
        && sipd_trunk_has_credentials (self->trunk)) {
        char name[32], value[1024];
        const osip_message_t *sent =
            sipd_b2bua_caller_invite (self, call);  //  the body
        bool bad = false;
        char *sdp =
            sent ? sipd_b2bua_sdp_for (fork->leg, sent, &bad, call->id) : NULL;
        if (sipd_trunk_authorize (self->trunk, response, "INVITE",
                                  call->target, name, sizeof name, value,
                                  sizeof value)
            == 0) {
            fork->auth_tried = true;
            fork->final = 0;
            int rc = sipd_b2bua_fork_send (self, call, i, sdp, name, value);
            free (sdp);
            if (rc == 0)
                return;
        }
        else
            free (sdp);
        code = 403;
        fork->final = 403;
        sipd_b2bua_release (call, SIPD_CAUSE_TAG_TRUNK_AUTH_FAILED, 403, 0);
    }
    if (call->state == CALL_ENDED) {
        if (sipd_b2bua_forks_pending (call) == 0)
            sipd_b2bua_call_remove (self, call);
        return;
    }
    sipd_call_fork_failed (
        call->rec, code, response != NULL,
        response ? sipd_msg_header (response, "Reason") : NULL,
        response ? osip_message_get_reason_phrase (response) : NULL);
    if (sipd_b2bua_forks_pending (call) == 0 && call->winner < 0)
        s_forks_failed (self, call);
}


//  Every client transaction's responses land here: fork INVITEs, relayed
//  in-dialog requests, keep-alive OPTIONS and our own BYEs.
void
sipd_b2bua_relay_response (void *arg, int txn_id,
                           const osip_message_t *response, int code)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    call_t *call = sipd_b2bua_call_by_txn (self, txn_id);
    if (!call)
        return;     //  a BYE's response, or a call already gone
    int i = s_fork_index (call, txn_id);
    if (i >= 0) {
        s_fork_response (self, call, i, response, code);
        return;
    }
    for (int k = 0; k < 2; k++)
        if (call->ka_txn[k] == txn_id) {
            sipd_b2bua_keepalive_response (self, call, k, response, code);
            return;
        }
    relay_t *relay = sipd_b2bua_relay_find (call, txn_id);
    if (relay)
        sipd_b2bua_relay_back (self, call, relay, response, code);
    else if (code >= 200)
        sipd_b2bua_txn_del (self, txn_id);
}

//  A 2xx retransmission after our ACK went out: ACK again.
void
sipd_b2bua_on_stray_2xx (void *arg, const osip_message_t *response,
                         const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    osip_generic_param_t *tag = NULL;
    char *call_id = NULL;
    if (!response->from || !response->call_id || !response->cseq
        || !response->cseq->method
        || strcmp (response->cseq->method, "INVITE") != 0)
        return;
    osip_from_get_tag (response->from, &tag);
    if (!tag || !tag->gvalue
        || osip_call_id_to_str (response->call_id, &call_id) != 0)
        return;
    char key[320];
    sipd_b2bua_dialog_key (key, sizeof key, call_id, tag->gvalue);
    osip_free (call_id);
    call_t *call = sipd_b2bua_call_by_key (self, self->dialogs, key);
    if (!call)
        return;
    for (int i = 0; i < call->nforks; i++) {
        fork_t *fork = &call->forks[i];
        if (strcmp (sipd_leg_local_tag (fork->leg), tag->gvalue) != 0)
            continue;
        if (fork->acked) {
            uint32_t cseq = (uint32_t) strtoul (response->cseq->number, NULL,
                                                10);
            osip_message_t *ack = sipd_leg_ack (fork->leg, cseq, NULL);
            if (ack)
                sipd_server_send_ack (self->server, &ack,
                                      sipd_leg_dest (fork->leg));
        }
        else if (call->winner != i) {
            //  A 2xx we never processed (the fork lost the race, or the
            //  call ended): take the dialog from it and hang up.
            sipd_leg_update_from_response (fork->leg, response);
            fork->invite_cseq
                = (uint32_t) strtoul (response->cseq->number, NULL, 10);
            s_drop_fork (self, call, fork);
        }
    }
}
