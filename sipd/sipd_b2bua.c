//  sipd_b2bua — calls: sipd as a back-to-back user agent (see
//  sipd_b2bua.h).
//
//  A call moves through these states:
//
//    ROUTING    the caller's INVITE was accepted, forks are being sent;
//    EARLY      at least one fork is alive, no 2xx yet (the caller has had
//               100 and maybe 180/183);
//    ANSWERED   a fork answered 2xx, sipd sent 200 to the caller and waits
//               for the caller's ACK;
//    CONFIRMED  both dialogs are established; in-dialog requests relay;
//    ENDED      released: the CDR is written, BYEs/CANCELs are on their
//               way; the call lingers until its forks have finished so a
//               late 2xx can still be ACKed and hung up.
//
//  Release is recorded once in the call's record (sipd_call: the first
//  release wins): a call_tag saying where and by whom, the SIP status sent
//  to the caller and the cause of a Reason: Q.850 header, if any. The CDR
//  is built from the record the moment the call enters ENDED.
//
//  Lookup tables map to the call's uniqueid: dialogs ("Call-ID tag" of
//  the leg's local tag; for the caller's leg also "Call-ID remote-tag" to
//  spot INVITE retransmissions after the 2xx), transactions (txn_id) and
//  timers (timer_id). This file is longer than the 800-line guideline
//  because the relaying cases share so much state; sipd_call (record,
//  release, CDR), sipd_leg (dialog) and sipd_sdp (bodies) carry the parts
//  that stand alone.

#include "sipd_b2bua.h"

#include "cm_log.h"
#include "sipd_auth.h"
#include "sipd_call.h"
#include "sipd_cause.h"
#include "sipd_dialplan.h"
#include "sipd_leg.h"
#include "sipd_location.h"
#include "sipd_msg.h"
#include "sipd_sdp.h"
#include "sipd_throttle.h"
#include "sipd_timerq.h"
#include "sipd_trunk.h"

#include <string.h>
#include <strings.h>

#define MAX_FORKS 8             //  parallel forks per call
#define MAX_RELAYS 8            //  in-dialog transactions relayed at once
#define T1_MS 500               //  RFC 3261 T1
#define LINGER_MS 40000         //  how long an ENDED call waits for forks
#define TICK_MS 20              //  call timer granularity
#define S_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

typedef enum {
    CALL_ROUTING = 0,
    CALL_EARLY,
    CALL_ANSWERED,
    CALL_CONFIRMED,
    CALL_ENDED
} call_state_t;

//  One callee leg.
typedef struct {
    sipd_leg_t *leg;            //  owned: the dialog
    int txn;                    //  INVITE client txn, 0 once final
    int final;                  //  final status, 0 while pending
    uint32_t invite_cseq;       //  CSeq of the INVITE (for the ACK)
    bool acked;                 //  2xx ACKed
    bool auth_tried;            //  trunk credentials already sent
    bool cancelled;             //  CANCEL sent
} fork_t;

//  An in-dialog request relayed from one leg to the other.
typedef struct {
    int server_txn;             //  where the request came from
    int client_txn;             //  our request on the other leg
    bool from_caller;           //  came from the caller's leg
    bool is_invite;             //  re-INVITE (ACK the 2xx ourselves)
} relay_t;

typedef struct {
    sipd_call_t *rec;           //  owned: identity, release, CDR
    const char *id;             //  its uniqueid (registry key), borrowed
    char target[160];           //  trunk Request-URI (digest uri)
    bool to_extension;          //  callee is an extension (else trunk)
    call_state_t state;         //  see above
    sipd_leg_t *caller;         //  owned: the caller's leg
    int caller_txn;             //  caller's INVITE server txn, 0 after final
                                //  (its request is the caller's INVITE)
    osip_message_t *ok;         //  owned: the 200 sent to the caller
    bool late_offer;            //  caller's INVITE had no SDP
    fork_t forks[MAX_FORKS];    //  callee legs
    int nforks;                 //  forks used
    int winner;                 //  index of the answering fork, -1
    relay_t relays[MAX_RELAYS]; //  in-dialog relays in progress
    int timer_answer;           //  no-answer timer, 0 if none
    int timer_ack;              //  2xx retransmission / ACK wait
    int timer_linger;           //  ENDED: forced removal
    int timer_keepalive;        //  CONFIRMED: next in-dialog OPTIONS
    int ka_txn[2];              //  keep-alive OPTIONS in flight: caller,
                                //  callee (0 when none)
    int ack_wait_ms;            //  current 2xx retransmission interval
    int ack_waited_ms;          //  time spent waiting for the ACK
    bool callee_counted;        //  callee extension's call count taken
} call_t;

