//  sipd_server — sipd's SIP core: transports, validation, libosip2
//  transactions and the TU dispatch. See sipd_server.h.
//
//  How the transaction layer is driven. libosip2 keeps four lists of
//  transactions (ICT, IST, NICT, NIST), each with a FIFO of events.
//  Received messages and TU responses become events added to a
//  transaction (sipd_server_add_event, which also queues the transaction
//  on the ready list); sipd_server_run pops the events of the ready
//  transactions only and runs their state machines, which call back into
//  sipd_server_recv.c to send (cb_send_message), to report received
//  requests and responses (message callbacks) and to report a
//  transaction's end (kill callbacks).
//
//  Timers (retransmission A/E/G, timeouts B/F/H, wait D/I/J/K) live in
//  each transaction's libosip2 context as deadlines. After a transaction
//  has run, s_schedule puts its earliest armed deadline (for its current
//  state) in a deadline queue (sipd_timerq); the zloop tick every
//  TIMER_MS pops only the transactions that are due and gives each the
//  timer event libosip2's osip_timers_*_execute would have given it (same
//  conditions, same precedence), then runs them. No per-tick or
//  per-message pass over every transaction: the cost of a tick is the
//  number of due timers, not the number of live transactions.
//
//  Matching: received INVITEs and ACKs find their INVITE server
//  transaction in ist_map (top-Via branch, sent-by, INVITE; RFC 3261
//  §17.2.3), responses find their client transaction in client_map
//  (branch and CSeq method, §17.1.3; sipd makes its own branches). Only
//  a request without an RFC 3261 branch falls back to libosip2's linear
//  search. The maps lose an entry in the kill callback.
//
//  libosip2 forbids running a transaction from inside its own callbacks,
//  so sipd_server_run is not re-entered: a callback that adds an event (a
//  TU that answers at once) only queues the transaction, and the outer
//  sipd_server_run drains the ready list. A transaction that ended is
//  removed from osip's lists and the maps in the kill callback but freed
//  only after the execute loop (sipd_server_collect), because the loop
//  still holds it.
//
//  Non-INVITE server transactions do not use libosip2 at all: sipd_nist
//  matches them by a hash and keeps only what absorbing retransmissions
//  needs (REGISTER and OPTIONS are most of the traffic; libosip2's NIST
//  searches linearly and keeps both messages for 32 s).
//
//  Identifiers: each transaction carries an s_txn_t (reserved1) with the
//  id handed to the TU (from the server's counter), the peer address and, for
//  client transactions, the TU's response callback. The server's txns
//  map (id -> transaction) is the only way from an id to a transaction;
//  a dead transaction is no longer in it, so stale ids fail cleanly.
//
//  The code is in parts, one concept each, sharing sipd_server_private.h:
//
//    sipd_server.c       life cycle, handler registration, accessors;
//    sipd_server_recv.c  the receive path: validation, matching,
//                        libosip2's callbacks and the dispatch to the TU;
//    sipd_server_loop.c  running the transactions: the ready list, the
//                        transaction timers, freeing ended transactions;
//    sipd_server_send.c  what the TU sends: responses, requests (client
//                        transactions), CANCEL, ACK.

#include "sipd_server_private.h"
#include "sipd_server_loop.h"
#include "sipd_server_recv.h"
#include "cm_intmap.h"
#include "cm_log.h"

#include <time.h>
#include <string.h>

// ---------------------------------------------------------------------
//  Helpers

sipd_server_t *
sipd_server_self (osip_transaction_t *tr)
{
    return osip_get_application_context (tr->config);
}

int64_t
sipd_server_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
sipd_server_next_id (sipd_server_t *self)
{
    int id = self->next_id++;
    if (self->next_id <= 0)
        self->next_id = 1;
    return id;
}

osip_transaction_t *
sipd_server_txn_lookup (sipd_server_t *self, int txn_id)
{
    if (txn_id <= 0)
        return NULL;
    return zhashx_lookup (self->txns, (void *) (intptr_t) txn_id);
}

static void s_trace (const char *file, int line, osip_trace_level_t level,
                     const char *fmt, va_list ap)
    __attribute__ ((format (printf, 4, 0)));

static void
s_trace (const char *file, int line, osip_trace_level_t level,
         const char *fmt, va_list ap)
{
    if (!cm_log_enabled (CM_LOG_DEBUG) || !fmt)
        return;
    char text[512];
    vsnprintf (text, sizeof text, fmt, ap);
    size_t len = strlen (text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = 0;
    CM_LOG (CM_LOG_DEBUG, "osip", "%s (%s:%d)", text, file, line);
}

//  Rebuild the Allow value from the registered handlers.
static void
s_update_allow (sipd_server_t *self)
{
    static const char *order[] = {"INVITE", "ACK", "BYE", "CANCEL",
                                  "OPTIONS", "REGISTER", "INFO", "UPDATE",
                                  "PRACK", "NOTIFY", "SUBSCRIBE", "MESSAGE",
                                  "REFER", "PUBLISH"};
    self->allow[0] = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *m = order[i];
        bool have = zhashx_lookup (self->handlers, m) != NULL
                    || strcmp (m, "OPTIONS") == 0
                    || strcmp (m, "REGISTER") == 0;
        //  ACK and CANCEL go with INVITE
        if ((strcmp (m, "ACK") == 0 || strcmp (m, "CANCEL") == 0)
            && zhashx_lookup (self->handlers, "INVITE"))
            have = true;
        if (!have)
            continue;
        if (self->allow[0])
            strncat (self->allow, ", ",
                     sizeof self->allow - strlen (self->allow) - 1);
        strncat (self->allow, m, sizeof self->allow - strlen (self->allow) - 1);
    }
    char *old = atomic_exchange (&self->allow_shared, strdup (self->allow));
    if (old)
        zlistx_add_end (self->allow_old, old);
}

