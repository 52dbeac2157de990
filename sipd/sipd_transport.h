//  sipd_transport — SIP over UDP and TCP on one address (IPv4 or IPv6),
//  read from the daemon's zloop through zloop_poller on raw fds.
//
//  UDP: one datagram is one message. TCP (RFC 3261 §18.3): messages are
//  framed by Content-Length; leading CRLFs (keep-alives) are skipped and
//  a double-CRLF ping gets a CRLF pong (RFC 5626 §4.4.1). A message
//  without a valid Content-Length, or larger than the configured limit,
//  is handed up with an error code so the server can answer 400/513; the
//  connection is then closed once the answer is written.
//
//  Connections are named by conn_id (> 0, never reused while the
//  transport lives). They are reused for responses and for requests to
//  the same peer, closed after idle_timeout seconds without traffic, and
//  capped in number (new ones are refused beyond max_conns) and in
//  buffered bytes (input: max_message; output: 16 x max_message).

#ifndef SIPD_TRANSPORT_H_INCLUDED
#define SIPD_TRANSPORT_H_INCLUDED

#include "sipd_source.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _sipd_transport_t sipd_transport_t;

//  Why a message is handed up with an error.
typedef enum {
    SIPD_TRANSPORT_OK = 0,          //  a complete message
    SIPD_TRANSPORT_NO_LENGTH = 1,   //  TCP: missing or bad Content-Length
    SIPD_TRANSPORT_TOO_BIG = 2      //  larger than max_message
} sipd_transport_error_t;

//  A message arrived. data is borrowed (valid during the call) and not
//  NUL-terminated; for an error, data holds what was read (the header
//  block at least, possibly cut). The connection of a TCP error is
//  closed after the next write to it (or at once if none is queued
//  before the callback returns).
typedef void (sipd_transport_fn) (void *arg, const char *data, size_t size,
                                  const sipd_source_t *source,
                                  sipd_transport_error_t error);

//  For sipd_transport_offload_udp: parse gets what sipd_transport_fn gets,
//  on the UDP thread, and returns an item (or NULL: nothing to deliver).
//  It may only read state no other thread changes.
typedef void *(sipd_transport_parse_fn) (void *arg, const char *data,
                                         size_t size,
                                         const sipd_source_t *source,
                                         sipd_transport_error_t error);

//  For sipd_transport_offload_udp: deliver (loop thread) takes ownership
//  of an item parse returned; drop frees one that is never delivered
//  (shutdown; either thread, so it must only free).
typedef void (sipd_transport_item_fn) (void *arg, void *item);

//  A TCP connection closed. failed is true when it ended in an error
//  (connect refused or timed out, write failed) rather than a normal
//  close by either side or the idle timer.
typedef void (sipd_transport_closed_fn) (void *arg, int conn_id, bool failed);

typedef struct {
    size_t max_message;     //  largest message in bytes (<= 65536)
    int max_conns;          //  TCP connections at most
    int idle_timeout;       //  seconds before an idle TCP connection closes
} sipd_transport_limits_t;

//  Bind UDP and TCP on host (numeric IPv4 or IPv6) and port, register with
//  loop. On failure returns NULL and writes the reason (strerror) into
//  error. Caller owns return value and must destroy it when done.
sipd_transport_t *
    sipd_transport_new (zloop_t *loop, const char *host, int port,
                        const sipd_transport_limits_t *limits,
                        sipd_transport_fn *fn, void *arg, char *error,
                        size_t size);

//  Close every socket. NULL-safe; sets *self_p to NULL.
void
    sipd_transport_destroy (sipd_transport_t **self_p);

//  Be told when a TCP connection closes (one callback; fn NULL removes).
void
    sipd_transport_on_close (sipd_transport_t *self,
                             sipd_transport_closed_fn *fn, void *arg);

//  Send data to dest. UDP: one datagram to dest->ip:port (numeric).
//  TCP: on connection dest->conn_id if open, else on an open connection
//  to dest->ip:port, else on a new one (connected without blocking;
//  data is queued meanwhile). Sets *conn_id_p (if not NULL) to the
//  connection used (0 for UDP). Returns 0, or -1 (bad address, no
//  connection possible, output buffer full).
int
    sipd_transport_send (sipd_transport_t *self, const sipd_source_t *dest,
                         const char *data, size_t size, int *conn_id_p);

//  Move UDP to a thread of its own (sipd_udpio): from now on datagrams
//  are read and parsed (parse) there and their items delivered (deliver)
//  on the loop thread instead of going to sipd_transport_fn, and UDP
//  sends are queued to that thread (a datagram answered while delivering
//  a burst goes out when the burst ends; otherwise at once). TCP stays on
//  the loop thread. Returns 0, or -1 (already offloaded, thread failed:
//  UDP then stays on the loop thread).
int
    sipd_transport_offload_udp (sipd_transport_t *self,
                                sipd_transport_parse_fn *parse,
                                sipd_transport_item_fn *deliver,
                                sipd_transport_item_fn *drop, void *arg);

//  Offloaded UDP only: a datagram to dest was refused by the kernel (errno
//  value error), reported after sipd_transport_send returned 0 (one
//  callback; fn NULL removes). Without the offload the send itself
//  returns -1.
typedef void (sipd_transport_udp_error_fn) (void *arg,
                                            const sipd_source_t *dest,
                                            int error);
void
    sipd_transport_on_udp_error (sipd_transport_t *self,
                                 sipd_transport_udp_error_fn *fn, void *arg);

//  Close connection conn_id after its queued output is written (or now).
void
    sipd_transport_close (sipd_transport_t *self, int conn_id);

//  Keep TCP connection conn_id open for at least seconds from now, idle or
//  not (the peer closing it still closes it). The registrar's path uses it
//  for connections that carried a successful REGISTER: a phone behind NAT
//  is reachable only over the connection it opened (RFC 5626 §3), so the
//  idle timer must not cut it while the binding lives. No-op for UDP or an
//  unknown id.
void
    sipd_transport_keep_open (sipd_transport_t *self, int conn_id,
                              int seconds);

//  True when TCP connection conn_id is open.
bool
    sipd_transport_conn_is_open (sipd_transport_t *self, int conn_id);

//  Number of open TCP connections.
size_t
    sipd_transport_conn_count (sipd_transport_t *self);

//  Bound port (useful when port 0 was asked for).
int
    sipd_transport_port (sipd_transport_t *self);

#endif
