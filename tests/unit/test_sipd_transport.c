//  test_sipd_transport — unit tests for sipd_transport on the loopback:
//  UDP in and out, TCP framing (pipelined, split, keep-alive pong, no
//  Content-Length, oversized), connection reuse by conn_id and by peer,
//  close, a refused outgoing connect reported to on_close, bad input.
//  The UDP tests run twice: on the loop thread and offloaded to the UDP
//  thread (sipd_transport_offload_udp, sipd_udpio), where answers sent
//  while a burst is delivered go out in order when it ends and parsed
//  but undelivered datagrams are dropped (freed) at destroy.

#define _GNU_SOURCE     //  memmem
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    zloop_t *loop;
    sipd_transport_t *transport;
    int port;
    char got[8][256];           //  first bytes of each message handed up
    sipd_transport_error_t errors[8];
    sipd_source_t sources[8];
    int count;
    int total;                  //  messages handed up, all of them
    int too_big;                //  of which SIPD_TRANSPORT_TOO_BIG
    int next_seq;               //  burst test: next "X-Seq: N" expected
    bool in_order;              //  burst test: every N came in order
    int closed_conn;            //  last conn_id reported closed
    bool closed_failed;
    int echo_fd;                //  offload: answer every message (>= 0)
    sipd_source_t refused;      //  offload: last send error's destination
    int refused_error;          //  its errno (0: none)
    atomic_int dropped;         //  offload: items freed undelivered
} s_test_t;

//  An offloaded datagram: what s_on_message would have been given.
typedef struct {
    size_t size;
    sipd_source_t source;
    sipd_transport_error_t error;
    char data[];
} s_item_t;

static void
s_on_message (void *arg, const char *data, size_t size,
              const sipd_source_t *source, sipd_transport_error_t error)
{
    s_test_t *t = arg;
    t->total++;
    if (error == SIPD_TRANSPORT_TOO_BIG)
        t->too_big++;
    const char *seq = memmem (data, size, "X-Seq: ", 7);
    if (seq && error == SIPD_TRANSPORT_OK) {
        if (atoi (seq + 7) != t->next_seq)
            t->in_order = false;
        t->next_seq++;
    }
    if (t->count >= 8)
        return;
    size_t n = size < 255 ? size : 255;
    memcpy (t->got[t->count], data, n);
    t->got[t->count][n] = 0;
    t->errors[t->count] = error;
    t->sources[t->count] = *source;
    t->count++;
}

//  Offload parse: runs on the UDP thread, touches nothing of the test.
static void *
s_parse (void *arg, const char *data, size_t size,
         const sipd_source_t *source, sipd_transport_error_t error)
{
    (void) arg;
    s_item_t *item = malloc (sizeof *item + size);
    item->size = size;
    item->source = *source;
    item->error = error;
    memcpy (item->data, data, size);
    return item;
}

static void
s_deliver (void *arg, void *it)
{
    s_test_t *t = arg;
    s_item_t *item = it;
    s_on_message (t, item->data, item->size, &item->source, item->error);
    if (t->echo_fd >= 0) {
        //  answered while the burst is delivered: goes out at its end
        char answer[32];
        int n = snprintf (answer, sizeof answer, "answer %d", t->total);
        assert_int_equal (sipd_transport_send (t->transport, &item->source,
                                               answer, (size_t) n, NULL),
                          0);
    }
    free (item);
}

static void
s_drop (void *arg, void *item)
{
    s_test_t *t = arg;
    atomic_fetch_add (&t->dropped, 1);
    free (item);
}

static void
s_on_udp_error (void *arg, const sipd_source_t *dest, int error)
{
    s_test_t *t = arg;
    t->refused = *dest;
    t->refused_error = error;
}

static void
s_on_close (void *arg, int conn_id, bool failed)
{
    s_test_t *t = arg;
    t->closed_conn = conn_id;
    t->closed_failed = failed;
}

static int
s_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static void
s_drive (s_test_t *t, int ms)
{
    int id = zloop_timer (t->loop, ms, 1, s_stop, NULL);
    zloop_start (t->loop);
    zloop_timer_end (t->loop, id);
}

//  Drive until count messages arrived or 1 s passed.
static void
s_wait (s_test_t *t, int count)
{
    for (int i = 0; i < 100 && t->count < count; i++)
        s_drive (t, 10);
}

