//  sipd_b2bua — calls: sipd as a back-to-back user agent (see
//  sipd_b2bua.h). This file holds the call registry, the extension call
//  state, the message helpers the other parts share, the life cycle and
//  the public API; sipd_b2bua_private.h describes the call's states and
//  lists the other parts.

#include "sipd_b2bua_private.h"

#include "cm_intmap.h"
#include "cm_log.h"
#include "sipd_b2bua_dialog.h"
#include "sipd_b2bua_end.h"
#include "sipd_b2bua_fork.h"
#include "sipd_b2bua_invite.h"
#include "sipd_b2bua_timer.h"
#include "sipd_cause.h"
#include "sipd_msg.h"
#include "sipd_sdp.h"

#include <string.h>
#include <strings.h>

//  The caller's INVITE: the request of its server transaction, which
//  lives until the final response (no copy per call). NULL after it.
const osip_message_t *
sipd_b2bua_caller_invite (sipd_b2bua_t *self, call_t *call)
{
    return call->caller_txn
               ? sipd_server_txn_request (self->server, call->caller_txn)
               : NULL;
}

//  The callee leg of an answered call, or NULL.
sipd_leg_t *
sipd_b2bua_callee (call_t *call)
{
    return call->winner >= 0 ? call->forks[call->winner].leg : NULL;
}

//  --------------------------------------------------------------------
//  Registry helpers

void
sipd_b2bua_call_free (call_t **call_p)
{
    call_t *call = *call_p;
    if (!call)
        return;
    sipd_leg_destroy (&call->caller);
    sipd_call_destroy (&call->rec);
    for (int i = 0; i < call->nforks; i++)
        sipd_leg_destroy (&call->forks[i].leg);
    osip_message_free (call->ok);
    free (call);
    *call_p = NULL;
}

void
sipd_b2bua_map_set (zhashx_t *map, const char *key, const char *uniqueid)
{
    zhashx_update (map, key, (void *) uniqueid);
}

call_t *
sipd_b2bua_call_by_key (sipd_b2bua_t *self, zhashx_t *map, const char *key)
{
    const char *uniqueid = (const char *) zhashx_lookup (map, key);
    return uniqueid ? (call_t *) zhashx_lookup (self->calls, uniqueid)
                    : NULL;
}

//  Integer keys (txn ids, timer ids) stored in the pointer itself.
void *
sipd_b2bua_int_key (int n)
{
    return (void *) (intptr_t) n;
}

void
sipd_b2bua_txn_add (sipd_b2bua_t *self, call_t *call, int txn)
{
    zhashx_update (self->txns, sipd_b2bua_int_key (txn), (void *) call->id);
}

void
sipd_b2bua_txn_del (sipd_b2bua_t *self, int txn)
{
    zhashx_delete (self->txns, sipd_b2bua_int_key (txn));
}

call_t *
sipd_b2bua_call_by_txn (sipd_b2bua_t *self, int txn)
{
    const char *uniqueid =
        (const char *) zhashx_lookup (self->txns, sipd_b2bua_int_key (txn));
    return uniqueid ? (call_t *) zhashx_lookup (self->calls, uniqueid)
                    : NULL;
}

void
sipd_b2bua_dialog_key (char *key, size_t size, const char *call_id,
                       const char *tag)
{
    snprintf (key, size, "%s %s", call_id ? call_id : "", tag ? tag : "");
}

void
sipd_b2bua_dialog_add (sipd_b2bua_t *self, call_t *call, sipd_leg_t *leg)
{
    char key[320];
    sipd_b2bua_dialog_key (key, sizeof key, sipd_leg_call_id (leg),
                           sipd_leg_local_tag (leg));
    sipd_b2bua_map_set (self->dialogs, key, call->id);
}

static void
s_dialog_del (sipd_b2bua_t *self, sipd_leg_t *leg)
{
    char key[320];
    sipd_b2bua_dialog_key (key, sizeof key, sipd_leg_call_id (leg),
                           sipd_leg_local_tag (leg));
    zhashx_delete (self->dialogs, key);
}

