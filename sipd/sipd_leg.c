//  sipd_leg — one dialog of a B2BUA call (see sipd_leg.h).
//
//  The dialog state follows RFC 3261 §12.1: for the caller's leg (UAS)
//  it comes from the INVITE, for a callee leg (UAC) from what we sent plus
//  the responses. Headers are kept as libosip2 structures (clones) and
//  cloned again into every request built.

#include "sipd_leg.h"
#include "sipd_random.h"

#include <czmq.h>
#include <string.h>
#include <strings.h>

struct _sipd_leg_t {
    char *call_id;              //  owned: Call-ID
    osip_from_t *local;         //  owned: our party (with our tag)
    osip_to_t *remote;          //  owned: the peer (with its tag, if any)
    osip_uri_t *target;         //  owned: remote target (Request-URI)
    osip_list_t routes;         //  owned: route set (osip_route_t *)
    bool route_fixed;           //  a 2xx fixed the route set
    uint32_t local_cseq;        //  last CSeq we used
    uint32_t remote_cseq;       //  last CSeq the peer used
    sipd_source_t dest;         //  where requests for the peer go
    sipd_sdp_t *sdp;            //  owned: SDP we send on this leg
    char local_tag[24];         //  our tag
};

//  Random hex token for tags and Call-IDs: 12 hex digits (48 bits).
static void
s_token (char *buf, size_t size)
{
    unsigned char b[6];
    sipd_random_bytes (b, sizeof b);
    char token[2 * sizeof b + 1];
    sipd_random_hex_of (b, sizeof b, token);
    snprintf (buf, size, "%s", token);
}

static sipd_leg_t *
s_new (const sipd_source_t *dest, const char *local_ip)
{
    sipd_leg_t *self = (sipd_leg_t *) zmalloc (sizeof *self);
    osip_list_init (&self->routes);
    if (dest)
        self->dest = *dest;
    self->sdp = sipd_sdp_new (local_ip);
    s_token (self->local_tag, sizeof self->local_tag);
    return self;
}

sipd_leg_t *
sipd_leg_new_uas (const osip_message_t *invite, const sipd_source_t *source,
                  const char *local_ip)
{
    if (!invite || !invite->from || !invite->to || !invite->call_id
        || !invite->cseq || !invite->cseq->number)
        return NULL;
    osip_generic_param_t *tag = NULL;
    osip_from_get_tag (invite->from, &tag);
    osip_contact_t *contact = osip_list_get (&invite->contacts, 0);
    if (!tag || !tag->gvalue || !contact || !contact->url)
        return NULL;
    sipd_leg_t *self = s_new (source, local_ip);
    char *call_id = NULL;
    int rc = osip_call_id_to_str (invite->call_id, &call_id);
    self->call_id = call_id;
    if (rc == 0)
        rc = osip_from_clone (invite->to, &self->local);
    if (rc == 0)
        rc = osip_to_clone (invite->from, &self->remote);
    if (rc == 0)
        rc = osip_uri_clone (contact->url, &self->target);
    if (rc == 0)
        rc = osip_from_set_tag (self->local, osip_strdup (self->local_tag));
    for (int i = 0; rc == 0 && i < osip_list_size (&invite->record_routes);
         i++) {
        osip_record_route_t *rr = osip_list_get (&invite->record_routes, i);
        osip_route_t *copy = NULL;
        rc = osip_from_clone (rr, &copy);
        if (rc == 0)
            osip_list_add (&self->routes, copy, -1);
    }
    self->route_fixed = true;
    self->remote_cseq = (uint32_t) strtoul (invite->cseq->number, NULL, 10);
    self->local_cseq = 0;
    if (rc != 0)
        sipd_leg_destroy (&self);
    return self;
}

