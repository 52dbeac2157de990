//  sipd_server — sipd's SIP core: owns the transports (sipd_transport),
//  the libosip2 transaction layer (osip_t with its NIST/NICT/IST/ICT
//  state machines, driven from the daemon's zloop) and the validation
//  step (sipd_check) that stands between the wire and the transaction
//  user (TU): the registrar and the B2BUA.
//
//  Life of a request received from the network:
//
//    1. sipd_transport reads a datagram or a Content-Length framed TCP
//       message and hands the bytes with a sipd_source_t to the server.
//    2. sipd_check parses and validates it (RFC 3261 §8.2, RFC 4475).
//       Invalid requests are answered statelessly here (400 naming the
//       problem, 405, 420, 483, 505, 513, ...) or silently dropped when no
//       response can be routed. The top Via gets received/rport
//       (RFC 3261 §18.2.1, RFC 3581).
//    3. Retransmissions are matched to their transaction and absorbed
//       (the transaction resends its last response). New requests create
//       a server transaction (IST for INVITE, NIST otherwise) and reach
//       the handler registered for their method, with a txn_id.
//       An ACK that matches no transaction (ACK for a 2xx) reaches the
//       ACK handler with txn_id 0. CANCEL gets its own NIST and reaches
//       the CANCEL handler (use sipd_server_find_invite to find the
//       INVITE it cancels).
//    4. OPTIONS without a handler is answered 200 with Allow, Accept and
//       Supported; a method without a handler is answered 405 with Allow
//       (REGISTER: 501 until a registrar handler is set).
//
//  Identifiers, not pointers: a transaction is named by its txn_id (a
//  positive int, unique for the life of the server). Keep the txn_id
//  across loop iterations; every call taking one returns -1 once the
//  transaction has ended. Messages handed to handlers are borrowed and
//  valid only during the call: clone them (osip_message_clone) to keep
//  them.
//
//  All functions must be called from the daemon's loop thread.

#ifndef SIPD_SERVER_H_INCLUDED
#define SIPD_SERVER_H_INCLUDED

#include "cm_daemon.h"
#include "sipd_events.h"
#include "sipd_registrar.h"
#include "sipd_source.h"

#include <sys/time.h>
#include <osip2/osip.h>
#include <stdbool.h>

typedef struct _sipd_server_t sipd_server_t;

//  Handle a new request. txn_id names its server transaction (0 for an ACK
//  to a 2xx, which has none). request is borrowed, valid during the call.
//  source is where it came from (for TCP, the connection). Answer now or
//  later with sipd_server_respond (never for ACK). Return 0; -1 stops the
//  daemon (programmer error only).
typedef int (sipd_request_fn) (void *arg, int txn_id,
                               osip_message_t *request,
                               const sipd_source_t *source);

//  A response to a client transaction created by sipd_server_send_request.
//  Called for every provisional response and for the final response(s)
//  (for INVITE, each 2xx, including retransmissions a TU must re-ACK).
//  response is borrowed, valid during the call. When the transaction
//  fails without a response, response is NULL and code says why:
//  408 (timer B/F: no answer) or 503 (transport error: connection refused,
//  unreachable). Otherwise code is the response's status code. After a
//  final response or an error, fn is not called again for this txn_id
//  (except 2xx retransmissions for INVITE, see sipd_server_on_stray_2xx).
typedef void (sipd_response_fn) (void *arg, int txn_id,
                                 const osip_message_t *response, int code);

//  A 2xx to INVITE that matches no client transaction any more (the ICT
//  ends on the first 2xx; the UAS retransmits until it sees an ACK,
//  RFC 3261 §13.2.2.4). The TU re-sends its ACK with sipd_server_send_ack.
typedef void (sipd_stray_2xx_fn) (void *arg, const osip_message_t *response,
                                  const sipd_source_t *source);

//  Create the SIP core on the daemon's loop: binds UDP and TCP on
//  [sipd] listen (IPv4 or IPv6) and starts the transaction timers.
//  On failure (cannot bind) reports one line with cm_daemon_fail naming
//  the config key and returns NULL; main then exits CM_EXIT_CONFIG.
//  Caller owns return value and must destroy it when done.
sipd_server_t *
    sipd_server_new (cm_daemon_t *daemon);

//  Destroy: closes sockets, frees every transaction. NULL-safe;
//  sets *self_p to NULL.
void
    sipd_server_destroy (sipd_server_t **self_p);

//  Register the handler for requests of method (case-sensitive, e.g.
//  "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO").
//  Replaces an earlier handler. Methods with a handler are listed in
//  Allow. fn NULL removes the handler.
void
    sipd_server_on_request (sipd_server_t *self, const char *method,
                            sipd_request_fn *fn, void *arg);

