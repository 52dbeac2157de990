//  sipd_events — sipd's PUB socket on [ipc] events (DESIGN §2): one place
//  that publishes registration and call-state events for webd's live view.
//
//  Every event is a cm_msg envelope [type][json] with "v": 1, e.g.
//      reg         {"number":"100","event":"registered","uri":"sip:...",
//                   "expires_in":3600,"contacts":1}
//      ext.status  {"number":"100","state":"idle"}
//  Subscribers filter by type prefix (ZeroMQ subscription on frame one).

#ifndef SIPD_EVENTS_H_INCLUDED
#define SIPD_EVENTS_H_INCLUDED

#include <czmq.h>
#include <jansson.h>

typedef struct _sipd_events_t sipd_events_t;

//  Bind a PUB socket to endpoint (comma-separated list allowed). On
//  failure returns NULL and writes the reason into error (size bytes).
//  Caller owns return value and must destroy it when done.
sipd_events_t *
    sipd_events_new (const char *endpoint, char *error, size_t size);

//  Destroy. NULL-safe, idempotent; sets *self_p to NULL.
void
    sipd_events_destroy (sipd_events_t **self_p);

//  Publish one event. Takes ownership of *body_p (may be NULL: empty
//  body) and nulls it. Never blocks (PUB drops when a peer is slow).
//  An event no subscriber wants is dropped at once (returns 0, not
//  counted). Returns 0, or -1 on a bad type or send failure (logged).
int
    sipd_events_publish (sipd_events_t *self, const char *type,
                         json_t **body_p);

//  True when some subscriber's topic is a prefix of type: only then is
//  an event of that type worth building. Takes in the subscriptions that
//  arrived meanwhile; never blocks.
bool
    sipd_events_wanted (sipd_events_t *self, const char *type);

//  Number of events published (sent to at least one subscriber) so far.
size_t
    sipd_events_count (sipd_events_t *self);

//  The XPUB socket (borrowed), e.g. for tests.
zsock_t *
    sipd_events_sock (sipd_events_t *self);

#endif
