//  sipd_nist — lean non-INVITE server transactions. See sipd_nist.h.
//
//  Two indexes over the same entries: by key (string hash, for matching
//  retransmissions) and by id (for the TU). Completed entries are queued
//  in completion order; since every UDP entry lingers the same time, the
//  queue is also in expiry order and sipd_nist_expire only looks at its
//  head; entries that do not linger (TCP) go to a queue emptied at once. Requests of completed transactions wait in a second queue until
//  the next expire, so a handler that answered can still read its
//  request until it returns to the loop.

#include "sipd_nist.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    int id;                     //  server txn_id
    char *key;                  //  matching key (owned)
    osip_message_t *request;    //  owned until the final response
    sipd_source_t source;       //  where the request came from
    sipd_source_t dest;         //  where responses go
    char *last;                 //  last response sent (owned) or NULL
    size_t last_len;            //  its length
    bool completed;             //  final response sent
    int64_t expires;            //  ms when a completed entry goes
} s_entry_t;

struct _sipd_nist_t {
    zhashx_t *by_key;           //  key -> s_entry_t (owns entries)
    zhashx_t *by_id;            //  id -> s_entry_t (borrowed)
    zlistx_t *completed;        //  s_entry_t, expiry order (borrowed)
    zlistx_t *done;             //  s_entry_t to drop at next expire (TCP)
    zlistx_t *released;         //  osip_message_t to free at next expire
};

static size_t
s_id_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_id_compare (const void *a, const void *b)
{
    intptr_t x = (intptr_t) a, y = (intptr_t) b;
    return x < y ? -1 : x > y;
}

static void
s_entry_destroy (void **item_p)
{
    s_entry_t *entry = *item_p;
    if (entry) {
        osip_message_free (entry->request);
        free (entry->key);
        free (entry->last);
        free (entry);
    }
    *item_p = NULL;
}

sipd_nist_t *
sipd_nist_new (void)
{
    sipd_nist_t *self = zmalloc (sizeof *self);
    self->by_key = zhashx_new ();
    zhashx_set_destructor (self->by_key, s_entry_destroy);
    self->by_id = zhashx_new ();
    zhashx_set_key_hasher (self->by_id, s_id_hash);
    zhashx_set_key_comparator (self->by_id, s_id_compare);
    zhashx_set_key_duplicator (self->by_id, NULL);
    zhashx_set_key_destructor (self->by_id, NULL);
    self->completed = zlistx_new ();
    self->done = zlistx_new ();
    self->released = zlistx_new ();
    return self;
}

static void
s_release (sipd_nist_t *self)
{
    osip_message_t *msg = zlistx_first (self->released);
    while (msg) {
        osip_message_free (msg);
        msg = zlistx_next (self->released);
    }
    zlistx_purge (self->released);
}

void
sipd_nist_destroy (sipd_nist_t **self_p)
{
    assert (self_p);
    sipd_nist_t *self = *self_p;
    if (!self)
        return;
    s_release (self);
    zlistx_destroy (&self->released);
    zlistx_destroy (&self->completed);
    zlistx_destroy (&self->done);
    zhashx_destroy (&self->by_id);
    zhashx_destroy (&self->by_key);
    free (self);
    *self_p = NULL;
}

static const char *
s_param (osip_via_t *via, const char *name)
{
    osip_generic_param_t *param = NULL;
    osip_via_param_get_byname (via, (char *) name, &param);
    return param && param->gvalue ? param->gvalue : NULL;
}

char *
sipd_nist_key (const osip_message_t *request)
{
    if (!request || !request->sip_method || MSG_IS_ACK (request))
        return NULL;
    osip_via_t *via = osip_list_get (&request->vias, 0);
    if (!via || !via->host)
        return NULL;
    const char *branch = s_param (via, "branch");
    const char *port = via->port ? via->port : "5060";
    if (branch && strncmp (branch, "z9hG4bK", 7) == 0)
        //  RFC 3261 §17.2.3: branch, sent-by, method
        return zsys_sprintf ("%s|%s:%s|%s", branch, via->host, port,
                             request->sip_method);
    //  RFC 2543 peers: Request-URI, To tag, From tag, Call-ID, CSeq, Via
    osip_generic_param_t *from_tag = NULL, *to_tag = NULL;
    if (request->from)
        osip_from_get_tag (request->from, &from_tag);
    if (request->to)
        osip_to_get_tag (request->to, &to_tag);
    char *uri = NULL;
    if (request->req_uri)
        osip_uri_to_str (request->req_uri, &uri);
    char *key = zsys_sprintf (
        "2543|%s|%s|%s|%s|%s %s|%s:%s|%s", uri ? uri : "",
        to_tag && to_tag->gvalue ? to_tag->gvalue : "",
        from_tag && from_tag->gvalue ? from_tag->gvalue : "",
        request->call_id && request->call_id->number
            ? request->call_id->number : "",
        request->cseq && request->cseq->number ? request->cseq->number : "",
        request->sip_method, via->host, port, branch ? branch : "");
    osip_free (uri);
    return key;
}