//  Register the handler for 2xx retransmissions without a transaction.
void
    sipd_server_on_stray_2xx (sipd_server_t *self, sipd_stray_2xx_fn *fn,
                              void *arg);

//  Send a response in server transaction txn_id. Takes ownership of
//  *response_p (sets it to NULL), also on failure. Build it with
//  sipd_msg_response_new (request, code, reason) from the request you got.
//  Returns 0, or -1 when the transaction has ended or the response does
//  not fit it (a final response was already sent).
int
    sipd_server_respond (sipd_server_t *self, int txn_id,
                         osip_message_t **response_p);

//  Convenience: build the response to the transaction's request with
//  sipd_msg_response_new and send it. reason NULL: standard phrase.
//  Returns 0 or -1 (as sipd_server_respond).
int
    sipd_server_respond_code (sipd_server_t *self, int txn_id, int code,
                              const char *reason);

//  The request of a live transaction (server or client), or NULL when it
//  has ended. Borrowed; valid until control returns to the loop.
const osip_message_t *
    sipd_server_txn_request (sipd_server_t *self, int txn_id);

//  The source of a live server transaction's request (or the destination
//  of a client transaction), or NULL. Borrowed, as above.
const sipd_source_t *
    sipd_server_txn_source (sipd_server_t *self, int txn_id);

//  The txn_id of the live INVITE server transaction a CANCEL (borrowed)
//  cancels (same top Via branch, RFC 3261 §9.2), or 0 if none.
int
    sipd_server_find_invite (sipd_server_t *self,
                             const osip_message_t *cancel);

//  Send a request in a new client transaction (ICT for INVITE, NICT
//  otherwise) to dest: UDP datagram to dest->ip:port, or TCP on
//  connection dest->conn_id when it is still open, else on an open
//  connection to dest->ip:port, else on a new connection. The server
//  prepends its own top Via (transport, listen address, rport, fresh
//  z9hG4bK branch) and a Max-Forwards: 70 when missing; Contact and
//  everything else is the caller's. Responses reach fn (see
//  sipd_response_fn). For a non-2xx final to INVITE, the ICT sends the
//  ACK itself; the ACK for a 2xx is the TU's (sipd_server_send_ack).
//  Takes ownership of *request_p (sets it to NULL), also on failure.
//  Returns the client txn_id (> 0), or -1 (bad request, no route).
int
    sipd_server_send_request (sipd_server_t *self,
                              osip_message_t **request_p,
                              const sipd_source_t *dest,
                              sipd_response_fn *fn, void *arg);

//  CANCEL the client INVITE transaction txn_id (RFC 3261 §9.1): builds
//  the CANCEL from the INVITE (same Request-URI, Call-ID, From, To, CSeq
//  number, top Via) and sends it in its own NICT. The INVITE's 487 (or a
//  racing 2xx) still reaches the INVITE's fn. Returns 0, or -1 when the
//  transaction has ended or got its final response.
int
    sipd_server_cancel (sipd_server_t *self, int txn_id);

//  Send an ACK for a 2xx (or any request outside a transaction)
//  statelessly to dest, with a fresh top Via as sipd_server_send_request.
//  Takes ownership of *request_p. Returns 0 or -1.
int
    sipd_server_send_ack (sipd_server_t *self, osip_message_t **request_p,
                          const sipd_source_t *dest);

//  Send a response statelessly to dest (no transaction): the TU's own
//  retransmissions of a 2xx to INVITE, whose server transaction ended
//  with the first 2xx (RFC 3261 §13.3.1.4). Takes ownership of
//  *response_p. Returns 0 or -1.
int
    sipd_server_send_response (sipd_server_t *self,
                               osip_message_t **response_p,
                               const sipd_source_t *dest);

//  The address the server listens on (numeric, no brackets) and its port,
//  for Contact and Via. Borrowed.
const char *
    sipd_server_host (sipd_server_t *self);

int
    sipd_server_port (sipd_server_t *self);

//  The daemon's loop, config and control socket (borrowed), for TUs that
//  add timers, read keys or register control verbs.
zloop_t *
    sipd_server_loop (sipd_server_t *self);

cm_config_t *
    sipd_server_config (sipd_server_t *self);

cm_service_t *
    sipd_server_service (sipd_server_t *self);

//  The registrar (REGISTER handler, location service, digest auth) and
//  the events PUB socket on [ipc] events, both owned by the server and
//  created with it. Borrowed.
sipd_registrar_t *
    sipd_server_registrar (sipd_server_t *self);

sipd_events_t *
    sipd_server_events (sipd_server_t *self);

//  Counters for status/ping: live transactions and TCP connections.
size_t
    sipd_server_txn_count (sipd_server_t *self);

size_t
    sipd_server_conn_count (sipd_server_t *self);

#endif