sipd_leg_t *
sipd_leg_new_uac (const char *target, const char *from_uri,
                  const char *display, const char *to_uri,
                  const sipd_source_t *dest, const char *local_ip)
{
    if (!target || !from_uri || !to_uri)
        return NULL;
    sipd_leg_t *self = s_new (dest, local_ip);
    char token[40];
    s_token (token, sizeof token);
    self->call_id = zsys_sprintf ("%s%08x@%s", token,
                                  (unsigned) osip_build_random_number (),
                                  local_ip ? local_ip : "sipd");
    char *from = NULL;
    //  Display names from the caller are quoted; drop quotes and
    //  backslashes inside so the header stays well-formed.
    if (display && *display) {
        char clean[64];
        size_t n = 0;
        for (const char *p = display; *p && n < sizeof clean - 1; p++)
            if (*p != '"' && *p != '\\' && (unsigned char) *p >= ' ')
                clean[n++] = *p;
        clean[n] = 0;
        from = zsys_sprintf ("\"%s\" <%s>", clean, from_uri);
    }
    else
        from = zsys_sprintf ("<%s>", from_uri);
    char *to = zsys_sprintf ("<%s>", to_uri);
    int rc = osip_from_init (&self->local);
    if (rc == 0)
        rc = osip_from_parse (self->local, from);
    if (rc == 0)
        rc = osip_to_init (&self->remote);
    if (rc == 0)
        rc = osip_to_parse (self->remote, to);
    if (rc == 0)
        rc = osip_uri_init (&self->target);
    if (rc == 0)
        rc = osip_uri_parse (self->target, target);
    if (rc == 0)
        rc = osip_from_set_tag (self->local, osip_strdup (self->local_tag));
    zstr_free (&from);
    zstr_free (&to);
    self->local_cseq = 0;
    if (rc != 0)
        sipd_leg_destroy (&self);
    return self;
}

void
sipd_leg_destroy (sipd_leg_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sipd_leg_t *self = *self_p;
        free (self->call_id);
        osip_from_free (self->local);
        osip_to_free (self->remote);
        osip_uri_free (self->target);
        osip_list_special_free (&self->routes,
                                (void (*) (void *)) & osip_route_free);
        sipd_sdp_destroy (&self->sdp);
        free (self);
        *self_p = NULL;
    }
}

//  The skeleton shared by requests and ACK.
static osip_message_t *
s_request (sipd_leg_t *self, const char *method, uint32_t cseq)
{
    osip_message_t *msg = NULL;
    if (osip_message_init (&msg) != 0)
        return NULL;
    osip_message_set_method (msg, osip_strdup (method));
    osip_message_set_version (msg, osip_strdup ("SIP/2.0"));
    osip_uri_t *uri = NULL;
    int rc = osip_uri_clone (self->target, &uri);
    if (rc == 0)
        osip_message_set_uri (msg, uri);
    if (rc == 0)
        rc = osip_from_clone (self->local, &msg->from);
    if (rc == 0)
        rc = osip_to_clone (self->remote, &msg->to);
    if (rc == 0)
        rc = osip_message_set_call_id (msg, self->call_id);
    char cseq_text[48];
    snprintf (cseq_text, sizeof cseq_text, "%u %s", cseq, method);
    if (rc == 0)
        rc = osip_message_set_cseq (msg, cseq_text);
    for (int i = 0; rc == 0 && i < osip_list_size (&self->routes); i++) {
        osip_route_t *route = osip_list_get (&self->routes, i);
        osip_route_t *copy = NULL;
        rc = osip_from_clone (route, &copy);
        if (rc == 0)
            osip_list_add (&msg->routes, copy, -1);
    }
    if (rc != 0) {
        osip_message_free (msg);
        return NULL;
    }
    return msg;
}

osip_message_t *
sipd_leg_request (sipd_leg_t *self, const char *method, const char *contact,
                  const char *content_type, const char *body)
{
    assert (self);
    assert (method);
    osip_message_t *msg = s_request (self, method, self->local_cseq + 1);
    if (!msg)
        return NULL;
    self->local_cseq++;
    if ((contact && osip_message_set_contact (msg, contact) != 0)
        || sipd_leg_set_body (msg, content_type, body) != 0) {
        osip_message_free (msg);
        return NULL;
    }
    return msg;
}

osip_message_t *
sipd_leg_ack (sipd_leg_t *self, uint32_t cseq, const char *sdp)
{
    assert (self);
    osip_message_t *msg = s_request (self, "ACK", cseq);
    if (msg && sipd_leg_set_body (msg, "application/sdp", sdp) != 0)
        osip_message_free (msg), msg = NULL;
    return msg;
}

//  Replace the remote target with the Contact of msg, if it has one.
static void
s_refresh_target (sipd_leg_t *self, const osip_message_t *msg)
{
    osip_contact_t *contact = osip_list_get (&msg->contacts, 0);
    osip_uri_t *uri = NULL;
    if (contact && contact->url && osip_uri_clone (contact->url, &uri) == 0) {
        osip_uri_free (self->target);
        self->target = uri;
    }
}

