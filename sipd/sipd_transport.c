//  sipd_transport — SIP over UDP and TCP on one address, driven by the
//  daemon's zloop. See sipd_transport.h.
//
//  TCP framing (RFC 3261 §18.3): a connection accumulates bytes in its
//  input buffer. Leading CR/LF are keep-alive padding and skipped. Once
//  the blank line ending the header block is there, Content-Length (or
//  its compact form "l") is read from the header lines; the message is
//  complete when that many body bytes follow. Whatever follows belongs
//  to the next message. Output that cannot be written at once is queued
//  and the connection's poller then also waits for POLLOUT.

#define _GNU_SOURCE             //  recvmmsg
#include "sipd_transport.h"

#include "sipd_udpio.h"
#include "cm_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDP_BATCH 64            //  datagrams read per wake-up at most
#define UDP_SLOTS 16            //  datagrams per recvmmsg call
#define UDP_SLOT 65536          //  receive buffer per datagram
#define ACCEPT_BATCH 16         //  connections accepted per wake-up
#define IDLE_CHECK_MS 1000      //  idle sweep period
#define OUT_FACTOR 16           //  output buffer cap = max_message x this

typedef struct {
    int id;                     //  conn_id
    int fd;                     //  socket (owned)
    sipd_source_t peer;         //  peer address, transport TCP, conn_id
    char *in;                   //  input buffer (owned), max_message bytes
    size_t in_len;              //  bytes in in
    char *out;                  //  queued output (owned) or NULL
    size_t out_len;             //  bytes queued
    size_t out_cap;             //  allocated size of out
    bool connecting;            //  outgoing connect in progress
    bool closing;               //  close once out is empty
    bool want_out;              //  poller registered with POLLOUT
    time_t last_active;         //  monotonic seconds of last traffic
    time_t keep_until;          //  no idle close before this (bindings)
} s_conn_t;

struct _sipd_transport_t {
    zloop_t *loop;              //  borrowed
    sipd_transport_limits_t limits;     //  copied
    sipd_transport_fn *fn;      //  message callback
    void *arg;                  //  its argument
    int family;                 //  AF_INET or AF_INET6
    int udp_fd;                 //  UDP socket (owned)
    int tcp_fd;                 //  TCP listening socket (owned)
    int port;                   //  bound port
    zlistx_t *conns;            //  s_conn_t * (owned)
    int next_conn_id;           //  next conn_id to hand out
    int idle_timer;             //  zloop timer id
    char *udp_buf;              //  UDP_SLOTS x UDP_SLOT bytes (owned)
    sipd_udpio_t *udpio;        //  UDP on its own thread, or NULL
    sipd_transport_parse_fn *parse;     //  offload: parse (UDP thread)
    sipd_transport_item_fn *deliver;    //  offload: deliver (loop thread)
    sipd_transport_item_fn *drop;       //  offload: drop (either thread)
    void *item_arg;             //  their argument
    sipd_transport_udp_error_fn *udp_error_fn;  //  offload: send refused
    void *udp_error_arg;        //  its argument
    sipd_transport_closed_fn *closed_fn;    //  close notification
    void *closed_arg;           //  its argument
};

static void s_conn_free (sipd_transport_t *self, s_conn_t *conn);
static void s_conn_fail (sipd_transport_t *self, s_conn_t *conn);

static time_t
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

//  Fill a sockaddr from a numeric ip and a port. Returns its length or 0.
static socklen_t
s_sockaddr (int family, const char *ip, int port,
            struct sockaddr_storage *addr)
{
    memset (addr, 0, sizeof *addr);
    if (port <= 0 || port > 65535)
        return 0;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) addr;
        in->sin_family = AF_INET;
        in->sin_port = htons ((uint16_t) port);
        if (inet_pton (AF_INET, ip, &in->sin_addr) != 1)
            return 0;
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) addr;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons ((uint16_t) port);
    if (inet_pton (AF_INET6, ip, &in6->sin6_addr) != 1)
        return 0;
    return sizeof *in6;
}

