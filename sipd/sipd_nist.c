//  sipd_nist — lean non-INVITE server transactions. See sipd_nist.h.
//
//  Open transactions (Trying, Proceeding) are few and short: they live in
//  two zhashx indexes, by key (string hash, for matching retransmissions)
//  and by id (for the TU). Entries that do not linger (TCP) stay there,
//  marked completed, until the next expire. Requests of completed
//  transactions wait until the next expire too, so a handler that
//  answered can still read its request (and its source) until it returns
//  to the loop.
//
//  A completed UDP transaction lingers for timer J (32 s) only to resend
//  its final response: after a burst (10,000 phones registering) tens of
//  thousands of them exist at once. They are copied into one compact
//  record each (ids, addresses, key and response in one block), appended
//  to a queue of chunks mapped straight from the system, and found through
//  two open-addressing tables also mapped from the system. Every UDP
//  record lingers the same time, so the queue is in expiry order:
//  sipd_nist_expire only looks at its head and unmaps chunks as they
//  empty. Keeping this bulk of short-lived memory out of the malloc heap
//  matters: interleaved with the long-lived bindings a burst creates, it
//  left the heap at its peak size (fragmented: every page still holding a
//  binding) long after the transactions had gone.

#include "sipd_nist.h"

#include "cm_intmap.h"

#include <czmq.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_SIZE (128 * 1024)     //  bytes of one record chunk
#define MIN_SLOTS 512               //  smallest record index (power of 2)

typedef struct {
    int id;                     //  server txn_id
    char *key;                  //  matching key (owned)
    osip_message_t *request;    //  owned
    sipd_source_t source;       //  where the request came from
    sipd_source_t dest;         //  where responses go
    char *last;                 //  last response sent (owned) or NULL
    size_t last_len;            //  its length
    bool completed;             //  final response sent (no linger)
} s_entry_t;

//  A lingering completed transaction: key and last response follow the
//  struct, each NUL-terminated.
typedef struct {
    int id;                     //  server txn_id
    uint64_t hash;              //  hash of the key
    int64_t expires;            //  ms when it goes
    sipd_source_t source;       //  where the request came from
    sipd_source_t dest;         //  where responses go
    size_t key_len;             //  key length
    size_t last_len;            //  response length
    char data[];                //  key NUL response NUL
} s_rec_t;

//  A block of records in the queue, mapped from the system.
typedef struct s_chunk_t s_chunk_t;
struct s_chunk_t {
    s_chunk_t *next;            //  next (younger) chunk
    size_t size;                //  mapped bytes, header included
    size_t used;                //  bytes used, header included
};

//  Open-addressing table of records (linear probing, at most half full).
typedef struct {
    s_rec_t **slots;            //  mapped array or NULL
    size_t count;               //  slots, a power of 2 (0: none)
    size_t used;                //  records in it
    bool by_id;                 //  keyed by id, else by key hash
} s_index_t;

struct _sipd_nist_t {
    zhashx_t *by_key;           //  key -> open s_entry_t (owned, freed
                                //  by hand: they also move to retired)
    zhashx_t *by_id;            //  id -> open s_entry_t (borrowed)
    zlistx_t *done;             //  completed s_entry_t to drop (TCP)
    zlistx_t *retired;          //  s_entry_t moved to records, to free
    s_chunk_t *head;            //  oldest chunk of records or NULL
    s_chunk_t *tail;            //  youngest chunk
    size_t head_off;            //  offset of the oldest record in head
    s_index_t rec_by_key;       //  lingering records by key
    s_index_t rec_by_id;        //  lingering records by id
    uint64_t seed;              //  hash seed, random per table
};

static void
s_entry_free (s_entry_t **entry_p)
{
    s_entry_t *entry = *entry_p;
    if (entry) {
        osip_message_free (entry->request);
        free (entry->key);
        free (entry->last);
        free (entry);
    }
    *entry_p = NULL;
}

