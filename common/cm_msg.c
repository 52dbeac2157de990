//  cm_msg — [type][json] envelope codec and validation. See cm_msg.h.

#include "cm_msg.h"
#include "cm_log.h"

#include <ctype.h>
#include <string.h>

struct _cm_msg_t {
    char type[CM_MSG_TYPE_MAX + 1];     //  verb
    json_t *body;                       //  JSON object (owned)
};

//  A verb is 1..32 characters of [a-z0-9._-], starting with a letter.
static bool
s_type_valid (const char *type, size_t len)
{
    if (len == 0 || len > CM_MSG_TYPE_MAX || !islower ((unsigned char) *type))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) type[i];
        if (!(islower (c) || isdigit (c) || c == '.' || c == '_'
              || c == '-'))
            return false;
    }
    return true;
}

cm_msg_t *
cm_msg_new (const char *type, const char *id, json_t **body_p)
{
    assert (type);
    json_t *body = body_p && *body_p ? *body_p : json_object ();
    if (body_p)
        *body_p = NULL;
    if (!s_type_valid (type, strlen (type)) || !json_is_object (body)) {
        json_decref (body);
        return NULL;
    }
    cm_msg_t *self = (cm_msg_t *) zmalloc (sizeof (cm_msg_t));
    strcpy (self->type, type);
    self->body = body;
    json_object_set_new (body, "v", json_integer (CM_MSG_VERSION));
    if (id)
        json_object_set_new (body, "id", json_string (id));
    return self;
}

void
cm_msg_destroy (cm_msg_t **self_p)
{
    assert (self_p);
    cm_msg_t *self = *self_p;
    if (!self)
        return;
    json_decref (self->body);
    free (self);
    *self_p = NULL;
}

cm_msg_t *
cm_msg_decode (zmsg_t **zmsg_p, char *error, size_t size)
{
    assert (zmsg_p);
    zmsg_t *zmsg = *zmsg_p;
    *zmsg_p = NULL;
    cm_msg_t *self = NULL;
    json_t *body = NULL;
    if (!zmsg) {
        snprintf (error, size, "no message");
        goto out;
    }
    if (zmsg_size (zmsg) != 2) {
        snprintf (error, size, "expected 2 frames [type][json], got %zu",
                  zmsg_size (zmsg));
        goto out;
    }
    zframe_t *type = zmsg_first (zmsg);
    zframe_t *json = zmsg_next (zmsg);
    if (!s_type_valid ((const char *) zframe_data (type),
                       zframe_size (type))) {
        snprintf (error, size, "invalid message type (1-%d characters "
                  "of a-z 0-9 . _ -)", CM_MSG_TYPE_MAX);
        goto out;
    }
    if (zframe_size (json) > CM_MSG_BODY_MAX) {
        snprintf (error, size, "body of %zu bytes exceeds %d",
                  zframe_size (json), CM_MSG_BODY_MAX);
        goto out;
    }
    json_error_t jerr;
    body = json_loadb ((const char *) zframe_data (json), zframe_size (json),
                       JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        snprintf (error, size, "invalid JSON body: %s (offset %d)",
                  jerr.text, jerr.position);
        goto out;
    }
    if (!json_is_object (body)) {
        snprintf (error, size, "body is not a JSON object");
        goto out;
    }
    json_t *version = json_object_get (body, "v");
    if (!json_is_integer (version)
        || json_integer_value (version) != CM_MSG_VERSION) {
        snprintf (error, size, "missing or unsupported \"v\" (want %d)",
                  CM_MSG_VERSION);
        goto out;
    }
    json_t *id = json_object_get (body, "id");
    if (id && (!json_is_string (id) || json_string_length (id) == 0
               || json_string_length (id) > 64)) {
        snprintf (error, size, "\"id\" must be a string of 1-64 characters");
        goto out;
    }
    self = (cm_msg_t *) zmalloc (sizeof (cm_msg_t));
    memcpy (self->type, zframe_data (type), zframe_size (type));
    self->body = body;
    body = NULL;
out:
    json_decref (body);
    zmsg_destroy (&zmsg);
    return self;
}

zmsg_t *
cm_msg_encode (cm_msg_t *self)
{
    assert (self);
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, self->type);
    char *json = json_dumps (self->body, JSON_COMPACT);
    zmsg_addstr (zmsg, json);
    free (json);
    return zmsg;
}

int
cm_msg_send (cm_msg_t *self, zsock_t *sock, zframe_t *routing_id)
{
    assert (self);
    assert (sock);
    zmsg_t *zmsg = cm_msg_encode (self);
    if (routing_id)
        zmsg_prepend (zmsg, &(zframe_t *) {zframe_dup (routing_id)});
    return zmsg_send (&zmsg, sock);
}

cm_msg_t *
cm_msg_recv (zsock_t *sock)
{
    assert (sock);
    zmsg_t *zmsg = zmsg_recv (sock);
    if (!zmsg)
        return NULL;
    char error[256];
    cm_msg_t *self = cm_msg_decode (&zmsg, error, sizeof error);
    if (!self)
        CM_LOG (CM_LOG_WARN, "ipc", "dropped malformed message: %s", error);
    return self;
}

const char *
cm_msg_type (cm_msg_t *self)
{
    assert (self);
    return self->type;
}

const char *
cm_msg_id (cm_msg_t *self)
{
    assert (self);
    return json_string_value (json_object_get (self->body, "id"));
}

json_t *
cm_msg_body (cm_msg_t *self)
{
    assert (self);
    return self->body;
}

const char *
cm_msg_get_str (cm_msg_t *self, const char *field)
{
    assert (self);
    return json_string_value (json_object_get (self->body, field));
}

json_int_t
cm_msg_get_int (cm_msg_t *self, const char *field, json_int_t def)
{
    assert (self);
    json_t *value = json_object_get (self->body, field);
    return json_is_integer (value) ? json_integer_value (value) : def;
}

cm_msg_t *
cm_msg_reply (cm_msg_t *request, const char *type, json_t **body_p)
{
    assert (request);
    return cm_msg_new (type, cm_msg_id (request), body_p);
}

cm_msg_t *
cm_msg_error (cm_msg_t *request, const char *reason)
{
    json_t *body = json_pack ("{s:s, s:s}", "error", reason, "request",
                              cm_msg_type (request));
    return cm_msg_reply (request, "error", &body);
}
