//  sipd_events — PUB socket for registration and call-state events
//  (see sipd_events.h). Messages use the cm_msg envelope so subscribers
//  decode them with cm_msg_recv.
//
//  The socket is an XPUB: it behaves as a PUB for subscribers, and it
//  passes their subscriptions up (each topic once, and its removal once
//  the last subscriber to it goes, disconnects included). We keep the
//  topics, so an event nobody subscribed to is neither built nor encoded:
//  with no subscriber (the benchmark, a PBX without webd) events cost
//  nothing.

#include "sipd_events.h"
#include "cm_log.h"
#include "cm_msg.h"

#define MAX_TOPICS 64       //  distinct subscriptions tracked

struct _sipd_events_t {
    zsock_t *pub;           //  bound XPUB socket (owned)
    size_t count;           //  events published
    char *topics[MAX_TOPICS];   //  subscribed prefixes (owned)
    int topic_count;        //  entries in topics
    bool overflow;          //  more topics than MAX_TOPICS: all wanted
};

sipd_events_t *
sipd_events_new (const char *endpoint, char *error, size_t size)
{
    assert (endpoint);
    zsock_t *pub = zsock_new (ZMQ_XPUB);
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
    for (int i = 0; i < self->topic_count; i++)
        free (self->topics[i]);
    free (self);
    *self_p = NULL;
}

//  Apply one subscription message: byte 1 (subscribe) or 0, then topic.
static void
s_subscription (sipd_events_t *self, zframe_t *frame)
{
    size_t size = zframe_size (frame);
    const char *data = (const char *) zframe_data (frame);
    if (size == 0 || (data[0] != 0 && data[0] != 1))
        return;
    char *topic = (char *) zmalloc (size);
    memcpy (topic, data + 1, size - 1);
    int found = -1;
    for (int i = 0; i < self->topic_count && found < 0; i++)
        if (strcmp (self->topics[i], topic) == 0)
            found = i;
    if (data[0] == 1 && found < 0 && self->topic_count < MAX_TOPICS) {
        self->topics[self->topic_count++] = topic;
        topic = NULL;
    }
    else if (data[0] == 1 && found < 0)
        self->overflow = true;  //  cannot tell any more: publish all
    else if (data[0] == 0 && found >= 0) {
        free (self->topics[found]);
        self->topics[found] = self->topics[--self->topic_count];
    }
    free (topic);
}

bool
sipd_events_wanted (sipd_events_t *self, const char *type)
{
    assert (self);
    while (zsock_events (self->pub) & ZMQ_POLLIN) {
        zframe_t *frame = zframe_recv_nowait (self->pub);
        if (!frame)
            break;
        s_subscription (self, frame);
        zframe_destroy (&frame);
    }
    if (self->overflow)
        return true;
    for (int i = 0; type && i < self->topic_count; i++)
        if (strncmp (type, self->topics[i], strlen (self->topics[i])) == 0)
            return true;
    return false;
}

int
sipd_events_publish (sipd_events_t *self, const char *type, json_t **body_p)
{
    assert (self);
    if (type && !sipd_events_wanted (self, type)) {
        json_decref (body_p ? *body_p : NULL);
        if (body_p)
            *body_p = NULL;
        return 0;   //  nobody listens: nothing to build or send
    }
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
