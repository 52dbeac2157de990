//  sipd_server_send — what sipd_server's TU sends (see
//  sipd_server_send.h).

#include "sipd_server_send.h"
#include "sipd_server_loop.h"
#include "sipd_server_recv.h"
#include "sipd_msg.h"
#include "cm_log.h"

#include <string.h>

int
sipd_server_send_raw (sipd_server_t *self, osip_message_t *msg,
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
                      sipd_server_now_ms (),
                      reliable ? 0 : SIPD_NIST_LINGER_MS);
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
    osip_transaction_t *tr = sipd_server_txn_lookup (self, txn_id);
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
    sipd_server_add_event (self, tr, osip_new_outgoing_sipmessage (response));
    sipd_server_run (self);
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
    osip_transaction_t *tr = sipd_server_txn_lookup (self, txn_id);
    return tr ? tr->orig_request : NULL;
}

const sipd_source_t *
sipd_server_txn_source (sipd_server_t *self, int txn_id)
{
    assert (self);
    if (sipd_nist_exists (self->nist, txn_id))
        return sipd_nist_source (self->nist, txn_id);
    osip_transaction_t *tr = sipd_server_txn_lookup (self, txn_id);
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
    char *key =
        sipd_server_via_key (osip_list_get (&cancel->vias, 0), "INVITE", true);
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
    s_txn_t *txn = sipd_server_txn_new (self, tr, true, dest);
    txn->fn = fn;
    txn->arg = arg;
    int txn_id = txn->id;
    char *key = sipd_server_via_key (
        osip_list_get (&request->vias, 0),
        request->cseq ? request->cseq->method : NULL, false);
    if (key && !zhashx_lookup (self->client_map, key)) {
        txn->key = key;
        zhashx_insert (self->client_map, key, tr);
    }
    else
        free (key);
    //  responses are matched in client_map only
    sipd_server_unlist (self, tr);
    sipd_server_add_event (self, tr, osip_new_outgoing_sipmessage (request));
    sipd_server_run (self);
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
    osip_transaction_t *tr = sipd_server_txn_lookup (self, txn_id);
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
        rc = sipd_server_send_raw (self, request, dest, NULL);
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
        rc = sipd_server_send_raw (self, response, dest, NULL);
    osip_message_free (response);
    return rc;
}