struct _sipd_b2bua_t {
    sipd_server_t *server;      //  borrowed: SIP core
    sipd_location_t *location;  //  borrowed: contacts and call state
    sipd_auth_t *auth;          //  borrowed: INVITE digest
    sipd_throttle_t *throttle;  //  borrowed: failed auth counter
    sipd_dialplan_t *dialplan;  //  owned: number analysis
    sipd_trunk_t *trunk;        //  owned: trunk account (may be NULL)
    zloop_t *loop;              //  borrowed: timers
    zhashx_t *calls;            //  uniqueid -> call_t (owned)
    zhashx_t *dialogs;          //  "callid tag" -> uniqueid
    zhashx_t *txns;             //  txn_id -> uniqueid
    zhashx_t *timers;           //  call timer id -> uniqueid
    sipd_timerq_t *timerq;      //  call timer ids by deadline (owned)
    int next_timer;             //  last call timer id handed out
    int tick_id;                //  zloop timer for the queue, 0 if none
    int64_t tick_at;            //  when it fires (zclock_mono)
    zhashx_t *busy;             //  extension -> number of its calls
    int no_answer_ms;           //  [sipd] no_answer_timeout
    int keepalive_ms;           //  [sipd] call_keepalive, 0: off
    bool call_waiting;          //  [sipd] call_waiting
    char prefix[16];            //  [sipd] outgoing_prefix
    char host[64];              //  our address (Contact, From, SDP o=)
    int port;                   //  our port
    sipd_cdr_fn *cdr_fn;        //  CDR sink
    void *cdr_arg;              //  its argument
};

static void s_call_end (sipd_b2bua_t *self, call_t *call);

//  The caller's INVITE: the request of its server transaction, which
//  lives until the final response (no copy per call). NULL after it.
static const osip_message_t *
s_invite (sipd_b2bua_t *self, call_t *call)
{
    return call->caller_txn
               ? sipd_server_txn_request (self->server, call->caller_txn)
               : NULL;
}
static void s_relay_response (void *arg, int txn_id,
                              const osip_message_t *response, int code);

//  --------------------------------------------------------------------
//  Registry helpers

static void
s_call_free (call_t **call_p)
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

static void
s_map_set (zhashx_t *map, const char *key, const char *uniqueid)
{
    zhashx_update (map, key, (void *) uniqueid);
}

static call_t *
s_call_by_key (sipd_b2bua_t *self, zhashx_t *map, const char *key)
{
    const char *uniqueid = (const char *) zhashx_lookup (map, key);
    return uniqueid ? (call_t *) zhashx_lookup (self->calls, uniqueid)
                    : NULL;
}

//  Integer keys (txn ids, timer ids) stored in the pointer itself.
static void *
s_int_key (int n)
{
    return (void *) (intptr_t) n;
}

static size_t
s_int_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_int_compare (const void *a, const void *b)
{
    intptr_t x = (intptr_t) a, y = (intptr_t) b;
    return x < y ? -1 : x > y;
}

static void
s_txn_add (sipd_b2bua_t *self, call_t *call, int txn)
{
    zhashx_update (self->txns, s_int_key (txn), (void *) call->id);
}

static void
s_txn_del (sipd_b2bua_t *self, int txn)
{
    zhashx_delete (self->txns, s_int_key (txn));
}

static call_t *
s_call_by_txn (sipd_b2bua_t *self, int txn)
{
    const char *uniqueid
        = (const char *) zhashx_lookup (self->txns, s_int_key (txn));
    return uniqueid ? (call_t *) zhashx_lookup (self->calls, uniqueid)
                    : NULL;
}

static void
s_dialog_key (char *key, size_t size, const char *call_id, const char *tag)
{
    snprintf (key, size, "%s %s", call_id ? call_id : "", tag ? tag : "");
}

static void
s_dialog_add (sipd_b2bua_t *self, call_t *call, sipd_leg_t *leg)
{
    char key[320];
    s_dialog_key (key, sizeof key, sipd_leg_call_id (leg),
                  sipd_leg_local_tag (leg));
    s_map_set (self->dialogs, key, call->id);
}

static void
s_dialog_del (sipd_b2bua_t *self, sipd_leg_t *leg)
{
    char key[320];
    s_dialog_key (key, sizeof key, sipd_leg_call_id (leg),
                  sipd_leg_local_tag (leg));
    zhashx_delete (self->dialogs, key);
}

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

static int
s_timer_start (sipd_b2bua_t *self, call_t *call, int delay_ms)
{
    if (++self->next_timer <= 0)
        self->next_timer = 1;
    int id = self->next_timer;
    if (sipd_timerq_push (self->timerq, zclock_mono () + delay_ms, id) != 0)
        return 0;
    zhashx_update (self->timers, s_int_key (id), (void *) call->id);
    s_tick_arm (self);
    return id;
}

