//  sipd_events — PUB socket for registration and call-state events
//  (see sipd_events.h). Messages use the cm_msg envelope so subscribers
//  decode them with cm_msg_recv.

#include "sipd_events.h"
#include "cm_log.h"
#include "cm_msg.h"

struct _sipd_events_t {
    zsock_t *pub;           //  bound PUB socket (owned)
    size_t count;           //  events published
};

sipd_events_t *
sipd_events_new (const char *endpoint, char *error, size_t size)
{
    assert (endpoint);
    zsock_t *pub = zsock_new (ZMQ_PUB);
    if (!pub) {
        snprintf (error, size, "cannot create PUB socket: %s",
                  zmq_strerror (zmq_errno ()));
        return NULL;
    }
    //  A slow subscriber must never stall the loop: PUB drops at the
    //  high-water mark; sends below use ZMQ_DONTWAIT as well.
    zsock_set_sndhwm (pub, 10000);
    zsock_set_linger (pub, 0);
    if (zsock_attach (pub, endpoint, true) != 0) {
        snprintf (error, size, "cannot bind %s: %s", endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&pub);
        return NULL;
    }
    sipd_events_t *self = (sipd_events_t *) zmalloc (sizeof (sipd_events_t));
    self->pub = pub;
    return self;
}

void
sipd_events_destroy (sipd_events_t **self_p)
{
    assert (self_p);
    sipd_events_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->pub);
    free (self);
    *self_p = NULL;
}

int
sipd_events_publish (sipd_events_t *self, const char *type, json_t **body_p)
{
    assert (self);
    cm_msg_t *msg = type ? cm_msg_new (type, NULL, body_p) : NULL;
    if (body_p && *body_p) {
        json_decref (*body_p);  //  cm_msg_new refused it: still ours
        *body_p = NULL;
    }
    if (!msg) {
        CM_LOG (CM_LOG_WARN, "events", "bad event type '%s'",
                type ? type : "(null)");
        return -1;
    }
    zmsg_t *zmsg = cm_msg_encode (msg);
    cm_msg_destroy (&msg);
    zframe_t *frame = zmsg_pop (zmsg);
    int flags = ZFRAME_MORE | ZFRAME_DONTWAIT;
    int rc = 0;
    while (frame && rc == 0) {
        zframe_t *next = zmsg_pop (zmsg);
        rc = zframe_send (&frame, self->pub,
                          next ? flags : ZFRAME_DONTWAIT);
        frame = next;
    }
    zframe_destroy (&frame);
    zmsg_destroy (&zmsg);
    if (rc != 0) {
        CM_LOG (CM_LOG_DEBUG, "events", "event %s dropped", type);
        return -1;
    }
    self->count++;
    return 0;
}

size_t
sipd_events_count (sipd_events_t *self)
{
    assert (self);
    return self->count;
}

zsock_t *
sipd_events_sock (sipd_events_t *self)
{
    assert (self);
    return self->pub;
}