//  Memory straight from the system (never the malloc heap); NULL on failure.
static void *
s_map (size_t size)
{
    void *block = mmap (NULL, size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return block == MAP_FAILED ? NULL : block;
}

static void
s_unmap (void *block, size_t size)
{
    if (block)
        munmap (block, size);
}

//  FNV-1a over the key, from a per-table seed.
static uint64_t
s_key_hash (sipd_nist_t *self, const char *key)
{
    uint64_t hash = 14695981039346656037ULL ^ self->seed;
    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        hash ^= *p;
        hash *= 1099511628211ULL;
    }
    return hash;
}

static size_t
s_home (const s_index_t *index, const s_rec_t *rec)
{
    uint64_t h = index->by_id ? (uint64_t) (uint32_t) rec->id
                                    * 0x9E3779B97F4A7C15ULL
                              : rec->hash;
    return (size_t) (h ^ (h >> 32)) & (index->count - 1);
}

static s_rec_t *
s_index_find_id (const s_index_t *index, int id)
{
    if (!index->count)
        return NULL;
    s_rec_t probe = {.id = id};
    for (size_t i = s_home (index, &probe); index->slots[i];
         i = (i + 1) & (index->count - 1))
        if (index->slots[i]->id == id)
            return index->slots[i];
    return NULL;
}

static s_rec_t *
s_index_find_key (const s_index_t *index, uint64_t hash, const char *key)
{
    if (!index->count)
        return NULL;
    s_rec_t probe = {.hash = hash};
    for (size_t i = s_home (index, &probe); index->slots[i];
         i = (i + 1) & (index->count - 1)) {
        s_rec_t *rec = index->slots[i];
        if (rec->hash == hash && strcmp (rec->data, key) == 0)
            return rec;
    }
    return NULL;
}

static void
s_index_place (s_index_t *index, s_rec_t *rec)
{
    size_t i = s_home (index, rec);
    while (index->slots[i])
        i = (i + 1) & (index->count - 1);
    index->slots[i] = rec;
}

//  Move the records into a table of count slots (0 only when empty: free
//  it); false when the system has no memory (the table is then unchanged).
static bool
s_index_resize (s_index_t *index, size_t count)
{
    assert (count > index->used * 2 || (count == 0 && index->used == 0));
    s_rec_t **slots = NULL;
    if (count) {
        slots = s_map (count * sizeof (s_rec_t *));
        if (!slots)
            return false;
    }
    s_index_t fresh = {slots, count, 0, index->by_id};
    for (size_t i = 0; i < index->count; i++)
        if (index->slots[i]) {
            s_index_place (&fresh, index->slots[i]);
            fresh.used++;
        }
    s_unmap (index->slots, index->count * sizeof (s_rec_t *));
    *index = fresh;
    return true;
}

static bool
s_index_add (s_index_t *index, s_rec_t *rec)
{
    if (index->used + 1 > index->count / 2
        && !s_index_resize (index, index->count ? index->count * 2
                                                : MIN_SLOTS))
        return false;
    s_index_place (index, rec);
    index->used++;
    return true;
}

//  Remove rec, moving later records of the same probe run back so that
//  every record stays reachable from its home slot (Knuth 6.4 algorithm R).
static void
s_index_remove (s_index_t *index, const s_rec_t *rec)
{
    size_t mask = index->count - 1;
    size_t i = s_home (index, rec);
    while (index->slots[i] != rec) {
        if (!index->slots[i])
            return;     //  not there
        i = (i + 1) & mask;
    }
    index->slots[i] = NULL;
    index->used--;
    for (size_t j = (i + 1) & mask; index->slots[j]; j = (j + 1) & mask) {
        size_t k = s_home (index, index->slots[j]);
        bool reachable = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (reachable)
            continue;
        index->slots[i] = index->slots[j];
        index->slots[j] = NULL;
        i = j;
    }
}

//  Give memory back once the table is mostly empty.
static void
s_index_shrink (s_index_t *index)
{
    if (index->used == 0)
        s_index_resize (index, 0);
    else if (index->count > MIN_SLOTS && index->used < index->count / 8)
        s_index_resize (index, index->count / 4);
}