static void
s_timer_stop (sipd_b2bua_t *self, int *timer_p)
{
    if (*timer_p > 0)
        zhashx_delete (self->timers, s_int_key (*timer_p));
    *timer_p = 0;
}

//  Remove a call and everything that points to it.
static void
s_call_remove (sipd_b2bua_t *self, call_t *call)
{
    s_timer_stop (self, &call->timer_answer);
    s_timer_stop (self, &call->timer_ack);
    s_timer_stop (self, &call->timer_linger);
    s_timer_stop (self, &call->timer_keepalive);
    for (int i = 0; i < 2; i++)
        if (call->ka_txn[i])
            s_txn_del (self, call->ka_txn[i]);
    if (call->caller) {
        s_dialog_del (self, call->caller);
        char key[320];
        s_dialog_key (key, sizeof key, sipd_leg_call_id (call->caller),
                      sipd_leg_remote_tag (call->caller));
        zhashx_delete (self->dialogs, key);
    }
    for (int i = 0; i < call->nforks; i++) {
        s_dialog_del (self, call->forks[i].leg);
        if (call->forks[i].txn)
            s_txn_del (self, call->forks[i].txn);
    }
    for (int i = 0; i < MAX_RELAYS; i++)
        if (call->relays[i].client_txn)
            s_txn_del (self, call->relays[i].client_txn);
    if (call->caller_txn)
        s_txn_del (self, call->caller_txn);
    CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id, "call removed");
    zhashx_delete (self->calls, call->id);
}

//  --------------------------------------------------------------------
//  Extension call state

static void
s_ext_state (sipd_b2bua_t *self, const char *number, sipd_call_state_t st)
{
    if (number && sipd_location_has_extension (self->location, number))
        sipd_location_set_call_state (self->location, number, st);
}

static int
s_ext_calls (sipd_b2bua_t *self, const char *number)
{
    return (int) (intptr_t) zhashx_lookup (self->busy, number);
}

static void
s_ext_count (sipd_b2bua_t *self, const char *number, int delta)
{
    if (!number || !*number)
        return;
    int n = s_ext_calls (self, number) + delta;
    if (n <= 0) {
        zhashx_delete (self->busy, number);
        s_ext_state (self, number, SIPD_CALL_STATE_IDLE);
    }
    else
        zhashx_update (self->busy, number, (void *) (intptr_t) n);
}

//  --------------------------------------------------------------------
//  Message helpers

