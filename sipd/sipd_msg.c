//  sipd_msg — small helpers around libosip2 messages that every sipd
//  module needs: building responses (RFC 3261 §8.2.6), reading headers
//  by name and serializing.

#include "sipd_msg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Copy the To header of request into response, adding a tag when the
//  request's To has none and the response is not a 100 (RFC 3261 §8.2.6.2).
static int
s_copy_to (const osip_message_t *request, osip_message_t *response, int code)
{
    if (osip_to_clone (request->to, &response->to) != 0)
        return -1;
    osip_generic_param_t *tag = NULL;
    osip_to_get_tag (response->to, &tag);
    if (!tag && code > 100) {
        //  32 random bits are plenty for a To tag (RFC 3261 §19.3)
        //  8 hex digits by hand (snprintf: ~800 Ir per response)
        static const char hex[] = "0123456789abcdef";
        unsigned value = (unsigned) osip_build_random_number ();
        char buf[9];
        for (int i = 7; i >= 0; i--, value >>= 4)
            buf[i] = hex[value & 15];
        buf[8] = 0;
        if (osip_to_set_tag (response->to, osip_strdup (buf)) != 0)
            return -1;
    }
    return 0;
}

osip_message_t *
sipd_msg_response_new (const osip_message_t *request, int code,
                       const char *reason)
{
    if (!request || !MSG_IS_REQUEST (request) || code < 100 || code > 699)
        return NULL;
    if (!request->from || !request->to || !request->call_id
        || !request->cseq || osip_list_size (&request->vias) < 1)
        return NULL;

    osip_message_t *response = NULL;
    if (osip_message_init (&response) != 0)
        return NULL;
    osip_message_set_version (response, osip_strdup ("SIP/2.0"));
    osip_message_set_status_code (response, code);
    const char *phrase = reason ? reason : osip_message_get_reason (code);
    osip_message_set_reason_phrase (response,
                                    osip_strdup (phrase ? phrase : "Unknown"));

    int rc = 0;
    for (int i = 0; rc == 0 && i < osip_list_size (&request->vias); i++) {
        osip_via_t *via = osip_list_get (&request->vias, i);
        osip_via_t *copy = NULL;
        rc = osip_via_clone (via, &copy);
        if (rc == 0)
            osip_list_add (&response->vias, copy, -1);
    }
    if (rc == 0)
        rc = osip_from_clone (request->from, &response->from);
    if (rc == 0)
        rc = s_copy_to (request, response, code);
    if (rc == 0)
        rc = osip_call_id_clone (request->call_id, &response->call_id);
    if (rc == 0)
        rc = osip_cseq_clone (request->cseq, &response->cseq);
    if (rc == 0)
        rc = osip_message_set_content_length (response, "0");
    if (rc != 0) {
        osip_message_free (response);
        return NULL;
    }
    return response;
}

const char *
sipd_msg_header (const osip_message_t *msg, const char *name)
{
    if (!msg || !name)
        return NULL;
    //  osip stores unknown and some known headers in msg->headers; the
    //  well-known ones are parsed into fields and never appear there.
    for (int i = 0; i < osip_list_size (&msg->headers); i++) {
        osip_header_t *header = osip_list_get (&msg->headers, i);
        if (header && header->hname && strcasecmp (header->hname, name) == 0)
            return header->hvalue;
    }
    return NULL;
}

int
sipd_msg_add_header (osip_message_t *msg, const char *name, const char *value)
{
    if (!msg || !name || !value)
        return -1;
    return osip_message_set_header (msg, name, value) == 0 ? 0 : -1;
}

char *
sipd_msg_serialize (osip_message_t *msg, size_t *len_p)
{
    if (!msg)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    //  osip caches the serialized form; force a fresh one after edits
    osip_message_force_update (msg);
    if (osip_message_to_str (msg, &buf, &len) != 0 || !buf)
        return NULL;
    if (len_p)
        *len_p = len;
    return buf;
}

char *
sipd_msg_serialize_cached (osip_message_t *msg, size_t *len_p)
{
    if (!msg)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    //  osip_message_to_str copies msg->message while message_property is
    //  1 (built and unchanged), else rebuilds
    if (osip_message_to_str (msg, &buf, &len) != 0 || !buf)
        return NULL;
    if (len_p)
        *len_p = len;
    return buf;
}
