//  sipd_udpio — a UDP socket's reads and writes on a thread of their own.
//  See sipd_udpio.h.
//
//  Messages travel between the threads on one inproc PAIR, both ends made
//  and connected on the loop thread (the zactor pipe carries only $TERM):
//    actor -> loop: one frame, a kind byte then its payload:
//      'B' an array of item pointers (a burst),
//      'E' an s_error_t (a datagram the kernel refused);
//    loop -> actor: frame pairs [sockaddr][datagram], in sending order.
//  The loop -> actor direction has no high-water mark, so the loop thread
//  never blocks; the actor -> loop direction has UDPIO_INBOX bursts.

#define _GNU_SOURCE             //  recvmmsg, sendmmsg

#include "sipd_udpio.h"

#include "cm_log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#define UDPIO_INBOX 64          //  bursts waiting for the loop thread
#define UDPIO_BATCH 64          //  datagrams read per wake-up at most
#define UDPIO_SLOTS 16          //  datagrams per recvmmsg call
#define UDPIO_SEND_SLOTS 64     //  datagrams per sendmmsg call
#define UDPIO_DRAIN_BURSTS 8    //  bursts delivered per loop callback
#define UDPIO_WAIT_MS 100       //  blocked burst: check for $TERM this often

//  The actor's part: made and connected on the loop thread, then handed
//  to the actor (starting a thread is a full memory barrier, which is
//  what ZeroMQ asks for before a socket changes threads). The loop
//  thread reads only handler from then on; neither side changes any of
//  it while the actor runs, and the actor frees data and buf.
typedef struct {
    int fd;                         //  the socket (borrowed)
    sipd_udpio_handler_t handler;   //  parse and drop are used there
    zsock_t *data;                  //  actor's end of the PAIR
    char *buf;                      //  UDPIO_SLOTS x slot bytes
} s_shared_t;

#define KIND_BURST 'B'
#define KIND_ERROR 'E'

//  A send error reported to the loop thread.
typedef struct {
    struct sockaddr_storage addr;   //  destination
    int error;                      //  errno
} s_error_t;

struct _sipd_udpio_t {
    zloop_t *loop;                  //  borrowed
    s_shared_t shared;              //  the actor's (see above)
    zsock_t *data;                  //  PAIR to the actor (bound)
    zactor_t *actor;                //  the I/O thread
    zmsg_t *pending;                //  datagrams not handed over yet
    bool in_burst;                  //  delivering a burst
};

// ---------------------------------------------------------------------
//  Actor thread

//  Tell the loop thread that the datagram to addr was refused, unless its
//  inbox is full (a report is advice: never wait for it).
static void
s_report (zsock_t *data, const struct sockaddr *addr, socklen_t len,
          int error)
{
    byte frame[1 + sizeof (s_error_t)];
    s_error_t report = {.error = error};
    memcpy (&report.addr, addr,
            len < sizeof report.addr ? len : sizeof report.addr);
    frame[0] = KIND_ERROR;
    memcpy (frame + 1, &report, sizeof report);
    zmq_send (zsock_resolve (data), frame, sizeof frame, ZMQ_DONTWAIT);
}

//  Write the datagrams of one message in order. A datagram the kernel
//  refuses is skipped and reported (UDP gives no delivery promise, but a
//  client transaction to an unroutable address should fail now rather
//  than at its timeout).
static void
s_write (int fd, zmsg_t *msg, zsock_t *data)
{
    struct mmsghdr msgs[UDPIO_SEND_SLOTS];
    struct iovec iovs[UDPIO_SEND_SLOTS];
    zframe_t *addr = zmsg_first (msg);
    while (addr) {
        int count = 0;
        while (addr && count < UDPIO_SEND_SLOTS) {
            zframe_t *body = zmsg_next (msg);
            if (!body) {
                addr = NULL;    //  an address without a datagram: the end
                break;
            }
            memset (&msgs[count], 0, sizeof msgs[count]);
            iovs[count].iov_base = zframe_data (body);
            iovs[count].iov_len = zframe_size (body);
            msgs[count].msg_hdr.msg_name = zframe_data (addr);
            msgs[count].msg_hdr.msg_namelen = (socklen_t) zframe_size (addr);
            msgs[count].msg_hdr.msg_iov = &iovs[count];
            msgs[count].msg_hdr.msg_iovlen = 1;
            count++;
            addr = zmsg_next (msg);
        }
        for (int done = 0; done < count; ) {
            int sent = sendmmsg (fd, msgs + done, (unsigned) (count - done), 0);
            if (sent < 0 && errno == EINTR)
                continue;
            if (sent <= 0) {
                CM_LOG (CM_LOG_INFO, "transport", "udp send: %s",
                        strerror (errno));
                s_report (data, msgs[done].msg_hdr.msg_name,
                          msgs[done].msg_hdr.msg_namelen, errno);
                sent = 1;       //  skip the refused datagram
            }
            done += sent;
        }
    }
}

