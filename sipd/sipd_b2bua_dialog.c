//  sipd_b2bua_dialog — established calls (see sipd_b2bua_dialog.h).

#include "sipd_b2bua_dialog.h"

#include "cm_log.h"
#include "sipd_b2bua_end.h"
#include "sipd_b2bua_fork.h"
#include "sipd_b2bua_timer.h"
#include "sipd_cause.h"
#include "sipd_msg.h"

#include <string.h>
#include <strings.h>

//  --------------------------------------------------------------------
//  In-dialog relaying

//  The relay slot of client transaction txn, or NULL.
relay_t *
sipd_b2bua_relay_find (call_t *call, int client_txn)
{
    for (int i = 0; i < MAX_RELAYS; i++)
        if (call->relays[i].client_txn == client_txn)
            return &call->relays[i];
    return NULL;
}

//  A response to a relayed in-dialog request: relay it back.
void
sipd_b2bua_relay_back (sipd_b2bua_t *self, call_t *call, relay_t *relay,
                       const osip_message_t *response, int code)
{
    sipd_leg_t *back =
        relay->from_caller ? call->caller : sipd_b2bua_callee (call);
    sipd_leg_t *there =
        relay->from_caller ? sipd_b2bua_callee (call) : call->caller;
    if (code >= 200)
        sipd_b2bua_txn_del (self, relay->client_txn);
    if (code < 200 && code != 100 && !response)
        return;
    if (code == 100)
        return;
    //  A 2xx may refresh the far leg's remote target (RFC 3261 §12.2.1.2).
    if (code >= 200 && code < 300 && response && there)
        sipd_leg_update_from_response (there, response);
    //  The far leg's 2xx to a re-INVITE is ACKed by us at once.
    if (relay->is_invite && code >= 200 && code < 300 && response && there) {
        uint32_t cseq = response->cseq && response->cseq->number
                            ? (uint32_t) strtoul (response->cseq->number,
                                                  NULL, 10)
                            : 0;
        osip_message_t *ack = sipd_leg_ack (there, cseq, NULL);
        if (ack)
            sipd_server_send_ack (self->server, &ack, sipd_leg_dest (there));
    }
    const osip_message_t *request
        = sipd_server_txn_request (self->server, relay->server_txn);
    if (request && back) {
        osip_message_t *resp = sipd_msg_response_new (
            request, code,
            response ? osip_message_get_reason_phrase (response) : NULL);
        if (resp) {
            sipd_leg_tag_response (back, resp);
            if (response) {
                bool bad;
                char *sdp = sipd_b2bua_sdp_for (back, response, &bad, call->id);
                //  SDP is rewritten; other response bodies are dropped.
                if (sdp)
                    sipd_leg_set_body (resp, "application/sdp", sdp);
                free (sdp);
                sipd_b2bua_copy_timer_headers (resp, response);
            }
            if (code >= 200 && code < 300) {
                char contact[128];
                sipd_b2bua_contact (self, sipd_leg_dest (back), contact,
                                    sizeof contact);
                osip_message_set_contact (resp, contact);
            }
            sipd_server_respond (self->server, relay->server_txn, &resp);
        }
    }
    if (code >= 200) {
        int timed_out = !response && (code == 408 || code == 503);
        bool from_caller = relay->from_caller;
        memset (relay, 0, sizeof *relay);
        //  The far leg is gone (no answer, or 481): end the call.
        if ((timed_out || code == 481) && call->state != CALL_ENDED) {
            int tag = from_caller ? SIPD_CAUSE_TAG_CALLEE_TIMEOUT
                                  : SIPD_CAUSE_TAG_CALLER_TIMEOUT;
            sipd_b2bua_release (call, tag, 0, SIPD_CAUSE_RECOVERY_ON_TIMER);
            char reason[96];
            sipd_cause_reason_format (SIPD_CAUSE_RECOVERY_ON_TIMER, reason,
                                      sizeof reason);
            if (back)
                sipd_b2bua_send_bye (self, call, back, reason);
            sipd_b2bua_call_end (self, call);
        }
    }
}