static int
s_setup (void **state)
{
    s_test_t *t = calloc (1, sizeof *t);
    t->loop = zloop_new ();
    sipd_transport_limits_t limits = {.max_message = 2048, .max_conns = 4,
                                      .idle_timeout = 60};
    char error[128];
    t->transport = sipd_transport_new (t->loop, "127.0.0.1", 0, &limits,
                                       s_on_message, t, error, sizeof error);
    assert_non_null (t->transport);
    t->port = sipd_transport_port (t->transport);
    assert_true (t->port > 0);
    sipd_transport_on_close (t->transport, s_on_close, t);
    t->echo_fd = -1;
    *state = t;
    return 0;
}

static int
s_setup_offload (void **state)
{
    s_setup (state);
    s_test_t *t = *state;
    assert_int_equal (sipd_transport_offload_udp (t->transport, s_parse,
                                                  s_deliver, s_drop, t),
                      0);
    //  only once
    assert_int_equal (sipd_transport_offload_udp (t->transport, s_parse,
                                                  s_deliver, s_drop, t),
                      -1);
    return 0;
}

static int
s_teardown (void **state)
{
    s_test_t *t = *state;
    sipd_transport_destroy (&t->transport);
    assert_null (t->transport);
    zloop_destroy (&t->loop);
    free (t);
    return 0;
}

static int
s_tcp_client (s_test_t *t)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons ((uint16_t) t->port)};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    assert_int_equal (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    return fd;
}

//  Read what the transport wrote to fd (after driving the loop).
static ssize_t
s_read (s_test_t *t, int fd, char *buf, size_t size)
{
    for (int i = 0; i < 100; i++) {
        s_drive (t, 10);
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll (&pfd, 1, 0) == 1)
            return recv (fd, buf, size, 0);
    }
    return -2;
}

#define MSG(body) "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: " body

static void
test_udp (void **state)
{
    s_test_t *t = *state;
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons ((uint16_t) t->port)};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    struct timeval two_s = {2, 0};
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof two_s);
    const char *text = MSG ("0") "\r\n\r\n";
    sendto (fd, text, strlen (text), 0, (struct sockaddr *) &addr,
            sizeof addr);
    sendto (fd, "\r\n\r\n", 4, 0, (struct sockaddr *) &addr, sizeof addr);
    s_wait (t, 1);
    s_drive (t, 20);
    assert_int_equal (t->count, 1);     //  the keep-alive is no message
    assert_string_equal (t->got[0], text);
    assert_int_equal (t->sources[0].transport, SIPD_TRANSPORT_UDP);
    assert_string_equal (t->sources[0].ip, "127.0.0.1");
    assert_int_equal (t->sources[0].conn_id, 0);

    //  send back to the source
    int conn_id = -1;
    assert_int_equal (sipd_transport_send (t->transport, &t->sources[0],
                                           "reply", 5, &conn_id),
                      0);
    assert_int_equal (conn_id, 0);
    char buf[64];
    ssize_t n = recv (fd, buf, sizeof buf, 0);
    assert_int_equal (n, 5);
    //  bad destinations
    sipd_source_t bad = {.transport = SIPD_TRANSPORT_UDP, .ip = "example.com",
                         .port = 5060};
    assert_int_equal (sipd_transport_send (t->transport, &bad, "x", 1, NULL),
                      -1);
    bad.port = 70000;
    strcpy (bad.ip, "127.0.0.1");
    assert_int_equal (sipd_transport_send (t->transport, &bad, "x", 1, NULL),
                      -1);
    assert_int_equal (sipd_transport_send (t->transport, &t->sources[0], NULL,
                                           0, NULL),
                      -1);
    close (fd);
}

//  A burst larger than one receive batch: every datagram handed up, in
//  order, an oversized one flagged, keep-alives skipped.
static void
test_udp_burst (void **state)
{
    s_test_t *t = *state;
    t->in_order = true;
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    int sndbuf = 1024 * 1024;
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons ((uint16_t) t->port)};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    char text[4000];
    for (int i = 0; i < 100; i++) {
        int n = snprintf (text, sizeof text, MSG ("0") "\r\nX-Seq: %d\r\n\r\n",
                          i);
        assert_int_equal (sendto (fd, text, (size_t) n, 0,
                                  (struct sockaddr *) &addr, sizeof addr),
                          n);
        if (i % 10 == 0)
            sendto (fd, "\r\n\r\n", 4, 0, (struct sockaddr *) &addr,
                    sizeof addr);
    }
    memset (text, 'x', sizeof text);
    memcpy (text, "OPTIONS", 7);
    sendto (fd, text, 3000, 0, (struct sockaddr *) &addr, sizeof addr);
    for (int i = 0; i < 100 && t->total < 101; i++)
        s_drive (t, 10);
    assert_int_equal (t->total, 101);
    assert_int_equal (t->next_seq, 100);
    assert_true (t->in_order);
    assert_int_equal (t->too_big, 1);
    close (fd);
}

