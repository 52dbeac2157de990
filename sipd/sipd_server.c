//  sipd_server — sipd's SIP core: transports, validation, libosip2
//  transactions and the TU dispatch. See sipd_server.h.
//
//  How the transaction layer is driven. libosip2 keeps four lists of
//  transactions (ICT, IST, NICT, NIST), each with a FIFO of events.
//  Received messages and TU responses become events added to a
//  transaction (s_add_event, which also queues the transaction on the
//  ready list); s_run pops the events of the ready transactions only and
//  runs their state machines, which call back into this file to send
//  (cb_send_message), to report received requests and responses (message
//  callbacks) and to report a transaction's end (kill callbacks).
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
//  so s_run is not re-entered: a callback that adds an event (a TU that
//  answers at once) only queues the transaction, and the outer s_run
//  drains the ready list. A transaction that ended is removed from osip's
//  lists and the maps in the kill callback but freed only after the
//  execute loop (s_collect), because the loop still holds it.
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

#include "sipd_server.h"
#include "sipd_check.h"
#include "sipd_events.h"
#include "sipd_msg.h"
#include "sipd_nist.h"
#include "sipd_registrar.h"
#include "sipd_timerq.h"
#include "sipd_transport.h"
#include "cm_log.h"

#include <osip2/osip_time.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <stdint.h>
#include <time.h>
#include <string.h>
#include <strings.h>

#define TIMER_MS 20             //  transaction timer granularity
#define RUN_BUDGET 100000       //  transactions run per s_run at most
#define TRIM_DROP 2048          //  expired transactions before a heap trim
#define SERVER_SUPPORTED ""     //  option tags we support (none yet)
#define SERVER_ACCEPT "application/sdp"

typedef struct {
    sipd_request_fn *fn;        //  TU handler
    void *arg;                  //  its argument
} s_handler_t;

//  Per-transaction context (osip reserved1).
typedef struct {
    int id;                     //  txn_id handed to the TU
    bool client;                //  ICT/NICT
    sipd_source_t peer;         //  source (server) or destination (client)
    sipd_response_fn *fn;       //  client: TU callback or NULL
    void *arg;                  //  its argument
    bool final_seen;            //  client: final response/error reported
    bool killed;                //  ended; freed by s_collect
    char *key;                  //  match key in ist_map/client_map or NULL
    int64_t due;                //  deadline queued in timerq, -1 none
    bool responded;             //  server: the TU sent a response
    bool listed;                //  still in libosip2's list of its kind
} s_txn_t;

struct _sipd_server_t {
    cm_daemon_t *daemon;        //  borrowed
    zloop_t *loop;              //  borrowed
    cm_config_t *config;        //  borrowed
    osip_t *osip;               //  transaction layer (owned)
    sipd_transport_t *transport;    //  UDP+TCP (owned)
    sipd_events_t *events;      //  PUB socket on [ipc] events (owned)
    sipd_registrar_t *registrar;    //  REGISTER handler (owned)
    char host[64];              //  listen address, numeric
    int port;                   //  listen port
    zhashx_t *handlers;         //  method -> s_handler_t (owned)
    zhashx_t *txns;             //  id -> osip_transaction_t (borrowed)
    zlistx_t *dead;             //  ended transactions to free
    zhashx_t *ist_map;          //  match key -> IST (borrowed)
    zhashx_t *client_map;       //  match key -> ICT/NICT (borrowed)
    zlistx_t *ready;            //  transactions with queued events
    sipd_nist_t *nist;          //  non-INVITE server transactions (owned)
    sipd_timerq_t *timerq;      //  txn_ids by next timer deadline (owned)
    int *due;                   //  txn_ids due in this tick (owned)
    size_t due_slots;           //  its size
    int next_id;                //  next txn_id
    size_t nist_peak;           //  sipd_nist size since the last trim
    char allow[256];            //  Allow header value
    sipd_check_policy_t policy; //  what validation accepts
    sipd_stray_2xx_fn *stray_fn;    //  2xx without transaction
    void *stray_arg;            //  its argument
    int timer_id;               //  zloop timer
    bool running;               //  inside s_run
};

static void s_run (sipd_server_t *self);

// ---------------------------------------------------------------------
//  Helpers

static sipd_server_t *
s_self (osip_transaction_t *tr)
{
    return osip_get_application_context (tr->config);
}

static size_t
s_int_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_int_compare (const void *a, const void *b)
{
    intptr_t x = (intptr_t) a, y = (intptr_t) b;
    return x < y ? -1 : x > y;
}

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
s_next_id (sipd_server_t *self)
{
    int id = self->next_id++;
    if (self->next_id <= 0)
        self->next_id = 1;
    return id;
}

static osip_transaction_t *
s_txn_lookup (sipd_server_t *self, int txn_id)
{
    if (txn_id <= 0)
        return NULL;
    return zhashx_lookup (self->txns, (void *) (intptr_t) txn_id);
}

static void s_trace (const char *file, int line, osip_trace_level_t level,
                     const char *fmt, va_list ap)
    __attribute__ ((format (printf, 4, 0)));

//  Match key from a top Via: branch, sent-by and method. RFC 3261
//  §17.2.3 for server transactions (ACK maps to INVITE); for client
//  transactions (§17.1.3) sent_by is false: branch and CSeq method.
//  NULL without an RFC 3261 branch (magic cookie).
static char *
s_via_key (const osip_via_t *via, const char *method, bool sent_by)
{
    osip_generic_param_t *branch = NULL;
    if (!via || !method)
        return NULL;
    osip_via_param_get_byname ((osip_via_t *) via, "branch", &branch);
    if (!branch || !branch->gvalue
        || strncmp (branch->gvalue, "z9hG4bK", 7) != 0)
        return NULL;
    char *key = zsys_sprintf ("%s|%s|%s|%s", branch->gvalue,
                              sent_by && via->host ? via->host : "",
                              sent_by && via->port ? via->port : "", method);
    if (key && sent_by)
        for (char *c = key + strlen (branch->gvalue); *c; c++)
            *c = (char) tolower ((unsigned char) *c);
    return key;
}

//  Queue an event on a transaction and remember to run it.
static void
s_add_event (sipd_server_t *self, osip_transaction_t *tr, osip_event_t *evt)
{
    evt->transactionid = tr->transactionid;
    osip_transaction_add_event (tr, evt);
    zlistx_add_end (self->ready, tr);
}

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
}