//  Write everything the loop thread has handed over so far.
static void
s_write_all (int fd, zsock_t *data)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv (data))) {     //  rcvtimeo 0: NULL when empty
        s_write (fd, msg, data);
        zmsg_destroy (&msg);
    }
}

//  Drop the count items of a burst that cannot be delivered.
static void
s_drop (const s_shared_t *shared, void **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        shared->handler.drop (shared->handler.arg, items[i]);
}

//  True when $TERM (or nothing: the pipe broke) waits on pipe.
static bool
s_term_asked (zsock_t *pipe, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) <= 0 || !(item.revents & ZMQ_POLLIN))
        return false;
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    zstr_free (&command);
    return term;
}

//  Hand a burst to the loop thread, waiting while its inbox is full.
//  Returns false when $TERM came meanwhile (the burst is dropped).
static bool
s_hand_over (const s_shared_t *shared, zsock_t *pipe, zsock_t *data,
             void **items, size_t count)
{
    byte frame[1 + UDPIO_BATCH * sizeof (void *)];
    frame[0] = KIND_BURST;
    memcpy (frame + 1, items, count * sizeof *items);
    while (zmq_send (zsock_resolve (data), frame, 1 + count * sizeof *items,
                     0)
           < 0) {
        if ((errno != EAGAIN && errno != EINTR) || s_term_asked (pipe, 0)) {
            s_drop (shared, items, count);
            return false;
        }
    }
    return true;
}