static void
test_tcp_framing (void **state)
{
    s_test_t *t = *state;
    int fd = s_tcp_client (t);
    //  two pipelined messages, the second with a body, then half a third
    const char *two = MSG ("0") "\r\n\r\n" MSG ("5") "\r\n\r\nhello"
                      "\r\n" MSG ("3") "\r\n\r\nab";
    send (fd, two, strlen (two), 0);
    s_wait (t, 2);
    assert_int_equal (t->count, 2);
    assert_int_equal (t->errors[0], SIPD_TRANSPORT_OK);
    assert_non_null (strstr (t->got[1], "hello"));
    assert_int_equal (t->sources[1].transport, SIPD_TRANSPORT_TCP);
    assert_true (t->sources[1].conn_id > 0);
    assert_int_equal (sipd_transport_conn_count (t->transport), 1);
    //  the rest of the third
    send (fd, "c", 1, 0);
    s_wait (t, 3);
    assert_int_equal (t->count, 3);
    assert_non_null (strstr (t->got[2], "\r\n\r\nabc"));

    //  a double-CRLF ping gets a CRLF pong
    send (fd, "\r\n\r\n", 4, 0);
    char buf[64];
    assert_int_equal (s_read (t, fd, buf, sizeof buf), 2);
    assert_memory_equal (buf, "\r\n", 2);

    //  reuse by conn_id, then by peer address
    int conn_id = 0;
    sipd_source_t dest = t->sources[0];
    assert_int_equal (sipd_transport_send (t->transport, &dest, "r1", 2,
                                           &conn_id),
                      0);
    assert_int_equal (conn_id, dest.conn_id);
    assert_int_equal (s_read (t, fd, buf, sizeof buf), 2);
    dest.conn_id = 0;
    assert_int_equal (sipd_transport_send (t->transport, &dest, "r2", 2,
                                           &conn_id),
                      0);
    assert_int_equal (conn_id, t->sources[0].conn_id);
    assert_int_equal (s_read (t, fd, buf, sizeof buf), 2);
    assert_true (sipd_transport_conn_is_open (t->transport, conn_id));

    //  close from our side
    sipd_transport_close (t->transport, conn_id);
    assert_false (sipd_transport_conn_is_open (t->transport, conn_id));
    assert_int_equal (s_read (t, fd, buf, sizeof buf), 0);
    assert_int_equal (t->closed_failed, false);
    close (fd);
}

static void
test_tcp_errors (void **state)
{
    s_test_t *t = *state;
    //  no Content-Length: handed up flagged, then closed
    int fd = s_tcp_client (t);
    const char *text = "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n";
    send (fd, text, strlen (text), 0);
    s_wait (t, 1);
    assert_int_equal (t->count, 1);
    assert_int_equal (t->errors[0], SIPD_TRANSPORT_NO_LENGTH);
    char buf[64];
    assert_int_equal (s_read (t, fd, buf, sizeof buf), 0);
    close (fd);

    //  a bad Content-Length too
    fd = s_tcp_client (t);
    text = MSG ("12abc") "\r\n\r\n";
    send (fd, text, strlen (text), 0);
    s_wait (t, 2);
    assert_int_equal (t->errors[1], SIPD_TRANSPORT_NO_LENGTH);
    close (fd);

    //  larger than max_message (2048): by Content-Length, and by headers
    fd = s_tcp_client (t);
    text = MSG ("5000") "\r\n\r\n";
    send (fd, text, strlen (text), 0);
    s_wait (t, 3);
    assert_int_equal (t->errors[2], SIPD_TRANSPORT_TOO_BIG);
    close (fd);
    fd = s_tcp_client (t);
    char big[3000];
    memset (big, 'a', sizeof big);
    send (fd, big, sizeof big, 0);
    s_wait (t, 4);
    assert_int_equal (t->errors[3], SIPD_TRANSPORT_TOO_BIG);
    close (fd);
}

