//  sipd_b2bua_fork — the callee legs of a call: a fork's INVITE and its
//  responses, relayed to the caller (18x with SDP; the first 2xx wins and
//  the other forks are cancelled; when all fail, one answer for all),
//  the trunk's challenge, late 2xx; and the entry of every response to a
//  request the B2BUA sent (part of sipd_b2bua, see
//  sipd_b2bua_private.h).

#ifndef SIPD_B2BUA_FORK_H_INCLUDED
#define SIPD_B2BUA_FORK_H_INCLUDED

#include "sipd_b2bua_private.h"

//  Number of forks still without a final response.
int
    sipd_b2bua_forks_pending (call_t *call);

//  CANCEL every fork still without a final response except keep (-1:
//  none kept).
void
    sipd_b2bua_cancel_forks (sipd_b2bua_t *self, call_t *call, int keep);

//  Send the INVITE of fork i with sdp (may be NULL) and an optional
//  credentials header auth_name: auth_value. Returns 0 or -1.
int
    sipd_b2bua_fork_send (sipd_b2bua_t *self, call_t *call, int i,
                          const char *sdp, const char *auth_name,
                          const char *auth_value);

//  Response callback (sipd_server_send_request, arg the B2BUA) of every
//  client transaction: fork INVITEs, relayed in-dialog requests,
//  keep-alive OPTIONS and our own BYEs.
void
    sipd_b2bua_relay_response (void *arg, int txn_id,
                               const osip_message_t *response, int code);

//  Stray 2xx handler (sipd_server_on_stray_2xx): a 2xx retransmission
//  after our ACK went out is ACKed again; one never processed is ACKed
//  and hung up.
void
    sipd_b2bua_on_stray_2xx (void *arg, const osip_message_t *response,
                             const sipd_source_t *source);

#endif