static void
s_source_from (const struct sockaddr_storage *addr, sipd_source_t *source)
{
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) addr;
        inet_ntop (AF_INET6, &in6->sin6_addr, source->ip, sizeof source->ip);
        source->port = ntohs (in6->sin6_port);
    }
    else {
        //  dotted quad by hand: inet_ntop formats with sprintf, ~1.7 k
        //  instructions for every datagram received
        const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
        const unsigned char *b = (const unsigned char *) &in->sin_addr;
        char *p = source->ip;
        for (int i = 0; i < 4; i++) {
            unsigned v = b[i];
            if (v >= 100) {
                *p++ = (char) ('0' + v / 100);
                v %= 100;
                *p++ = (char) ('0' + v / 10);
                v %= 10;
            }
            else if (v >= 10) {
                *p++ = (char) ('0' + v / 10);
                v %= 10;
            }
            *p++ = (char) ('0' + v);
            *p++ = i < 3 ? '.' : 0;
        }
        source->port = ntohs (in->sin_port);
    }
}

static int
s_bind (int fd, int family, const char *host, int port)
{
    struct sockaddr_storage addr;
    socklen_t len = s_sockaddr (family, host, port ? port : 1, &addr);
    if (!len)
        return -1;
    if (port == 0) {
        if (family == AF_INET)
            ((struct sockaddr_in *) &addr)->sin_port = 0;
        else
            ((struct sockaddr_in6 *) &addr)->sin6_port = 0;
    }
    return bind (fd, (struct sockaddr *) &addr, len);
}

// ---------------------------------------------------------------------
//  UDP

//  What one received datagram of n bytes (its real length) is: false for
//  nothing (empty, a keep-alive), else its source, the bytes to hand up
//  and whether it is too big. Reads only immutable fields of self (it
//  runs on the UDP thread when offloaded).
static bool
s_udp_classify (const sipd_transport_t *self, const char *data, ssize_t n,
                const struct sockaddr_storage *addr, sipd_source_t *source,
                size_t *size_p, sipd_transport_error_t *error_p)
{
    if (n <= 0)
        return false;
    //  Bare CRLF keep-alives (RFC 5626 §4.4.1 over UDP uses STUN;
    //  phones also send "\r\n\r\n") are not messages.
    bool blank = true;
    for (ssize_t k = 0; k < n && k < UDP_SLOT && blank; k++)
        if (data[k] != '\r' && data[k] != '\n' && data[k] != ' '
            && data[k] != '\0')
            blank = false;
    if (blank)
        return false;
    *source = (sipd_source_t) {.transport = SIPD_TRANSPORT_UDP};
    s_source_from (addr, source);
    *size_p = n > UDP_SLOT ? UDP_SLOT : (size_t) n;
    *error_p = (size_t) n > self->limits.max_message ? SIPD_TRANSPORT_TOO_BIG
                                                     : SIPD_TRANSPORT_OK;
    return true;
}

//  Hand up one received datagram (loop thread, not offloaded).
static void
s_udp_deliver (sipd_transport_t *self, const char *data, ssize_t n,
               const struct sockaddr_storage *addr)
{
    sipd_source_t source;
    size_t size;
    sipd_transport_error_t error;
    if (s_udp_classify (self, data, n, addr, &source, &size, &error))
        self->fn (self->arg, data, size, &source, error);
}

//  sipd_udpio handler: parse one datagram on the UDP thread.
static void *
s_udpio_parse (void *arg, const char *data, ssize_t n,
               const struct sockaddr_storage *addr)
{
    const sipd_transport_t *self = arg;
    sipd_source_t source;
    size_t size;
    sipd_transport_error_t error;
    if (!s_udp_classify (self, data, n, addr, &source, &size, &error))
        return NULL;
    return self->parse (self->item_arg, data, size, &source, error);
}

//  sipd_udpio handler: deliver a parsed datagram on the loop thread.
static void
s_udpio_deliver (void *arg, void *item)
{
    sipd_transport_t *self = arg;
    self->deliver (self->item_arg, item);
}

