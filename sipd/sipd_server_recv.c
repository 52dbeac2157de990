//  sipd_server_recv — sipd_server's receive path (see
//  sipd_server_recv.h).

#include "sipd_server_recv.h"
#include "sipd_server_loop.h"
#include "sipd_server_send.h"
#include "sipd_msg.h"
#include "cm_log.h"

#include <ctype.h>
#include <string.h>

//  Match key from a top Via: branch, sent-by and method. RFC 3261
//  §17.2.3 for server transactions (ACK maps to INVITE); for client
//  transactions (§17.1.3) sent_by is false: branch and CSeq method.
//  NULL without an RFC 3261 branch (magic cookie).
char *
sipd_server_via_key (const osip_via_t *via, const char *method, bool sent_by)
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
        sipd_server_send_raw (self, response, &dest, NULL);
    osip_message_free (response);
}

// ---------------------------------------------------------------------
//  libosip2 callbacks

int
sipd_server_cb_send (osip_transaction_t *tr, osip_message_t *msg, char *host,
                     int port, int out_socket)
{
    sipd_server_t *self = sipd_server_self (tr);
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
    if (sipd_server_send_raw (self, msg, &dest, &conn_id) != 0) {
        CM_LOG_CALL (CM_LOG_INFO, "server", msg->call_id
                     ? msg->call_id->number : NULL,
                     "cannot send to %s:%d", dest.ip, dest.port);
        return -1;
    }
    if (conn_id)
        txn->peer.conn_id = conn_id;
    return 0;
}

void
sipd_server_cb_kill (int type, osip_transaction_t *tr)
{
    sipd_server_t *self = sipd_server_self (tr);
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

void
sipd_server_cb_transport_error (int type, osip_transaction_t *tr, int error)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn && txn->client && !txn->final_seen && txn->fn) {
        txn->final_seen = true;
        txn->fn (txn->arg, txn->id, NULL, 503);
    }
}

void
sipd_server_cb_timeout (int type, osip_transaction_t *tr, osip_message_t *msg)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn && txn->client && !txn->final_seen && txn->fn) {
        txn->final_seen = true;
        txn->fn (txn->arg, txn->id, NULL, 408);
    }
}

void
sipd_server_cb_response (int type, osip_transaction_t *tr, osip_message_t *msg)
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