//  Our Contact for a leg whose peer is reached over transport.
static void
s_contact (sipd_b2bua_t *self, const sipd_source_t *dest, char *buf,
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
static void
s_copy_timer_headers (osip_message_t *dst, const osip_message_t *src)
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
static char *
s_sdp_for (sipd_leg_t *leg, const osip_message_t *msg, bool *bad_p,
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
static int
s_respond_caller (sipd_b2bua_t *self, call_t *call, int code,
                  const char *phrase, const char *sdp, const char *reason,
                  const osip_message_t *from)
{
    const osip_message_t *invite = s_invite (self, call);
    if (!invite)
        return -1;
    osip_message_t *resp = sipd_msg_response_new (invite, code, phrase);
    if (!resp)
        return -1;
    sipd_leg_tag_response (call->caller, resp);
    if (code > 100 && code < 300) {
        char contact[128];
        s_contact (self, sipd_leg_dest (call->caller), contact,
                   sizeof contact);
        osip_message_set_contact (resp, contact);
        osip_message_set_allow (resp, S_ALLOW);
    }
    if (sdp)
        sipd_leg_set_body (resp, "application/sdp", sdp);
    if (reason)
        sipd_msg_add_header (resp, "Reason", reason);
    if (from)
        s_copy_timer_headers (resp, from);
    int txn = call->caller_txn;
    if (code >= 200) {
        if (code < 300)
            osip_message_clone (resp, &call->ok);
        s_txn_del (self, txn);
        call->caller_txn = 0;
    }
    return sipd_server_respond (self->server, txn, &resp);
}

//  Record how the call was released; the first record wins.
static void
s_release (call_t *call, int tag, int sip_code, int reason_cause)
{
    //  A second release is normal (a BYE racing a timeout): ignored.
    (void) sipd_call_release (call->rec, tag, sip_code, reason_cause);
}

//  Build the CDR of rec and hand it to the sink.
static void
s_emit_cdr (sipd_b2bua_t *self, sipd_call_t *rec)
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

static int
s_forks_pending (call_t *call)
{
    int n = 0;
    for (int i = 0; i < call->nforks; i++)
        if (call->forks[i].final == 0)
            n++;
    return n;
}

//  CANCEL every fork still without a final response except keep.
static void
s_cancel_forks (sipd_b2bua_t *self, call_t *call, int keep)
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

//  Send BYE on a leg, with an optional Reason. Fire and forget: the
//  response comes back to s_relay_response, finds no relay and is
//  dropped.
static void
s_send_bye (sipd_b2bua_t *self, call_t *call, sipd_leg_t *leg,
            const char *reason)
{
    char contact[128];
    s_contact (self, sipd_leg_dest (leg), contact, sizeof contact);
    osip_message_t *bye = sipd_leg_request (leg, "BYE", contact, NULL, NULL);
    if (!bye)
        return;
    if (reason)
        sipd_msg_add_header (bye, "Reason", reason);
    int txn = sipd_server_send_request (self->server, &bye,
                                        sipd_leg_dest (leg),
                                        s_relay_response, self);
    if (txn < 0)
        CM_LOG_CALL (CM_LOG_WARN, "b2bua", call->id,
                     "cannot send BYE");
}

//  The call is over: write the CDR, free the extensions, cancel what is
//  still ringing, and remove the call now or once the forks are done.
static void
s_call_end (sipd_b2bua_t *self, call_t *call)
{
    if (call->state == CALL_ENDED)
        return;
    call->state = CALL_ENDED;
    s_timer_stop (self, &call->timer_answer);
    s_timer_stop (self, &call->timer_ack);
    s_timer_stop (self, &call->timer_keepalive);
    s_cancel_forks (self, call, -1);
    s_emit_cdr (self, call->rec);
    s_ext_count (self, sipd_call_src (call->rec), -1);
    if (call->callee_counted)
        s_ext_count (self, sipd_call_dst (call->rec), -1);
    call->callee_counted = false;
    if (s_forks_pending (call) == 0)
        s_call_remove (self, call);
    else
        call->timer_linger = s_timer_start (self, call, LINGER_MS);
}

//  Release a call that has not been answered: final response to the
//  caller with an optional Reason, then end.
static void
s_fail (sipd_b2bua_t *self, call_t *call, int tag, int code,
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
    s_release (call, tag, code, reason_cause);
    s_respond_caller (self, call, code, phrase, NULL, reason, NULL);
    s_call_end (self, call);
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
    s_send_bye (self, call, fork->leg, NULL);
}

//  All forks failed: tell the caller.
static void
s_forks_failed (sipd_b2bua_t *self, call_t *call)
{
    int tag, code, cause;
    const char *phrase, *reason;
    sipd_call_failure (call->rec, call->to_extension, &tag, &code, &cause,
                       &phrase, &reason);
    s_fail (self, call, tag, code, phrase, reason, cause);
}

//  Send the INVITE of fork i. Returns 0 or -1.
static int
s_fork_send (sipd_b2bua_t *self, call_t *call, int i, const char *sdp,
             const char *auth_name, const char *auth_value)
{
    fork_t *fork = &call->forks[i];
    char contact[128];
    s_contact (self, sipd_leg_dest (fork->leg), contact, sizeof contact);
    osip_message_t *invite = sipd_leg_request (
        fork->leg, "INVITE", contact, sdp ? "application/sdp" : NULL, sdp);
    if (!invite)
        return -1;
    fork->invite_cseq = sipd_leg_local_cseq (fork->leg);
    osip_message_set_allow (invite, S_ALLOW);
    const osip_message_t *caller_invite = s_invite (self, call);
    if (caller_invite)
        s_copy_timer_headers (invite, caller_invite);
    if (auth_name && auth_value)
        osip_message_set_header (invite, auth_name, auth_value);
    int txn = sipd_server_send_request (self->server, &invite,
                                        sipd_leg_dest (fork->leg),
                                        s_relay_response, self);
    if (txn <= 0) {
        fork->final = 503;
        return -1;
    }
    fork->txn = txn;
    s_txn_add (self, call, txn);
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
    s_cancel_forks (self, call, i);
    bool bad;
    char *sdp = s_sdp_for (call->caller, response, &bad, call->id);
    if (bad || (!sdp && call->late_offer)) {
        //  Unusable answer: hang up the callee, 488 to the caller.
        s_drop_fork (self, call, fork);
        s_fail (self, call, SIPD_CAUSE_TAG_BAD_REQUEST, 488, NULL, NULL, 0);
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
    s_timer_stop (self, &call->timer_answer);
    s_respond_caller (self, call, 200, NULL, sdp, NULL, response);
    free (sdp);
    sipd_call_set_answered (call->rec);
    call->state = CALL_ANSWERED;
    if (call->to_extension)
        s_ext_state (self, sipd_call_dst (call->rec), SIPD_CALL_STATE_BUSY);
    //  Retransmit our 2xx until the caller's ACK (RFC 3261 §13.3.1.4).
    call->ack_wait_ms = T1_MS;
    call->ack_waited_ms = 0;
    call->timer_ack = s_timer_start (self, call, T1_MS);
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
        char *sdp = s_sdp_for (call->caller, response, &bad, call->id);
        s_respond_caller (self, call, code == 180 ? 180 : 183, NULL, sdp,
                          NULL, NULL);
        free (sdp);
        if (call->state < CALL_EARLY)
            call->state = CALL_EARLY;
        return;
    }
    //  Final: the transaction is over.
    s_txn_del (self, fork->txn);
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
        const osip_message_t *sent = s_invite (self, call);  //  the body
        bool bad = false;
        char *sdp = sent ? s_sdp_for (fork->leg, sent, &bad, call->id)
                         : NULL;
        if (sipd_trunk_authorize (self->trunk, response, "INVITE",
                                  call->target, name, sizeof name, value,
                                  sizeof value)
            == 0) {
            fork->auth_tried = true;
            fork->final = 0;
            int rc = s_fork_send (self, call, i, sdp, name, value);
            free (sdp);
            if (rc == 0)
                return;
        }
        else
            free (sdp);
        code = 403;
        fork->final = 403;
        s_release (call, SIPD_CAUSE_TAG_TRUNK_AUTH_FAILED, 403, 0);
    }
    if (call->state == CALL_ENDED) {
        if (s_forks_pending (call) == 0)
            s_call_remove (self, call);
        return;
    }
    sipd_call_fork_failed (
        call->rec, code, response != NULL,
        response ? sipd_msg_header (response, "Reason") : NULL,
        response ? osip_message_get_reason_phrase (response) : NULL);
    if (s_forks_pending (call) == 0 && call->winner < 0)
        s_forks_failed (self, call);
}

//  --------------------------------------------------------------------
//  In-dialog relaying

//  The relay slot of client transaction txn, or NULL.
static relay_t *
s_relay_find (call_t *call, int client_txn)
{
    for (int i = 0; i < MAX_RELAYS; i++)
        if (call->relays[i].client_txn == client_txn)
            return &call->relays[i];
    return NULL;
}

//  The callee leg of an answered call, or NULL.
static sipd_leg_t *
s_callee (call_t *call)
{
    return call->winner >= 0 ? call->forks[call->winner].leg : NULL;
}

//  A response to a relayed in-dialog request: relay it back.
static void
s_relay_back (sipd_b2bua_t *self, call_t *call, relay_t *relay,
              const osip_message_t *response, int code)
{
    sipd_leg_t *back = relay->from_caller ? call->caller : s_callee (call);
    sipd_leg_t *there = relay->from_caller ? s_callee (call) : call->caller;
    if (code >= 200)
        s_txn_del (self, relay->client_txn);
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
                char *sdp = s_sdp_for (back, response, &bad, call->id);
                //  SDP is rewritten; other response bodies are dropped.
                if (sdp)
                    sipd_leg_set_body (resp, "application/sdp", sdp);
                free (sdp);
                s_copy_timer_headers (resp, response);
            }
            if (code >= 200 && code < 300) {
                char contact[128];
                s_contact (self, sipd_leg_dest (back), contact,
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
            s_release (call, tag, 0, SIPD_CAUSE_RECOVERY_ON_TIMER);
            char reason[96];
            sipd_cause_reason_format (SIPD_CAUSE_RECOVERY_ON_TIMER, reason,
                                      sizeof reason);
            if (back)
                s_send_bye (self, call, back, reason);
            s_call_end (self, call);
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
static void
s_keepalive_response (sipd_b2bua_t *self, call_t *call, int k,
                      const osip_message_t *response, int code)
{
    if (code < 200)
        return;
    s_txn_del (self, call->ka_txn[k]);
    call->ka_txn[k] = 0;
    bool gone = code == 481 || (!response && (code == 408 || code == 503));
    if (!gone || call->state == CALL_ENDED)
        return;
    CM_LOG_CALL (CM_LOG_WARN, "b2bua", call->id,
                 "%s does not answer the keep-alive (%d): ending the call",
                 k == 0 ? "caller" : "callee", code);
    //  The CDR cause is the one our BYE carries.
    s_release (call,
               k == 0 ? SIPD_CAUSE_TAG_CALLER_TIMEOUT
                      : SIPD_CAUSE_TAG_CALLEE_TIMEOUT,
               0, SIPD_CAUSE_RECOVERY_ON_TIMER);
    char reason[96];
    sipd_cause_reason_format (SIPD_CAUSE_RECOVERY_ON_TIMER, reason,
                              sizeof reason);
    sipd_leg_t *other = k == 0 ? s_callee (call) : call->caller;
    if (other)
        s_send_bye (self, call, other, reason);
    s_call_end (self, call);
}

//  Send the keep-alive OPTIONS to both parties (skipping one still in
//  flight) and re-arm the timer.
static void
s_keepalive_send (sipd_b2bua_t *self, call_t *call)
{
    sipd_leg_t *legs[2] = {call->caller, s_callee (call)};
    for (int k = 0; k < 2; k++) {
        if (!legs[k] || call->ka_txn[k])
            continue;
        char contact[128];
        s_contact (self, sipd_leg_dest (legs[k]), contact, sizeof contact);
        osip_message_t *options
            = sipd_leg_request (legs[k], "OPTIONS", contact, NULL, NULL);
        if (!options)
            continue;
        int txn = sipd_server_send_request (self->server, &options,
                                            sipd_leg_dest (legs[k]),
                                            s_relay_response, self);
        if (txn > 0) {
            call->ka_txn[k] = txn;
            s_txn_add (self, call, txn);
        }
    }
    call->timer_keepalive = s_timer_start (self, call, self->keepalive_ms);
}

//  Every client transaction's responses land here: fork INVITEs, relayed
//  in-dialog requests, keep-alive OPTIONS and our own BYEs.
static void
s_relay_response (void *arg, int txn_id, const osip_message_t *response,
                  int code)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    call_t *call = s_call_by_txn (self, txn_id);
    if (!call)
        return;     //  a BYE's response, or a call already gone
    int i = s_fork_index (call, txn_id);
    if (i >= 0) {
        s_fork_response (self, call, i, response, code);
        return;
    }
    for (int k = 0; k < 2; k++)
        if (call->ka_txn[k] == txn_id) {
            s_keepalive_response (self, call, k, response, code);
            return;
        }
    relay_t *relay = s_relay_find (call, txn_id);
    if (relay)
        s_relay_back (self, call, relay, response, code);
    else if (code >= 200)
        s_txn_del (self, txn_id);
}

//  Relay an in-dialog request (re-INVITE, UPDATE, INFO) to the other leg.
static void
s_relay_request (sipd_b2bua_t *self, call_t *call, bool from_caller,
                 int txn_id, osip_message_t *request)
{
    sipd_leg_t *there = from_caller ? s_callee (call) : call->caller;
    const char *method = request->sip_method;
    relay_t *slot = s_relay_find (call, 0);
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
        body = s_sdp_for (there, request, &bad, call->id);
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
    s_contact (self, sipd_leg_dest (there), contact, sizeof contact);
    osip_message_t *out
        = sipd_leg_request (there, method, contact, body ? ctype : NULL, body);
    free (body);
    if (!out) {
        sipd_server_respond_code (self->server, txn_id, 500, NULL);
        return;
    }
    s_copy_timer_headers (out, request);
    const char *reason = sipd_msg_header (request, "Reason");
    if (reason)
        sipd_msg_add_header (out, "Reason", reason);
    int client = sipd_server_send_request (self->server, &out,
                                           sipd_leg_dest (there),
                                           s_relay_response, self);
    if (client <= 0) {
        sipd_server_respond_code (self->server, txn_id, 503, NULL);
        return;
    }
    slot->server_txn = txn_id;
    slot->client_txn = client;
    slot->from_caller = from_caller;
    slot->is_invite = strcmp (method, "INVITE") == 0;
    s_txn_add (self, call, client);
    CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id, "relayed %s %s",
                 method, from_caller ? "caller->callee" : "callee->caller");
}

//  Find the call of an in-dialog request (To tag is ours). Sets
//  *from_caller_p, and *fork_p to the index of the callee leg it came
//  from (-1 for the caller's leg).
static call_t *
s_dialog_lookup (sipd_b2bua_t *self, const osip_message_t *request,
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
    s_dialog_key (key, sizeof key, call_id, tag->gvalue);
    call_t *call = s_call_by_key (self, self->dialogs, key);
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
    s_emit_cdr (self, rec);
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
    s_dialog_key (key, sizeof key, call_id, tag->gvalue);
    osip_free (call_id);
    call_t *call = s_call_by_key (self, self->dialogs, key);
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
        s_call_free (&call);
        sipd_server_respond_code (self->server, txn_id, 400,
                                  "Missing From tag or Contact");
        return;
    }
    call->caller_txn = txn_id;
    zhashx_insert (self->calls, call->id, call);
    s_txn_add (self, call, txn_id);
    s_dialog_add (self, call, call->caller);
    char key[320];
    s_dialog_key (key, sizeof key, sipd_leg_call_id (call->caller),
                  sipd_leg_remote_tag (call->caller));
    s_map_set (self->dialogs, key, call->id);
    if (!from_trunk)
        s_ext_count (self, sipd_call_src (call->rec), +1);
    if (!from_trunk)
        s_ext_state (self, sipd_call_src (call->rec), SIPD_CALL_STATE_BUSY);
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
        s_fail (self, call,
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
            s_fail (self, call, SIPD_CAUSE_TAG_OFFLINE, 480, NULL, NULL, 0);
            return;
        }
        if (s_ext_calls (self, sipd_call_dst (call->rec)) > 0 && !self->call_waiting) {
            s_fail (self, call, SIPD_CAUSE_TAG_LOCAL_BUSY, 486, NULL, NULL, 0);
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
        s_fail (self, call, SIPD_CAUSE_TAG_OFFLINE, 480, NULL, NULL, 0);
        return;
    }
    int sent = 0;
    for (int i = 0; i < call->nforks; i++) {
        bool bad;
        char *sdp = s_sdp_for (call->forks[i].leg, request, &bad,
                               call->id);
        if (bad) {
            free (sdp);
            for (int k = 0; k < call->nforks; k++)
                call->forks[k].final = 488;
            s_fail (self, call, SIPD_CAUSE_TAG_BAD_REQUEST, 488, NULL, NULL,
                    0);
            return;
        }
        s_dialog_add (self, call, call->forks[i].leg);
        if (s_fork_send (self, call, i, sdp, NULL, NULL) == 0)
            sent++;
        free (sdp);
    }
    if (sent == 0) {
        s_fail (self, call,
                call->to_extension ? SIPD_CAUSE_TAG_CALLEE_TIMEOUT
                                   : SIPD_CAUSE_TAG_TRUNK_FAILURE,
                call->to_extension ? 480 : 503, NULL, NULL, 0);
        return;
    }
    if (call->to_extension) {
        s_ext_count (self, sipd_call_dst (call->rec), +1);
        call->callee_counted = true;
        if (s_ext_calls (self, sipd_call_dst (call->rec)) == 1)
            s_ext_state (self, sipd_call_dst (call->rec), SIPD_CALL_STATE_RINGING);
    }
    call->timer_answer = s_timer_start (self, call, self->no_answer_ms);
}