static size_t
s_rec_size (size_t key_len, size_t last_len)
{
    size_t size = sizeof (s_rec_t) + key_len + 1 + last_len + 1;
    return (size + 7) & ~(size_t) 7;
}

//  Append a lingering copy of a completed entry; NULL when out of memory.
static s_rec_t *
s_rec_append (sipd_nist_t *self, const s_entry_t *entry, int64_t expires)
{
    size_t key_len = strlen (entry->key);
    size_t size = s_rec_size (key_len, entry->last_len);
    s_chunk_t *chunk = self->tail;
    if (!chunk || chunk->size - chunk->used < size) {
        size_t bytes = sizeof (s_chunk_t) + size;
        bytes = bytes < CHUNK_SIZE ? CHUNK_SIZE
                                   : (bytes + 4095) & ~(size_t) 4095;
        chunk = s_map (bytes);
        if (!chunk)
            return NULL;
        chunk->next = NULL;
        chunk->size = bytes;
        chunk->used = sizeof (s_chunk_t);
        if (self->tail)
            self->tail->next = chunk;
        else {
            self->head = chunk;
            self->head_off = chunk->used;
        }
        self->tail = chunk;
    }
    s_rec_t *rec = (s_rec_t *) ((char *) chunk + chunk->used);
    rec->id = entry->id;
    rec->hash = s_key_hash (self, entry->key);
    rec->expires = expires;
    rec->source = entry->source;
    rec->dest = entry->dest;
    rec->key_len = key_len;
    rec->last_len = entry->last_len;
    memcpy (rec->data, entry->key, key_len + 1);
    memcpy (rec->data + key_len + 1, entry->last, entry->last_len);
    rec->data[key_len + 1 + entry->last_len] = '\0';
    if (!s_index_add (&self->rec_by_key, rec))
        return NULL;    //  the chunk space is reused by the next record
    if (!s_index_add (&self->rec_by_id, rec)) {
        s_index_remove (&self->rec_by_key, rec);
        return NULL;
    }
    chunk->used += size;
    return rec;
}

//  The oldest record, or NULL; unmaps chunks left behind.
static s_rec_t *
s_rec_oldest (sipd_nist_t *self)
{
    while (self->head) {
        if (self->head_off < self->head->used)
            return (s_rec_t *) ((char *) self->head + self->head_off);
        s_chunk_t *next = self->head->next;
        s_unmap (self->head, self->head->size);
        self->head = next;
        if (!next)
            self->tail = NULL;
        self->head_off = sizeof (s_chunk_t);
    }
    return NULL;
}

sipd_nist_t *
sipd_nist_new (void)
{
    sipd_nist_t *self = zmalloc (sizeof *self);
    self->by_key = zhashx_new ();
    self->by_id = cm_intmap_new ();
    self->done = zlistx_new ();
    self->retired = zlistx_new ();
    self->rec_by_id.by_id = true;
    self->seed = ((uint64_t) randof (0x7fffffff) << 31)
                 ^ (uint64_t) randof (0x7fffffff);
    return self;
}

static void
s_release (sipd_nist_t *self)
{
    s_entry_t *entry = zlistx_first (self->retired);
    while (entry) {
        s_entry_free (&entry);
        entry = zlistx_next (self->retired);
    }
    zlistx_purge (self->retired);
}