//  Where a response to a request with this top Via goes (RFC 3261
//  §18.2.2, RFC 3581 §4): back on the TCP connection, else to received
//  (or the Via host) at rport (or the Via port, or 5060).
static int
s_via_dest (const osip_message_t *msg, const sipd_source_t *source,
            sipd_source_t *dest)
{
    *dest = *source;
    if (source->transport == SIPD_TRANSPORT_TCP)
        return 0;
    osip_via_t *via = osip_list_get (&msg->vias, 0);
    if (!via || !via->host)
        return -1;
    osip_generic_param_t *received = NULL, *rport = NULL;
    osip_via_param_get_byname (via, "received", &received);
    osip_via_param_get_byname (via, "rport", &rport);
    const char *host = received && received->gvalue ? received->gvalue
                                                    : via->host;
    snprintf (dest->ip, sizeof dest->ip, "%s", host);
    if (rport && rport->gvalue)
        dest->port = atoi (rport->gvalue);
    else if (via->port)
        dest->port = atoi (via->port);
    else
        dest->port = 5060;
    dest->conn_id = 0;
    return 0;
}

//  Add received/rport to the top Via (RFC 3261 §18.2.1, RFC 3581 §4).
static void
s_stamp_via (osip_message_t *msg, const sipd_source_t *source)
{
    osip_via_t *via = osip_list_get (&msg->vias, 0);
    if (!via)
        return;
    osip_generic_param_t *rport = NULL, *received = NULL;
    osip_via_param_get_byname (via, "rport", &rport);
    osip_via_param_get_byname (via, "received", &received);
    char port[16];
    snprintf (port, sizeof port, "%d", source->port);
    if (rport) {
        osip_free (rport->gvalue);
        rport->gvalue = osip_strdup (port);
    }
    bool differs = !via->host || strcmp (via->host, source->ip) != 0;
    if (received) {
        osip_free (received->gvalue);
        received->gvalue = osip_strdup (source->ip);
    }
    else if (differs || rport)
        osip_via_param_add (via, osip_strdup ("received"),
                            osip_strdup (source->ip));
    osip_message_force_update (msg);
}

//  An event for a received message (libosip2 builds those only from raw
//  bytes, osip_parse, which would parse a second time).
static osip_event_t *
s_incoming_event (osip_message_t *msg)
{
    osip_event_t *evt = osip_new_outgoing_sipmessage (msg);
    if (!evt)
        return NULL;
    int code = MSG_IS_RESPONSE (msg) ? osip_message_get_status_code (msg)
                                     : 0;
    evt->type = MSG_IS_INVITE (msg)   ? RCV_REQINVITE
                : MSG_IS_ACK (msg)    ? RCV_REQACK
                : MSG_IS_REQUEST (msg) ? RCV_REQUEST
                : code < 200          ? RCV_STATUS_1XX
                : code < 300          ? RCV_STATUS_2XX
                                      : RCV_STATUS_3456XX;
    return evt;
}

static int
s_send_raw (sipd_server_t *self, osip_message_t *msg,
            const sipd_source_t *dest, int *conn_id_p)
{
    size_t len = 0;
    char *text = sipd_msg_serialize (msg, &len);
    if (!text)
        return -1;
    int rc = sipd_transport_send (self->transport, dest, text, len,
                                  conn_id_p);
    osip_free (text);
    return rc;
}

//  Answer an invalid request statelessly.
static void
s_reply_stateless (sipd_server_t *self, const osip_message_t *request,
                   const sipd_check_result_t *result,
                   const sipd_source_t *source)
{
    osip_message_t *response
        = sipd_msg_response_new (request, result->code, result->reason);
    if (!response)
        return;
    if (result->hname[0])
        sipd_msg_add_header (response, result->hname, result->hvalue);
    sipd_source_t dest;
    if (s_via_dest (request, source, &dest) == 0)
        s_send_raw (self, response, &dest, NULL);
    osip_message_free (response);
}

// ---------------------------------------------------------------------
//  libosip2 callbacks

static int
s_cb_send (osip_transaction_t *tr, osip_message_t *msg, char *host, int port,
           int out_socket)
{
    sipd_server_t *self = s_self (tr);
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (!txn)
        return -1;
    sipd_source_t dest = txn->peer;
    if (dest.transport == SIPD_TRANSPORT_UDP
        || !sipd_transport_conn_is_open (self->transport, dest.conn_id)) {
        //  UDP, or the connection is gone: osip's host/port (from the
        //  Via for responses, the destination for requests)
        if (!host || port <= 0)
            return -1;
        if (!txn->client || dest.transport == SIPD_TRANSPORT_UDP) {
            snprintf (dest.ip, sizeof dest.ip, "%s", host);
            dest.port = port;
        }
        dest.conn_id = 0;
    }
    int conn_id = 0;
    if (s_send_raw (self, msg, &dest, &conn_id) != 0) {
        CM_LOG_CALL (CM_LOG_INFO, "server", msg->call_id
                     ? msg->call_id->number : NULL,
                     "cannot send to %s:%d", dest.ip, dest.port);
        return -1;
    }
    if (conn_id)
        txn->peer.conn_id = conn_id;
    return 0;
}

static void
s_cb_kill (int type, osip_transaction_t *tr)
{
    sipd_server_t *self = s_self (tr);
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn) {
        if (txn->client && !txn->final_seen && txn->fn) {
            //  ended without a final response nor a reported error
            txn->final_seen = true;
            txn->fn (txn->arg, txn->id, NULL, 408);
        }
        zhashx_delete (self->txns, (void *) (intptr_t) txn->id);
        zhashx_t *map = txn->client ? self->client_map : self->ist_map;
        if (txn->key && zhashx_lookup (map, txn->key) == tr)
            zhashx_delete (map, txn->key);
        txn->killed = true;
    }
    if (!txn || txn->listed)
        osip_remove_transaction (self->osip, tr);
    zlistx_add_end (self->dead, tr);
}

static void
s_cb_transport_error (int type, osip_transaction_t *tr, int error)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn && txn->client && !txn->final_seen && txn->fn) {
        txn->final_seen = true;
        txn->fn (txn->arg, txn->id, NULL, 503);
    }
}