//  --------------------------------------------------------------------
//  Request handlers

//  re-INVITE, UPDATE, INFO (and PRACK-less in-dialog requests).
static int
s_on_in_dialog (void *arg, int txn_id, osip_message_t *request,
                const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    bool from_caller = false;
    int fork = -1;
    call_t *call = s_dialog_lookup (self, request, &from_caller, &fork);
    if (!call) {
        sipd_server_respond_code (self->server, txn_id, 481, NULL);
        return 0;
    }
    sipd_leg_t *leg = from_caller                            ? call->caller
                      : fork >= 0 && fork == call->winner ? s_callee (call)
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

static int
s_on_invite (void *arg, int txn_id, osip_message_t *request,
             const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    osip_generic_param_t *tag = NULL;
    if (request->to)
        osip_to_get_tag (request->to, &tag);
    if (tag)
        return s_on_in_dialog (arg, txn_id, request, source);
    s_on_new_invite (self, txn_id, request, source);
    return 0;
}

static int
s_on_ack (void *arg, int txn_id, osip_message_t *request,
          const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    bool from_caller = false;
    int from_fork = -1;
    call_t *call = s_dialog_lookup (self, request, &from_caller, &from_fork);
    if (!call || !from_caller)
        return 0;   //  ACK of a relayed re-INVITE from the callee, or stray
    if (call->state == CALL_ANSWERED) {
        s_timer_stop (self, &call->timer_ack);
        call->state = CALL_CONFIRMED;
        //  No more retransmissions of our 2xx.
        osip_message_free (call->ok);
        call->ok = NULL;
        fork_t *fork = call->winner >= 0 ? &call->forks[call->winner] : NULL;
        if (fork && !fork->acked) {
            //  Late offer: the caller's answer travels in the ACK.
            bool bad;
            char *sdp = s_sdp_for (fork->leg, request, &bad, call->id);
            osip_message_t *ack
                = sipd_leg_ack (fork->leg, fork->invite_cseq, sdp);
            if (ack)
                sipd_server_send_ack (self->server, &ack,
                                      sipd_leg_dest (fork->leg));
            fork->acked = true;
            free (sdp);
        }
        if (self->keepalive_ms > 0)
            call->timer_keepalive
                = s_timer_start (self, call, self->keepalive_ms);
        CM_LOG_CALL (CM_LOG_DEBUG, "b2bua", call->id, "confirmed");
    }
    return 0;
}

static int
s_on_bye (void *arg, int txn_id, osip_message_t *request,
          const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    bool from_caller = false;
    int fork = -1;
    call_t *call = s_dialog_lookup (self, request, &from_caller, &fork);
    if (call && !from_caller && fork >= 0 && fork != call->winner) {
        //  A fork that lost the race hangs up its side: nothing to relay.
        sipd_server_respond_code (self->server, txn_id, 200, NULL);
        return 0;
    }
    sipd_leg_t *leg = call ? (from_caller ? call->caller : s_callee (call))
                           : NULL;
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
    s_release (call,
               from_caller ? SIPD_CAUSE_TAG_CALLER_BYE
                           : SIPD_CAUSE_TAG_CALLEE_BYE,
               200, cause);
    sipd_leg_t *other = from_caller ? s_callee (call) : call->caller;
    if (other)
        s_send_bye (self, call, other, reason);
    CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id, "BYE from %s",
                 from_caller ? "caller" : "callee");
    s_call_end (self, call);
    return 0;
}

