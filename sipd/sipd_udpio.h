//  sipd_udpio — a UDP socket's reads and writes on a thread of their own
//  (zactor), so that the system calls (on loopback a send also delivers
//  the datagram to its receiver) and the parsing of what arrives run
//  beside the daemon's loop instead of in it.
//
//  The actor reads datagrams (recvmmsg), hands each to parse on its own
//  thread, and passes the items parse returns to the loop thread in one
//  zmsg per burst: deliver runs there, item by item. Datagrams to send
//  are copied into a pending zmsg on the loop thread and handed to the
//  actor at sipd_udpio_flush (or at once, outside a burst); the actor
//  writes them in order with sendmmsg.
//
//  Nothing mutable is shared: the fd is only read and written by the
//  actor while it runs; items and datagrams change hands as messages
//  (pointer frames move ownership, as with zsock_send "p"). Back-pressure:
//  at most UDPIO_INBOX bursts wait for the loop thread; beyond that the
//  actor stops reading and the kernel's socket buffer holds (or drops)
//  the rest, as it does for a single-threaded reader. Datagrams to send
//  are never refused (the loop thread never blocks on the actor).

#ifndef SIPD_UDPIO_H_INCLUDED
#define SIPD_UDPIO_H_INCLUDED

#include <czmq.h>
#include <sys/socket.h>

typedef struct _sipd_udpio_t sipd_udpio_t;

//  Runs on the actor's thread for every datagram: data holds the first
//  min(n, slot) bytes, n is the datagram's real length (MSG_TRUNC). It may
//  only read state that no other thread changes. Returns an item for
//  deliver (owned by the caller of deliver) or NULL (nothing to deliver).
typedef void *(sipd_udpio_parse_fn) (void *arg, const char *data, ssize_t n,
                                     const struct sockaddr_storage *addr);

//  deliver runs on the loop thread and takes ownership of item. drop frees
//  an item that was parsed but never delivered (shutdown): it may run on
//  either thread, so it must only free the item.
typedef void (sipd_udpio_item_fn) (void *arg, void *item);

//  Runs on the loop thread when the kernel refused a datagram to addr
//  (errno value error: no route, EACCES, ...), after the fact. Reports
//  that find the loop thread's inbox full are left out.
typedef void (sipd_udpio_error_fn) (void *arg,
                                    const struct sockaddr_storage *addr,
                                    int error);

typedef struct {
    sipd_udpio_parse_fn *parse;     //  actor thread
    sipd_udpio_item_fn *deliver;    //  loop thread
    sipd_udpio_item_fn *drop;       //  either thread, at shutdown
    sipd_udpio_error_fn *error;     //  loop thread, or NULL
    void *arg;                      //  for all three
    size_t slot;                    //  receive buffer per datagram
} sipd_udpio_handler_t;

//  Start the actor on fd (a bound, non-blocking UDP socket that the caller
//  keeps owning and closes after sipd_udpio_destroy) and register its
//  deliveries with loop. Returns NULL when the actor cannot start. Caller
//  owns return value and must destroy it when done.
sipd_udpio_t *
    sipd_udpio_new (zloop_t *loop, int fd, const sipd_udpio_handler_t *handler);

//  Send what is pending, stop the actor (it writes what it was given
//  before it ends) and drop undelivered items. NULL-safe; sets *self_p
//  to NULL.
void
    sipd_udpio_destroy (sipd_udpio_t **self_p);

//  Queue a copy of size bytes of data as one datagram to addr (len bytes
//  of it). Outside a burst of deliveries it is handed to the actor at
//  once; inside one, when the burst ends. Returns 0, or -1 for empty or
//  oversized input.
int
    sipd_udpio_send (sipd_udpio_t *self, const struct sockaddr_storage *addr,
                     socklen_t len, const char *data, size_t size);

//  Hand the queued datagrams to the actor now.
void
    sipd_udpio_flush (sipd_udpio_t *self);

#endif