static void
s_cb_timeout (int type, osip_transaction_t *tr, osip_message_t *msg)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn && txn->client && !txn->final_seen && txn->fn) {
        txn->final_seen = true;
        txn->fn (txn->arg, txn->id, NULL, 408);
    }
}

static void
s_cb_response (int type, osip_transaction_t *tr, osip_message_t *msg)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (!txn || !txn->client || !msg)
        return;
    int code = osip_message_get_status_code (msg);
    if (txn->final_seen && !(code >= 200 && code < 300))
        return;
    if (code >= 200)
        txn->final_seen = true;
    if (txn->fn)
        txn->fn (txn->arg, txn->id, msg, code);
}

static void s_dispatch (sipd_server_t *self, int txn_id,
                        osip_message_t *request, const sipd_source_t *source);

static void
s_cb_request (int type, osip_transaction_t *tr, osip_message_t *msg)
{
    sipd_server_t *self = s_self (tr);
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (!txn || !msg)
        return;
    int id = txn->id;
    s_dispatch (self, id, msg, &txn->peer);
    //  100 Trying unless the TU answered at once (a 407 challenge, a
    //  404...): it stops the caller's INVITE retransmissions while the TU
    //  works (RFC 3261 §17.2.1: unless the TU will answer within 200 ms).
    //  The TU's responses are queued, not yet sent, so the 100 does not
    //  overtake them.
    if (type == OSIP_IST_INVITE_RECEIVED && s_txn_lookup (self, id) == tr
        && !txn->responded) {
        osip_message_t *trying = sipd_msg_response_new (msg, 100, NULL);
        if (trying)
            s_add_event (self, tr, osip_new_outgoing_sipmessage (trying));
    }
}

// ---------------------------------------------------------------------
//  The TU side of server transactions

static void
s_answer_options (sipd_server_t *self, int txn_id,
                  const osip_message_t *request)
{
    osip_message_t *response = sipd_msg_response_new (request, 200, NULL);
    if (!response)
        return;
    sipd_msg_add_header (response, "Allow", self->allow);
    sipd_msg_add_header (response, "Accept", SERVER_ACCEPT);
    sipd_msg_add_header (response, "Accept-Encoding", "identity");
    sipd_msg_add_header (response, "Accept-Language", "en");
    sipd_msg_add_header (response, "Supported", SERVER_SUPPORTED);
    sipd_server_respond (self, txn_id, &response);
}

static void
s_answer_cancel (sipd_server_t *self, int txn_id,
                 const osip_message_t *request)
{
    int invite_id = sipd_server_find_invite (self, request);
    if (!invite_id) {
        sipd_server_respond_code (self, txn_id, 481, NULL);
        return;
    }
    sipd_server_respond_code (self, txn_id, 200, NULL);
    sipd_server_respond_code (self, invite_id, 487, NULL);
}

static void
s_answer_register (sipd_server_t *self, int txn_id,
                   const osip_message_t *request, const sipd_source_t *source)
{
    if (!self->registrar) {
        sipd_server_respond_code (self, txn_id, 501, NULL);
        return;
    }
    osip_message_t *response
        = sipd_registrar_handle (self->registrar, request, source);
    //  A TCP connection that registered a phone stays open as long as the
    //  longest binding it can carry (see sipd_transport_keep_open).
    if (response && osip_message_get_status_code (response) == 200
        && source->transport == SIPD_TRANSPORT_TCP)
        sipd_transport_keep_open (
            self->transport, source->conn_id,
            (int) cm_config_int (self->config, "sipd", "max_expires") + 32);
    if (response)
        sipd_server_respond (self, txn_id, &response);
    else
        sipd_server_respond_code (self, txn_id, 500, NULL);
}

static void
s_dispatch (sipd_server_t *self, int txn_id, osip_message_t *request,
            const sipd_source_t *source)
{
    const char *method = request->sip_method;
    CM_LOG_CALL (CM_LOG_DEBUG, "server",
                 request->call_id ? request->call_id->number : NULL,
                 "request %s txn=%d from %s:%d/%s", method, txn_id,
                 source->ip, source->port,
                 source->transport == SIPD_TRANSPORT_TCP ? "tcp" : "udp");
    s_handler_t *handler = zhashx_lookup (self->handlers, method);
    if (handler) {
        handler->fn (handler->arg, txn_id, request, source);
        return;
    }
    if (strcmp (method, "ACK") == 0)
        return;     //  an ACK for a 2xx nobody sent: nothing to do
    if (strcmp (method, "OPTIONS") == 0)
        s_answer_options (self, txn_id, request);
    else if (strcmp (method, "CANCEL") == 0)
        s_answer_cancel (self, txn_id, request);
    else if (strcmp (method, "REGISTER") == 0)
        s_answer_register (self, txn_id, request, source);
    else {
        osip_message_t *response
            = sipd_msg_response_new (request, 405, NULL);
        if (response) {
            sipd_msg_add_header (response, "Allow", self->allow);
            sipd_server_respond (self, txn_id, &response);
        }
    }
}

// ---------------------------------------------------------------------
//  The transaction loop

//  Free transactions that ended during the last execute.
static void
s_collect (sipd_server_t *self)
{
    osip_transaction_t *tr = zlistx_first (self->dead);
    while (tr) {
        //  normally empty here; never leave a dangling pointer in it
        while (zlistx_find (self->ready, tr))
            zlistx_detach_cur (self->ready);
        s_txn_t *txn = osip_transaction_get_reserved1 (tr);
        if (txn)
            free (txn->key);
        free (txn);
        osip_transaction_set_reserved1 (tr, NULL);
        osip_transaction_free2 (tr);
        tr = zlistx_next (self->dead);
    }
    zlistx_purge (self->dead);
}

//  ---------------------------------------------------------------------
//  Transaction timers

//  A libosip2 timer deadline in microseconds, or -1 when not armed.
static int64_t
s_tv_us (const struct timeval *tv)
{
    if (tv->tv_sec == -1)
        return -1;
    return (int64_t) tv->tv_sec * 1000000 + tv->tv_usec;
}