void
sipd_nist_destroy (sipd_nist_t **self_p)
{
    assert (self_p);
    sipd_nist_t *self = *self_p;
    if (!self)
        return;
    s_release (self);
    zlistx_destroy (&self->retired);
    zlistx_destroy (&self->done);
    zhashx_destroy (&self->by_id);
    for (s_entry_t *entry = zhashx_first (self->by_key); entry;
         entry = zhashx_next (self->by_key))
        s_entry_free (&entry);
    zhashx_destroy (&self->by_key);
    while (self->head) {
        s_chunk_t *next = self->head->next;
        s_unmap (self->head, self->head->size);
        self->head = next;
    }
    s_unmap (self->rec_by_key.slots,
             self->rec_by_key.count * sizeof (s_rec_t *));
    s_unmap (self->rec_by_id.slots,
             self->rec_by_id.count * sizeof (s_rec_t *));
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
    if (branch && strncmp (branch, "z9hG4bK", 7) == 0) {
        //  RFC 3261 §17.2.3: branch, sent-by, method; "branch|host:port|
        //  method" joined by hand (twice per REGISTER: no printf)
        const char *parts[] = {branch, "|", via->host, ":", port, "|",
                               request->sip_method};
        size_t lens[7], total = 1;
        for (int i = 0; i < 7; i++)
            total += lens[i] = strlen (parts[i]);
        char *key = (char *) zmalloc (total);
        char *cursor = key;
        for (int i = 0; i < 7; i++) {
            memcpy (cursor, parts[i], lens[i]);
            cursor += lens[i];
        }
        return key;
    }
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
    if (entry)
        return entry->id;
    s_rec_t *rec = s_index_find_key (&self->rec_by_key,
                                     s_key_hash (self, key), key);
    return rec ? rec->id : 0;
}

static s_entry_t *
s_entry (sipd_nist_t *self, int id)
{
    if (id <= 0)
        return NULL;
    return zhashx_lookup (self->by_id, (void *) (intptr_t) id);
}

static s_rec_t *
s_rec (sipd_nist_t *self, int id)
{
    if (id <= 0)
        return NULL;
    return s_index_find_id (&self->rec_by_id, id);
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
    if (id <= 0 || !key || !request || sipd_nist_find (self, key)
        || s_entry (self, id) || s_rec (self, id)) {
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
    return s_entry (self, id) != NULL || s_rec (self, id) != NULL;
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
    if (entry)
        return &entry->source;
    s_rec_t *rec = s_rec (self, id);
    return rec ? &rec->source : NULL;
}

const sipd_source_t *
sipd_nist_dest (sipd_nist_t *self, int id)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    if (entry)
        return &entry->dest;
    s_rec_t *rec = s_rec (self, id);
    return rec ? &rec->dest : NULL;
}

const char *
sipd_nist_last (sipd_nist_t *self, int id, size_t *len_p)
{
    assert (self);
    s_entry_t *entry = s_entry (self, id);
    const char *last = entry ? entry->last : NULL;
    size_t len = entry ? entry->last_len : 0;
    s_rec_t *rec = entry ? NULL : s_rec (self, id);
    if (rec) {
        last = rec->data + rec->key_len + 1;
        len = rec->last_len;
    }
    if (last && len_p)
        *len_p = len;
    return last;
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
    if (!final)
        return 0;
    entry->completed = true;
    if (linger_ms > 0
        && s_rec_append (self, entry, now_ms + linger_ms)) {
        //  The record answers from now on; the entry (and its request)
        //  stays readable by pointers already handed out until the next
        //  expire.
        zhashx_delete (self->by_id, (void *) (intptr_t) id);
        zhashx_delete (self->by_key, entry->key);
        zlistx_add_end (self->retired, entry);
    }
    else
        //  no linger (reliable transport), or no memory for a record:
        //  gone at the next expire
        zlistx_add_end (self->done, entry);
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
        s_entry_free (&entry);
        entry = zlistx_next (self->done);
    }
    zlistx_purge (self->done);
    bool expired = false;
    s_rec_t *rec = s_rec_oldest (self);
    while (rec && rec->expires <= now_ms) {
        s_index_remove (&self->rec_by_key, rec);
        s_index_remove (&self->rec_by_id, rec);
        self->head_off += s_rec_size (rec->key_len, rec->last_len);
        expired = true;
        rec = s_rec_oldest (self);
    }
    if (expired) {
        s_index_shrink (&self->rec_by_key);
        s_index_shrink (&self->rec_by_id);
    }
}

size_t
sipd_nist_size (sipd_nist_t *self)
{
    assert (self);
    return zhashx_size (self->by_key) + self->rec_by_key.used;
}
