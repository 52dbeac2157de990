//  sipd_b2bua_invite — new calls (see sipd_b2bua_invite.h).

#include "sipd_b2bua_invite.h"

#include "cm_log.h"
#include "sipd_b2bua_dialog.h"
#include "sipd_b2bua_end.h"
#include "sipd_b2bua_fork.h"
#include "sipd_b2bua_timer.h"
#include "sipd_cause.h"
#include "sipd_msg.h"

#include <string.h>

//  --------------------------------------------------------------------
//  New calls

//  Authenticate an INVITE from an extension. Returns true with the user
//  in user when the caller may go on; otherwise it has been answered
//  (407, 400 or 403; a 403 is a call attempt and gets its CDR).
static bool
s_authenticate (sipd_b2bua_t *self, int txn_id, osip_message_t *request,
                const sipd_source_t *source, char *user, size_t size)
{
    if (self->throttle && sipd_throttle_is_blocked (self->throttle,
                                                    source->ip)) {
        sipd_server_respond_code (self->server, txn_id, 403, NULL);
        return false;
    }
    sipd_auth_result_t result
        = sipd_auth_verify (self->auth, request, true, user, size);
    if (result == SIPD_AUTH_OK) {
        if (self->throttle)
            sipd_throttle_success (self->throttle, source->ip);
        return true;
    }
    if (result == SIPD_AUTH_MISSING || result == SIPD_AUTH_STALE) {
        osip_message_t *resp = sipd_msg_response_new (request, 407, NULL);
        const char *from_user = request->from && request->from->url
                                    ? request->from->url->username
                                    : NULL;
        //  _request: honours md5_only_user_agents (baresip 1.0.0 drops
        //  the whole 407 when any challenge is SHA-256).
        if (resp
            && sipd_auth_challenge_request (self->auth, resp, request,
                                            from_user,
                                            result == SIPD_AUTH_STALE)
                   == 0)
            sipd_server_respond (self->server, txn_id, &resp);
        else {
            osip_message_free (resp);
            sipd_server_respond_code (self->server, txn_id, 500, NULL);
        }
        return false;
    }
    if (result == SIPD_AUTH_MALFORMED) {
        sipd_server_respond_code (self->server, txn_id, 400,
                                  "Bad Proxy-Authorization");
        return false;
    }
    //  Wrong credentials: 403, counted, and a FAILED CDR.
    if (self->throttle)
        sipd_throttle_failure (self->throttle, source->ip);
    char reason[96];
    sipd_cause_reason_format (SIPD_CAUSE_CALL_REJECTED, reason, sizeof reason);
    osip_message_t *resp = sipd_msg_response_new (request, 403, NULL);
    if (resp)
        sipd_msg_add_header (resp, "Reason", reason);
    sipd_server_respond (self->server, txn_id, &resp);
    //  src is who they claimed to be; dialed what they dialled.
    sipd_call_t *rec = sipd_call_new (
        user, request->req_uri ? request->req_uri->username : NULL);
    sipd_call_release (rec, SIPD_CAUSE_TAG_CALLER_AUTH_FAILED, 403, 0);
    sipd_b2bua_emit_cdr (self, rec);
    sipd_call_destroy (&rec);
    return false;
}

//  A retransmitted initial INVITE after our 2xx (the 2xx was lost): the
//  transaction layer saw a new request. Answer it with the stored 2xx.
static bool
s_invite_retransmission (sipd_b2bua_t *self, int txn_id,
                         osip_message_t *request)
{
    osip_generic_param_t *tag = NULL;
    osip_from_get_tag (request->from, &tag);
    char *call_id = NULL;
    if (!tag || !tag->gvalue
        || osip_call_id_to_str (request->call_id, &call_id) != 0)
        return false;
    char key[320];
    sipd_b2bua_dialog_key (key, sizeof key, call_id, tag->gvalue);
    osip_free (call_id);
    call_t *call = sipd_b2bua_call_by_key (self, self->dialogs, key);
    if (!call)
        return false;
    if (call->ok) {
        osip_message_t *copy = NULL;
        if (osip_message_clone (call->ok, &copy) == 0)
            sipd_server_respond (self->server, txn_id, &copy);
    }
    else
        sipd_server_respond_code (self->server, txn_id, 482, NULL);
    return true;
}