//  The earlier of two deadlines (-1: none).
static int64_t
s_earlier (int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

//  The earliest deadline among the timers libosip2 checks for the
//  transaction's current state (see __osip_*_need_timer_*_event), or -1.
static int64_t
s_next_deadline (const osip_transaction_t *tr)
{
    state_t st = tr->state;
    if (tr->ctx_type == ICT && tr->ict_context) {
        const osip_ict_t *c = tr->ict_context;
        if (st == ICT_CALLING)
            return s_earlier (s_tv_us (&c->timer_a_start),
                              s_tv_us (&c->timer_b_start));
        if (st == ICT_COMPLETED)
            return s_tv_us (&c->timer_d_start);
    }
    else if (tr->ctx_type == IST && tr->ist_context) {
        const osip_ist_t *c = tr->ist_context;
        if (st == IST_COMPLETED)
            return s_earlier (s_tv_us (&c->timer_g_start),
                              s_tv_us (&c->timer_h_start));
        if (st == IST_CONFIRMED)
            return s_tv_us (&c->timer_i_start);
    }
    else if (tr->ctx_type == NICT && tr->nict_context) {
        const osip_nict_t *c = tr->nict_context;
        if (st == NICT_TRYING || st == NICT_PROCEEDING)
            return s_earlier (s_tv_us (&c->timer_e_start),
                              s_tv_us (&c->timer_f_start));
        if (st == NICT_COMPLETED)
            return s_tv_us (&c->timer_k_start);
    }
    else if (tr->ctx_type == NIST && tr->nist_context) {
        if (st == NIST_COMPLETED)
            return s_tv_us (&tr->nist_context->timer_j_start);
    }
    return -1;
}

//  True when the armed deadline has passed (libosip2: now > deadline).
static bool
s_expired (const struct timeval *deadline, const struct timeval *now)
{
    return deadline->tv_sec != -1 && osip_timercmp (now, deadline, >);
}

//  The timer event libosip2's osip_timers_*_execute would queue for this
//  transaction now (one per tick, in its order of precedence), or -1.
static int
s_due_timer (const osip_transaction_t *tr, const struct timeval *now)
{
    state_t st = tr->state;
    if (tr->ctx_type == ICT && tr->ict_context) {
        const osip_ict_t *c = tr->ict_context;
        if (st == ICT_CALLING && s_expired (&c->timer_b_start, now))
            return TIMEOUT_B;
        if (st == ICT_CALLING && s_expired (&c->timer_a_start, now))
            return TIMEOUT_A;
        if (st == ICT_COMPLETED && s_expired (&c->timer_d_start, now))
            return TIMEOUT_D;
    }
    else if (tr->ctx_type == IST && tr->ist_context) {
        const osip_ist_t *c = tr->ist_context;
        if (st == IST_CONFIRMED && s_expired (&c->timer_i_start, now))
            return TIMEOUT_I;
        if (st == IST_COMPLETED && s_expired (&c->timer_h_start, now))
            return TIMEOUT_H;
        if (st == IST_COMPLETED && s_expired (&c->timer_g_start, now))
            return TIMEOUT_G;
    }
    else if (tr->ctx_type == NICT && tr->nict_context) {
        const osip_nict_t *c = tr->nict_context;
        bool active = st == NICT_TRYING || st == NICT_PROCEEDING;
        if (st == NICT_COMPLETED && s_expired (&c->timer_k_start, now))
            return TIMEOUT_K;
        if (active && s_expired (&c->timer_f_start, now))
            return TIMEOUT_F;
        if (active && s_expired (&c->timer_e_start, now))
            return TIMEOUT_E;
    }
    else if (tr->ctx_type == NIST && tr->nist_context) {
        if (st == NIST_COMPLETED
            && s_expired (&tr->nist_context->timer_j_start, now))
            return TIMEOUT_J;
    }
    return -1;
}

//  Queue the transaction's next timer deadline, unless it is queued
//  already. An earlier entry with another deadline becomes stale.
static void
s_schedule (sipd_server_t *self, osip_transaction_t *tr)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (!txn || txn->killed)
        return;
    int64_t due = s_next_deadline (tr);
    if (due == txn->due)
        return;
    txn->due = due;
    if (due >= 0 && sipd_timerq_push (self->timerq, due, txn->id) != 0) {
        CM_LOG (CM_LOG_ERROR, "server", "txn=%d: no memory for its timer",
                txn->id);
        txn->due = -1;
    }
}

//  Run the queued events of the transactions that got some, and only
//  those (what osip_*_execute does for every transaction of a list),
//  then queue their next timers. Callbacks may queue more; the loop is
//  bounded all the same.
static void
s_run_ready (sipd_server_t *self)
{
    size_t budget = RUN_BUDGET;
    osip_transaction_t *tr;
    while (budget-- > 0 && (tr = zlistx_detach (self->ready, NULL))) {
        s_txn_t *txn = osip_transaction_get_reserved1 (tr);
        if (txn && txn->killed)
            continue;   //  its queued events go with osip_transaction_free2
        osip_event_t *evt;
        while ((evt = osip_fifo_tryget (tr->transactionff)))
            osip_transaction_execute (tr, evt);
        s_schedule (self, tr);
    }
}

//  Collect the txn_ids whose queued deadline has passed (stale entries
//  are dropped here) into self->due; returns how many.
static size_t
s_collect_due (sipd_server_t *self, int64_t now_us)
{
    size_t n = 0;
    int id;
    int64_t deadline;
    while (sipd_timerq_pop_due (self->timerq, now_us, &id, &deadline)) {
        osip_transaction_t *tr = s_txn_lookup (self, id);
        s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
        if (!txn || txn->killed || txn->due != deadline)
            continue;   //  ended, or its deadline moved since
        txn->due = -1;  //  s_schedule queues it again
        if (n == self->due_slots) {
            size_t slots = self->due_slots ? self->due_slots * 2 : 256;
            int *due = realloc (self->due, slots * sizeof (int));
            if (!due) {
                //  keep it for the next tick
                txn->due = deadline;
                sipd_timerq_push (self->timerq, deadline, id);
                break;
            }
            self->due = due;
            self->due_slots = slots;
        }
        self->due[n++] = id;
    }
    return n;
}