//  Session keep-alive ([sipd] call_keepalive): in an established call sipd
//  sends an in-dialog OPTIONS to each party every keepalive_ms. Any final
//  response proves the dialog is alive (even 405 or 501); no response at
//  all (timer F) or 481 means the party is gone, and the call ends: BYE to
//  the other party with Reason: Q.850;cause=102 and a CDR with call_tag
//  103 (caller gone) or 205 (callee gone). Phones behind NAT also get
//  their binding refreshed by it.
void
sipd_b2bua_keepalive_response (sipd_b2bua_t *self, call_t *call, int k,
                               const osip_message_t *response, int code)
{
    if (code < 200)
        return;
    sipd_b2bua_txn_del (self, call->ka_txn[k]);
    call->ka_txn[k] = 0;
    bool gone = code == 481 || (!response && (code == 408 || code == 503));
    if (!gone || call->state == CALL_ENDED)
        return;
    CM_LOG_CALL (CM_LOG_WARN, "b2bua", call->id,
                 "%s does not answer the keep-alive (%d): ending the call",
                 k == 0 ? "caller" : "callee", code);
    //  The CDR cause is the one our BYE carries.
    sipd_b2bua_release (call,
                        k == 0 ? SIPD_CAUSE_TAG_CALLER_TIMEOUT
                               : SIPD_CAUSE_TAG_CALLEE_TIMEOUT,
                        0, SIPD_CAUSE_RECOVERY_ON_TIMER);
    char reason[96];
    sipd_cause_reason_format (SIPD_CAUSE_RECOVERY_ON_TIMER, reason,
                              sizeof reason);
    sipd_leg_t *other = k == 0 ? sipd_b2bua_callee (call) : call->caller;
    if (other)
        sipd_b2bua_send_bye (self, call, other, reason);
    sipd_b2bua_call_end (self, call);
}

//  Send the keep-alive OPTIONS to both parties (skipping one still in
//  flight) and re-arm the timer.
void
sipd_b2bua_keepalive_send (sipd_b2bua_t *self, call_t *call)
{
    sipd_leg_t *legs[2] = {call->caller, sipd_b2bua_callee (call)};
    for (int k = 0; k < 2; k++) {
        if (!legs[k] || call->ka_txn[k])
            continue;
        char contact[128];
        sipd_b2bua_contact (self, sipd_leg_dest (legs[k]), contact,
                            sizeof contact);
        osip_message_t *options
            = sipd_leg_request (legs[k], "OPTIONS", contact, NULL, NULL);
        if (!options)
            continue;
        int txn = sipd_server_send_request (self->server, &options,
                                            sipd_leg_dest (legs[k]),
                                            sipd_b2bua_relay_response, self);
        if (txn > 0) {
            call->ka_txn[k] = txn;
            sipd_b2bua_txn_add (self, call, txn);
        }
    }
    call->timer_keepalive =
        sipd_b2bua_timer_start (self, call, self->keepalive_ms);
}


//  Relay an in-dialog request (re-INVITE, UPDATE, INFO) to the other leg.
static void
s_relay_request (sipd_b2bua_t *self, call_t *call, bool from_caller,
                 int txn_id, osip_message_t *request)
{
    sipd_leg_t *there = from_caller ? sipd_b2bua_callee (call) : call->caller;
    const char *method = request->sip_method;
    relay_t *slot = sipd_b2bua_relay_find (call, 0);
    if (!there || !slot || call->state == CALL_ENDED) {
        sipd_server_respond_code (self->server, txn_id,
                                  !there ? 481 : 500, NULL);
        return;
    }
    bool bad = false;
    char *body = NULL;
    const char *ctype = "application/sdp";
    size_t len;
    const char *raw = sipd_leg_body (request, &len);
    osip_content_type_t *ct = request->content_type;
    bool is_sdp = ct && ct->type && ct->subtype
                  && strcasecmp (ct->type, "application") == 0
                  && strcasecmp (ct->subtype, "sdp") == 0;
    char ctype_buf[128];
    if (raw && len > 0 && is_sdp)
        body = sipd_b2bua_sdp_for (there, request, &bad, call->id);
    else if (raw && len > 0 && ct && ct->type && ct->subtype) {
        //  INFO payloads (DTMF relay, ...) pass unchanged.
        snprintf (ctype_buf, sizeof ctype_buf, "%s/%s", ct->type,
                  ct->subtype);
        ctype = ctype_buf;
        body = strndup (raw, len);
    }
    if (bad) {
        sipd_server_respond_code (self->server, txn_id, 488, NULL);
        free (body);
        return;
    }
    char contact[128];
    sipd_b2bua_contact (self, sipd_leg_dest (there), contact, sizeof contact);
    osip_message_t *out
        = sipd_leg_request (there, method, contact, body ? ctype : NULL, body);
    free (body);
    if (!out) {
        sipd_server_respond_code (self->server, txn_id, 500, NULL);
        return;
    }
    sipd_b2bua_copy_timer_headers (out, request);
    const char *reason = sipd_msg_header (request, "Reason");
    if (reason)
        sipd_msg_add_header (out, "Reason", reason);
    int client =
        sipd_server_send_request (self->server, &out, sipd_leg_dest (there),
                                  sipd_b2bua_relay_response, self);
    if (client <= 0) {
        sipd_server_respond_code (self->server, txn_id, 503, NULL);
        return;
    }
    slot->server_txn = txn_id;
    slot->client_txn = client;
    slot->from_caller = from_caller;
    slot->is_invite = strcmp (method, "INVITE") == 0;
    sipd_b2bua_txn_add (self, call, client);
    CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id, "relayed %s %s",
                 method, from_caller ? "caller->callee" : "callee->caller");
}