// ---------------------------------------------------------------------
//  Construction

static void
s_string_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_handler_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

sipd_server_t *
sipd_server_new (cm_daemon_t *daemon)
{
    assert (daemon);
    sipd_server_t *self = zmalloc (sizeof *self);
    self->daemon = daemon;
    self->loop = cm_daemon_loop (daemon);
    self->config = cm_daemon_config (daemon);
    self->handlers = zhashx_new ();
    zhashx_set_destructor (self->handlers, s_handler_destroy);
    self->txns = cm_intmap_new ();
    self->dead = zlistx_new ();
    self->ist_map = zhashx_new ();
    self->client_map = zhashx_new ();
    self->ready = zlistx_new ();
    self->nist = sipd_nist_new ();
    self->ist_linger = sipd_linger_new ();

    self->timerq = sipd_timerq_new ();
    self->next_id = 1;
    self->allow_old = zlistx_new ();
    zlistx_set_destructor (self->allow_old, s_string_destroy);
    s_update_allow (self);

    char where[256];
    const char *listen = cm_config_str (self->config, "sipd", "listen");
    if (cm_config_split_hostport (listen, self->host, sizeof self->host,
                                  &self->port, 5060) != 0) {
        cm_config_where (self->config, "sipd", "listen", where, sizeof where);
        cm_daemon_fail (daemon, "%s: bad address %s", where, listen);
        goto fail;
    }
    sipd_transport_limits_t limits = {
        .max_message = (size_t) cm_config_int (self->config, "sipd",
                                               "max_message_size"),
        .max_conns = (int) cm_config_int (self->config, "sipd",
                                          "tcp_max_connections"),
        .idle_timeout = (int) cm_config_int (self->config, "sipd",
                                             "tcp_idle_timeout")};
    self->policy.max_message = limits.max_message;
    self->policy.allow = self->allow;
    self->policy.supported = SERVER_SUPPORTED;

    //  libosip2 formats a time stamp for every trace line it emits before
    //  our s_trace can drop it (~30k instructions per call): enable its
    //  chatter only when it will be logged.
    osip_trace_initialize_func (cm_log_enabled (CM_LOG_DEBUG) ? OSIP_INFO4
                                                              : OSIP_WARNING,
                                s_trace);
    if (osip_init (&self->osip) != 0) {
        cm_daemon_fail (daemon, "cannot initialise libosip2");
        goto fail;
    }
    osip_set_application_context (self->osip, self);
    osip_set_cb_send_message (self->osip, sipd_server_cb_send);
    for (int type = OSIP_ICT_KILL_TRANSACTION;
         type <= OSIP_NIST_KILL_TRANSACTION; type++)
        osip_set_kill_transaction_callback (self->osip, type,
                                            sipd_server_cb_kill);
    for (int type = OSIP_ICT_TRANSPORT_ERROR;
         type <= OSIP_NIST_TRANSPORT_ERROR; type++)
        osip_set_transport_error_callback (self->osip, type,
                                           sipd_server_cb_transport_error);
    osip_set_message_callback (self->osip, OSIP_ICT_STATUS_TIMEOUT,
                               sipd_server_cb_timeout);
    osip_set_message_callback (self->osip, OSIP_NICT_STATUS_TIMEOUT,
                               sipd_server_cb_timeout);
    for (int type = OSIP_ICT_STATUS_1XX_RECEIVED;
         type <= OSIP_ICT_STATUS_6XX_RECEIVED; type++)
        osip_set_message_callback (self->osip, type, sipd_server_cb_response);
    for (int type = OSIP_NICT_STATUS_1XX_RECEIVED;
         type <= OSIP_NICT_STATUS_6XX_RECEIVED; type++)
        osip_set_message_callback (self->osip, type, sipd_server_cb_response);
    //  only INVITE server transactions are libosip2's (NIST: sipd_nist)
    osip_set_message_callback (self->osip, OSIP_IST_INVITE_RECEIVED,
                               sipd_server_cb_request);

    char error[256];
    self->transport =
        sipd_transport_new (self->loop, self->host, self->port, &limits,
                            sipd_server_on_message, self, error, sizeof error);
    if (!self->transport) {
        cm_config_where (self->config, "sipd", "listen", where, sizeof where);
        cm_daemon_fail (daemon, "%s: %s", where, error);
        goto fail;
    }
    self->port = sipd_transport_port (self->transport);
    //  UDP reads and sends and the parsing of what arrives run on a
    //  thread of their own, beside this loop (TCP stays here)
    if (sipd_transport_offload_udp (self->transport, sipd_server_parse,
                                    sipd_server_deliver, sipd_server_drop,
                                    self) != 0)
        CM_LOG (CM_LOG_WARN, "server", "UDP stays on the main thread: "
                                       "its thread did not start");
    sipd_transport_on_close (self->transport, sipd_server_on_conn_closed, self);
    sipd_transport_on_udp_error (self->transport, sipd_server_on_udp_error,
                                 self);

    const char *events = cm_config_str (self->config, "ipc", "events");
    self->events = sipd_events_new (events, error, sizeof error);
    if (!self->events) {
        cm_config_where (self->config, "ipc", "events", where, sizeof where);
        cm_daemon_fail (daemon, "%s: %s", where, error);
        goto fail;
    }
    self->registrar = sipd_registrar_new (self->config, self->loop,
                                          self->events);
    if (!self->registrar) {
        cm_daemon_fail (daemon, "cannot start the registrar (see log)");
        goto fail;
    }
    cm_service_on (cm_daemon_service (daemon), "status",
                   sipd_registrar_on_status, self->registrar);
    self->timer_id =
        zloop_timer (self->loop, TIMER_MS, 0, sipd_server_timer, self);
    CM_LOG (CM_LOG_INFO, "server", "listening on %s port %d (udp, tcp)",
            self->host, self->port);
    return self;

fail:
    sipd_server_destroy (&self);
    return NULL;
}