//  Give the due transactions their timer events and run them.
static void
s_fire_timers (sipd_server_t *self)
{
    struct timeval now;
    osip_gettimeofday (&now, NULL);
    int64_t now_us = (int64_t) now.tv_sec * 1000000 + now.tv_usec;
    size_t n = s_collect_due (self, now_us);
    for (size_t i = 0; i < n; i++) {
        //  an earlier one's callbacks may have ended this one
        osip_transaction_t *tr = s_txn_lookup (self, self->due[i]);
        s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
        if (!txn || txn->killed)
            continue;
        int type = osip_fifo_size (tr->transactionff) < 1
                       ? s_due_timer (tr, &now)
                       : -1;
        osip_event_t *evt = type >= 0 ? osip_malloc (sizeof *evt) : NULL;
        if (evt) {
            memset (evt, 0, sizeof *evt);
            evt->type = (type_t) type;
            s_add_event (self, tr, evt);
        }
        else
            //  not quite due (libosip2 fires strictly after the
            //  deadline), or events pending: look again next tick
            s_schedule (self, tr);
        if (zlistx_size (self->ready) >= 256)
            s_run_ready (self);
    }
    s_run_ready (self);
}

static void
s_run (sipd_server_t *self)
{
    if (self->running)
        return;     //  the outer s_run drains the ready list
    self->running = true;
    s_run_ready (self);
    self->running = false;
    s_collect (self);
}

static int
s_timer (zloop_t *loop, int timer_id, void *arg)
{
    sipd_server_t *self = arg;
    self->running = true;
    s_fire_timers (self);
    self->running = false;
    s_collect (self);
    sipd_nist_expire (self->nist, s_now_ms ());
    //  After a burst (a fleet of phones registering) thousands of
    //  transactions expire together 32 s later; give that memory back to
    //  the system instead of keeping the heap at its peak.
    size_t size = sipd_nist_size (self->nist);
    if (size > self->nist_peak)
        self->nist_peak = size;
    else if (self->nist_peak - size >= TRIM_DROP) {
        malloc_trim (0);
        self->nist_peak = size;
    }
    return 0;
}

//  Take a new transaction out of libosip2's list of its kind (where
//  osip_transaction_init put it). Matching is ours (hash maps) and so are
//  the timers (timerq), so the lists only cost: adding to and removing
//  from them walks the whole list, O(live transactions) per transaction.
//  Only INVITE server transactions without an RFC 3261 branch stay,
//  for libosip2's matching rules.
static void
s_unlist (sipd_server_t *self, osip_transaction_t *tr)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn && txn->listed) {
        //  just added at the end: the list holds only such stragglers
        osip_remove_transaction (self->osip, tr);
        txn->listed = false;
    }
}

static s_txn_t *
s_txn_new (sipd_server_t *self, osip_transaction_t *tr, bool client,
           const sipd_source_t *peer)
{
    s_txn_t *txn = zmalloc (sizeof *txn);
    txn->id = s_next_id (self);
    txn->client = client;
    txn->peer = *peer;
    txn->due = -1;
    txn->listed = true;
    osip_transaction_set_reserved1 (tr, txn);
    zhashx_insert (self->txns, (void *) (intptr_t) txn->id, tr);
    return txn;
}

//  A non-INVITE request: a retransmission gets the last response again,
//  a new one a sipd_nist entry and the TU.
static void
s_nist_request (sipd_server_t *self, osip_message_t *msg,
                const sipd_source_t *source)
{
    char *key = sipd_nist_key (msg);
    int id = sipd_nist_find (self->nist, key);
    if (id) {
        size_t len = 0;
        const char *last = sipd_nist_last (self->nist, id, &len);
        if (last)
            sipd_transport_send (self->transport,
                                 sipd_nist_dest (self->nist, id), last, len,
                                 NULL);
        free (key);
        osip_message_free (msg);
        return;
    }
    sipd_source_t dest;
    if (!key || s_via_dest (msg, source, &dest) != 0) {
        free (key);
        osip_message_free (msg);
        return;
    }
    id = s_next_id (self);
    int rc = sipd_nist_add (self->nist, id, key, &msg, source, &dest);
    free (key);
    if (rc != 0)
        return;
    //  borrowed from the table; stays valid until the next expire
    osip_message_t *request
        = (osip_message_t *) sipd_nist_request (self->nist, id);
    s_dispatch (self, id, request, source);
}

static void
s_incoming_request (sipd_server_t *self, osip_message_t *msg,
                    const sipd_source_t *source)
{
    if (!MSG_IS_INVITE (msg) && !MSG_IS_ACK (msg)) {
        s_nist_request (self, msg, source);
        return;
    }
    osip_event_t *evt = s_incoming_event (msg);
    if (!evt) {
        osip_message_free (msg);
        return;
    }
    //  a retransmission, or an ACK for a non-2xx: the transaction has it
    char *key = s_via_key (osip_list_get (&msg->vias, 0), "INVITE", true);
    osip_transaction_t *found = NULL;
    if (key)
        found = zhashx_lookup (self->ist_map, key);
    else    //  pre-RFC 3261 peer: libosip2's full matching rules
        found = osip_transaction_find (&self->osip->osip_ist_transactions,
                                       evt);
    if (found) {
        free (key);
        s_add_event (self, found, evt);
        s_run (self);
        return;
    }
    if (MSG_IS_ACK (msg)) {
        //  ACK for a 2xx: no transaction, straight to the TU
        free (key);
        s_dispatch (self, 0, msg, source);
        osip_event_free (evt);
        return;
    }
    osip_transaction_t *tr = NULL;
    osip_fsm_type_t type = MSG_IS_INVITE (msg) ? IST : NIST;
    if (osip_transaction_init (&tr, type, self->osip, msg) != 0) {
        CM_LOG (CM_LOG_INFO, "server", "cannot create a transaction");
        free (key);
        osip_event_free (evt);
        return;
    }
    s_txn_t *txn = s_txn_new (self, tr, false, source);
    if (key && type == IST) {
        txn->key = key;
        zhashx_insert (self->ist_map, key, tr);
        s_unlist (self, tr);
    }
    else
        free (key);
    s_add_event (self, tr, evt);
    s_run (self);
}