void
sipd_server_cb_request (int type, osip_transaction_t *tr, osip_message_t *msg)
{
    sipd_server_t *self = sipd_server_self (tr);
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
    if (type == OSIP_IST_INVITE_RECEIVED &&
        sipd_server_txn_lookup (self, id) == tr && !txn->responded) {
        osip_message_t *trying = sipd_msg_response_new (msg, 100, NULL);
        if (trying)
            sipd_server_add_event (self, tr,
                                   osip_new_outgoing_sipmessage (trying));
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

//  Take a new transaction out of libosip2's list of its kind (where
//  osip_transaction_init put it). Matching is ours (hash maps) and so are
//  the timers (timerq), so the lists only cost: adding to and removing
//  from them walks the whole list, O(live transactions) per transaction.
//  Only INVITE server transactions without an RFC 3261 branch stay,
//  for libosip2's matching rules.
void
sipd_server_unlist (sipd_server_t *self, osip_transaction_t *tr)
{
    s_txn_t *txn = osip_transaction_get_reserved1 (tr);
    if (txn && txn->listed) {
        //  just added at the end: the list holds only such stragglers
        osip_remove_transaction (self->osip, tr);
        txn->listed = false;
    }
}

s_txn_t *
sipd_server_txn_new (sipd_server_t *self, osip_transaction_t *tr, bool client,
                     const sipd_source_t *peer)
{
    s_txn_t *txn = zmalloc (sizeof *txn);
    txn->id = sipd_server_next_id (self);
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
    id = sipd_server_next_id (self);
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
    char *key =
        sipd_server_via_key (osip_list_get (&msg->vias, 0), "INVITE", true);
    osip_transaction_t *found = NULL;
    if (key)
        found = zhashx_lookup (self->ist_map, key);
    else    //  pre-RFC 3261 peer: libosip2's full matching rules
        found = osip_transaction_find (&self->osip->osip_ist_transactions,
                                       evt);
    if (found) {
        free (key);
        sipd_server_add_event (self, found, evt);
        sipd_server_run (self);
        return;
    }
    if (key && sipd_linger_has (self->ist_linger, key)) {
        //  an ACK (or INVITE) retransmission for a Confirmed IST that
        //  ended early (sipd_linger.h): absorbed, as libosip2 would
        free (key);
        osip_event_free (evt);
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
    s_txn_t *txn = sipd_server_txn_new (self, tr, false, source);
    if (key && type == IST) {
        txn->key = key;
        zhashx_insert (self->ist_map, key, tr);
        sipd_server_unlist (self, tr);
    }
    else
        free (key);
    sipd_server_add_event (self, tr, evt);
    sipd_server_run (self);
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
    char *key =
        sipd_server_via_key (osip_list_get (&msg->vias, 0),
                             msg->cseq ? msg->cseq->method : NULL, false);
    osip_transaction_t *found = key ? zhashx_lookup (self->client_map, key)
                                    : NULL;
    free (key);
    if (found) {
        sipd_server_add_event (self, found, evt);
        sipd_server_run (self);
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
//  A received message after sipd_check_message: what the UDP thread hands
//  to the loop thread (sipd_transport_offload_udp), or what the loop
//  thread makes of a TCP message on the stack.
struct _sipd_server_parsed_t {
    osip_message_t *msg;            //  owned, or NULL
    int code;                       //  sipd_check_message's answer
    sipd_check_result_t result;     //  its details
    sipd_source_t source;           //  where it came from
    sipd_transport_error_t error;   //  transport fault
    size_t size;                    //  bytes received
};

//  Check size bytes of data into parsed. Reads only what no thread
//  changes: the policy set at construction and the published Allow copy.
static void
s_parse (const sipd_server_t *self, const char *data, size_t size,
         const sipd_source_t *source, sipd_transport_error_t error,
         sipd_server_parsed_t *parsed)
{
    sipd_check_policy_t policy = self->policy;
    policy.allow = atomic_load (&self->allow_shared);
    parsed->msg = NULL;
    parsed->code = sipd_check_message (data, size, &policy, &parsed->msg,
                                       &parsed->result);
    parsed->source = *source;
    parsed->error = error;
    parsed->size = size;
}

//  Act on a checked message. Takes ownership of parsed->msg.
static void
s_handle (sipd_server_t *self, sipd_server_parsed_t *parsed)
{
    osip_message_t *msg = parsed->msg;
    parsed->msg = NULL;
    int code = parsed->code;
    sipd_check_result_t *result = &parsed->result;
    const sipd_source_t *source = &parsed->source;
    if (parsed->error != SIPD_TRANSPORT_OK && code >= 0) {
        //  TCP framing faults override what the headers said
        if (msg && MSG_IS_REQUEST (msg) && !MSG_IS_ACK (msg)) {
            code = parsed->error == SIPD_TRANSPORT_TOO_BIG ? 513 : 400;
            snprintf (result->reason, sizeof result->reason, "%s",
                      code == 513 ? "Message Too Large"
                                  : "Missing or Bad Content-Length");
            result->code = code;
            result->hname[0] = 0;
        }
        else
            code = -1;
    }
    if (code < 0) {
        CM_LOG (CM_LOG_DEBUG, "server", "dropped %zu bytes from %s:%d: %s",
                parsed->size, source->ip, source->port, result->reason);
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
                     source->port, code, result->reason);
        s_reply_stateless (self, msg, result, source);
        osip_message_free (msg);
        return;
    }
    s_incoming_request (self, msg, source);
}

void
sipd_server_on_message (void *arg, const char *data, size_t size,
                        const sipd_source_t *source,
                        sipd_transport_error_t error)
{
    sipd_server_t *self = arg;
    sipd_server_parsed_t parsed;
    s_parse (self, data, size, source, error, &parsed);
    s_handle (self, &parsed);
}

void *
sipd_server_parse (void *arg, const char *data, size_t size,
                   const sipd_source_t *source, sipd_transport_error_t error)
{
    const sipd_server_t *self = arg;
    sipd_server_parsed_t *parsed = malloc (sizeof *parsed);
    if (!parsed)
        return NULL;
    s_parse (self, data, size, source, error, parsed);
    if (parsed->code < 0) {
        //  nothing to answer: dropped here, so that a flood of junk does
        //  not take the loop thread's inbox
        CM_LOG (CM_LOG_DEBUG, "server", "dropped %zu bytes from %s:%d: %s",
                size, source->ip, source->port, parsed->result.reason);
        osip_message_free (parsed->msg);
        free (parsed);
        return NULL;
    }
    return parsed;
}

void
sipd_server_deliver (void *arg, void *item)
{
    sipd_server_t *self = arg;
    sipd_server_parsed_t *parsed = item;
    s_handle (self, parsed);
    free (parsed);
}

void
sipd_server_drop (void *arg, void *item)
{
    (void) arg;
    sipd_server_parsed_t *parsed = item;
    if (parsed)
        osip_message_free (parsed->msg);
    free (parsed);
}

//  Client transactions still waiting for a final response whose peer is
//  dest (a TCP connection when conn_id > 0, else a UDP address) learn it
//  failed now (503) instead of at timer B/F. Returns how many.
static size_t
s_fail_clients (sipd_server_t *self, const sipd_source_t *dest)
{
    size_t failed = 0;
    zlistx_t *all = zhashx_values (self->txns);
    osip_transaction_t *tr = zlistx_first (all);
    while (tr) {
        s_txn_t *txn = osip_transaction_get_reserved1 (tr);
        bool same = txn && txn->peer.transport == dest->transport
                    && (dest->transport == SIPD_TRANSPORT_TCP
                            ? txn->peer.conn_id == dest->conn_id
                            : txn->peer.port == dest->port
                                  && strcmp (txn->peer.ip, dest->ip) == 0);
        if (same && txn->client && !txn->final_seen) {
            txn->final_seen = true;
            failed++;
            if (txn->fn)
                txn->fn (txn->arg, txn->id, NULL, 503);
        }
        tr = zlistx_next (all);
    }
    zlistx_destroy (&all);
    return failed;
}

//  A TCP connection failed (connect refused, write error): client
//  transactions waiting on it learn it now (503) instead of at timer B/F.
void
sipd_server_on_conn_closed (void *arg, int conn_id, bool failed)
{
    sipd_server_t *self = arg;
    if (!failed)
        return;
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_TCP,
                          .conn_id = conn_id};
    s_fail_clients (self, &dest);
}

void
sipd_server_on_udp_error (void *arg, const sipd_source_t *dest, int error)
{
    sipd_server_t *self = arg;
    size_t failed = s_fail_clients (self, dest);
    CM_LOG (failed ? CM_LOG_INFO : CM_LOG_DEBUG, "server",
            "udp send to %s:%d refused: %s (%zu client transactions fail "
            "with 503)",
            dest->ip, dest->port, strerror (error), failed);
}
