//  cm_client — asynchronous requests to another daemon (DESIGN §2).
//
//  A DEALER connected to the peer's endpoint and read from the caller's
//  zloop. Each request gets a fresh id and a deadline; the reply (matched
//  by id) or the timeout calls the request's callback exactly once, so
//  every request has a defined failure path. Never blocks.
//
//  Timeouts are swept by a zloop ticket: cm_client_new sets the loop's
//  ticket delay to 100 ms (the timeout granularity), so the loop's other
//  tickets, if any, share that delay.

#ifndef CM_CLIENT_H_INCLUDED
#define CM_CLIENT_H_INCLUDED

#include "cm_msg.h"

#include <czmq.h>

typedef struct _cm_client_t cm_client_t;

//  Called once per request: with the reply (borrowed, valid during the
//  call), or with reply NULL when the deadline passed or the client is
//  destroyed with the request outstanding. The callback may send new
//  requests but must not destroy the client.
typedef void (cm_client_fn) (cm_msg_t *reply, void *arg);

//  Connect a DEALER to endpoint and read it from loop. Returns NULL on an
//  invalid endpoint. Caller owns return value and must destroy it when done.
cm_client_t *
    cm_client_new (const char *endpoint, zloop_t *loop);

//  Destroy; outstanding callbacks are called with NULL. NULL-safe. Safe
//  at any time: before the loop ever ran, from any handler, or while the
//  loop is stopped and started again later.
void
    cm_client_destroy (cm_client_t **self_p);

//  Send a request of type with body (takes ownership of *body_p, may be
//  NULL). fn(arg) runs on the reply or after timeout_ms. Returns 0, or -1
//  when the message could not be queued (fn is then not called).
int
    cm_client_request (cm_client_t *self, const char *type, json_t **body_p,
                       int timeout_ms, cm_client_fn *fn, void *arg);

//  Send a message that expects no reply (events, acks). Takes ownership
//  of *body_p. Returns 0 or -1.
int
    cm_client_send (cm_client_t *self, const char *type, json_t **body_p);

//  Requests waiting for a reply.
size_t
    cm_client_pending (cm_client_t *self);

#endif