//  sipd_udpio handler: the kernel refused a datagram (loop thread).
static void
s_udpio_error (void *arg, const struct sockaddr_storage *addr, int error)
{
    sipd_transport_t *self = arg;
    if (!self->udp_error_fn)
        return;
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_UDP};
    s_source_from (addr, &dest);
    self->udp_error_fn (self->udp_error_arg, &dest, error);
}

//  sipd_udpio handler: free an undelivered item.
static void
s_udpio_drop (void *arg, void *item)
{
    const sipd_transport_t *self = arg;
    self->drop (self->item_arg, item);
}

//  Read up to UDP_BATCH datagrams, UDP_SLOTS per recvmmsg call: one
//  system call for a burst instead of one per datagram plus a last one
//  that finds the socket empty.
static int
s_udp_ready (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    sipd_transport_t *self = arg;
    struct mmsghdr msgs[UDP_SLOTS];
    struct iovec iovs[UDP_SLOTS];
    struct sockaddr_storage addrs[UDP_SLOTS];
    for (int done = 0; done < UDP_BATCH; ) {
        for (int i = 0; i < UDP_SLOTS; i++) {
            iovs[i].iov_base = self->udp_buf + (size_t) i * UDP_SLOT;
            iovs[i].iov_len = UDP_SLOT;
            memset (&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_len = 0;
        }
        //  MSG_TRUNC: msg_len is the datagram's real length (TOO_BIG)
        int got = recvmmsg (self->udp_fd, msgs, UDP_SLOTS,
                            MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (got <= 0)
            break;
        for (int i = 0; i < got; i++)
            s_udp_deliver (self, iovs[i].iov_base,
                           (ssize_t) msgs[i].msg_len, &addrs[i]);
        done += got;
        if (got < UDP_SLOTS)
            break;      //  the socket was empty
    }
    return 0;
}

// ---------------------------------------------------------------------
//  TCP connections

static s_conn_t *
s_conn_find (sipd_transport_t *self, int conn_id)
{
    if (conn_id <= 0)
        return NULL;
    s_conn_t *conn = zlistx_first (self->conns);
    while (conn) {
        if (conn->id == conn_id)
            return conn;
        conn = zlistx_next (self->conns);
    }
    return NULL;
}

static s_conn_t *
s_conn_find_peer (sipd_transport_t *self, const char *ip, int port)
{
    s_conn_t *conn = zlistx_first (self->conns);
    while (conn) {
        if (!conn->closing && conn->peer.port == port
            && strcmp (conn->peer.ip, ip) == 0)
            return conn;
        conn = zlistx_next (self->conns);
    }
    return NULL;
}

static int s_conn_ready (zloop_t *loop, zmq_pollitem_t *item, void *arg);

//  (Re)register the connection's poller for POLLIN, plus POLLOUT when
//  output is queued or a connect is in progress.
static void
s_conn_poll (sipd_transport_t *self, s_conn_t *conn, bool want_out)
{
    if (want_out == conn->want_out)
        return;
    zmq_pollitem_t item = {NULL, conn->fd, ZMQ_POLLIN, 0};
    zloop_poller_end (self->loop, &item);
    if (want_out)
        item.events |= ZMQ_POLLOUT;
    zloop_poller (self->loop, &item, s_conn_ready, self);
    conn->want_out = want_out;
}

static s_conn_t *
s_conn_new (sipd_transport_t *self, int fd, const sipd_source_t *peer,
            bool connecting)
{
    s_conn_t *conn = zmalloc (sizeof *conn);
    conn->id = self->next_conn_id++;
    if (self->next_conn_id <= 0)
        self->next_conn_id = 1;
    conn->fd = fd;
    conn->peer = *peer;
    conn->peer.transport = SIPD_TRANSPORT_TCP;
    conn->peer.conn_id = conn->id;
    conn->in = zmalloc (self->limits.max_message);
    conn->connecting = connecting;
    conn->last_active = s_now ();
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    zmq_pollitem_t item = {NULL, fd, ZMQ_POLLIN, 0};
    if (connecting)
        item.events |= ZMQ_POLLOUT;
    conn->want_out = connecting;
    zloop_poller (self->loop, &item, s_conn_ready, self);
    zlistx_add_end (self->conns, conn);
    CM_LOG (CM_LOG_DEBUG, "transport", "tcp conn=%d peer=%s:%d %s", conn->id,
            conn->peer.ip, conn->peer.port,
            connecting ? "connecting" : "accepted");
    return conn;
}

static void
s_conn_free (sipd_transport_t *self, s_conn_t *conn)
{
    CM_LOG (CM_LOG_DEBUG, "transport", "tcp conn=%d peer=%s:%d closed",
            conn->id, conn->peer.ip, conn->peer.port);
    zmq_pollitem_t item = {NULL, conn->fd, 0, 0};
    zloop_poller_end (self->loop, &item);
    close (conn->fd);
    void *handle = zlistx_find (self->conns, conn);
    if (handle)
        zlistx_detach (self->conns, handle);
    free (conn->in);
    free (conn->out);
    free (conn);
}

//  Free a connection that failed, telling the owner.
static void
s_conn_fail (sipd_transport_t *self, s_conn_t *conn)
{
    int conn_id = conn->id;
    s_conn_free (self, conn);
    if (self->closed_fn)
        self->closed_fn (self->closed_arg, conn_id, true);
}

//  Write queued output. Returns 0, or -1 when the connection failed and
//  was freed.
static int
s_conn_flush (sipd_transport_t *self, s_conn_t *conn)
{
    while (conn->out_len > 0 && !conn->connecting) {
        ssize_t n = send (conn->fd, conn->out, conn->out_len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            CM_LOG (CM_LOG_INFO, "transport", "tcp conn=%d write: %s",
                    conn->id, strerror (errno));
            s_conn_fail (self, conn);
            return -1;
        }
        memmove (conn->out, conn->out + n, conn->out_len - (size_t) n);
        conn->out_len -= (size_t) n;
    }
    if (conn->out_len == 0 && conn->closing && !conn->connecting) {
        s_conn_free (self, conn);
        return -1;
    }
    s_conn_poll (self, conn, conn->out_len > 0 || conn->connecting);
    return 0;
}

static int
s_conn_queue (sipd_transport_t *self, s_conn_t *conn, const char *data,
              size_t size)
{
    size_t cap = self->limits.max_message * OUT_FACTOR;
    if (conn->out_len + size > cap) {
        CM_LOG (CM_LOG_WARN, "transport",
                "tcp conn=%d output buffer full, closing", conn->id);
        conn->out_len = 0;
        conn->closing = true;
        s_conn_flush (self, conn);
        return -1;
    }
    if (conn->out_len + size > conn->out_cap) {
        conn->out_cap = conn->out_len + size + 4096;
        conn->out = realloc (conn->out, conn->out_cap);
        assert (conn->out);
    }
    memcpy (conn->out + conn->out_len, data, size);
    conn->out_len += size;
    conn->last_active = s_now ();
    return s_conn_flush (self, conn);
}

//  Find Content-Length in a header block (start line excluded or not, it
//  does not matter: it cannot look like a header named Content-Length).
//  Returns the value, or -1 when missing, malformed or contradictory.
static long
s_content_length (const char *head, size_t len)
{
    long found = -1;
    const char *p = head;
    const char *end = head + len;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        const char *colon = memchr (p, ':', (size_t) (eol - p));
        if (colon) {
            const char *name_end = colon;
            while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
                name_end--;
            size_t name_len = (size_t) (name_end - p);
            if ((name_len == 14 && strncasecmp (p, "Content-Length", 14) == 0)
                || (name_len == 1 && (*p == 'l' || *p == 'L'))) {
                const char *v = colon + 1;
                while (v < eol && (*v == ' ' || *v == '\t'))
                    v++;
                long value = 0;
                int digits = 0;
                while (v < eol && *v >= '0' && *v <= '9' && digits < 10) {
                    value = value * 10 + (*v - '0');
                    v++;
                    digits++;
                }
                while (v < eol && (*v == ' ' || *v == '\t' || *v == '\r'))
                    v++;
                if (digits == 0 || v != eol)
                    return -1;
                if (found >= 0 && found != value)
                    return -1;
                found = value;
            }
        }
        p = eol + 1;
    }
    return found;
}

//  Hand up every complete message in the input buffer. Returns -1 when
//  the connection was freed.
static int
s_conn_frame (sipd_transport_t *self, s_conn_t *conn)
{
    int conn_id = conn->id;
    while (conn->in_len > 0) {
        //  keep-alive CRLFs between messages
        size_t skip = 0;
        while (skip < conn->in_len
               && (conn->in[skip] == '\r' || conn->in[skip] == '\n'))
            skip++;
        if (skip >= 4) {
            //  double-CRLF ping gets a CRLF pong (RFC 5626 §4.4.1)
            if (s_conn_queue (self, conn, "\r\n", 2) != 0)
                return -1;
        }
        if (skip) {
            memmove (conn->in, conn->in + skip, conn->in_len - skip);
            conn->in_len -= skip;
            continue;
        }
        const char *blank = NULL;
        for (size_t i = 0; i + 3 < conn->in_len; i++)
            if (memcmp (conn->in + i, "\r\n\r\n", 4) == 0) {
                blank = conn->in + i;
                break;
            }
        sipd_transport_error_t error = SIPD_TRANSPORT_OK;
        size_t size = 0;
        if (!blank) {
            if (conn->in_len < self->limits.max_message)
                return 0;       //  wait for more
            error = SIPD_TRANSPORT_TOO_BIG;
            size = conn->in_len;
        }
        else {
            size_t head = (size_t) (blank - conn->in) + 4;
            long body = s_content_length (conn->in, head - 2);
            if (body < 0) {
                error = SIPD_TRANSPORT_NO_LENGTH;
                size = head;
            }
            else if (head + (size_t) body > self->limits.max_message) {
                error = SIPD_TRANSPORT_TOO_BIG;
                size = head;
            }
            else if (head + (size_t) body > conn->in_len)
                return 0;       //  wait for the body
            else
                size = head + (size_t) body;
        }
        if (error != SIPD_TRANSPORT_OK) {
            //  answer (maybe) and close: nothing after this is framable
            conn->closing = true;
            self->fn (self->arg, conn->in, size, &conn->peer, error);
            conn = s_conn_find (self, conn_id);
            if (conn && conn->out_len == 0) {
                s_conn_free (self, conn);
                return -1;
            }
            return conn ? 0 : -1;
        }
        sipd_source_t peer = conn->peer;
        self->fn (self->arg, conn->in, size, &peer, SIPD_TRANSPORT_OK);
        //  the callback may have closed the connection
        conn = s_conn_find (self, conn_id);
        if (!conn)
            return -1;
        memmove (conn->in, conn->in + size, conn->in_len - size);
        conn->in_len -= size;
    }
    return 0;
}

static int
s_conn_ready (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    sipd_transport_t *self = arg;
    s_conn_t *conn = zlistx_first (self->conns);
    while (conn && conn->fd != item->fd)
        conn = zlistx_next (self->conns);
    if (!conn)
        return 0;
    if (conn->connecting && (item->revents & (ZMQ_POLLOUT | ZMQ_POLLERR))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt (conn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            CM_LOG (CM_LOG_INFO, "transport", "tcp conn=%d connect %s:%d: %s",
                    conn->id, conn->peer.ip, conn->peer.port, strerror (err));
            s_conn_fail (self, conn);
            return 0;
        }
        conn->connecting = false;
    }
    if (item->revents & ZMQ_POLLOUT)
        if (s_conn_flush (self, conn) != 0)
            return 0;
    if (item->revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
        if (conn->closing) {
            //  discard input on a connection that is being closed
            char sink[4096];
            ssize_t n = recv (conn->fd, sink, sizeof sink, 0);
            if (n <= 0 && !(n < 0 && errno == EAGAIN))
                s_conn_free (self, conn);
            return 0;
        }
        size_t room = self->limits.max_message - conn->in_len;
        ssize_t n = recv (conn->fd, conn->in + conn->in_len, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            s_conn_free (self, conn);
            return 0;
        }
        conn->in_len += (size_t) n;
        conn->last_active = s_now ();
        s_conn_frame (self, conn);
    }
    return 0;
}

static int
s_tcp_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    sipd_transport_t *self = arg;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage addr;
        socklen_t addr_len = sizeof addr;
        int fd = accept (self->tcp_fd, (struct sockaddr *) &addr, &addr_len);
        if (fd < 0)
            break;
        fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
        fcntl (fd, F_SETFD, FD_CLOEXEC);
        if ((int) zlistx_size (self->conns) >= self->limits.max_conns) {
            CM_LOG (CM_LOG_WARN, "transport",
                    "tcp connection limit (%d) reached, refusing",
                    self->limits.max_conns);
            close (fd);
            continue;
        }
        sipd_source_t peer = {.transport = SIPD_TRANSPORT_TCP};
        s_source_from (&addr, &peer);
        s_conn_new (self, fd, &peer, false);
    }
    return 0;
}