//  Remove a call and everything that points to it.
void
sipd_b2bua_call_remove (sipd_b2bua_t *self, call_t *call)
{
    sipd_b2bua_timer_stop (self, &call->timer_answer);
    sipd_b2bua_timer_stop (self, &call->timer_ack);
    sipd_b2bua_timer_stop (self, &call->timer_linger);
    sipd_b2bua_timer_stop (self, &call->timer_keepalive);
    for (int i = 0; i < 2; i++)
        if (call->ka_txn[i])
            sipd_b2bua_txn_del (self, call->ka_txn[i]);
    if (call->caller) {
        s_dialog_del (self, call->caller);
        char key[320];
        sipd_b2bua_dialog_key (key, sizeof key, sipd_leg_call_id (call->caller),
                               sipd_leg_remote_tag (call->caller));
        zhashx_delete (self->dialogs, key);
    }
    for (int i = 0; i < call->nforks; i++) {
        s_dialog_del (self, call->forks[i].leg);
        if (call->forks[i].txn)
            sipd_b2bua_txn_del (self, call->forks[i].txn);
    }
    for (int i = 0; i < MAX_RELAYS; i++)
        if (call->relays[i].client_txn)
            sipd_b2bua_txn_del (self, call->relays[i].client_txn);
    if (call->caller_txn)
        sipd_b2bua_txn_del (self, call->caller_txn);
    CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id, "call removed");
    zhashx_delete (self->calls, call->id);
}

//  --------------------------------------------------------------------
//  Extension call state

void
sipd_b2bua_ext_state (sipd_b2bua_t *self, const char *number,
                      sipd_call_state_t st)
{
    if (number && sipd_location_has_extension (self->location, number))
        sipd_location_set_call_state (self->location, number, st);
}

int
sipd_b2bua_ext_calls (sipd_b2bua_t *self, const char *number)
{
    return (int) (intptr_t) zhashx_lookup (self->busy, number);
}

void
sipd_b2bua_ext_count (sipd_b2bua_t *self, const char *number, int delta)
{
    if (!number || !*number)
        return;
    int n = sipd_b2bua_ext_calls (self, number) + delta;
    if (n <= 0) {
        zhashx_delete (self->busy, number);
        sipd_b2bua_ext_state (self, number, SIPD_CALL_STATE_IDLE);
    }
    else
        zhashx_update (self->busy, number, (void *) (intptr_t) n);
}

//  --------------------------------------------------------------------
//  Message helpers

//  Our Contact for a leg whose peer is reached over transport.
void
sipd_b2bua_contact (sipd_b2bua_t *self, const sipd_source_t *dest, char *buf,
                    size_t size)
{
    bool v6 = strchr (self->host, ':') != NULL;
    snprintf (buf, size, "<sip:sipd@%s%s%s:%d%s>", v6 ? "[" : "", self->host,
              v6 ? "]" : "", self->port,
              dest && dest->transport == SIPD_TRANSPORT_TCP
                  ? ";transport=tcp"
                  : "");
}

//  Header value, also under its compact form.
static const char *
s_header (const osip_message_t *msg, const char *name, const char *compact)
{
    const char *v = sipd_msg_header (msg, name);
    if (!v && compact)
        v = sipd_msg_header (msg, compact);
    return v;
}

//  True when the comma-separated header value v names token (any case).
static bool
s_has_token (const char *v, const char *token)
{
    size_t n = strlen (token);
    for (const char *p = v; p && *p; p++) {
        bool starts = p == v || p[-1] == ',' || p[-1] == ' ' || p[-1] == '\t';
        char end = p[n < strlen (p) ? n : strlen (p)];
        if (starts && strncasecmp (p, token, n) == 0
            && (end == 0 || end == ',' || end == ' ' || end == ';'
                || end == '\t'))
            return true;
    }
    return false;
}

//  Copy the session-timer and related headers from src to dst.
void
sipd_b2bua_copy_timer_headers (osip_message_t *dst, const osip_message_t *src)
{
    const char *v;
    if ((v = s_header (src, "Session-Expires", "x")))
        sipd_msg_add_header (dst, "Session-Expires", v);
    if ((v = s_header (src, "Min-SE", NULL)))
        sipd_msg_add_header (dst, "Min-SE", v);
    if ((v = s_header (src, "Require", NULL)) && s_has_token (v, "timer"))
        sipd_msg_add_header (dst, "Require", "timer");
    if ((v = s_header (src, "Supported", "k")) && s_has_token (v, "timer"))
        sipd_msg_add_header (dst, "Supported", "timer");
}

