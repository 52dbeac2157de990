//  cm_service — ROUTER control socket with verb dispatch. See cm_service.h.

#include "cm_service.h"
#include "cm_log.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    cm_service_fn *fn;      //  handler
    void *arg;              //  handler argument (borrowed)
} s_handler_t;

struct _cm_service_t {
    char *name;             //  daemon name for pong (owned)
    zsock_t *router;        //  bound ROUTER (owned)
    zloop_t *loop;          //  loop we registered with (borrowed)
    zhashx_t *handlers;     //  verb -> s_handler_t (owned)
    int64_t started_ms;     //  monotonic start, for uptime
    cm_service_pong_fn *pong_extra;     //  optional pong filler
    void *pong_arg;                     //  its argument (borrowed)
};

static void
s_handler_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static int
s_ping (cm_service_t *self, zframe_t *routing_id, cm_msg_t *request,
        void *arg)
{
    json_t *body = json_pack (
        "{s:s, s:s, s:i, s:I}", "name", self->name, "version",
        SIPSERVER_VERSION, "pid", (int) getpid (), "uptime_ms",
        (json_int_t) (zclock_mono () - self->started_ms));
    if (self->pong_extra)
        self->pong_extra (body, self->pong_arg);
    cm_msg_t *reply = cm_msg_reply (request, "pong", &body);
    //  A failed send is logged by cm_service_reply; the loop goes on.
    (void) cm_service_reply (self, routing_id, &reply);
    return 0;
}

static int
s_on_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    cm_service_t *self = (cm_service_t *) arg;
    zmsg_t *zmsg = zmsg_recv (sock);
    if (!zmsg)
        return 0;
    zframe_t *routing_id = zmsg_pop (zmsg);
    char error[256];
    cm_msg_t *request = cm_msg_decode (&zmsg, error, sizeof error);
    if (!request) {
        CM_LOG (CM_LOG_WARN, "ipc", "dropped malformed request: %s", error);
        zframe_destroy (&routing_id);
        return 0;
    }
    int rc = 0;
    s_handler_t *handler = (s_handler_t *) zhashx_lookup (
        self->handlers, cm_msg_type (request));
    if (handler)
        rc = handler->fn (self, routing_id, request, handler->arg);
    else {
        CM_LOG (CM_LOG_WARN, "ipc", "unknown request type '%s'",
                cm_msg_type (request));
        cm_msg_t *reply = cm_msg_error (request, "unknown request type");
        (void) cm_service_reply (self, routing_id, &reply);  //  logged
    }
    cm_msg_destroy (&request);
    zframe_destroy (&routing_id);
    return rc;
}

cm_service_t *
cm_service_new (const char *name, const char *endpoint, zloop_t *loop,
                char *error, size_t size)
{
    assert (name);
    assert (endpoint);
    assert (loop);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (!router) {
        snprintf (error, size, "cannot create socket: %s",
                  zmq_strerror (zmq_errno ()));
        return NULL;
    }
    //  Replies to peers that went away are dropped, never block.
    zsock_set_router_mandatory (router, 0);
    if (zsock_bind (router, "%s", endpoint) < 0) {
        snprintf (error, size, "cannot bind %s: %s", endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&router);
        return NULL;
    }
    cm_service_t *self = (cm_service_t *) zmalloc (sizeof (cm_service_t));
    self->name = strdup (name);
    self->router = router;
    self->loop = loop;
    self->handlers = zhashx_new ();
    zhashx_set_destructor (self->handlers, s_handler_free);
    self->started_ms = zclock_mono ();
    zloop_reader (loop, router, s_on_readable, self);
    cm_service_on (self, "ping", s_ping, NULL);
    return self;
}

void
cm_service_destroy (cm_service_t **self_p)
{
    assert (self_p);
    cm_service_t *self = *self_p;
    if (!self)
        return;
    zloop_reader_end (self->loop, self->router);
    zsock_destroy (&self->router);
    zhashx_destroy (&self->handlers);
    free (self->name);
    free (self);
    *self_p = NULL;
}

void
cm_service_on (cm_service_t *self, const char *type, cm_service_fn *fn,
               void *arg)
{
    assert (self);
    assert (fn);
    s_handler_t *handler = (s_handler_t *) zmalloc (sizeof (s_handler_t));
    handler->fn = fn;
    handler->arg = arg;
    zhashx_update (self->handlers, type, handler);
}

int
cm_service_reply (cm_service_t *self, zframe_t *routing_id,
                  cm_msg_t **reply_p)
{
    assert (self);
    assert (reply_p);
    if (!*reply_p)
        return -1;
    int rc = cm_msg_send (*reply_p, self->router, routing_id);
    if (rc)
        CM_LOG (CM_LOG_WARN, "ipc", "cannot send %s reply: %s",
                cm_msg_type (*reply_p), zmq_strerror (zmq_errno ()));
    cm_msg_destroy (reply_p);
    return rc;
}

void
cm_service_set_pong_extra (cm_service_t *self, cm_service_pong_fn *fn,
                           void *arg)
{
    assert (self);
    self->pong_extra = fn;
    self->pong_arg = arg;
}

zsock_t *
cm_service_sock (cm_service_t *self)
{
    assert (self);
    return self->router;
}
