//  sipd_location — bindings of contacts to extensions, with expiry,
//  status, events and persistence (see sipd_location.h).
//
//  Every configured extension has an entry from the start, so status can
//  list offline extensions and unknown numbers are refused cheaply. An
//  entry holds a small array of bindings (at most SIPD_LOCATION_MAX_CONTACTS)
//  and the call state set by the B2BUA; the visible state is derived:
//  busy or ringing when a call says so, else idle with a binding, else
//  offline. The last published state is remembered so "ext.status" fires
//  only on real changes.
//
//  Persistence: a change only sets a dirty flag, and a later tick (one
//  second after the last write, five beyond 2,000 bindings) copies all
//  bindings into a snapshot that sipd_regfile writes, in its actor when
//  writing in the background: temporary file, fsync, rename. A crash
//  leaves either the old or the new file; changes after the last write
//  (at most a few seconds) are lost, and phones repair that by
//  re-registering. Expiry scans are skipped until the earliest expiry.

#include "sipd_location.h"
#include "cm_log.h"
#include "sipd_regfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILE_NAME "registrations.json"
#define FLUSH_LARGE 2000            //  bindings beyond which writes slow down
#define FLUSH_INTERVAL_LARGE 5      //  seconds between writes then

//  One binding. The strings live in the same allocation, after the
//  struct: one malloc per binding keeps 10,000 bindings compact and
//  leaves fewer holes in the heap between short-lived transactions.
typedef struct {
    char *uri;                  //  contact URI
    char *instance;             //  +sip.instance or NULL
    int reg_id;                 //  reg-id or 0
    char *call_id;              //  Call-ID of the last REGISTER
    uint32_t cseq;              //  its CSeq number
    int64_t expires;            //  absolute expiry
    char *user_agent;           //  User-Agent or NULL
    sipd_source_t source;       //  where the REGISTER came from
} s_binding_t;

//  One extension.
typedef struct {
    char number[32];            //  extension number
    s_binding_t **bindings;     //  array of count bindings (owned, and
                                //  each binding owned), NULL when none: a
                                //  plain array costs 8 bytes a binding
                                //  where a list costs ~150
    int count;                  //  bindings in the array
    sipd_call_state_t call_state;   //  set by the B2BUA
    const char *published;      //  state last published (static string)
} s_ext_t;

struct _sipd_location_t {
    s_ext_t *exts;              //  configured extensions, sorted by
                                //  s_number_cmp (owned): one block, no
                                //  hash item and key copy per extension
    size_t ext_count;           //  entries in exts
    char *path;                 //  registrations.json or NULL (owned)
    sipd_regfile_t *file;       //  its writer, NULL without persistence
    sipd_events_t *events;      //  publisher or NULL (borrowed)
    bool dirty;                 //  changes not yet written
    int64_t last_flush;         //  time of the last write
    size_t size;                //  total bindings
    int64_t next_expiry;        //  no binding expires before (a lower
                                //  bound: tick skips the scan until then)
    sipd_clock_fn *clock;       //  time source
    void *clock_arg;            //  its argument (borrowed)
};

static int s_write (sipd_location_t *self, bool wait);

static int64_t
s_now (sipd_location_t *self)
{
    return self->clock (self->clock_arg);
}

static void
s_binding_destroy (void **item_p)
{
    free (*item_p);     //  strings included
    *item_p = NULL;
}

//  Copy text (may be NULL) to *cursor_p, advancing it; returns the copy.
static char *
s_place (char **cursor_p, const char *text)
{
    if (!text)
        return NULL;
    size_t len = strlen (text) + 1;
    char *copy = memcpy (*cursor_p, text, len);
    *cursor_p += len;
    return copy;
}