//  The SDP body of msg rewritten for leg into a new string (caller
//  frees), NULL when msg has no SDP. *bad_p is set when there was a body
//  that could not be used.
char *
sipd_b2bua_sdp_for (sipd_leg_t *leg, const osip_message_t *msg, bool *bad_p,
                    const char *call_id)
{
    *bad_p = false;
    size_t len;
    const char *body = sipd_leg_body (msg, &len);
    if (!body || len == 0)
        return NULL;
    osip_content_type_t *ct = msg->content_type;
    if (ct && ct->type && ct->subtype
        && (strcasecmp (ct->type, "application") != 0
            || strcasecmp (ct->subtype, "sdp") != 0)) {
        *bad_p = true;
        return NULL;
    }
    char error[128];
    char *sdp = sipd_sdp_rewrite (sipd_leg_sdp (leg), body, len, error,
                                  sizeof error);
    if (!sdp) {
        CM_LOG_CALL (CM_LOG_WARN, "b2bua", call_id, "bad SDP: %s", error);
        *bad_p = true;
    }
    return sdp;
}

//  Respond on the caller's INVITE transaction with code, our To tag,
//  optional SDP, Contact for 18x/2xx and an optional Reason.
int
sipd_b2bua_respond_caller (sipd_b2bua_t *self, call_t *call, int code,
                           const char *phrase, const char *sdp,
                           const char *reason, const osip_message_t *from)
{
    const osip_message_t *invite = sipd_b2bua_caller_invite (self, call);
    if (!invite)
        return -1;
    osip_message_t *resp = sipd_msg_response_new (invite, code, phrase);
    if (!resp)
        return -1;
    sipd_leg_tag_response (call->caller, resp);
    if (code > 100 && code < 300) {
        char contact[128];
        sipd_b2bua_contact (self, sipd_leg_dest (call->caller), contact,
                            sizeof contact);
        osip_message_set_contact (resp, contact);
        osip_message_set_allow (resp, S_ALLOW);
    }
    if (sdp)
        sipd_leg_set_body (resp, "application/sdp", sdp);
    if (reason)
        sipd_msg_add_header (resp, "Reason", reason);
    if (from)
        sipd_b2bua_copy_timer_headers (resp, from);
    int txn = call->caller_txn;
    if (code >= 200) {
        if (code < 300)
            osip_message_clone (resp, &call->ok);
        sipd_b2bua_txn_del (self, txn);
        call->caller_txn = 0;
    }
    return sipd_server_respond (self->server, txn, &resp);
}

//  The "calls" control request: the live calls.
static int
s_on_calls_request (cm_service_t *service, zframe_t *routing_id,
                    cm_msg_t *request, void *arg)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    json_t *body = json_pack ("{s:o}", "calls", sipd_b2bua_status (self));
    cm_msg_t *reply = cm_msg_reply (request, "calls", &body);
    //  A failed reply is logged by cm_service; nothing else to do.
    (void) cm_service_reply (service, routing_id, &reply);
    return 0;
}

//  --------------------------------------------------------------------
//  Life cycle

static void
s_call_destructor (void **item)
{
    sipd_b2bua_call_free ((call_t **) item);
}

sipd_b2bua_t *
sipd_b2bua_new (sipd_server_t *server, sipd_registrar_t *registrar)
{
    assert (server);
    assert (registrar);
    cm_config_t *config = sipd_server_config (server);
    sipd_b2bua_t *self = (sipd_b2bua_t *) zmalloc (sizeof *self);
    self->server = server;
    self->location = sipd_registrar_location (registrar);
    self->auth = sipd_registrar_auth (registrar);
    self->throttle = sipd_registrar_throttle (registrar);
    self->loop = sipd_server_loop (server);
    snprintf (self->prefix, sizeof self->prefix, "%s",
              cm_config_str (config, "sipd", "outgoing_prefix"));
    self->dialplan = sipd_dialplan_new (
        cm_config_map (config, "extensions"), self->prefix,
        cm_config_str (config, "sipd", "trunk"));
    if (!self->dialplan) {
        free (self);
        return NULL;
    }
    self->no_answer_ms
        = (int) cm_config_int (config, "sipd", "no_answer_timeout") * 1000;
    self->call_waiting = cm_config_bool (config, "sipd", "call_waiting");
    self->keepalive_ms
        = (int) cm_config_int (config, "sipd", "call_keepalive") * 1000;
    snprintf (self->host, sizeof self->host, "%s",
              sipd_server_host (server));
    self->port = sipd_server_port (server);
    self->calls = zhashx_new ();
    zhashx_set_destructor (self->calls, s_call_destructor);
    self->dialogs = zhashx_new ();
    self->txns = zhashx_new ();
    self->timers = zhashx_new ();
    zhashx_t *maps[] = {self->dialogs, self->txns, self->timers};
    for (size_t i = 0; i < 3; i++) {
        zhashx_set_destructor (maps[i], (zhashx_destructor_fn *) zstr_free);
        zhashx_set_duplicator (maps[i], (zhashx_duplicator_fn *) strdup);
    }
    for (size_t i = 1; i < 3; i++) {
        cm_intmap_setup (maps[i]);
    }
    self->timerq = sipd_timerq_new ();
    self->busy = zhashx_new ();
    if (sipd_dialplan_has_trunk (self->dialplan))
        self->trunk = sipd_trunk_new (server, self->dialplan);
    sipd_server_on_request (server, "INVITE", sipd_b2bua_on_invite, self);
    sipd_server_on_request (server, "ACK", sipd_b2bua_on_ack, self);
    sipd_server_on_request (server, "BYE", sipd_b2bua_on_bye, self);
    sipd_server_on_request (server, "CANCEL", sipd_b2bua_on_cancel, self);
    sipd_server_on_request (server, "UPDATE", sipd_b2bua_on_in_dialog, self);
    sipd_server_on_request (server, "INFO", sipd_b2bua_on_in_dialog, self);
    sipd_server_on_stray_2xx (server, sipd_b2bua_on_stray_2xx, self);
    cm_service_on (sipd_server_service (server), "calls", s_on_calls_request,
                   self);
    return self;
}