static void
s_incoming_response (sipd_server_t *self, osip_message_t *msg,
                     const sipd_source_t *source)
{
    osip_event_t *evt = s_incoming_event (msg);
    if (!evt) {
        osip_message_free (msg);
        return;
    }
    //  sipd's own branches (s_add_via) are unique: branch and CSeq
    //  method identify the client transaction (RFC 3261 §17.1.3)
    char *key = s_via_key (osip_list_get (&msg->vias, 0),
                           msg->cseq ? msg->cseq->method : NULL, false);
    osip_transaction_t *found = key ? zhashx_lookup (self->client_map, key)
                                    : NULL;
    free (key);
    if (found) {
        s_add_event (self, found, evt);
        s_run (self);
        return;
    }
    int code = osip_message_get_status_code (msg);
    if (code >= 200 && code < 300 && msg->cseq
        && strcmp (msg->cseq->method, "INVITE") == 0 && self->stray_fn)
        self->stray_fn (self->stray_arg, msg, source);
    else
        CM_LOG_CALL (CM_LOG_DEBUG, "server",
                     msg->call_id ? msg->call_id->number : NULL,
                     "response %d matches no transaction, dropped", code);
    osip_event_free (evt);
}

//  Everything the transport reads lands here.
static void
s_on_message (void *arg, const char *data, size_t size,
              const sipd_source_t *source, sipd_transport_error_t error)
{
    sipd_server_t *self = arg;
    osip_message_t *msg = NULL;
    sipd_check_result_t result;
    int code = sipd_check_message (data, size, &self->policy, &msg, &result);
    if (error != SIPD_TRANSPORT_OK && code >= 0) {
        //  TCP framing faults override what the headers said
        if (msg && MSG_IS_REQUEST (msg) && !MSG_IS_ACK (msg)) {
            code = error == SIPD_TRANSPORT_TOO_BIG ? 513 : 400;
            snprintf (result.reason, sizeof result.reason, "%s",
                      code == 513 ? "Message Too Large"
                                  : "Missing or Bad Content-Length");
            result.code = code;
            result.hname[0] = 0;
        }
        else
            code = -1;
    }
    if (code < 0) {
        CM_LOG (CM_LOG_DEBUG, "server", "dropped %zu bytes from %s:%d: %s",
                size, source->ip, source->port, result.reason);
        osip_message_free (msg);
        return;
    }
    if (MSG_IS_RESPONSE (msg)) {
        s_incoming_response (self, msg, source);
        return;
    }
    s_stamp_via (msg, source);
    if (code > 0) {
        CM_LOG_CALL (CM_LOG_INFO, "server",
                     msg->call_id ? msg->call_id->number : NULL,
                     "rejected %s from %s:%d: %d %s",
                     msg->sip_method ? msg->sip_method : "-", source->ip,
                     source->port, code, result.reason);
        s_reply_stateless (self, msg, &result, source);
        osip_message_free (msg);
        return;
    }
    s_incoming_request (self, msg, source);
}

//  A TCP connection failed (connect refused, write error): client
//  transactions waiting on it learn it now (503) instead of at timer B/F.
static void
s_on_conn_closed (void *arg, int conn_id, bool failed)
{
    sipd_server_t *self = arg;
    if (!failed)
        return;
    zlistx_t *all = zhashx_values (self->txns);
    osip_transaction_t *tr = zlistx_first (all);
    while (tr) {
        s_txn_t *txn = osip_transaction_get_reserved1 (tr);
        if (txn && txn->client && !txn->final_seen
            && txn->peer.transport == SIPD_TRANSPORT_TCP
            && txn->peer.conn_id == conn_id) {
            txn->final_seen = true;
            if (txn->fn)
                txn->fn (txn->arg, txn->id, NULL, 503);
        }
        tr = zlistx_next (all);
    }
    zlistx_destroy (&all);
}

// ---------------------------------------------------------------------
//  Construction

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
    self->txns = zhashx_new ();
    zhashx_set_key_hasher (self->txns, s_int_hash);
    zhashx_set_key_comparator (self->txns, s_int_compare);
    zhashx_set_key_duplicator (self->txns, NULL);
    zhashx_set_key_destructor (self->txns, NULL);
    self->dead = zlistx_new ();
    self->ist_map = zhashx_new ();
    self->client_map = zhashx_new ();
    self->ready = zlistx_new ();
    self->nist = sipd_nist_new ();
    self->timerq = sipd_timerq_new ();
    self->next_id = 1;
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
    osip_set_cb_send_message (self->osip, s_cb_send);
    for (int type = OSIP_ICT_KILL_TRANSACTION;
         type <= OSIP_NIST_KILL_TRANSACTION; type++)
        osip_set_kill_transaction_callback (self->osip, type, s_cb_kill);
    for (int type = OSIP_ICT_TRANSPORT_ERROR;
         type <= OSIP_NIST_TRANSPORT_ERROR; type++)
        osip_set_transport_error_callback (self->osip, type,
                                           s_cb_transport_error);
    osip_set_message_callback (self->osip, OSIP_ICT_STATUS_TIMEOUT,
                               s_cb_timeout);
    osip_set_message_callback (self->osip, OSIP_NICT_STATUS_TIMEOUT,
                               s_cb_timeout);
    for (int type = OSIP_ICT_STATUS_1XX_RECEIVED;
         type <= OSIP_ICT_STATUS_6XX_RECEIVED; type++)
        osip_set_message_callback (self->osip, type, s_cb_response);
    for (int type = OSIP_NICT_STATUS_1XX_RECEIVED;
         type <= OSIP_NICT_STATUS_6XX_RECEIVED; type++)
        osip_set_message_callback (self->osip, type, s_cb_response);
    //  only INVITE server transactions are libosip2's (NIST: sipd_nist)
    osip_set_message_callback (self->osip, OSIP_IST_INVITE_RECEIVED,
                               s_cb_request);

    char error[256];
    self->transport = sipd_transport_new (self->loop, self->host, self->port,
                                          &limits, s_on_message, self, error,
                                          sizeof error);
    if (!self->transport) {
        cm_config_where (self->config, "sipd", "listen", where, sizeof where);
        cm_daemon_fail (daemon, "%s: %s", where, error);
        goto fail;
    }
    self->port = sipd_transport_port (self->transport);
    sipd_transport_on_close (self->transport, s_on_conn_closed, self);

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
    self->timer_id = zloop_timer (self->loop, TIMER_MS, 0, s_timer, self);
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
        s_collect (self);
        osip_release (self->osip);
    }
    sipd_transport_destroy (&self->transport);
    zhashx_destroy (&self->handlers);
    zhashx_destroy (&self->txns);
    zlistx_destroy (&self->dead);
    zhashx_destroy (&self->ist_map);
    zhashx_destroy (&self->client_map);
    zlistx_destroy (&self->ready);
    sipd_nist_destroy (&self->nist);
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