//  Create the callee legs: one per contact of an extension, or the trunk.
//  Returns the number of forks created.
static int
s_make_forks (sipd_b2bua_t *self, call_t *call, const char *display)
{
    char from_uri[160], to_uri[160];
    bool v6 = strchr (self->host, ':') != NULL;
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    if (call->to_extension) {
        sipd_contact_t contacts[MAX_FORKS];
        int n = sipd_location_contacts (self->location, sipd_call_dst (call->rec), contacts,
                                        MAX_FORKS);
        snprintf (from_uri, sizeof from_uri, "sip:%s@%s%s%s", sipd_call_src (call->rec), lb,
                  self->host, rb);
        snprintf (to_uri, sizeof to_uri, "sip:%s@%s%s%s", sipd_call_dst (call->rec), lb,
                  self->host, rb);
        for (int i = 0; i < n; i++) {
            sipd_leg_t *leg = sipd_leg_new_uac (
                contacts[i].uri, from_uri, display, to_uri,
                &contacts[i].source, self->host);
            if (!leg)
                continue;
            call->forks[call->nforks].leg = leg;
            call->nforks++;
        }
        return call->nforks;
    }
    const char *domain = sipd_trunk_domain (self->trunk);
    snprintf (call->target, sizeof call->target, "sip:%s@%s", sipd_call_dst (call->rec),
              domain);
    snprintf (from_uri, sizeof from_uri, "sip:%s@%s",
              sipd_trunk_from_user (self->trunk, sipd_call_src (call->rec)), domain);
    sipd_source_t dest;
    memset (&dest, 0, sizeof dest);
    dest.transport = SIPD_TRANSPORT_UDP;
    snprintf (dest.ip, sizeof dest.ip, "%s",
              sipd_dialplan_trunk_ip (self->dialplan));
    dest.port = sipd_dialplan_trunk_port (self->dialplan);
    sipd_leg_t *leg = sipd_leg_new_uac (call->target, from_uri, display,
                                        call->target, &dest, self->host);
    if (leg) {
        call->forks[0].leg = leg;
        call->nforks = 1;
    }
    return call->nforks;
}

