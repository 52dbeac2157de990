//  sipd_server_recv — sipd_server's receive path: what the transport
//  reads is validated (sipd_check), answered statelessly when invalid,
//  matched to its transaction (ist_map, client_map) or given a new one,
//  and dispatched to the TU by libosip2's callbacks; non-INVITE requests
//  go to sipd_nist (part of sipd_server; see the top of sipd_server.c).

#ifndef SIPD_SERVER_RECV_H_INCLUDED
#define SIPD_SERVER_RECV_H_INCLUDED

#include "sipd_server_private.h"

//  Match key from a top Via: branch, sent-by and method (sent_by false:
//  branch and CSeq method, for client transactions). NULL without an
//  RFC 3261 branch. Caller frees the key.
char *
    sipd_server_via_key (const osip_via_t *via, const char *method,
                         bool sent_by);

//  libosip2 callbacks, set in sipd_server_new: sending a message, a
//  transaction's end, a transport error, a client timeout, a response to
//  a client transaction, a new INVITE for the TU.
int
    sipd_server_cb_send (osip_transaction_t *tr, osip_message_t *msg,
                         char *host, int port, int out_socket);
void
    sipd_server_cb_kill (int type, osip_transaction_t *tr);
void
    sipd_server_cb_transport_error (int type, osip_transaction_t *tr,
                                    int error);
void
    sipd_server_cb_timeout (int type, osip_transaction_t *tr,
                            osip_message_t *msg);
void
    sipd_server_cb_response (int type, osip_transaction_t *tr,
                             osip_message_t *msg);
void
    sipd_server_cb_request (int type, osip_transaction_t *tr,
                            osip_message_t *msg);

//  The transport's message callback (arg the server): everything it
//  reads lands here.
void
    sipd_server_on_message (void *arg, const char *data, size_t size,
                            const sipd_source_t *source,
                            sipd_transport_error_t error);

//  The same in two steps, for UDP read on its own thread
//  (sipd_transport_offload_udp, arg the server): sipd_server_parse runs on
//  that thread and returns a checked message (NULL: out of memory);
//  sipd_server_deliver acts on it on the loop thread and frees it;
//  sipd_server_drop frees one never delivered.
typedef struct _sipd_server_parsed_t sipd_server_parsed_t;
void *
    sipd_server_parse (void *arg, const char *data, size_t size,
                       const sipd_source_t *source,
                       sipd_transport_error_t error);
void
    sipd_server_deliver (void *arg, void *item);
void
    sipd_server_drop (void *arg, void *item);

//  The transport's UDP send-error callback (arg the server): client
//  transactions to that address get 503 at once.
void
    sipd_server_on_udp_error (void *arg, const sipd_source_t *dest,
                              int error);

//  The transport's close callback (arg the server): client transactions
//  on a failed TCP connection get 503 at once.
void
    sipd_server_on_conn_closed (void *arg, int conn_id, bool failed);

//  Take a new transaction out of libosip2's list of its kind.
void
    sipd_server_unlist (sipd_server_t *self, osip_transaction_t *tr);

//  Give a new transaction its context (a new txn_id, peer) and put it in
//  the txns map. Returns the context (owned by the transaction).
s_txn_t *
    sipd_server_txn_new (sipd_server_t *self, osip_transaction_t *tr,
                         bool client, const sipd_source_t *peer);

#endif
