//  sipd_b2bua_dialog — established calls: in-dialog requests
//  (re-INVITE, UPDATE, INFO) relayed from one leg to the other and their
//  responses back, the caller's ACK, and the session keep-alive (part of
//  sipd_b2bua, see sipd_b2bua_private.h).

#ifndef SIPD_B2BUA_DIALOG_H_INCLUDED
#define SIPD_B2BUA_DIALOG_H_INCLUDED

#include "sipd_b2bua_private.h"

//  The relay slot of client transaction client_txn (0: a free slot), or
//  NULL.
relay_t *
    sipd_b2bua_relay_find (call_t *call, int client_txn);

//  A response to a relayed in-dialog request: relay it back.
void
    sipd_b2bua_relay_back (sipd_b2bua_t *self, call_t *call, relay_t *relay,
                           const osip_message_t *response, int code);

//  A response to the keep-alive OPTIONS of party k (0 caller, 1 callee).
void
    sipd_b2bua_keepalive_response (sipd_b2bua_t *self, call_t *call, int k,
                                   const osip_message_t *response, int code);

//  Send the keep-alive OPTIONS to both parties (skipping one still in
//  flight) and re-arm the timer.
void
    sipd_b2bua_keepalive_send (sipd_b2bua_t *self, call_t *call);

//  Find the call of an in-dialog request (To tag is ours). Sets
//  *from_caller_p, and *fork_p to the index of the callee leg it came
//  from (-1 for the caller's leg).
call_t *
    sipd_b2bua_dialog_lookup (sipd_b2bua_t *self,
                              const osip_message_t *request,
                              bool *from_caller_p, int *fork_p);

//  Request handler (sipd_server) for re-INVITE, UPDATE and INFO.
int
    sipd_b2bua_on_in_dialog (void *arg, int txn_id, osip_message_t *request,
                             const sipd_source_t *source);

//  Request handler (sipd_server) for ACK.
int
    sipd_b2bua_on_ack (void *arg, int txn_id, osip_message_t *request,
                       const sipd_source_t *source);

#endif