//  A binding holding a copy of contact (uri and call_id not NULL).
static s_binding_t *
s_binding_new (const sipd_contact_t *contact)
{
    size_t size = sizeof (s_binding_t) + strlen (contact->uri) + 1
                  + strlen (contact->call_id) + 1
                  + (contact->instance ? strlen (contact->instance) + 1 : 0)
                  + (contact->user_agent ? strlen (contact->user_agent) + 1
                                         : 0);
    s_binding_t *binding = (s_binding_t *) zmalloc (size);
    char *cursor = (char *) (binding + 1);
    binding->uri = s_place (&cursor, contact->uri);
    binding->call_id = s_place (&cursor, contact->call_id);
    binding->instance = s_place (&cursor, contact->instance);
    binding->user_agent = s_place (&cursor, contact->user_agent);
    binding->reg_id = contact->reg_id;
    binding->cseq = contact->cseq;
    binding->expires = contact->expires;
    binding->source = contact->source;
    binding->source.ip[sizeof binding->source.ip - 1] = '\0';
    return binding;
}

//  Free the bindings of ext (the entry itself is part of the array).
static void
s_ext_free (s_ext_t *ext)
{
    for (int i = 0; i < ext->count; i++)
        s_binding_destroy ((void **) &ext->bindings[i]);
    free (ext->bindings);
    ext->bindings = NULL;
    ext->count = 0;
}

static const char *
s_transport_name (sipd_transport_kind_t kind)
{
    return kind == SIPD_TRANSPORT_TCP ? "tcp" : "udp";
}

static const char *
s_state (s_ext_t *ext)
{
    if (ext->call_state == SIPD_CALL_STATE_BUSY)
        return "busy";
    if (ext->call_state == SIPD_CALL_STATE_RINGING)
        return "ringing";
    return ext->count ? "idle" : "offline";
}

//  Publish ext.status when the visible state changed since last time.
static void
s_publish_state (sipd_location_t *self, s_ext_t *ext)
{
    const char *state = s_state (ext);
    if (ext->published == state)
        return;
    ext->published = state;
    CM_LOG (CM_LOG_INFO, "location", "ext=%s state=%s",
            CM_PII (ext->number), state);
    if (self->events && sipd_events_wanted (self->events, "ext.status")) {
        json_t *body = json_pack ("{s:s, s:s}", "number", ext->number,
                                  "state", state);
        //  a dropped event is logged by sipd_events; state stays correct
        (void) sipd_events_publish (self->events, "ext.status", &body);
    }
}

//  Publish a "reg" event about one binding.
static void
s_publish_reg (sipd_location_t *self, s_ext_t *ext,
               const s_binding_t *binding, const char *event)
{
    CM_LOG (CM_LOG_INFO, "location", "ext=%s contact=%s %s transport=%s "
            "src=%s:%d",
            CM_PII (ext->number), CM_PII (binding->uri), event,
            s_transport_name (binding->source.transport),
            binding->source.ip, binding->source.port);
    if (!self->events || !sipd_events_wanted (self->events, "reg"))
        return;     //  nobody listens: do not build the event
    //  a removed binding has no time left, whatever its expiry said
    bool removed = strcmp (event, "unregistered") == 0
                   || strcmp (event, "expired") == 0
                   || strcmp (event, "replaced") == 0;
    int64_t left = removed ? 0 : binding->expires - s_now (self);
    json_t *body = json_pack (
        "{s:s, s:s, s:s, s:I, s:i, s:s, s:s?}", "number", ext->number,
        "event", event, "uri", binding->uri, "expires_in",
        (json_int_t) (left > 0 ? left : 0), "contacts",
        ext->count, "transport",
        s_transport_name (binding->source.transport), "user_agent",
        binding->user_agent);
    (void) sipd_events_publish (self->events, "reg", &body);  //  logged
}

