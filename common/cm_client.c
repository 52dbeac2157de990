//  cm_client — DEALER with request ids and deadlines. See cm_client.h.
//
//  Outstanding requests live in a hash by id. A 100 ms loop ticket, armed
//  only while requests are outstanding, sweeps expired ones; that
//  granularity is ample for IPC timeouts measured in seconds and avoids a
//  timer per request.
//
//  A ticket, not a zloop_timer: in czmq 4.2.1 zloop_timer_end on a loop
//  that has not run yet (or from a timer handler earlier in the same pass)
//  only queues the removal, and the timer still fires once more with its
//  argument, which would be the freed client. A deleted ticket is never
//  called; the loop frees it later.

#include "cm_client.h"
#include "cm_log.h"

#include <string.h>
#include <unistd.h>

#define SWEEP_MS 100        //  ticket delay: timeout granularity

typedef struct {
    cm_client_fn *fn;       //  completion callback
    void *arg;              //  its argument (borrowed)
    int64_t deadline;       //  zclock_mono () time of the timeout
} s_pending_t;

struct _cm_client_t {
    zsock_t *dealer;        //  connected DEALER (owned)
    zloop_t *loop;          //  borrowed
    zhashx_t *pending;      //  id -> s_pending_t (owned)
    uint64_t next_id;       //  sequence for request ids
    void *ticket;           //  armed sweep ticket, or NULL (owned by loop)
    bool closing;           //  being destroyed: no new requests
};

static void
s_pending_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Remove the request and run its callback. The entry is removed first so
//  that a callback may issue new requests safely.
static void
s_complete (cm_client_t *self, const char *id, cm_msg_t *reply)
{
    s_pending_t *pending = (s_pending_t *) zhashx_lookup (self->pending, id);
    if (!pending)
        return;
    s_pending_t copy = *pending;
    zhashx_delete (self->pending, id);
    copy.fn (reply, copy.arg);
}

static int
s_on_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    cm_client_t *self = (cm_client_t *) arg;
    cm_msg_t *reply = cm_msg_recv (sock);
    if (!reply)
        return 0;
    const char *id = cm_msg_id (reply);
    if (id && zhashx_lookup (self->pending, id))
        s_complete (self, id, reply);
    else
        CM_LOG (CM_LOG_DEBUG, "ipc", "late or unknown reply %s id=%s",
                cm_msg_type (reply), id ? id : "-");
    cm_msg_destroy (&reply);
    return 0;
}

static int s_on_sweep (zloop_t *loop, int timer_id, void *arg);

//  Arm the sweep ticket unless it is armed.
static void
s_arm (cm_client_t *self)
{
    if (!self->ticket)
        self->ticket = zloop_ticket (self->loop, s_on_sweep, self);
}

//  The ticket is spent (the loop removes it after this call); re-armed
//  while requests remain.
static int
s_on_sweep (zloop_t *loop, int timer_id, void *arg)
{
    cm_client_t *self = (cm_client_t *) arg;
    self->ticket = NULL;
    int64_t now = zclock_mono ();
    zlistx_t *expired = zlistx_new ();
    zlistx_set_destructor (expired, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (expired, (zlistx_duplicator_fn *) strdup);
    for (s_pending_t *p = (s_pending_t *) zhashx_first (self->pending); p;
         p = (s_pending_t *) zhashx_next (self->pending))
        if (p->deadline <= now)
            zlistx_add_end (expired, (void *) zhashx_cursor (self->pending));
    for (const char *id = (const char *) zlistx_first (expired); id;
         id = (const char *) zlistx_next (expired))
        s_complete (self, id, NULL);
    zlistx_destroy (&expired);
    if (zhashx_size (self->pending))
        s_arm (self);
    return 0;
}

cm_client_t *
cm_client_new (const char *endpoint, zloop_t *loop)
{
    assert (endpoint);
    assert (loop);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return NULL;
    //  Bounded queue while the peer is away; sends then fail, not block.
    zsock_set_sndhwm (dealer, 10000);
    zsock_set_sndtimeo (dealer, 0);
    if (zsock_connect (dealer, "%s", endpoint) < 0) {
        CM_LOG (CM_LOG_ERROR, "ipc", "cannot connect to %s: %s", endpoint,
                zmq_strerror (zmq_errno ()));
        zsock_destroy (&dealer);
        return NULL;
    }
    cm_client_t *self = (cm_client_t *) zmalloc (sizeof (cm_client_t));
    self->dealer = dealer;
    self->loop = loop;
    self->pending = zhashx_new ();
    zhashx_set_destructor (self->pending, s_pending_free);
    self->next_id = 1;
    zloop_reader (loop, dealer, s_on_readable, self);
    zloop_set_ticket_delay (loop, SWEEP_MS);
    return self;
}

void
cm_client_destroy (cm_client_t **self_p)
{
    assert (self_p);
    cm_client_t *self = *self_p;
    if (!self)
        return;
    self->closing = true;
    zloop_reader_end (self->loop, self->dealer);
    while (zhashx_size (self->pending)) {
        zhashx_first (self->pending);
        char *id = strdup ((const char *) zhashx_cursor (self->pending));
        s_complete (self, id, NULL);
        free (id);
    }
    if (self->ticket)
        zloop_ticket_delete (self->loop, self->ticket);
    zhashx_destroy (&self->pending);
    zsock_destroy (&self->dealer);
    free (self);
    *self_p = NULL;
}

int
cm_client_request (cm_client_t *self, const char *type, json_t **body_p,
                   int timeout_ms, cm_client_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    if (self->closing) {
        json_decref (body_p ? *body_p : NULL);
        if (body_p)
            *body_p = NULL;
        return -1;
    }
    char id[40];
    snprintf (id, sizeof id, "%d-%" PRIu64, (int) getpid (),
              self->next_id++);
    cm_msg_t *msg = cm_msg_new (type, id, body_p);
    if (!msg)
        return -1;
    int rc = cm_msg_send (msg, self->dealer, NULL);
    cm_msg_destroy (&msg);
    if (rc)
        return -1;
    s_pending_t *pending = (s_pending_t *) zmalloc (sizeof (s_pending_t));
    pending->fn = fn;
    pending->arg = arg;
    pending->deadline = zclock_mono () + timeout_ms;
    zhashx_insert (self->pending, id, pending);
    s_arm (self);
    return 0;
}

int
cm_client_send (cm_client_t *self, const char *type, json_t **body_p)
{
    assert (self);
    cm_msg_t *msg = cm_msg_new (type, NULL, body_p);
    if (!msg)
        return -1;
    int rc = cm_msg_send (msg, self->dealer, NULL);
    cm_msg_destroy (&msg);
    return rc;
}

size_t
cm_client_pending (cm_client_t *self)
{
    assert (self);
    return zhashx_size (self->pending);
}
