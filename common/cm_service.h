//  cm_service — a daemon's control socket: a ZeroMQ ROUTER bound to its
//  [ipc] endpoint and read from the daemon's zloop. Requests are dispatched
//  by verb to registered handlers; "ping" is built in and answers "pong"
//  with name, version, pid and uptime. Unknown verbs get an "error" reply;
//  malformed frames are logged and dropped.

#ifndef CM_SERVICE_H_INCLUDED
#define CM_SERVICE_H_INCLUDED

#include "cm_msg.h"

#include <czmq.h>

typedef struct _cm_service_t cm_service_t;

//  Handle one request. routing_id identifies the peer (borrowed; dup it to
//  answer later). Reply with cm_service_reply. Return 0 (-1 stops the loop).
typedef int (cm_service_fn) (cm_service_t *service, zframe_t *routing_id,
                             cm_msg_t *request, void *arg);

//  Bind a ROUTER to endpoint and register it with loop. name is the
//  daemon's name (for pong). On failure returns NULL and writes the reason
//  into error. Caller owns return value and must destroy it when done.
cm_service_t *
    cm_service_new (const char *name, const char *endpoint, zloop_t *loop,
                    char *error, size_t size);

//  Unregister and close. NULL-safe; sets *self_p to NULL.
void
    cm_service_destroy (cm_service_t **self_p);

//  Register the handler for a verb (replaces an earlier one).
void
    cm_service_on (cm_service_t *self, const char *type, cm_service_fn *fn,
                   void *arg);

//  Send a reply to routing_id. Takes ownership of *reply_p. Returns 0/-1.
int
    cm_service_reply (cm_service_t *self, zframe_t *routing_id,
                      cm_msg_t **reply_p);

//  Add fields to every pong (e.g. counters). fn fills body. Optional.
typedef void (cm_service_pong_fn) (json_t *body, void *arg);
void
    cm_service_set_pong_extra (cm_service_t *self, cm_service_pong_fn *fn,
                               void *arg);

//  The bound socket (borrowed), e.g. to publish from the same endpoint.
zsock_t *
    cm_service_sock (cm_service_t *self);

#endif