void
sipd_server_destroy (sipd_server_t **self_p)
{
    assert (self_p);
    sipd_server_t *self = *self_p;
    if (!self)
        return;
    if (self->timer_id > 0)
        zloop_timer_end (self->loop, self->timer_id);
    sipd_registrar_destroy (&self->registrar);
    sipd_events_destroy (&self->events);
    //  before osip_release: the UDP thread parses with libosip2's tables
    sipd_transport_destroy (&self->transport);
    if (self->osip) {
        //  free every live transaction with its context
        zlistx_t *all = zhashx_values (self->txns);
        osip_transaction_t *tr = zlistx_first (all);
        while (tr) {
            s_txn_t *txn = osip_transaction_get_reserved1 (tr);
            if (!txn || txn->listed)
                osip_remove_transaction (self->osip, tr);
            if (txn)
                free (txn->key);
            free (txn);
            osip_transaction_set_reserved1 (tr, NULL);
            osip_transaction_free2 (tr);
            tr = zlistx_next (all);
        }
        zlistx_destroy (&all);
        sipd_server_collect (self);
        osip_release (self->osip);
    }
    zhashx_destroy (&self->handlers);
    zlistx_destroy (&self->allow_old);
    free (atomic_load (&self->allow_shared));
    zhashx_destroy (&self->txns);
    zlistx_destroy (&self->dead);
    zhashx_destroy (&self->ist_map);
    zhashx_destroy (&self->client_map);
    zlistx_destroy (&self->ready);
    sipd_nist_destroy (&self->nist);
    sipd_linger_destroy (&self->ist_linger);

    sipd_timerq_destroy (&self->timerq);
    free (self->due);
    free (self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------
//  TU API

void
sipd_server_on_request (sipd_server_t *self, const char *method,
                        sipd_request_fn *fn, void *arg)
{
    assert (self);
    assert (method);
    if (fn) {
        s_handler_t *handler = zmalloc (sizeof *handler);
        handler->fn = fn;
        handler->arg = arg;
        zhashx_update (self->handlers, method, handler);
    }
    else
        zhashx_delete (self->handlers, method);
    s_update_allow (self);
}

void
sipd_server_on_stray_2xx (sipd_server_t *self, sipd_stray_2xx_fn *fn,
                          void *arg)
{
    assert (self);
    self->stray_fn = fn;
    self->stray_arg = arg;
}

const char *
sipd_server_host (sipd_server_t *self)
{
    assert (self);
    return self->host;
}

int
sipd_server_port (sipd_server_t *self)
{
    assert (self);
    return self->port;
}

zloop_t *
sipd_server_loop (sipd_server_t *self)
{
    assert (self);
    return self->loop;
}

cm_config_t *
sipd_server_config (sipd_server_t *self)
{
    assert (self);
    return self->config;
}

cm_service_t *
sipd_server_service (sipd_server_t *self)
{
    assert (self);
    return cm_daemon_service (self->daemon);
}

sipd_registrar_t *
sipd_server_registrar (sipd_server_t *self)
{
    assert (self);
    return self->registrar;
}

sipd_events_t *
sipd_server_events (sipd_server_t *self)
{
    assert (self);
    return self->events;
}

size_t
sipd_server_txn_count (sipd_server_t *self)
{
    assert (self);
    return zhashx_size (self->txns) + sipd_nist_size (self->nist)
           + sipd_linger_size (self->ist_linger);
}

size_t
sipd_server_conn_count (sipd_server_t *self)
{
    assert (self);
    return sipd_transport_conn_count (self->transport);
}