static void
test_connect_refused (void **state)
{
    s_test_t *t = *state;
    int probe = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    bind (probe, (struct sockaddr *) &addr, sizeof addr);
    socklen_t len = sizeof addr;
    getsockname (probe, (struct sockaddr *) &addr, &len);
    close (probe);
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_TCP, .ip = "127.0.0.1",
                          .port = ntohs (addr.sin_port)};
    int conn_id = 0;
    int rc = sipd_transport_send (t->transport, &dest, "x", 1, &conn_id);
    if (rc == 0) {
        //  connect in progress: the failure comes through on_close
        assert_true (conn_id > 0);
        for (int i = 0; i < 100 && t->closed_conn != conn_id; i++)
            s_drive (t, 10);
        assert_int_equal (t->closed_conn, conn_id);
        assert_true (t->closed_failed);
    }
    assert_int_equal (sipd_transport_conn_count (t->transport), 0);
}

//  Offloaded: 40 requests in one go, each answered while its burst is
//  delivered; the answers arrive in order, one per request.
static void
test_offload_answers_in_order (void **state)
{
    s_test_t *t = *state;
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    struct timeval two_s = {2, 0};
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof two_s);
    t->echo_fd = fd;
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons ((uint16_t) t->port)};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    const char *text = MSG ("0") "\r\n\r\n";
    for (int i = 0; i < 40; i++)
        sendto (fd, text, strlen (text), 0, (struct sockaddr *) &addr,
                sizeof addr);
    for (int i = 0; i < 100 && t->total < 40; i++)
        s_drive (t, 10);
    assert_int_equal (t->total, 40);
    for (int i = 1; i <= 40; i++) {
        char buf[64] = "";
        ssize_t n = recv (fd, buf, sizeof buf - 1, 0);
        assert_true (n > 0);
        buf[n] = 0;
        char want[32];
        snprintf (want, sizeof want, "answer %d", i);
        assert_string_equal (buf, want);
    }
    close (fd);
}

//  Offloaded: datagrams parsed but never delivered (the loop does not
//  run) are freed through drop when the transport goes.
static void
test_offload_destroy_drops (void **state)
{
    s_test_t *t = *state;
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons ((uint16_t) t->port)};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    const char *text = MSG ("0") "\r\n\r\n";
    for (int i = 0; i < 5; i++)
        sendto (fd, text, strlen (text), 0, (struct sockaddr *) &addr,
                sizeof addr);
    usleep (200 * 1000);        //  the UDP thread reads and parses them
    sipd_transport_destroy (&t->transport);
    assert_int_equal (t->total, 0);
    assert_int_equal (atomic_load (&t->dropped), 5);
    close (fd);
}

//  Offloaded: a datagram the kernel refuses (broadcast without
//  SO_BROADCAST: EACCES) is accepted by sipd_transport_send and reported
//  afterwards to on_udp_error with its destination.
static void
test_offload_send_error (void **state)
{
    s_test_t *t = *state;
    sipd_transport_on_udp_error (t->transport, s_on_udp_error, t);
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_UDP,
                          .ip = "255.255.255.255", .port = 5060};
    assert_int_equal (sipd_transport_send (t->transport, &dest, "x", 1, NULL),
                      0);
    for (int i = 0; i < 100 && !t->refused_error; i++)
        s_drive (t, 10);
    assert_int_equal (t->refused_error, EACCES);
    assert_string_equal (t->refused.ip, "255.255.255.255");
    assert_int_equal (t->refused.port, 5060);
    assert_int_equal (t->refused.transport, SIPD_TRANSPORT_UDP);
}

static void
test_bind_errors (void **state)
{
    (void) state;
    zloop_t *loop = zloop_new ();
    sipd_transport_limits_t limits = {.max_message = 65536, .max_conns = 1,
                                      .idle_timeout = 10};
    char error[128];
    assert_null (sipd_transport_new (loop, "localhost", 0, &limits,
                                     s_on_message, NULL, error, sizeof error));
    assert_non_null (strstr (error, "not a numeric"));
    assert_null (sipd_transport_new (loop, "192.0.2.1", 0, &limits,
                                     s_on_message, NULL, error, sizeof error));
    assert_non_null (strstr (error, "cannot bind UDP"));
    zloop_destroy (&loop);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_udp, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_udp_burst, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_tcp_framing, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_tcp_errors, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_connect_refused, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_udp, s_setup_offload,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_udp_burst, s_setup_offload,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_offload_answers_in_order,
                                         s_setup_offload, s_teardown),
        cmocka_unit_test_setup_teardown (test_offload_destroy_drops,
                                         s_setup_offload, s_teardown),
        cmocka_unit_test_setup_teardown (test_offload_send_error,
                                         s_setup_offload, s_teardown),
        cmocka_unit_test_setup_teardown (test_tcp_framing, s_setup_offload,
                                         s_teardown),
        cmocka_unit_test (test_bind_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