//  Shorter numbers first, then lexical: numeric order for digit strings.
static int
s_number_order (const char *x, const char *y)
{
    size_t lx = strlen (x), ly = strlen (y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp (x, y);
}

static int
s_ext_cmp (const void *a, const void *b)
{
    return s_number_order (((const s_ext_t *) a)->number,
                           ((const s_ext_t *) b)->number);
}

static int
s_key_cmp (const void *key, const void *ext)
{
    return s_number_order ((const char *) key,
                           ((const s_ext_t *) ext)->number);
}

//  The configured extension number, or NULL.
static s_ext_t *
s_lookup (sipd_location_t *self, const char *number)
{
    return (s_ext_t *) bsearch (number, self->exts, self->ext_count,
                                sizeof (s_ext_t), s_key_cmp);
}

sipd_location_t *
sipd_location_new (zhashx_t *numbers, const char *spool_dir,
                   sipd_events_t *events)
{
    assert (numbers);
    sipd_location_t *self
        = (sipd_location_t *) zmalloc (sizeof (sipd_location_t));
    self->exts = (s_ext_t *) zmalloc (
        (zhashx_size (numbers) + 1) * sizeof (s_ext_t));
    self->events = events;
    self->clock = sipd_clock_wall;
    for (void *item = zhashx_first (numbers); item;
         item = zhashx_next (numbers)) {
        const char *number = (const char *) zhashx_cursor (numbers);
        if (strlen (number) >= sizeof ((s_ext_t *) 0)->number) {
            CM_LOG (CM_LOG_WARN, "location", "extension %s: number too long, "
                    "ignored", CM_PII (number));
            continue;
        }
        s_ext_t *ext = &self->exts[self->ext_count++];
        snprintf (ext->number, sizeof ext->number, "%s", number);
        ext->published = "offline";
    }
    qsort (self->exts, self->ext_count, sizeof (s_ext_t), s_ext_cmp);
    if (spool_dir) {
        self->path = zsys_sprintf ("%s/%s", spool_dir, FILE_NAME);
        self->file = sipd_regfile_new (self->path);
    }
    return self;
}

void
sipd_location_destroy (sipd_location_t **self_p)
{
    assert (self_p);
    sipd_location_t *self = *self_p;
    if (!self)
        return;
    if (self->file && sipd_regfile_wait (self->file) != 0)
        self->dirty = true;     //  the last write failed: try once more
    if (self->dirty)
        (void) sipd_location_flush (self);  //  failure logged
    sipd_regfile_destroy (&self->file);
    for (size_t i = 0; i < self->ext_count; i++)
        s_ext_free (&self->exts[i]);
    free (self->exts);
    zstr_free (&self->path);
    free (self);
    *self_p = NULL;
}

void
sipd_location_set_clock (sipd_location_t *self, sipd_clock_fn *fn, void *arg)
{
    assert (self);
    self->clock = fn ? fn : sipd_clock_wall;
    self->clock_arg = fn ? arg : NULL;
}

bool
sipd_location_has_extension (sipd_location_t *self, const char *number)
{
    assert (self);
    return number && s_lookup (self, number) != NULL;
}

//  Does binding stand for contact? Instance ids win (RFC 5626 §6);
//  otherwise the contact URIs must be equal.
static bool
s_matches (const s_binding_t *binding, const sipd_contact_t *contact)
{
    if (binding->instance && contact->instance)
        return strcmp (binding->instance, contact->instance) == 0
               && binding->reg_id == contact->reg_id;
    return contact->uri && strcmp (binding->uri, contact->uri) == 0;
}

//  Index of the binding standing for contact, or -1.
static int
s_find (s_ext_t *ext, const sipd_contact_t *contact)
{
    for (int i = 0; i < ext->count; i++)
        if (s_matches (ext->bindings[i], contact))
            return i;
    return -1;
}

sipd_location_check_t
sipd_location_check (sipd_location_t *self, const char *number,
                     const sipd_contact_t *contact)
{
    assert (self);
    assert (contact);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    int index = ext ? s_find (ext, contact) : -1;
    if (index < 0)
        return SIPD_LOCATION_NEW;
    s_binding_t *binding = ext->bindings[index];
    if (contact->call_id && strcmp (binding->call_id, contact->call_id) == 0
        && contact->cseq <= binding->cseq)
        return SIPD_LOCATION_OUT_OF_ORDER;
    return SIPD_LOCATION_UPDATE;
}

//  Take binding index out of ext (the last one fills the hole; order does
//  not matter). Returns it; the caller destroys it.
static s_binding_t *
s_take (s_ext_t *ext, int index)
{
    s_binding_t *binding = ext->bindings[index];
    ext->bindings[index] = ext->bindings[--ext->count];
    if (ext->count == 0) {
        free (ext->bindings);
        ext->bindings = NULL;
    }
    return binding;
}

//  Remove binding index of ext, publishing event.
static void
s_remove_at (sipd_location_t *self, s_ext_t *ext, int index,
             const char *event)
{
    s_binding_t *binding = s_take (ext, index);
    self->size--;
    self->dirty = true;
    s_publish_reg (self, ext, binding, event);
    s_binding_destroy ((void **) &binding);
}

int
sipd_location_bind (sipd_location_t *self, const char *number,
                    const sipd_contact_t *contact)
{
    assert (self);
    assert (contact);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    if (!ext || !contact->uri || !contact->call_id)
        return -1;
    int index = s_find (ext, contact);
    const char *event = "refreshed";
    if (index < 0) {
        event = "registered";
        if (ext->count >= SIPD_LOCATION_MAX_CONTACTS) {
            //  Replace the binding that would expire first.
            int oldest = 0;
            for (int i = 1; i < ext->count; i++)
                if (ext->bindings[i]->expires
                    < ext->bindings[oldest]->expires)
                    oldest = i;
            s_remove_at (self, ext, oldest, "replaced");
        }
        self->size++;
    }
    else {
        s_binding_t *old = s_take (ext, index);
        if (old->source.ip[0] && contact->source.port
            && (strcmp (old->source.ip, contact->source.ip) != 0
                || old->source.port != contact->source.port
                || old->source.transport != contact->source.transport))
            event = "moved";
        s_binding_destroy ((void **) &old);
    }
    s_binding_t *binding = s_binding_new (contact);
    if (binding->expires < self->next_expiry)
        self->next_expiry = binding->expires;
    ext->bindings = (s_binding_t **) realloc (
        ext->bindings, (size_t) (ext->count + 1) * sizeof (s_binding_t *));
    assert (ext->bindings);     //  allocation failure aborts (STYLE §4)
    ext->bindings[ext->count++] = binding;
    self->dirty = true;
    s_publish_reg (self, ext, binding, event);
    s_publish_state (self, ext);
    return 0;
}

int
sipd_location_unbind (sipd_location_t *self, const char *number,
                      const sipd_contact_t *contact)
{
    assert (self);
    assert (contact);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    int index = ext ? s_find (ext, contact) : -1;
    if (index < 0)
        return -1;
    s_remove_at (self, ext, index, "unregistered");
    s_publish_state (self, ext);
    return 0;
}

int
sipd_location_unbind_all (sipd_location_t *self, const char *number,
                          const char *call_id, uint32_t cseq)
{
    assert (self);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    if (!ext)
        return 0;
    int removed = 0;
    for (int i = 0; i < ext->count;) {
        s_binding_t *binding = ext->bindings[i];
        bool keep = call_id && strcmp (binding->call_id, call_id) == 0
                    && cseq <= binding->cseq;
        if (keep)
            i++;
        else {
            s_remove_at (self, ext, i, "unregistered");     //  refills i
            removed++;
        }
    }
    s_publish_state (self, ext);
    return removed;
}

static int
s_by_expiry_desc (const void *a, const void *b)
{
    const sipd_contact_t *x = (const sipd_contact_t *) a;
    const sipd_contact_t *y = (const sipd_contact_t *) b;
    return x->expires < y->expires ? 1 : x->expires > y->expires ? -1 : 0;
}

int
sipd_location_contacts (sipd_location_t *self, const char *number,
                        sipd_contact_t *contacts, int max)
{
    assert (self);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    if (!ext || !contacts || max <= 0)
        return 0;
    int64_t now = s_now (self);
    int count = 0;
    for (int i = 0; i < ext->count && count < max; i++) {
        const s_binding_t *b = ext->bindings[i];
        if (b->expires <= now)
            continue;   //  expired, the next tick removes it
        contacts[count++] = (sipd_contact_t){
            .uri = b->uri, .instance = b->instance, .reg_id = b->reg_id,
            .call_id = b->call_id, .cseq = b->cseq, .expires = b->expires,
            .user_agent = b->user_agent, .source = b->source};
    }
    qsort (contacts, (size_t) count, sizeof *contacts, s_by_expiry_desc);
    return count;
}

int
sipd_location_set_call_state (sipd_location_t *self, const char *number,
                              sipd_call_state_t state)
{
    assert (self);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    if (!ext || state < SIPD_CALL_STATE_IDLE || state > SIPD_CALL_STATE_BUSY)
        return -1;
    ext->call_state = state;
    s_publish_state (self, ext);
    return 0;
}

const char *
sipd_location_state (sipd_location_t *self, const char *number)
{
    assert (self);
    s_ext_t *ext = number ? s_lookup (self, number)
                          : NULL;
    return ext ? s_state (ext) : NULL;
}



//  The status object of one extension.
static json_t *
s_ext_status (sipd_location_t *self, s_ext_t *ext, int64_t now)
{
    sipd_contact_t contacts[SIPD_LOCATION_MAX_CONTACTS];
    int n = sipd_location_contacts (self, ext->number, contacts,
                                    SIPD_LOCATION_MAX_CONTACTS);
    json_t *array = json_array ();
    for (int j = 0; j < n; j++) {
        char received[96];
        snprintf (received, sizeof received,
                  strchr (contacts[j].source.ip, ':') ? "[%s]:%d" : "%s:%d",
                  contacts[j].source.ip, contacts[j].source.port);
        json_array_append_new (
            array,
            json_pack ("{s:s, s:s?, s:I, s:s, s:s, s:s*}", "uri",
                       contacts[j].uri, "user_agent", contacts[j].user_agent,
                       "expires_in", (json_int_t) (contacts[j].expires - now),
                       "transport",
                       s_transport_name (contacts[j].source.transport),
                       "received", received, "instance",
                       contacts[j].instance));
    }
    return json_pack ("{s:s, s:s, s:o}", "number", ext->number, "state",
                      s_state (ext), "contacts", array);
}

json_t *
sipd_location_status (sipd_location_t *self, const char *number,
                      size_t offset, size_t limit)
{
    assert (self);
    int64_t now = s_now (self);
    json_t *list = json_array ();
    size_t total = 0;
    if (number) {
        s_ext_t *ext = s_lookup (self, number);
        if (ext)
            json_array_append_new (list, s_ext_status (self, ext, now));
        total = ext ? 1 : 0;
        offset = 0;
    }
    else {
        //  the array is in number order already
        total = self->ext_count;
        if (limit > SIPD_LOCATION_STATUS_MAX)
            limit = SIPD_LOCATION_STATUS_MAX;
        for (size_t i = offset; i < total && i - offset < limit; i++)
            json_array_append_new (list,
                                   s_ext_status (self, &self->exts[i], now));
    }
    return json_pack ("{s:o, s:I, s:I}", "extensions", list, "total",
                      (json_int_t) total, "offset", (json_int_t) offset);
}

int
sipd_location_tick (sipd_location_t *self)
{
    assert (self);
    int64_t now = s_now (self);
    int expired = 0;
    if (now >= self->next_expiry) {
        int64_t next = INT64_MAX;
        for (s_ext_t *ext = self->exts; ext < self->exts + self->ext_count;
             ext++) {
            if (ext->count == 0)
                continue;
            for (int i = 0; i < ext->count;) {
                if (ext->bindings[i]->expires > now) {
                    if (ext->bindings[i]->expires < next)
                        next = ext->bindings[i]->expires;
                    i++;
                }
                else {
                    s_remove_at (self, ext, i, "expired");  //  refills i
                    expired++;
                }
            }
            s_publish_state (self, ext);
        }
        self->next_expiry = next;
    }
    if (!self->file)
        return expired;
    if (sipd_regfile_collect (self->file) != 0)
        self->dirty = true;     //  the last write failed: retry
    //  Coalesce writes: every second for small tables, every
    //  FLUSH_INTERVAL_LARGE seconds beyond FLUSH_LARGE bindings; one
    //  write at a time.
    int interval = self->size > FLUSH_LARGE ? FLUSH_INTERVAL_LARGE : 1;
    if (self->dirty && now - self->last_flush >= interval
        && !sipd_regfile_busy (self->file))
        (void) s_write (self, false);   //  failure logged, retried
    return expired;
}

//  Snapshot every binding and write them (see sipd_regfile). Returns 0,
//  -1 on a failure (logged; the bindings stay dirty).
static int
s_write (sipd_location_t *self, bool wait)
{
    self->last_flush = s_now (self);
    sipd_regfile_begin (self->file, self->size);
    for (s_ext_t *ext = self->exts; ext < self->exts + self->ext_count;
         ext++) {
        for (int i = 0; i < ext->count; i++) {
            const s_binding_t *b = ext->bindings[i];
            sipd_contact_t contact = {
                .uri = b->uri, .instance = b->instance, .reg_id = b->reg_id,
                .call_id = b->call_id, .cseq = b->cseq,
                .expires = b->expires, .user_agent = b->user_agent,
                .source = b->source};
            sipd_regfile_add (self->file, ext->number, &contact);
        }
    }
    self->dirty = false;
    if (sipd_regfile_commit (self->file, wait) != 0) {
        self->dirty = true;
        return -1;
    }
    return 0;
}

int
sipd_location_flush (sipd_location_t *self)
{
    assert (self);
    if (!self->file) {
        self->dirty = false;
        return 0;
    }
    if (sipd_regfile_wait (self->file) != 0)
        self->dirty = true;
    return s_write (self, true);
}

int
sipd_location_write_in_background (sipd_location_t *self, bool background)
{
    assert (self);
    if (!self->file)
        return 0;
    return sipd_regfile_set_background (self->file, background);
}

size_t
sipd_location_size (sipd_location_t *self)
{
    assert (self);
    return self->size;
}

//  Restore one binding from the file; returns false when it is unusable
//  (bad fields, unknown extension, expired).
static bool
s_load_one (sipd_location_t *self, json_t *item, int64_t now)
{
    const char *number = NULL, *transport = NULL, *ip = NULL;
    sipd_contact_t contact = {0};
    json_int_t cseq = 0, expires = 0;
    if (json_unpack (item, "{s:s, s:s, s?s, s?i, s:s, s:I, s:I, s?s, s:s, "
                           "s:s, s:i}",
                     "number", &number, "uri", &contact.uri, "instance",
                     &contact.instance, "reg_id", &contact.reg_id, "call_id",
                     &contact.call_id, "cseq", &cseq, "expires", &expires,
                     "user_agent", &contact.user_agent, "transport",
                     &transport, "ip", &ip, "port", &contact.source.port)
        != 0)
        return false;
    if (expires <= now || cseq < 0 || cseq > UINT32_MAX
        || !sipd_location_has_extension (self, number)
        || strlen (ip) >= sizeof contact.source.ip)
        return false;
    contact.cseq = (uint32_t) cseq;
    contact.expires = expires;
    contact.source.transport = strcmp (transport, "tcp") == 0
                                   ? SIPD_TRANSPORT_TCP
                                   : SIPD_TRANSPORT_UDP;
    //  The TCP connection died with the old process.
    contact.source.conn_id = 0;
    snprintf (contact.source.ip, sizeof contact.source.ip, "%s", ip);
    return sipd_location_bind (self, number, &contact) == 0;
}

int
sipd_location_load (sipd_location_t *self)
{
    assert (self);
    if (!self->path)
        return 0;
    json_error_t error;
    json_t *root = json_load_file (self->path, 0, &error);
    if (!root) {
        if (zsys_file_exists (self->path))
            CM_LOG (CM_LOG_WARN, "location", "%s unreadable, starting "
                    "without registrations: %s (line %d)",
                    self->path, error.text, error.line);
        return 0;
    }
    json_t *list = json_object_get (root, "bindings");
    int64_t now = s_now (self);
    size_t index, loaded = 0, dropped = 0;
    json_t *item;
    //  Loading must not publish events: nobody listens yet anyway, and the
    //  state is the old one, not a change.
    sipd_events_t *events = self->events;
    self->events = NULL;
    json_array_foreach (list, index, item) {
        if (s_load_one (self, item, now))
            loaded++;
        else
            dropped++;
    }
    self->events = events;
    json_decref (root);
    self->dirty = dropped > 0;
    CM_LOG (CM_LOG_INFO, "location",
            "restored %zu bindings from %s (%zu expired or invalid dropped)",
            loaded, self->path, dropped);
    return (int) loaded;
}