//  Read up to UDPIO_BATCH datagrams, parse them and hand the items over.
//  Returns false when $TERM came while the loop thread's inbox was full.
static bool
s_read (const s_shared_t *shared, zsock_t *pipe, zsock_t *data, char *buf)
{
    void *items[UDPIO_BATCH];
    size_t count = 0;
    size_t slot = shared->handler.slot;
    struct mmsghdr msgs[UDPIO_SLOTS];
    struct iovec iovs[UDPIO_SLOTS];
    struct sockaddr_storage addrs[UDPIO_SLOTS];
    for (int done = 0; done < UDPIO_BATCH; ) {
        for (int i = 0; i < UDPIO_SLOTS; i++) {
            iovs[i].iov_base = buf + (size_t) i * slot;
            iovs[i].iov_len = slot;
            memset (&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        //  MSG_TRUNC: msg_len is the datagram's real length
        int got = recvmmsg (shared->fd, msgs, UDPIO_SLOTS,
                            MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (got <= 0)
            break;
        for (int i = 0; i < got; i++) {
            void *item = shared->handler.parse (shared->handler.arg,
                                                iovs[i].iov_base,
                                                (ssize_t) msgs[i].msg_len,
                                                &addrs[i]);
            if (item)
                items[count++] = item;
        }
        done += got;
        if (got < UDPIO_SLOTS)
            break;      //  the socket was empty
    }
    return count == 0 || s_hand_over (shared, pipe, data, items, count);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    s_shared_t *shared = args;
    //  signals belong to the loop thread (zloop ends on zsys_interrupted)
    sigset_t all;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, NULL);
    zsock_t *data = shared->data;
    zsock_signal (pipe, 0);     //  zactor_new waits for it
    zmq_pollitem_t items[3] = {
        {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (data), 0, ZMQ_POLLIN, 0},
        {NULL, shared->fd, ZMQ_POLLIN, 0}};
    bool running = true;
    while (running) {
        if (zmq_poll (items, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            CM_LOG (CM_LOG_ERROR, "transport", "udp thread: poll: %s",
                    zmq_strerror (zmq_errno ()));
            break;
        }
        //  answers first: they end transactions the phones wait on
        if (items[1].revents & ZMQ_POLLIN)
            s_write_all (shared->fd, data);
        if (items[2].revents & ZMQ_POLLIN)
            running = s_read (shared, pipe, data, shared->buf);
        if (running && (items[0].revents & ZMQ_POLLIN))
            running = !s_term_asked (pipe, 0);
    }
    //  what the loop thread handed over before $TERM still goes out
    s_write_all (shared->fd, data);
    zsock_destroy (&shared->data);
    free (shared->buf);
    shared->buf = NULL;
}

// ---------------------------------------------------------------------
//  Loop thread

//  Deliver the items of a frame from the actor (or drop them: destroy);
//  an error report goes to the error handler, unless dropping.
static void
s_each_item (sipd_udpio_t *self, zframe_t *frame, bool deliver)
{
    const byte *bytes = zframe_data (frame);
    size_t size = zframe_size (frame);
    const sipd_udpio_handler_t *handler = &self->shared.handler;
    if (size == 1 + sizeof (s_error_t) && bytes[0] == KIND_ERROR) {
        s_error_t report;
        memcpy (&report, bytes + 1, sizeof report);
        if (deliver && handler->error)
            handler->error (handler->arg, &report.addr, report.error);
        return;
    }
    if (size < 1 || bytes[0] != KIND_BURST)
        return;
    sipd_udpio_item_fn *fn = deliver ? handler->deliver : handler->drop;
    size_t count = (size - 1) / sizeof (void *);
    for (size_t i = 0; i < count; i++) {
        void *item;
        memcpy (&item, bytes + 1 + i * sizeof item, sizeof item);
        fn (handler->arg, item);
    }
}

//  zloop reader: deliver a few bursts, then send what they answered.
static int
s_on_burst (zloop_t *loop, zsock_t *data, void *arg)
{
    (void) loop;
    sipd_udpio_t *self = arg;
    self->in_burst = true;
    for (int i = 0; i < UDPIO_DRAIN_BURSTS; i++) {
        zframe_t *frame = zframe_recv (data);  //  rcvtimeo 0
        if (!frame)
            break;
        s_each_item (self, frame, true);
        zframe_destroy (&frame);
    }
    self->in_burst = false;
    sipd_udpio_flush (self);
    return 0;
}

sipd_udpio_t *
sipd_udpio_new (zloop_t *loop, int fd, const sipd_udpio_handler_t *handler)
{
    assert (loop);
    assert (handler && handler->parse && handler->deliver && handler->drop);
    assert (handler->slot > 0);
    sipd_udpio_t *self = zmalloc (sizeof *self);
    self->loop = loop;
    self->shared.fd = fd;
    self->shared.handler = *handler;
    //  1 MB of address space; only the pages datagrams use are touched
    self->shared.buf = malloc (UDPIO_SLOTS * handler->slot);
    //  unique even when a new actor gets a freed one's address (zmq
    //  releases an inproc name after the socket, asynchronously)
    zuuid_t *uuid = zuuid_new ();
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://sipd-udpio-%s",
              uuid ? zuuid_str (uuid) : "0");
    zuuid_destroy (&uuid);
    self->data = zsock_new (ZMQ_PAIR);
    self->shared.data = zsock_new (ZMQ_PAIR);
    if (!self->shared.buf || !self->data || !self->shared.data) {
        sipd_udpio_destroy (&self);
        return NULL;
    }
    //  loop -> actor: no limit; actor -> loop: UDPIO_INBOX bursts (the
    //  sum of both ends' marks on inproc)
    zsock_set_sndhwm (self->data, 0);
    zsock_set_rcvhwm (self->data, UDPIO_INBOX / 2);
    zsock_set_rcvtimeo (self->data, 0);
    zsock_set_sndhwm (self->shared.data, UDPIO_INBOX / 2);
    zsock_set_rcvhwm (self->shared.data, 0);
    zsock_set_sndtimeo (self->shared.data, UDPIO_WAIT_MS);
    zsock_set_rcvtimeo (self->shared.data, 0);
    if (zsock_bind (self->data, "%s", endpoint) != 0
        || zsock_connect (self->shared.data, "%s", endpoint) != 0
        || zloop_reader (loop, self->data, s_on_burst, self) != 0) {
        sipd_udpio_destroy (&self);
        return NULL;
    }
    self->actor = zactor_new (s_actor, &self->shared);
    if (!self->actor) {
        sipd_udpio_destroy (&self);
        return NULL;
    }
    return self;
}

void
sipd_udpio_destroy (sipd_udpio_t **self_p)
{
    assert (self_p);
    sipd_udpio_t *self = *self_p;
    if (!self)
        return;
    if (self->actor) {
        sipd_udpio_flush (self);
        zactor_destroy (&self->actor);
    }
    else {
        //  the actor never started: its part is still ours
        zsock_destroy (&self->shared.data);
        free (self->shared.buf);
    }
    if (self->data) {
        zloop_reader_end (self->loop, self->data);
        zframe_t *frame;
        while ((frame = zframe_recv (self->data))) {
            s_each_item (self, frame, false);
            zframe_destroy (&frame);
        }
        zsock_destroy (&self->data);
    }
    zmsg_destroy (&self->pending);
    free (self);
    *self_p = NULL;
}

int
sipd_udpio_send (sipd_udpio_t *self, const struct sockaddr_storage *addr,
                 socklen_t len, const char *data, size_t size)
{
    assert (self);
    assert (addr);
    if (!data || size == 0 || size > 65507 || len == 0
        || len > sizeof *addr)
        return -1;
    if (!self->pending)
        self->pending = zmsg_new ();
    zmsg_addmem (self->pending, addr, len);
    zmsg_addmem (self->pending, data, size);
    if (!self->in_burst)
        sipd_udpio_flush (self);
    return 0;
}

void
sipd_udpio_flush (sipd_udpio_t *self)
{
    assert (self);
    if (self->pending && zmsg_size (self->pending) > 0 && self->data)
        zmsg_send (&self->pending, self->data);
}