//  Respond in a sipd_nist transaction: send, remember for
//  retransmissions. Takes ownership of response.
static int
s_nist_respond (sipd_server_t *self, int txn_id, osip_message_t *response)
{
    int code = response ? osip_message_get_status_code (response) : 0;
    if (!sipd_nist_is_open (self->nist, txn_id) || !response
        || !MSG_IS_RESPONSE (response) || code < 100 || code > 699) {
        osip_message_free (response);
        return -1;
    }
    size_t len = 0;
    char *text = sipd_msg_serialize (response, &len);
    osip_message_free (response);
    if (!text)
        return -1;
    const sipd_source_t *dest = sipd_nist_dest (self->nist, txn_id);
    int conn_id = 0;
    if (sipd_transport_send (self->transport, dest, text, len, &conn_id) != 0)
        CM_LOG (CM_LOG_DEBUG, "server", "txn=%d cannot send %d to %s:%d",
                txn_id, code, dest->ip, dest->port);
    bool reliable = dest->transport == SIPD_TRANSPORT_TCP;
    sipd_nist_record (self->nist, txn_id, text, len, code >= 200,
                      s_now_ms (), reliable ? 0 : SIPD_NIST_LINGER_MS);
    osip_free (text);
    return 0;
}

int
sipd_server_respond (sipd_server_t *self, int txn_id,
                     osip_message_t **response_p)
{
    assert (self);
    assert (response_p);
    osip_message_t *response = *response_p;
    *response_p = NULL;
    if (sipd_nist_exists (self->nist, txn_id))
        return s_nist_respond (self, txn_id, response);
    osip_transaction_t *tr = s_txn_lookup (self, txn_id);
    int code = response ? osip_message_get_status_code (response) : 0;
    bool ok = tr && response && MSG_IS_RESPONSE (response) && code >= 100
              && code <= 699;
    if (ok && tr->ctx_type == NIST)
        ok = tr->state == NIST_TRYING || tr->state == NIST_PROCEEDING
             || tr->state == NIST_PRE_TRYING;
    else if (ok && tr->ctx_type == IST)
        ok = tr->state == IST_PROCEEDING || tr->state == IST_PRE_PROCEEDING;
    else
        ok = false;
    if (!ok) {
        osip_message_free (response);
        return -1;
    }
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn)
        txn->responded = true;
    s_add_event (self, tr, osip_new_outgoing_sipmessage (response));
    s_run (self);
    return 0;
}

int
sipd_server_respond_code (sipd_server_t *self, int txn_id, int code,
                          const char *reason)
{
    assert (self);
    const osip_message_t *request = sipd_server_txn_request (self, txn_id);
    if (!request)
        return -1;
    osip_message_t *response = sipd_msg_response_new (request, code, reason);
    if (!response)
        return -1;
    return sipd_server_respond (self, txn_id, &response);
}

const osip_message_t *
sipd_server_txn_request (sipd_server_t *self, int txn_id)
{
    assert (self);
    if (sipd_nist_exists (self->nist, txn_id))
        return sipd_nist_request (self->nist, txn_id);
    osip_transaction_t *tr = s_txn_lookup (self, txn_id);
    return tr ? tr->orig_request : NULL;
}

const sipd_source_t *
sipd_server_txn_source (sipd_server_t *self, int txn_id)
{
    assert (self);
    if (sipd_nist_exists (self->nist, txn_id))
        return sipd_nist_source (self->nist, txn_id);
    osip_transaction_t *tr = s_txn_lookup (self, txn_id);
    s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
    return txn ? &txn->peer : NULL;
}

static const char *
s_branch (const osip_message_t *msg)
{
    osip_via_t *via = osip_list_get (&msg->vias, 0);
    osip_generic_param_t *branch = NULL;
    if (via)
        osip_via_param_get_byname (via, "branch", &branch);
    return branch ? branch->gvalue : NULL;
}

int
sipd_server_find_invite (sipd_server_t *self, const osip_message_t *cancel)
{
    assert (self);
    if (!cancel || !cancel->call_id || !cancel->call_id->number)
        return 0;
    //  A CANCEL carries the INVITE's top Via (RFC 3261 §9.1): same branch
    //  and sent-by, so the INVITE's key in ist_map.
    char *key = s_via_key (osip_list_get (&cancel->vias, 0), "INVITE", true);
    osip_transaction_t *tr = key ? zhashx_lookup (self->ist_map, key) : NULL;
    if (!key) {
        //  pre-RFC 3261 branch: compare branch and Call-ID one by one
        const char *branch = s_branch (cancel);
        for (tr = zhashx_first (self->txns); branch && tr;
             tr = zhashx_next (self->txns)) {
            const osip_message_t *invite = tr->orig_request;
            const char *invite_branch
                = tr->ctx_type == IST && invite ? s_branch (invite) : NULL;
            if (invite_branch && strcmp (invite_branch, branch) == 0
                && invite->call_id && invite->call_id->number
                && strcmp (invite->call_id->number, cancel->call_id->number)
                       == 0)
                break;
        }
    }
    free (key);
    s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
    if (!txn || txn->killed || tr->ctx_type != IST || !tr->orig_request
        || !tr->orig_request->call_id || !tr->orig_request->call_id->number
        || strcmp (tr->orig_request->call_id->number,
                   cancel->call_id->number) != 0)
        return 0;
    return txn->id;
}