int
sipd_nist_find (sipd_nist_t *self, const char *key)
{
    assert (self);
    if (!key)
        return 0;
    s_entry_t *entry = zhashx_lookup (self->by_key, key);
    return entry ? entry->id : 0;
}

int
sipd_nist_add (sipd_nist_t *self, int id, const char *key,
               osip_message_t **request_p, const sipd_source_t *source,
               const sipd_source_t *dest)
{
    assert (self);
    assert (request_p);
    assert (source);
    assert (dest);
    osip_message_t *request = *request_p;
    *request_p = NULL;
    if (id <= 0 || !key || !request || zhashx_lookup (self->by_key, key)
        || zhashx_lookup (self->by_id, (void *) (intptr_t) id)) {
        osip_message_free (request);
        return -1;
    }
    s_entry_t *entry = zmalloc (sizeof *entry);
    entry->id = id;
    entry->key = strdup (key);
    entry->request = request;
    entry->source = *source;
    entry->dest = *dest;
    zhashx_insert (self->by_key, key, entry);
    zhashx_insert (self->by_id, (void *) (intptr_t) id, entry);
    return 0;
}

static s_entry_t *
s_entry (sipd_nist_t *self, int id)
{
    if (id <= 0)
        return NULL;
    return zhashx_lookup (self->by_id, (void *) (intptr_t) id);
}

bool
sipd_nist_is_open (sipd_nist_t *self, int id)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    return entry && !entry->completed;
}

bool
sipd_nist_exists (sipd_nist_t *self, int id)
{
    assert (self);
    return s_entry (self, id) != NULL;
}

const osip_message_t *
sipd_nist_request (sipd_nist_t *self, int id)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    return entry && !entry->completed ? entry->request : NULL;
}

const sipd_source_t *
sipd_nist_source (sipd_nist_t *self, int id)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    return entry ? &entry->source : NULL;
}

const sipd_source_t *
sipd_nist_dest (sipd_nist_t *self, int id)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    return entry ? &entry->dest : NULL;
}

const char *
sipd_nist_last (sipd_nist_t *self, int id, size_t *len_p)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    if (!entry || !entry->last)
        return NULL;
    if (len_p)
        *len_p = entry->last_len;
    return entry->last;
}

int
sipd_nist_record (sipd_nist_t *self, int id, const char *data, size_t len,
                  bool final, int64_t now_ms, int linger_ms)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    if (!entry || entry->completed || !data)
        return -1;
    free (entry->last);
    entry->last = malloc (len + 1);
    assert (entry->last);
    memcpy (entry->last, data, len);
    entry->last[len] = 0;
    entry->last_len = len;
    if (final) {
        entry->completed = true;
        entry->expires = now_ms + (linger_ms > 0 ? linger_ms : 0);
        zlistx_add_end (self->released, entry->request);
        entry->request = NULL;
        zlistx_add_end (linger_ms > 0 ? self->completed : self->done, entry);
    }
    return 0;
}

void
sipd_nist_expire (sipd_nist_t *self, int64_t now_ms)
{
    assert (self);
    s_release (self);
    s_entry_t *entry = zlistx_first (self->done);
    while (entry) {
        zhashx_delete (self->by_id, (void *) (intptr_t) entry->id);
        zhashx_delete (self->by_key, entry->key);
        entry = zlistx_next (self->done);
    }
    zlistx_purge (self->done);
    entry = zlistx_first (self->completed);
    while (entry && entry->expires <= now_ms) {
        zlistx_delete (self->completed, zlistx_cursor (self->completed));
        zhashx_delete (self->by_id, (void *) (intptr_t) entry->id);
        zhashx_delete (self->by_key, entry->key);
        entry = zlistx_first (self->completed);
    }
}

size_t
sipd_nist_size (sipd_nist_t *self)
{
    assert (self);
    return zhashx_size (self->by_key);
}