static void
s_on_new_invite (sipd_b2bua_t *self, int txn_id, osip_message_t *request,
                 const sipd_source_t *source)
{
    if (s_invite_retransmission (self, txn_id, request))
        return;
    bool from_trunk = sipd_dialplan_is_trunk_source (self->dialplan,
                                                     source->ip, source->port);
    char user[64] = "";
    if (!from_trunk
        && !s_authenticate (self, txn_id, request, source, user, sizeof user))
        return;
    const char *from_user = request->from && request->from->url
                                    && request->from->url->username
                                ? request->from->url->username
                                : "";
    const char *dialed = request->req_uri && request->req_uri->username
                             ? request->req_uri->username
                             : "";
    //  A provider we register with sends calls to our Contact (the trunk
    //  account) and names the dialled number in To.
    if (from_trunk && self->trunk
        && (!*dialed
            || strcmp (dialed, sipd_trunk_username (self->trunk)) == 0)
        && request->to && request->to->url && request->to->url->username)
        dialed = request->to->url->username;
    call_t *call = (call_t *) zmalloc (sizeof *call);
    call->winner = -1;
    call->rec = sipd_call_new (from_trunk ? from_user : user, dialed);
    call->id = sipd_call_uniqueid (call->rec);
    call->caller = sipd_leg_new_uas (request, source, self->host);
    if (!call->caller) {
        sipd_b2bua_call_free (&call);
        sipd_server_respond_code (self->server, txn_id, 400,
                                  "Missing From tag or Contact");
        return;
    }
    call->caller_txn = txn_id;
    zhashx_insert (self->calls, call->id, call);
    sipd_b2bua_txn_add (self, call, txn_id);
    sipd_b2bua_dialog_add (self, call, call->caller);
    char key[320];
    sipd_b2bua_dialog_key (key, sizeof key, sipd_leg_call_id (call->caller),
                           sipd_leg_remote_tag (call->caller));
    sipd_b2bua_map_set (self->dialogs, key, call->id);
    if (!from_trunk)
        sipd_b2bua_ext_count (self, sipd_call_src (call->rec), +1);
    if (!from_trunk)
        sipd_b2bua_ext_state (self, sipd_call_src (call->rec),
                              SIPD_CALL_STATE_BUSY);
    //  (100 Trying was sent by sipd_server when the INVITE arrived.)
    CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id,
                 "INVITE src=%s dialed=%s sip_call_id=%s", CM_PII (sipd_call_src (call->rec)),
                 CM_PII (sipd_call_dialed (call->rec)), sipd_leg_call_id (call->caller));

    //  Number analysis.
    sipd_route_t route;
    sipd_dialplan_route (self->dialplan, dialed, from_trunk, &route);
    sipd_call_set_route (call->rec, route.number, route.direction);
    if (route.kind == SIPD_ROUTE_NONE) {
        size_t plen = strlen (self->prefix);
        bool trunk_wanted = !from_trunk && plen
                            && strncmp (dialed, self->prefix, plen) == 0
                            && !sipd_dialplan_has_trunk (self->dialplan);
        sipd_b2bua_fail (self, call,
                         trunk_wanted ? SIPD_CAUSE_TAG_NO_TRUNK
                                      : SIPD_CAUSE_TAG_NO_ROUTE,
                         404, NULL, NULL, 0);
        return;
    }
    call->to_extension = route.kind == SIPD_ROUTE_EXTENSION;
    if (call->to_extension) {
        sipd_contact_t probe[1];
        if (sipd_location_contacts (self->location, sipd_call_dst (call->rec), probe, 1)
            == 0) {
            sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_OFFLINE, 480, NULL,
                             NULL, 0);
            return;
        }
        if (sipd_b2bua_ext_calls (self, sipd_call_dst (call->rec)) > 0 &&
            !self->call_waiting) {
            sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_LOCAL_BUSY, 486, NULL,
                             NULL, 0);
            return;
        }
    }
    //  The offer, checked before anything is sent.
    size_t len;
    const char *body = sipd_leg_body (request, &len);
    call->late_offer = !body || len == 0;
    //  The caller's display name (libosip2 keeps its quotes; sipd_leg
    //  strips them).
    const char *display = request->from ? request->from->displayname : NULL;
    if (s_make_forks (self, call, display) == 0) {
        sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_OFFLINE, 480, NULL, NULL,
                         0);
        return;
    }
    int sent = 0;
    for (int i = 0; i < call->nforks; i++) {
        bool bad;
        char *sdp =
            sipd_b2bua_sdp_for (call->forks[i].leg, request, &bad, call->id);
        if (bad) {
            free (sdp);
            for (int k = 0; k < call->nforks; k++)
                call->forks[k].final = 488;
            sipd_b2bua_fail (self, call, SIPD_CAUSE_TAG_BAD_REQUEST, 488, NULL,
                             NULL, 0);
            return;
        }
        sipd_b2bua_dialog_add (self, call, call->forks[i].leg);
        if (sipd_b2bua_fork_send (self, call, i, sdp, NULL, NULL) == 0)
            sent++;
        free (sdp);
    }
    if (sent == 0) {
        sipd_b2bua_fail (self, call,
                         call->to_extension ? SIPD_CAUSE_TAG_CALLEE_TIMEOUT
                                            : SIPD_CAUSE_TAG_TRUNK_FAILURE,
                         call->to_extension ? 480 : 503, NULL, NULL, 0);
        return;
    }
    if (call->to_extension) {
        sipd_b2bua_ext_count (self, sipd_call_dst (call->rec), +1);
        call->callee_counted = true;
        if (sipd_b2bua_ext_calls (self, sipd_call_dst (call->rec)) == 1)
            sipd_b2bua_ext_state (self, sipd_call_dst (call->rec),
                                  SIPD_CALL_STATE_RINGING);
    }
    call->timer_answer =
        sipd_b2bua_timer_start (self, call, self->no_answer_ms);
}

int
sipd_b2bua_on_invite (void *arg, int txn_id, osip_message_t *request,
                      const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    osip_generic_param_t *tag = NULL;
    if (request->to)
        osip_to_get_tag (request->to, &tag);
    if (tag)
        return sipd_b2bua_on_in_dialog (arg, txn_id, request, source);
    s_on_new_invite (self, txn_id, request, source);
    return 0;
}
