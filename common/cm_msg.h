//  cm_msg — the IPC envelope between daemons (DESIGN §2, docs/ipc.md).
//
//  A message is two ZeroMQ frames: [type][json-body]. type is a short
//  ASCII verb ("ping", "cdr", "status", "media.alloc"); the body is a JSON
//  object carrying "v": 1 and, for request/reply, an "id" that the reply
//  echoes. Over ROUTER sockets the routing-id frame comes first and is
//  handled by the caller (cm_service does it).
//
//  Decoding validates everything and returns a reason instead of crashing:
//  wrong frame count, bad verb, oversized or non-JSON body, missing "v".

#ifndef CM_MSG_H_INCLUDED
#define CM_MSG_H_INCLUDED

#include <czmq.h>
#include <jansson.h>

#define CM_MSG_VERSION 1
#define CM_MSG_TYPE_MAX 32              //  longest verb
#define CM_MSG_BODY_MAX (256 * 1024)    //  largest JSON body accepted

typedef struct _cm_msg_t cm_msg_t;

//  Create a message of the given type. body may be NULL (an empty object
//  is used); takes ownership of *body_p and nulls it. "v" is set; "id" is
//  set when id is not NULL. Returns NULL on an invalid type.
//  Caller owns return value and must destroy it when done.
cm_msg_t *
    cm_msg_new (const char *type, const char *id, json_t **body_p);

//  Destroy. NULL-safe; sets *self_p to NULL.
void
    cm_msg_destroy (cm_msg_t **self_p);

//  Decode and validate a zmsg of exactly two frames [type][json]. Takes
//  ownership of *zmsg_p. On error returns NULL and writes the reason into
//  error (size bytes). Caller owns return value and must destroy it.
cm_msg_t *
    cm_msg_decode (zmsg_t **zmsg_p, char *error, size_t size);

//  Encode as a new zmsg [type][json]. Caller owns the zmsg.
zmsg_t *
    cm_msg_encode (cm_msg_t *self);

//  Send on a socket, prefixed by routing_id when not NULL (ROUTER). Does
//  not take ownership of self. Returns 0 or -1.
int
    cm_msg_send (cm_msg_t *self, zsock_t *sock, zframe_t *routing_id);

//  Receive and decode one message from a DEALER/SUB/PAIR socket. Returns
//  NULL on a malformed message (logged as a warning) or interruption.
//  Caller owns return value.
cm_msg_t *
    cm_msg_recv (zsock_t *sock);

//  Message verb (borrowed).
const char *
    cm_msg_type (cm_msg_t *self);

//  Request id, or NULL (borrowed).
const char *
    cm_msg_id (cm_msg_t *self);

//  JSON body (borrowed; the caller may add fields before sending).
json_t *
    cm_msg_body (cm_msg_t *self);

//  Convenience getters on the body: NULL / def when absent or mistyped.
const char *
    cm_msg_get_str (cm_msg_t *self, const char *field);

json_int_t
    cm_msg_get_int (cm_msg_t *self, const char *field, json_int_t def);

//  Build the reply to a request: same id, type given, body fields taken
//  from *body_p (may be NULL). Caller owns return value.
cm_msg_t *
    cm_msg_reply (cm_msg_t *request, const char *type, json_t **body_p);

//  Build an "error" reply carrying "error": reason. Caller owns it.
cm_msg_t *
    cm_msg_error (cm_msg_t *request, const char *reason);

#endif