//  Prepend our Via (fresh branch, rport) to an outgoing request. Built
//  field by field (what osip_via_parse of "SIP/2.0/UDP host:port;rport;
//  branch=z9hG4bK..." gives, IPv6 hosts without brackets), not printed
//  and parsed back.
static int
s_add_via (sipd_server_t *self, osip_message_t *request,
           sipd_transport_kind_t transport)
{
    static const char hex[] = "0123456789abcdef";
    char branch[7 + 16 + 1] = "z9hG4bK";
    unsigned int r[2] = {(unsigned) osip_build_random_number (),
                         (unsigned) osip_build_random_number ()};
    for (int i = 0; i < 16; i++)
        branch[7 + i] = hex[(r[i / 8] >> (28 - 4 * (i % 8))) & 15];
    branch[23] = 0;
    char port[8];
    snprintf (port, sizeof port, "%d", self->port);
    osip_via_t *via = NULL;
    if (osip_via_init (&via) != 0)
        return -1;
    via_set_version (via, osip_strdup ("2.0"));
    via_set_protocol (via, osip_strdup (transport == SIPD_TRANSPORT_TCP
                                            ? "TCP"
                                            : "UDP"));
    via_set_host (via, osip_strdup (self->host));
    via_set_port (via, osip_strdup (port));
    if (osip_via_param_add (via, osip_strdup ("rport"), NULL) != 0
        || osip_via_param_add (via, osip_strdup ("branch"),
                               osip_strdup (branch))
               != 0
        || !via->version || !via->protocol || !via->host || !via->port) {
        osip_via_free (via);
        return -1;
    }
    osip_list_add (&request->vias, via, 0);
    if (!sipd_msg_header (request, "Max-Forwards"))
        sipd_msg_add_header (request, "Max-Forwards", "70");
    osip_message_force_update (request);
    return 0;
}

static int
s_send_request (sipd_server_t *self, osip_message_t *request,
                const sipd_source_t *dest, sipd_response_fn *fn, void *arg)
{
    osip_transaction_t *tr = NULL;
    osip_fsm_type_t type = MSG_IS_INVITE (request) ? ICT : NICT;
    if (osip_transaction_init (&tr, type, self->osip, request) != 0) {
        osip_message_free (request);
        return -1;
    }
    if (type == ICT)
        osip_ict_set_destination (tr->ict_context, osip_strdup (dest->ip),
                                  dest->port);
    else
        osip_nict_set_destination (tr->nict_context, osip_strdup (dest->ip),
                                   dest->port);
    s_txn_t *txn = s_txn_new (self, tr, true, dest);
    txn->fn = fn;
    txn->arg = arg;
    int txn_id = txn->id;
    char *key = s_via_key (osip_list_get (&request->vias, 0),
                           request->cseq ? request->cseq->method : NULL,
                           false);
    if (key && !zhashx_lookup (self->client_map, key)) {
        txn->key = key;
        zhashx_insert (self->client_map, key, tr);
    }
    else
        free (key);
    //  responses are matched in client_map only
    s_unlist (self, tr);
    s_add_event (self, tr, osip_new_outgoing_sipmessage (request));
    s_run (self);
    return txn_id;
}

static bool
s_request_ok (const osip_message_t *request)
{
    return request && MSG_IS_REQUEST (request) && request->sip_method
           && request->req_uri && request->call_id && request->cseq
           && request->from && request->to;
}

int
sipd_server_send_request (sipd_server_t *self, osip_message_t **request_p,
                          const sipd_source_t *dest, sipd_response_fn *fn,
                          void *arg)
{
    assert (self);
    assert (request_p);
    assert (dest);
    osip_message_t *request = *request_p;
    *request_p = NULL;
    if (!s_request_ok (request) || MSG_IS_ACK (request)
        || s_add_via (self, request, dest->transport) != 0) {
        osip_message_free (request);
        return -1;
    }
    return s_send_request (self, request, dest, fn, arg);
}

int
sipd_server_cancel (sipd_server_t *self, int txn_id)
{
    assert (self);
    osip_transaction_t *tr = s_txn_lookup (self, txn_id);
    s_txn_t *txn = tr ? osip_transaction_get_reserved1 (tr) : NULL;
    if (!tr || tr->ctx_type != ICT || !txn || txn->final_seen
        || !tr->orig_request)
        return -1;
    const osip_message_t *invite = tr->orig_request;
    osip_message_t *cancel = NULL;
    if (osip_message_init (&cancel) != 0)
        return -1;
    osip_message_set_method (cancel, osip_strdup ("CANCEL"));
    osip_message_set_version (cancel, osip_strdup ("SIP/2.0"));
    osip_uri_t *uri = NULL;
    osip_via_t *via = NULL;
    int rc = osip_uri_clone (invite->req_uri, &uri);
    if (rc == 0)
        osip_message_set_uri (cancel, uri);
    if (rc == 0)
        rc = osip_via_clone (osip_list_get (&invite->vias, 0), &via);
    if (rc == 0)
        osip_list_add (&cancel->vias, via, 0);
    if (rc == 0)
        rc = osip_from_clone (invite->from, &cancel->from);
    if (rc == 0)
        rc = osip_to_clone (invite->to, &cancel->to);
    if (rc == 0)
        rc = osip_call_id_clone (invite->call_id, &cancel->call_id);
    if (rc == 0)
        rc = osip_cseq_clone (invite->cseq, &cancel->cseq);
    if (rc == 0) {
        osip_free (cancel->cseq->method);
        cancel->cseq->method = osip_strdup ("CANCEL");
        rc = osip_list_clone (&invite->routes, &cancel->routes,
                              (int (*) (void *, void **)) osip_route_clone);
    }
    if (rc != 0) {
        osip_message_free (cancel);
        return -1;
    }
    sipd_msg_add_header (cancel, "Max-Forwards", "70");
    osip_message_set_content_length (cancel, "0");
    return s_send_request (self, cancel, &txn->peer, NULL, NULL) > 0 ? 0 : -1;
}

int
sipd_server_send_ack (sipd_server_t *self, osip_message_t **request_p,
                      const sipd_source_t *dest)
{
    assert (self);
    assert (request_p);
    assert (dest);
    osip_message_t *request = *request_p;
    *request_p = NULL;
    int rc = -1;
    if (s_request_ok (request) && s_add_via (self, request, dest->transport) == 0)
        rc = s_send_raw (self, request, dest, NULL);
    osip_message_free (request);
    return rc;
}

int
sipd_server_send_response (sipd_server_t *self, osip_message_t **response_p,
                           const sipd_source_t *dest)
{
    assert (self);
    assert (response_p);
    assert (dest);
    osip_message_t *response = *response_p;
    *response_p = NULL;
    int rc = -1;
    if (response && MSG_IS_RESPONSE (response))
        rc = s_send_raw (self, response, dest, NULL);
    osip_message_free (response);
    return rc;
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
    return zhashx_size (self->txns) + sipd_nist_size (self->nist);
}

size_t
sipd_server_conn_count (sipd_server_t *self)
{
    assert (self);
    return sipd_transport_conn_count (self->transport);
}