static int
s_on_cancel (void *arg, int txn_id, osip_message_t *request,
             const sipd_source_t *source)
{
    sipd_b2bua_t *self = (sipd_b2bua_t *) arg;
    int invite_txn = sipd_server_find_invite (self->server, request);
    call_t *call = invite_txn > 0 ? s_call_by_txn (self, invite_txn) : NULL;
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
    s_fail (self, call, SIPD_CAUSE_TAG_CALLER_CANCEL, 487, NULL, reason,
            cause);
    return 0;
}

//  A 2xx retransmission after our ACK went out: ACK again.
static void
s_on_stray_2xx (void *arg, const osip_message_t *response,
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
    s_dialog_key (key, sizeof key, call_id, tag->gvalue);
    osip_free (call_id);
    call_t *call = s_call_by_key (self, self->dialogs, key);
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

//  --------------------------------------------------------------------
//  Timers

//  A call timer came due.
static int
s_on_timer (sipd_b2bua_t *self, int timer_id)
{
    const char *uniqueid
        = (const char *) zhashx_lookup (self->timers, s_int_key (timer_id));
    call_t *call
        = uniqueid ? (call_t *) zhashx_lookup (self->calls, uniqueid) : NULL;
    zhashx_delete (self->timers, s_int_key (timer_id));
    if (!call)
        return 0;
    if (timer_id == call->timer_answer) {
        call->timer_answer = 0;
        if (call->state < CALL_ANSWERED) {
            CM_LOG_CALL (CM_LOG_INFO, "b2bua", call->id,
                         "no answer within %d ms", self->no_answer_ms);
            s_fail (self, call, SIPD_CAUSE_TAG_NO_ANSWER, 480, NULL, NULL, 0);
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
            s_release (call, SIPD_CAUSE_TAG_CALLER_TIMEOUT, 200, 0);
            char reason[96];
            sipd_cause_reason_format (SIPD_CAUSE_RECOVERY_ON_TIMER, reason,
                                      sizeof reason);
            s_send_bye (self, call, call->caller, reason);
            if (s_callee (call))
                s_send_bye (self, call, s_callee (call), reason);
            s_call_end (self, call);
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
        call->timer_ack = s_timer_start (self, call, call->ack_wait_ms);
    }
    else if (timer_id == call->timer_keepalive) {
        call->timer_keepalive = 0;
        if (call->state == CALL_CONFIRMED)
            s_keepalive_send (self, call);
    }
    else if (timer_id == call->timer_linger) {
        call->timer_linger = 0;
        s_call_remove (self, call);
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
        if (zhashx_lookup (self->timers, s_int_key (id)))
            s_on_timer (self, id);
    s_tick_arm (self);
    return 0;
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
    s_call_free ((call_t **) item);
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
        zhashx_set_key_hasher (maps[i], s_int_hash);
        zhashx_set_key_comparator (maps[i], s_int_compare);
        zhashx_set_key_duplicator (maps[i], NULL);
        zhashx_set_key_destructor (maps[i], NULL);
    }
    self->timerq = sipd_timerq_new ();
    self->busy = zhashx_new ();
    if (sipd_dialplan_has_trunk (self->dialplan))
        self->trunk = sipd_trunk_new (server, self->dialplan);
    sipd_server_on_request (server, "INVITE", s_on_invite, self);
    sipd_server_on_request (server, "ACK", s_on_ack, self);
    sipd_server_on_request (server, "BYE", s_on_bye, self);
    sipd_server_on_request (server, "CANCEL", s_on_cancel, self);
    sipd_server_on_request (server, "UPDATE", s_on_in_dialog, self);
    sipd_server_on_request (server, "INFO", s_on_in_dialog, self);
    sipd_server_on_stray_2xx (server, s_on_stray_2xx, self);
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
        s_release (call, SIPD_CAUSE_TAG_SHUTDOWN,
                   call->state < CALL_ANSWERED ? 503 : 0, 0);
        char reason[96];
        sipd_cause_reason_format (
            sipd_cause_tag_cause (SIPD_CAUSE_TAG_SHUTDOWN), reason,
            sizeof reason);
        if (call->state < CALL_ANSWERED) {
            s_respond_caller (self, call, 503, NULL, NULL, reason, NULL);
        }
        else {
            s_send_bye (self, call, call->caller, reason);
            if (s_callee (call))
                s_send_bye (self, call, s_callee (call), reason);
        }
        s_call_end (self, call);
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
