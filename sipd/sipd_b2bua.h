//  sipd_b2bua — calls: sipd as a back-to-back user agent (issue 4).
//
//  Every call is one caller leg (sipd answers the caller's INVITE) and
//  one or more callee legs (sipd's own INVITEs: one per registered
//  contact of the called extension, sent in parallel, or one to the
//  trunk). The B2BUA registers request handlers on the SIP core
//  (sipd_server) for INVITE, ACK, BYE, CANCEL, UPDATE, INFO and PRACK,
//  and relays between the legs:
//
//    - INVITE from an extension is challenged with 407 (the same
//      credentials as REGISTER, sipd_auth); from the trunk host it is
//      accepted without challenge (direction inbound);
//    - number analysis (sipd_dialplan): extension, trunk with the prefix
//      stripped, or 404; offline extension 480, busy extension 486 (unless
//      [sipd] call_waiting), no final answer within no_answer_timeout:
//      CANCEL toward the callee and 480 toward the caller;
//    - 18x and 2xx are relayed with SDP rewritten per leg (sipd_sdp); the
//      first 2xx wins and the other forks are cancelled;
//    - ACK, BYE from either side, CANCEL (487), re-INVITE, UPDATE and INFO
//      are relayed in the dialogs; session timer headers (RFC 4028) are
//      relayed end to end, so refreshes flow through;
//    - a transaction that times out on one leg ends the call on both.
//
//  Each call attempt ends with exactly one CDR (DESIGN §6), filled with
//  sipd_cause_apply and handed to the CDR sink (sipd_journal in the
//  daemon). The callee's Reason: Q.850 header (final response or BYE) is
//  relayed to the caller and decides the cause.
//
//  Calls are held in a registry keyed by uniqueid; dialogs, transactions
//  and timers map to the uniqueid, so nothing holds a call pointer across
//  loop iterations.

#ifndef SIPD_B2BUA_H_INCLUDED
#define SIPD_B2BUA_H_INCLUDED

#include "cm_cdr.h"
#include "sipd_registrar.h"
#include "sipd_server.h"

#include <czmq.h>
#include <jansson.h>

typedef struct _sipd_b2bua_t sipd_b2bua_t;

//  Receives each finished call's CDR. Takes ownership of *cdr_p (sets it
//  to NULL).
typedef void (sipd_cdr_fn) (void *arg, cm_cdr_t **cdr_p);

//  Create the B2BUA on server (borrowed), using the registrar's location,
//  authenticator and throttle (borrowed). Reads [sipd] outgoing_prefix,
//  trunk, no_answer_timeout, call_waiting and [trunk] from the server's
//  config, registers its request handlers and the "calls" control request
//  (reply "calls" {"calls": sipd_b2bua_status}). Destroy it only after the
//  loop has stopped. Returns NULL when the
//  dial plan cannot be built (trunk unresolvable; logged).
//  Caller owns return value and must destroy it when done.
sipd_b2bua_t *
    sipd_b2bua_new (sipd_server_t *server, sipd_registrar_t *registrar);

//  Destroy: every live call is released (BYE, CANCEL or 503 toward both
//  sides, call_tag shutdown) and its CDR handed to the sink, then the
//  handlers are removed. NULL-safe; sets *self_p to NULL.
void
    sipd_b2bua_destroy (sipd_b2bua_t **self_p);

//  Set where CDRs go. Without a sink, CDRs are logged (info, mod=cdr) as
//  JSON and dropped.
void
    sipd_b2bua_set_cdr_sink (sipd_b2bua_t *self, sipd_cdr_fn *fn, void *arg);

//  Number of live calls.
size_t
    sipd_b2bua_call_count (sipd_b2bua_t *self);

//  Live calls, as in the "calls" control reply: [{"uniqueid":…,"src":…,"dst":…,
//  "state":"ringing|answered|confirmed|ending","direction":…}].
//  Caller owns the returned reference.
json_t *
    sipd_b2bua_status (sipd_b2bua_t *self);

#endif