void
sipd_b2bua_destroy (sipd_b2bua_t **self_p)
{
    assert (self_p);
    if (!*self_p)
        return;
    sipd_b2bua_t *self = *self_p;
    //  Release every live call: it gets its CDR (call_tag shutdown).
    zlistx_t *ids = zhashx_keys (self->calls);
    for (const char *id = (const char *) zlistx_first (ids); id;
         id = (const char *) zlistx_next (ids)) {
        call_t *call = (call_t *) zhashx_lookup (self->calls, id);
        if (!call || call->state == CALL_ENDED)
            continue;
        sipd_b2bua_release (call, SIPD_CAUSE_TAG_SHUTDOWN,
                            call->state < CALL_ANSWERED ? 503 : 0, 0);
        char reason[96];
        sipd_cause_reason_format (
            sipd_cause_tag_cause (SIPD_CAUSE_TAG_SHUTDOWN), reason,
            sizeof reason);
        if (call->state < CALL_ANSWERED) {
            sipd_b2bua_respond_caller (self, call, 503, NULL, NULL, reason,
                                       NULL);
        }
        else {
            sipd_b2bua_send_bye (self, call, call->caller, reason);
            if (sipd_b2bua_callee (call))
                sipd_b2bua_send_bye (self, call, sipd_b2bua_callee (call),
                                     reason);
        }
        sipd_b2bua_call_end (self, call);
    }
    zlistx_destroy (&ids);
    const char *methods[]
        = {"INVITE", "ACK", "BYE", "CANCEL", "UPDATE", "INFO"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        sipd_server_on_request (self->server, methods[i], NULL, NULL);
    sipd_server_on_stray_2xx (self->server, NULL, NULL);
    //  The "calls" verb cannot be unregistered (cm_service); the loop no
    //  longer runs when the B2BUA is destroyed.
    //  The call timers go with their queue.
    if (self->tick_id > 0)
        zloop_timer_end (self->loop, self->tick_id);
    sipd_timerq_destroy (&self->timerq);
    zhashx_destroy (&self->calls);
    zhashx_destroy (&self->dialogs);
    zhashx_destroy (&self->txns);
    zhashx_destroy (&self->timers);
    zhashx_destroy (&self->busy);
    sipd_trunk_destroy (&self->trunk);
    sipd_dialplan_destroy (&self->dialplan);
    free (self);
    *self_p = NULL;
}

void
sipd_b2bua_set_cdr_sink (sipd_b2bua_t *self, sipd_cdr_fn *fn, void *arg)
{
    assert (self);
    self->cdr_fn = fn;
    self->cdr_arg = arg;
}

size_t
sipd_b2bua_call_count (sipd_b2bua_t *self)
{
    assert (self);
    return zhashx_size (self->calls);
}

json_t *
sipd_b2bua_status (sipd_b2bua_t *self)
{
    assert (self);
    static const char *const names[]
        = {"routing", "ringing", "answered", "confirmed", "ending"};
    json_t *list = json_array ();
    for (call_t *call = (call_t *) zhashx_first (self->calls); call;
         call = (call_t *) zhashx_next (self->calls))
        json_array_append_new (
            list, json_pack ("{s:s, s:s, s:s, s:s, s:s}", "uniqueid",
                             call->id, "src", sipd_call_src (call->rec), "dst",
                             sipd_call_dst (call->rec), "state", names[call->state],
                             "direction",
                             sipd_direction_name (sipd_call_direction (call->rec))));
    return list;
}