static int
s_idle_sweep (zloop_t *loop, int timer_id, void *arg)
{
    sipd_transport_t *self = arg;
    time_t now = s_now ();
    //  collect first: freeing moves the list cursor
    zlistx_t *idle = zlistx_new ();
    s_conn_t *conn = zlistx_first (self->conns);
    while (conn) {
        if (now - conn->last_active >= self->limits.idle_timeout
            && now >= conn->keep_until)
            zlistx_add_end (idle, conn);
        conn = zlistx_next (self->conns);
    }
    conn = zlistx_first (idle);
    while (conn) {
        CM_LOG (CM_LOG_DEBUG, "transport", "tcp conn=%d idle, closing",
                conn->id);
        s_conn_free (self, conn);
        conn = zlistx_next (idle);
    }
    zlistx_destroy (&idle);
    return 0;
}

// ---------------------------------------------------------------------

sipd_transport_t *
sipd_transport_new (zloop_t *loop, const char *host, int port,
                    const sipd_transport_limits_t *limits,
                    sipd_transport_fn *fn, void *arg, char *error,
                    size_t size)
{
    assert (loop);
    assert (host);
    assert (limits);
    assert (fn);
    sipd_transport_t *self = zmalloc (sizeof *self);
    self->loop = loop;
    self->limits = *limits;
    if (self->limits.max_message < 1024 || self->limits.max_message > 65536)
        self->limits.max_message = 65536;
    if (self->limits.max_conns < 1)
        self->limits.max_conns = 1;
    if (self->limits.idle_timeout < 1)
        self->limits.idle_timeout = 1;
    self->fn = fn;
    self->arg = arg;
    self->udp_fd = -1;
    self->tcp_fd = -1;
    self->next_conn_id = 1;
    self->conns = zlistx_new ();
    //  1 MB of address space; only the pages datagrams use are touched
    //  (malloc, not zmalloc: zeroing would touch them all)
    self->udp_buf = malloc ((size_t) UDP_SLOTS * UDP_SLOT);
    assert (self->udp_buf);
    struct in6_addr probe;
    self->family = inet_pton (AF_INET6, host, &probe) == 1 ? AF_INET6 : AF_INET;
    struct in_addr probe4;
    if (self->family == AF_INET && inet_pton (AF_INET, host, &probe4) != 1) {
        snprintf (error, size, "%s is not a numeric IPv4 or IPv6 address",
                  host);
        goto fail;
    }
    self->udp_fd = socket (self->family, SOCK_DGRAM | SOCK_NONBLOCK
                           | SOCK_CLOEXEC, 0);
    self->tcp_fd = socket (self->family, SOCK_STREAM | SOCK_NONBLOCK
                           | SOCK_CLOEXEC, 0);
    if (self->udp_fd < 0 || self->tcp_fd < 0) {
        snprintf (error, size, "socket: %s", strerror (errno));
        goto fail;
    }
    int one = 1;
    setsockopt (self->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (self->family == AF_INET6) {
        setsockopt (self->udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt (self->tcp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    //  room for bursts; SO_RCVBUFFORCE (root) goes past net.core.rmem_max
    int rcvbuf = 4 * 1024 * 1024;
    if (setsockopt (self->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
                    sizeof rcvbuf) != 0)
        setsockopt (self->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                    sizeof rcvbuf);
    if (s_bind (self->udp_fd, self->family, host, port) != 0) {
        snprintf (error, size, "cannot bind UDP %s port %d: %s", host, port,
                  strerror (errno));
        goto fail;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    getsockname (self->udp_fd, (struct sockaddr *) &bound, &bound_len);
    sipd_source_t local = {.transport = SIPD_TRANSPORT_UDP};
    s_source_from (&bound, &local);
    self->port = local.port;
    if (s_bind (self->tcp_fd, self->family, host, self->port) != 0
        || listen (self->tcp_fd, 128) != 0) {
        snprintf (error, size, "cannot bind TCP %s port %d: %s", host,
                  self->port, strerror (errno));
        goto fail;
    }
    zmq_pollitem_t udp_item = {NULL, self->udp_fd, ZMQ_POLLIN, 0};
    zmq_pollitem_t tcp_item = {NULL, self->tcp_fd, ZMQ_POLLIN, 0};
    zloop_poller (loop, &udp_item, s_udp_ready, self);
    zloop_poller (loop, &tcp_item, s_tcp_accept, self);
    self->idle_timer = zloop_timer (loop, IDLE_CHECK_MS, 0, s_idle_sweep, self);
    return self;

fail:
    sipd_transport_destroy (&self);
    return NULL;
}

void
sipd_transport_destroy (sipd_transport_t **self_p)
{
    assert (self_p);
    sipd_transport_t *self = *self_p;
    if (!self)
        return;
    while (zlistx_size (self->conns) > 0)
        s_conn_free (self, zlistx_first (self->conns));
    zlistx_destroy (&self->conns);
    sipd_udpio_destroy (&self->udpio);
    if (self->udp_fd >= 0) {
        zmq_pollitem_t item = {NULL, self->udp_fd, 0, 0};
        zloop_poller_end (self->loop, &item);
        close (self->udp_fd);
    }
    if (self->tcp_fd >= 0) {
        zmq_pollitem_t item = {NULL, self->tcp_fd, 0, 0};
        zloop_poller_end (self->loop, &item);
        close (self->tcp_fd);
    }
    if (self->idle_timer > 0)
        zloop_timer_end (self->loop, self->idle_timer);
    free (self->udp_buf);
    free (self);
    *self_p = NULL;
}

//  Open a TCP connection to dest without blocking. Returns it or NULL.
static s_conn_t *
s_connect (sipd_transport_t *self, const sipd_source_t *dest)
{
    if ((int) zlistx_size (self->conns) >= self->limits.max_conns)
        return NULL;
    struct sockaddr_storage addr;
    socklen_t len = s_sockaddr (self->family, dest->ip, dest->port, &addr);
    if (!len)
        return NULL;
    int fd = socket (self->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     0);
    if (fd < 0)
        return NULL;
    int rc = connect (fd, (struct sockaddr *) &addr, len);
    if (rc != 0 && errno != EINPROGRESS) {
        CM_LOG (CM_LOG_INFO, "transport", "tcp connect %s:%d: %s", dest->ip,
                dest->port, strerror (errno));
        close (fd);
        return NULL;
    }
    return s_conn_new (self, fd, dest, rc != 0);
}

int
sipd_transport_send (sipd_transport_t *self, const sipd_source_t *dest,
                     const char *data, size_t size, int *conn_id_p)
{
    assert (self);
    assert (dest);
    if (conn_id_p)
        *conn_id_p = 0;
    if (!data || size == 0)
        return -1;
    if (dest->transport == SIPD_TRANSPORT_UDP) {
        struct sockaddr_storage addr;
        socklen_t len = s_sockaddr (self->family, dest->ip, dest->port, &addr);
        if (!len)
            return -1;
        if (self->udpio)
            return sipd_udpio_send (self->udpio, &addr, len, data, size);
        ssize_t n = sendto (self->udp_fd, data, size, 0,
                            (struct sockaddr *) &addr, len);
        if (n < 0) {
            CM_LOG (CM_LOG_DEBUG, "transport", "udp send %s:%d: %s", dest->ip,
                    dest->port, strerror (errno));
            return -1;
        }
        return 0;
    }
    //  the connection named by conn_id, even when closing (the last
    //  answer before a close after a framing error goes there)
    s_conn_t *conn = s_conn_find (self, dest->conn_id);
    if (!conn)
        conn = s_conn_find_peer (self, dest->ip, dest->port);
    if (!conn)
        conn = s_connect (self, dest);
    if (!conn)
        return -1;
    if (conn_id_p)
        *conn_id_p = conn->id;
    return s_conn_queue (self, conn, data, size);
}

int
sipd_transport_offload_udp (sipd_transport_t *self,
                            sipd_transport_parse_fn *parse,
                            sipd_transport_item_fn *deliver,
                            sipd_transport_item_fn *drop, void *arg)
{
    assert (self);
    assert (parse && deliver && drop);
    if (self->udpio)
        return -1;
    self->parse = parse;
    self->deliver = deliver;
    self->drop = drop;
    self->item_arg = arg;
    sipd_udpio_handler_t handler = {s_udpio_parse, s_udpio_deliver,
                                    s_udpio_drop, s_udpio_error, self,
                                    UDP_SLOT};
    //  the loop stops reading the socket before the thread starts
    zmq_pollitem_t udp_item = {NULL, self->udp_fd, 0, 0};
    zloop_poller_end (self->loop, &udp_item);
    self->udpio = sipd_udpio_new (self->loop, self->udp_fd, &handler);
    if (!self->udpio) {
        udp_item.events = ZMQ_POLLIN;
        zloop_poller (self->loop, &udp_item, s_udp_ready, self);
        return -1;
    }
    free (self->udp_buf);       //  the thread has its own
    self->udp_buf = NULL;
    return 0;
}

void
sipd_transport_on_udp_error (sipd_transport_t *self,
                             sipd_transport_udp_error_fn *fn, void *arg)
{
    assert (self);
    self->udp_error_fn = fn;
    self->udp_error_arg = arg;
}

void
sipd_transport_close (sipd_transport_t *self, int conn_id)
{
    assert (self);
    s_conn_t *conn = s_conn_find (self, conn_id);
    if (!conn)
        return;
    conn->closing = true;
    s_conn_flush (self, conn);
}

void
sipd_transport_on_close (sipd_transport_t *self, sipd_transport_closed_fn *fn,
                         void *arg)
{
    assert (self);
    self->closed_fn = fn;
    self->closed_arg = arg;
}

void
sipd_transport_keep_open (sipd_transport_t *self, int conn_id, int seconds)
{
    assert (self);
    s_conn_t *conn = conn_id > 0 ? s_conn_find (self, conn_id) : NULL;
    if (!conn)
        return;
    time_t until = s_now () + seconds;
    if (until > conn->keep_until)
        conn->keep_until = until;
}

bool
sipd_transport_conn_is_open (sipd_transport_t *self, int conn_id)
{
    assert (self);
    s_conn_t *conn = s_conn_find (self, conn_id);
    return conn && !conn->closing;
}

size_t
sipd_transport_conn_count (sipd_transport_t *self)
{
    assert (self);
    return zlistx_size (self->conns);
}

int
sipd_transport_port (sipd_transport_t *self)
{
    assert (self);
    return self->port;
}