int
sipd_leg_update_from_response (sipd_leg_t *self,
                               const osip_message_t *response)
{
    assert (self);
    if (!response || !response->to)
        return -1;
    osip_generic_param_t *tag = NULL;
    osip_to_get_tag (response->to, &tag);
    if (!tag || !tag->gvalue)
        return -1;
    int code = osip_message_get_status_code (response);
    if (!self->route_fixed) {
        osip_generic_param_t *mine = NULL;
        osip_to_get_tag (self->remote, &mine);
        if (mine)
            osip_uri_param_freelist (&self->remote->gen_params);
        osip_to_set_tag (self->remote, osip_strdup (tag->gvalue));
        //  Route set: Record-Route in reverse order (RFC 3261 §12.1.2).
        osip_list_special_free (&self->routes,
                                (void (*) (void *)) & osip_route_free);
        osip_list_init (&self->routes);
        for (int i = 0; i < osip_list_size (&response->record_routes); i++) {
            osip_record_route_t *rr
                = osip_list_get (&response->record_routes, i);
            osip_route_t *copy = NULL;
            if (osip_from_clone (rr, &copy) == 0)
                osip_list_add (&self->routes, copy, 0);
        }
        if (code >= 200 && code < 300)
            self->route_fixed = true;
    }
    s_refresh_target (self, response);
    return 0;
}

int
sipd_leg_check_request (sipd_leg_t *self, const osip_message_t *request)
{
    assert (self);
    if (!request || !request->cseq || !request->cseq->number)
        return -1;
    uint32_t cseq = (uint32_t) strtoul (request->cseq->number, NULL, 10);
    const char *method = request->cseq->method;
    bool is_ack = method && strcmp (method, "ACK") == 0;
    if (!is_ack) {
        if (cseq < self->remote_cseq)
            return -1;
        self->remote_cseq = cseq;
    }
    if (method
        && (strcmp (method, "INVITE") == 0 || strcmp (method, "UPDATE") == 0))
        s_refresh_target (self, request);
    return 0;
}

const char *
sipd_leg_call_id (sipd_leg_t *self)
{
    assert (self);
    return self->call_id;
}

const char *
sipd_leg_local_tag (sipd_leg_t *self)
{
    assert (self);
    return self->local_tag;
}

const char *
sipd_leg_remote_tag (sipd_leg_t *self)
{
    assert (self);
    osip_generic_param_t *tag = NULL;
    osip_to_get_tag (self->remote, &tag);
    return tag && tag->gvalue ? tag->gvalue : "";
}

const char *
sipd_leg_remote_user (sipd_leg_t *self)
{
    assert (self);
    if (self->remote && self->remote->url && self->remote->url->username)
        return self->remote->url->username;
    return "";
}

const sipd_source_t *
sipd_leg_dest (sipd_leg_t *self)
{
    assert (self);
    return &self->dest;
}

uint32_t
sipd_leg_local_cseq (sipd_leg_t *self)
{
    assert (self);
    return self->local_cseq;
}

sipd_sdp_t *
sipd_leg_sdp (sipd_leg_t *self)
{
    assert (self);
    return self->sdp;
}

int
sipd_leg_tag_response (sipd_leg_t *self, osip_message_t *response)
{
    assert (self);
    if (!response || !response->to)
        return -1;
    //  Remove whatever tag is there and put ours.
    osip_generic_param_t *tag = NULL;
    osip_to_get_tag (response->to, &tag);
    if (tag) {
        osip_free (tag->gvalue);
        tag->gvalue = osip_strdup (self->local_tag);
        return 0;
    }
    return osip_to_set_tag (response->to, osip_strdup (self->local_tag)) == 0
               ? 0
               : -1;
}

int
sipd_leg_set_body (osip_message_t *msg, const char *content_type,
                   const char *body)
{
    if (!msg)
        return -1;
    osip_list_special_free (&msg->bodies, (void (*) (void *)) & osip_body_free);
    osip_list_init (&msg->bodies);
    osip_content_type_free (msg->content_type);
    msg->content_type = NULL;
    osip_content_length_free (msg->content_length);
    msg->content_length = NULL;
    if (!body)
        return osip_message_set_content_length (msg, "0") == 0 ? 0 : -1;
    //  libosip2 writes Content-Length itself from the body when the
    //  header is absent (padded with spaces, which is valid LWS).
    size_t len = strlen (body);
    if (osip_message_set_body (msg, body, len) != 0
        || osip_message_set_content_type (
               msg, content_type ? content_type : "application/sdp")
               != 0
)
        return -1;
    return 0;
}

const char *
sipd_leg_body (const osip_message_t *msg, size_t *len_p)
{
    if (len_p)
        *len_p = 0;
    if (!msg)
        return NULL;
    osip_body_t *body = osip_list_get (&msg->bodies, 0);
    if (!body || !body->body)
        return NULL;
    if (len_p)
        *len_p = body->length;
    return body->body;
}