//  Find the call of an in-dialog request (To tag is ours). Sets
//  *from_caller_p, and *fork_p to the index of the callee leg it came
//  from (-1 for the caller's leg).
call_t *
sipd_b2bua_dialog_lookup (sipd_b2bua_t *self, const osip_message_t *request,
                          bool *from_caller_p, int *fork_p)
{
    *fork_p = -1;
    osip_generic_param_t *tag = NULL;
    if (!request->to || !request->call_id)
        return NULL;
    osip_to_get_tag (request->to, &tag);
    if (!tag || !tag->gvalue)
        return NULL;
    char *call_id = NULL;
    if (osip_call_id_to_str (request->call_id, &call_id) != 0)
        return NULL;
    char key[320];
    sipd_b2bua_dialog_key (key, sizeof key, call_id, tag->gvalue);
    call_t *call = sipd_b2bua_call_by_key (self, self->dialogs, key);
    if (call) {
        *from_caller_p
            = strcmp (sipd_leg_call_id (call->caller), call_id) == 0
              && strcmp (sipd_leg_local_tag (call->caller), tag->gvalue) == 0;
        for (int i = 0; !*from_caller_p && i < call->nforks; i++)
            if (strcmp (sipd_leg_local_tag (call->forks[i].leg), tag->gvalue)
                == 0)
                *fork_p = i;
    }
    osip_free (call_id);
    return call;
}


//  re-INVITE, UPDATE, INFO (and PRACK-less in-dialog requests).
int
sipd_b2bua_on_in_dialog (void *arg, int txn_id, osip_message_t *request,
                         const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    bool from_caller = false;
    int fork = -1;
    call_t *call =
        sipd_b2bua_dialog_lookup (self, request, &from_caller, &fork);
    if (!call) {
        sipd_server_respond_code (self->server, txn_id, 481, NULL);
        return 0;
    }
    sipd_leg_t *leg = from_caller ? call->caller
                      : fork >= 0 && fork == call->winner
                          ? sipd_b2bua_callee (call)
                          : NULL;
    if (!leg) {
        //  An early-dialog request from a fork (UPDATE/INFO before the
        //  answer), or one from a fork that lost: not supported.
        sipd_server_respond_code (self->server, txn_id, 481, NULL);
        return 0;
    }
    if (sipd_leg_check_request (leg, request) != 0) {
        sipd_server_respond_code (self->server, txn_id, 500,
                                  "CSeq out of order");
        return 0;
    }
    bool reinvite = strcmp (request->sip_method, "INVITE") == 0;
    bool pending_invite = false;
    for (int i = 0; i < MAX_RELAYS; i++)
        if (call->relays[i].client_txn && call->relays[i].is_invite)
            pending_invite = true;
    if (reinvite
        && ((call->state == CALL_ANSWERED && from_caller) || pending_invite)) {
        //  re-INVITE before our 2xx was ACKed, or while another re-INVITE
        //  is in progress (glare): 491 Request Pending (RFC 3261 §14.2).
        sipd_server_respond_code (self->server, txn_id, 491, NULL);
        return 0;
    }
    s_relay_request (self, call, from_caller, txn_id, request);
    return 0;
}

int
sipd_b2bua_on_ack (void *arg, int txn_id, osip_message_t *request,
                   const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    bool from_caller = false;
    int from_fork = -1;
    call_t *call =
        sipd_b2bua_dialog_lookup (self, request, &from_caller, &from_fork);
    if (!call || !from_caller)
        return 0;   //  ACK of a relayed re-INVITE from the callee, or stray
    if (call->state == CALL_ANSWERED) {
        sipd_b2bua_timer_stop (self, &call->timer_ack);
        call->state = CALL_CONFIRMED;
        //  No more retransmissions of our 2xx.
        osip_message_free (call->ok);
        call->ok = NULL;
        fork_t *fork = call->winner >= 0 ? &call->forks[call->winner] : NULL;
        if (fork && !fork->acked) {
            //  Late offer: the caller's answer travels in the ACK.
            bool bad;
            char *sdp = sipd_b2bua_sdp_for (fork->leg, request, &bad, call->id);
            osip_message_t *ack
                = sipd_leg_ack (fork->leg, fork->invite_cseq, sdp);
            if (ack)
                sipd_server_send_ack (self->server, &ack,
                                      sipd_leg_dest (fork->leg));
            fork->acked = true;
            free (sdp);
        }
        if (self->keepalive_ms > 0)
            call->timer_keepalive =
                sipd_b2bua_timer_start (self, call, self->keepalive_ms);
        CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id, "confirmed");
    }
    return 0;
}
