//  sipd_journal — append-only CDR journal with at-least-once delivery to
//  cdrd. See sipd_journal.h for the file format and the durability design.
//
//  In memory the journal keeps the pending CDRs in append order (a zlistx
//  of entries, indexed by uniqueid) and the segments with how many pending
//  CDRs each still holds. Sending is a sliding window: at most
//  SIPD_JOURNAL_WINDOW `cdr` requests are outstanding; every ack frees a
//  slot and the next pending CDR goes out. A timeout (cdrd down, message
//  lost) pauses sending for the backoff time, which doubles per round up
//  to retry_max and resets on the next ack. While cdrd does not answer,
//  each round sends a single CDR as a probe (the window shrinks to 1):
//  ZeroMQ would otherwise queue a full window of copies per round for a
//  peer that is away and deliver them all, as duplicates, when it comes
//  back. The first ack reopens the full window.
//
//  cdrd answers `ack` {uniqueid} once the row is stored (or was already
//  stored), or `error` {error, retry}. retry false means the CDR can never
//  be stored (it failed validation in cdrd): it is appended to
//  spool/cdr-rejected.jsonl for an operator and treated as delivered, so
//  one bad record cannot block the queue. Any other failure is retried.

#include "sipd_journal.h"
#include "cm_client.h"
#include "cm_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TICK_MS 100             //  pump timer period

typedef struct {
    char *uniqueid;             //  CDR key (owned)
    char *json;                 //  CDR JSON text, one line (owned)
    const cm_cdr_t *fresh;      //  the CDR itself during its append
                                //  (borrowed), else NULL
    uint32_t segment;           //  segment holding the C line
    bool in_flight;             //  a request is outstanding
} s_entry_t;

typedef struct {
    uint32_t seq;               //  segment number (file name)
    size_t pending;             //  pending CDRs whose C line is here
} s_segment_t;

typedef struct {
    sipd_journal_t *journal;    //  owner (borrowed)
    char *uniqueid;             //  the CDR this request carries (owned)
} s_request_t;

struct _sipd_journal_t {
    char *dir;                  //  spool directory (owned)
    zloop_t *loop;              //  borrowed
    cm_client_t *client;        //  DEALER to cdrd (owned)
    zactor_t *syncer;           //  fdatasync helper thread (owned)
    zlistx_t *queue;            //  s_entry_t, append order (owned)
    zhashx_t *index;            //  uniqueid -> queue handle (borrowed)
    zlistx_t *segments;         //  s_segment_t, oldest first (owned)
    int fd;                     //  current segment, append only
    uint32_t seq;               //  current segment number
    off_t seg_bytes;            //  bytes written to the current segment
    size_t seg_records;         //  C lines in the current segment
    size_t in_flight;           //  requests outstanding
    uint64_t acked;             //  acks since open
    uint64_t write_seq;         //  increments on every journal write
    uint64_t synced_seq;        //  last write_seq known to be synced
    bool sync_outstanding;      //  a SYNC awaits its SYNCED
    int timeout_ms;             //  ack timeout
    int retry_min_ms;           //  first backoff
    int retry_max_ms;           //  largest backoff
    int backoff_ms;             //  current backoff
    size_t window;              //  requests allowed in flight now
    int64_t next_send;          //  zclock_mono before which we wait
    int timer_id;               //  pump timer
    bool closing;               //  destroy in progress
};

//  ---------------------------------------------------------------------
//  Sync actor: one thread doing fdatasync on request, coalescing.
//  Commands:
//      "SYNC" path write_seq   sync the current segment, then reply
//                              "SYNCED" write_seq
//      "SYNCFILE" path         also sync this (rolled) segment; no reply
//      "SYNCDIR" dir           fsync the directory (a segment was created)
//  Whatever is queued is handled as one batch: every file once, then the
//  directory, then the reply, so SYNCED means "all writes up to write_seq
//  are on disk". The loop keeps at most one SYNC outstanding, so the pipe
//  never fills up and sending to it never blocks the loop.

static void
s_sync_path (const char *path, bool directory)
{
    int fd = open (path, (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY)
                             | O_CLOEXEC);
    if (fd < 0)
        return;     //  segment already unlinked: all its CDRs were acked
    if ((directory ? fsync (fd) : fdatasync (fd)) != 0)
        CM_LOG (CM_LOG_ERROR, "journal", "fsync %s: %s", path,
                strerror (errno));
    close (fd);
}

static void
s_syncer (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    bool terminated = false;
    zlistx_t *files = zlistx_new ();
    zlistx_set_destructor (files, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator (files, (zlistx_comparator_fn *) strcmp);
    while (!terminated) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *dir = NULL, *seq = NULL;
        while (msg) {
            char *command = zmsg_popstr (msg);
            char *path = zmsg_popstr (msg);
            if (command && streq (command, "$TERM"))
                terminated = true;
            else if (command && path && streq (command, "SYNCDIR")) {
                zstr_free (&dir);
                dir = path;
                path = NULL;
            }
            else if (command && path
                     && (streq (command, "SYNC")
                         || streq (command, "SYNCFILE"))) {
                if (streq (command, "SYNC")) {
                    zstr_free (&seq);
                    seq = zmsg_popstr (msg);
                }
                if (!zlistx_find (files, path)) {
                    zlistx_add_end (files, path);
                    path = NULL;
                }
            }
            zstr_free (&path);
            zstr_free (&command);
            zmsg_destroy (&msg);
            if (!terminated && (zsock_events (pipe) & ZMQ_POLLIN))
                msg = zmsg_recv (pipe);
        }
        for (const char *path = (const char *) zlistx_first (files); path;
             path = (const char *) zlistx_next (files))
            s_sync_path (path, false);
        zlistx_purge (files);
        if (dir)
            s_sync_path (dir, true);
        if (seq && !terminated)
            zstr_sendx (pipe, "SYNCED", seq, NULL);
        zstr_free (&seq);
        zstr_free (&dir);
    }
    zlistx_destroy (&files);
}

//  ---------------------------------------------------------------------
//  Helpers

static void
s_entry_destroy (s_entry_t **entry_p)
{
    s_entry_t *entry = *entry_p;
    if (!entry)
        return;
    free (entry->uniqueid);
    free (entry->json);
    free (entry);
    *entry_p = NULL;
}

static void
s_segment_path (sipd_journal_t *self, uint32_t seq, char *buf, size_t size)
{
    snprintf (buf, size, "%s/cdr-%010u.journal", self->dir, seq);
}

static s_segment_t *
s_segment (sipd_journal_t *self, uint32_t seq)
{
    for (s_segment_t *s = (s_segment_t *) zlistx_first (self->segments); s;
         s = (s_segment_t *) zlistx_next (self->segments))
        if (s->seq == seq)
            return s;
    return NULL;
}

//  Write all of buf to the current segment. On failure the segment is cut
//  back to its previous length so no torn line stays behind.
static int
s_write (sipd_journal_t *self, const char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write (self->fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            CM_LOG (CM_LOG_ERROR, "journal", "write segment %u: %s",
                    self->seq, n < 0 ? strerror (errno) : "short write");
            if (ftruncate (self->fd, self->seg_bytes) != 0)
                CM_LOG (CM_LOG_ERROR, "journal", "truncate segment %u: %s",
                        self->seq, strerror (errno));
            return -1;
        }
        done += (size_t) n;
    }
    self->seg_bytes += (off_t) len;
    self->write_seq++;
    return 0;
}

//  Ask the syncer to fdatasync the current segment, unless a request is
//  outstanding: its SYNCED answer asks again for what was written since.
static void
s_request_sync (sipd_journal_t *self)
{
    if (self->sync_outstanding || !self->syncer)
        return;
    self->sync_outstanding = true;
    char path[4096], seq[24];
    s_segment_path (self, self->seq, path, sizeof path);
    snprintf (seq, sizeof seq, "%" PRIu64, self->write_seq);
    zstr_sendx (self->syncer, "SYNC", path, seq, NULL);
}

//  Start a new segment (sequence seq) as the current one.
static int
s_open_segment (sipd_journal_t *self, uint32_t seq)
{
    char path[4096];
    s_segment_path (self, seq, path, sizeof path);
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC,
                   0644);
    if (fd < 0) {
        CM_LOG (CM_LOG_ERROR, "journal", "cannot create %s: %s", path,
                strerror (errno));
        return -1;
    }
    if (self->fd >= 0) {
        //  The rolled segment may hold writes no SYNC has covered yet.
        char old[4096];
        s_segment_path (self, self->seq, old, sizeof old);
        if (self->syncer)
            zstr_sendx (self->syncer, "SYNCFILE", old, NULL);
        close (self->fd);
    }
    self->fd = fd;
    self->seq = seq;
    self->seg_bytes = 0;
    self->seg_records = 0;
    s_segment_t *segment = (s_segment_t *) zmalloc (sizeof (s_segment_t));
    segment->seq = seq;
    zlistx_add_end (self->segments, segment);
    if (self->syncer)
        zstr_sendx (self->syncer, "SYNCDIR", self->dir, NULL);
    return 0;
}

//  Unlink a segment that is not the current one and holds nothing
//  pending.
static void
s_drop_segment (sipd_journal_t *self, s_segment_t *segment)
{
    char path[4096];
    s_segment_path (self, segment->seq, path, sizeof path);
    if (unlink (path) != 0 && errno != ENOENT)
        CM_LOG (CM_LOG_WARN, "journal", "unlink %s: %s", path,
                strerror (errno));
    void *handle = zlistx_find (self->segments, segment);
    zlistx_delete (self->segments, handle);
}

//  ---------------------------------------------------------------------
//  Acks and sending

static void s_pump (sipd_journal_t *self);

//  Remove a pending entry from memory and from its segment's count.
//  Returns the segment (NULL if unknown).
static s_segment_t *
s_forget (sipd_journal_t *self, void *handle)
{
    s_entry_t *entry = (s_entry_t *) zlistx_handle_item (handle);
    s_segment_t *segment = s_segment (self, entry->segment);
    if (segment && segment->pending)
        segment->pending--;
    zhashx_delete (self->index, entry->uniqueid);
    zlistx_delete (self->queue, handle);
    return segment;
}

//  The CDR is delivered: record it, forget it, compact.
static void
s_mark_acked (sipd_journal_t *self, void *handle)
{
    s_entry_t *entry = (s_entry_t *) zlistx_handle_item (handle);
    char line[CM_CDR_UNIQUEID_MAX + 4];
    int len = snprintf (line, sizeof line, "A %s\n", entry->uniqueid);
    if (s_write (self, line, (size_t) len) == 0)
        s_request_sync (self);
    s_segment_t *segment = s_forget (self, handle);
    self->acked++;
    if (segment && segment->pending == 0 && segment->seq != self->seq)
        s_drop_segment (self, segment);
    if (zlistx_size (self->queue) == 0 && self->seg_bytes > 0) {
        //  Everything delivered: the current segment can be emptied.
        if (ftruncate (self->fd, 0) == 0) {
            self->seg_bytes = 0;
            self->seg_records = 0;
        }
        else
            CM_LOG (CM_LOG_WARN, "journal", "truncate segment %u: %s",
                    self->seq, strerror (errno));
    }
}

static void
s_reject (sipd_journal_t *self, s_entry_t *entry, const char *reason)
{
    CM_LOG (CM_LOG_ERROR, "journal",
            "cdrd refused CDR %s for good (%s); kept in cdr-rejected.jsonl",
            entry->uniqueid, reason ? reason : "no reason");
    char path[4096];
    snprintf (path, sizeof path, "%s/cdr-rejected.jsonl", self->dir);
    FILE *file = fopen (path, "a");
    if (file) {
        fprintf (file, "%s\n", entry->json);
        fclose (file);
    }
}

static void
s_on_reply (cm_msg_t *reply, void *arg)
{
    s_request_t *request = (s_request_t *) arg;
    sipd_journal_t *self = request->journal;
    if (self->closing)
        goto out;
    void *handle = zhashx_lookup (self->index, request->uniqueid);
    s_entry_t *entry = handle ? (s_entry_t *) zlistx_handle_item (handle)
                              : NULL;
    if (entry && entry->in_flight) {
        entry->in_flight = false;
        self->in_flight--;
    }
    const char *type = reply ? cm_msg_type (reply) : NULL;
    const char *uniqueid = reply ? cm_msg_get_str (reply, "uniqueid") : NULL;
    if (type && streq (type, "ack") && uniqueid
        && streq (uniqueid, request->uniqueid)) {
        if (entry)
            s_mark_acked (self, handle);
        self->backoff_ms = self->retry_min_ms;
        self->next_send = 0;
        self->window = SIPD_JOURNAL_WINDOW;
    }
    else if (type && streq (type, "error") && entry
             && json_is_false (json_object_get (cm_msg_body (reply),
                                                "retry"))) {
        s_reject (self, entry, cm_msg_get_str (reply, "error"));
        s_mark_acked (self, handle);
    }
    else {
        //  Timeout or transient error: back off once per round.
        int64_t now = zclock_mono ();
        if (self->next_send <= now) {
            CM_LOG (CM_LOG_WARN, "journal",
                    "no ack from cdrd for %s (%s); %zu pending, retry in "
                    "%d ms",
                    request->uniqueid, type ? type : "timeout",
                    zlistx_size (self->queue), self->backoff_ms);
            self->next_send = now + self->backoff_ms;
            self->window = 1;
            self->backoff_ms = self->backoff_ms * 2 > self->retry_max_ms
                                   ? self->retry_max_ms
                                   : self->backoff_ms * 2;
        }
    }
    s_pump (self);
out:
    free (request->uniqueid);
    free (request);
}

//  Send pending CDRs, oldest first, while the window has room.
static void
s_pump (sipd_journal_t *self)
{
    if (self->closing || zclock_mono () < self->next_send)
        return;
    for (s_entry_t *entry = (s_entry_t *) zlistx_first (self->queue);
         entry && self->in_flight < self->window;
         entry = (s_entry_t *) zlistx_next (self->queue)) {
        if (entry->in_flight)
            continue;
        //  A fresh CDR is turned into the body directly; a resend or a
        //  replayed one is parsed from its journal line.
        json_t *body = entry->fresh ? cm_cdr_to_json (entry->fresh)
                                    : json_loads (entry->json, 0, NULL);
        s_request_t *request = (s_request_t *) zmalloc (sizeof (s_request_t));
        request->journal = self;
        request->uniqueid = strdup (entry->uniqueid);
        if (!body
            || cm_client_request (self->client, "cdr", &body, self->timeout_ms,
                                  s_on_reply, request)
                   != 0) {
            json_decref (body);
            free (request->uniqueid);
            free (request);
            self->next_send = zclock_mono () + self->backoff_ms;
            return;
        }
        entry->in_flight = true;
        self->in_flight++;
    }
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    s_pump ((sipd_journal_t *) arg);
    return 0;
}

static int
s_on_synced (zloop_t *loop, zsock_t *sock, void *arg)
{
    sipd_journal_t *self = (sipd_journal_t *) arg;
    char *command = NULL, *seq = NULL;
    if (zstr_recvx (sock, &command, &seq, NULL) >= 0 && command && seq
        && streq (command, "SYNCED")) {
        uint64_t n = strtoull (seq, NULL, 10);
        if (n > self->synced_seq)
            self->synced_seq = n;
        self->sync_outstanding = false;
        if (self->write_seq > self->synced_seq)
            s_request_sync (self);
    }
    zstr_free (&command);
    zstr_free (&seq);
    return 0;
}

//  ---------------------------------------------------------------------
//  Replay

//  Queue a CDR read from a segment or appended now. Takes ownership of
//  json. Returns -1 when the uniqueid is already pending.
static int
s_enqueue (sipd_journal_t *self, const char *uniqueid, char *json,
           uint32_t seq)
{
    if (zhashx_lookup (self->index, uniqueid)) {
        free (json);
        return -1;
    }
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    entry->uniqueid = strdup (uniqueid);
    entry->json = json;
    entry->segment = seq;
    void *handle = zlistx_add_end (self->queue, entry);
    zhashx_insert (self->index, uniqueid, handle);
    s_segment_t *segment = s_segment (self, seq);
    if (segment)
        segment->pending++;
    return 0;
}

//  Read one segment file: C lines queue, A lines unqueue.
static void
s_replay_segment (sipd_journal_t *self, uint32_t seq)
{
    char path[4096];
    s_segment_path (self, seq, path, sizeof path);
    FILE *file = fopen (path, "r");
    if (!file) {
        CM_LOG (CM_LOG_WARN, "journal", "cannot read %s: %s", path,
                strerror (errno));
        return;
    }
    s_segment_t *segment = (s_segment_t *) zmalloc (sizeof (s_segment_t));
    segment->seq = seq;
    zlistx_add_end (self->segments, segment);
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    size_t lineno = 0, bad = 0;
    while ((len = getline (&line, &size, file)) > 0) {
        lineno++;
        char error[256] = "";
        if (line[len - 1] != '\n') {
            bad++;      //  torn tail of a crashed write
            continue;
        }
        line[len - 1] = '\0';
        if (line[0] == 'A' && line[1] == ' ') {
            void *handle = zhashx_lookup (self->index, line + 2);
            if (handle)
                s_forget (self, handle);
            continue;
        }
        cm_cdr_t *cdr = line[0] == 'C' && line[1] == ' '
                            ? cm_cdr_decode_json (line + 2, error,
                                                  sizeof error)
                            : NULL;
        if (!cdr) {
            CM_LOG (CM_LOG_WARN, "journal", "%s:%zu: skipped: %s", path,
                    lineno, *error ? error : "unknown line type");
            bad++;
            continue;
        }
        s_enqueue (self, cm_cdr_uniqueid (cdr), strdup (line + 2), seq);
        cm_cdr_destroy (&cdr);
    }
    free (line);
    fclose (file);
    if (bad)
        CM_LOG (CM_LOG_WARN, "journal", "%s: %zu unusable line(s) skipped",
                path, bad);
}

static int
s_cmp_seq (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

//  Replay all segments in order; returns the highest sequence seen, or
//  -1 when the directory cannot be read.
static int64_t
s_replay (sipd_journal_t *self)
{
    DIR *dir = opendir (self->dir);
    if (!dir) {
        CM_LOG (CM_LOG_ERROR, "journal", "cannot read %s: %s", self->dir,
                strerror (errno));
        return -1;
    }
    size_t count = 0, room = 16;
    uint32_t *seqs = (uint32_t *) zmalloc (room * sizeof (uint32_t));
    struct dirent *de;
    while ((de = readdir (dir))) {
        unsigned seq;
        char tail[16];
        if (strlen (de->d_name) != strlen ("cdr-0000000000.journal")
            || sscanf (de->d_name, "cdr-%10u%15s", &seq, tail) != 2
            || !streq (tail, ".journal"))
            continue;
        if (count == room) {
            room *= 2;
            uint32_t *grown = (uint32_t *) realloc (seqs,
                                                    room * sizeof (uint32_t));
            assert (grown);     //  allocation failure aborts (STYLE §4)
            seqs = grown;
        }
        seqs[count++] = seq;
    }
    closedir (dir);
    qsort (seqs, count, sizeof (uint32_t), s_cmp_seq);
    int64_t max = 0;
    for (size_t i = 0; i < count; i++) {
        s_replay_segment (self, seqs[i]);
        max = seqs[i];
    }
    free (seqs);
    //  Segments that hold nothing pending any more go now.
    bool dropped = true;
    while (dropped) {
        dropped = false;
        for (s_segment_t *segment = (s_segment_t *) zlistx_first (self->segments);
             segment; segment = (s_segment_t *) zlistx_next (self->segments))
            if (segment->pending == 0) {
                s_drop_segment (self, segment);
                dropped = true;
                break;
            }
    }
    return max;
}

//  ---------------------------------------------------------------------
//  Public API

sipd_journal_t *
sipd_journal_new (const char *spool_dir, const char *cdrd_endpoint,
                  zloop_t *loop)
{
    assert (spool_dir);
    assert (cdrd_endpoint);
    assert (loop);
    if (zsys_dir_create ("%s", spool_dir) != 0) {
        CM_LOG (CM_LOG_ERROR, "journal", "cannot create %s: %s", spool_dir,
                strerror (errno));
        return NULL;
    }
    sipd_journal_t *self = (sipd_journal_t *) zmalloc (sizeof (sipd_journal_t));
    self->dir = strdup (spool_dir);
    self->loop = loop;
    self->fd = -1;
    self->queue = zlistx_new ();
    zlistx_set_destructor (self->queue, (zlistx_destructor_fn *) s_entry_destroy);
    self->index = zhashx_new ();
    self->segments = zlistx_new ();
    zlistx_set_destructor (self->segments, (zlistx_destructor_fn *) zstr_free);
    self->timeout_ms = 5000;
    self->retry_min_ms = 500;
    self->retry_max_ms = 30000;
    self->backoff_ms = self->retry_min_ms;
    self->window = SIPD_JOURNAL_WINDOW;
    int64_t max = s_replay (self);
    if (max < 0 || max >= UINT32_MAX
        || s_open_segment (self, (uint32_t) max + 1) != 0) {
        sipd_journal_destroy (&self);
        return NULL;
    }
    self->client = cm_client_new (cdrd_endpoint, loop);
    if (!self->client) {
        sipd_journal_destroy (&self);
        return NULL;
    }
    self->syncer = zactor_new (s_syncer, NULL);
    zstr_sendx (self->syncer, "SYNCDIR", self->dir, NULL);
    zloop_reader (loop, zactor_sock (self->syncer), s_on_synced, self);
    self->timer_id = zloop_timer (loop, TICK_MS, 0, s_on_tick, self);
    if (zlistx_size (self->queue))
        CM_LOG (CM_LOG_INFO, "journal", "replaying %zu unacknowledged CDR(s)",
                zlistx_size (self->queue));
    s_pump (self);
    return self;
}

void
sipd_journal_destroy (sipd_journal_t **self_p)
{
    assert (self_p);
    sipd_journal_t *self = *self_p;
    if (!self)
        return;
    self->closing = true;
    cm_client_destroy (&self->client);
    if (self->syncer) {
        zloop_reader_end (self->loop, zactor_sock (self->syncer));
        zloop_timer_end (self->loop, self->timer_id);
        zactor_destroy (&self->syncer);
    }
    if (self->fd >= 0) {
        if (fdatasync (self->fd) != 0)
            CM_LOG (CM_LOG_WARN, "journal", "fdatasync: %s", strerror (errno));
        close (self->fd);
    }
    if (zlistx_size (self->queue))
        CM_LOG (CM_LOG_INFO, "journal",
                "%zu CDR(s) not yet acknowledged stay in %s",
                zlistx_size (self->queue), self->dir);
    zhashx_destroy (&self->index);
    zlistx_destroy (&self->queue);
    zlistx_destroy (&self->segments);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

int
sipd_journal_append (sipd_journal_t *self, cm_cdr_t **cdr_p)
{
    assert (self);
    assert (cdr_p);
    cm_cdr_t *cdr = *cdr_p;
    *cdr_p = NULL;
    if (!cdr)
        return -1;
    int rc = -1;
    char error[256];
    char *json = cm_cdr_encode_json (cdr);
    if (!json) {
        CM_LOG_CALL (CM_LOG_ERROR, "journal", cm_cdr_uniqueid (cdr),
                     "CDR not journaled: cannot encode it");
        goto out;
    }
    if (cm_cdr_validate (cdr, error, sizeof error) != 0) {
        CM_LOG_CALL (CM_LOG_ERROR, "journal", cm_cdr_uniqueid (cdr),
                     "invalid CDR not journaled (%s): %s", error, json);
        goto out;
    }
    if (zhashx_lookup (self->index, cm_cdr_uniqueid (cdr))) {
        CM_LOG_CALL (CM_LOG_ERROR, "journal", cm_cdr_uniqueid (cdr),
                     "duplicate uniqueid not journaled: %s", json);
        goto out;
    }
    if (self->seg_records >= SIPD_JOURNAL_SEGMENT_MAX) {
        //  Roll to a new segment; if that fails (logged), keep appending
        //  to the current one and try again next time.
        s_segment_t *old = s_segment (self, self->seq);
        if (s_open_segment (self, self->seq + 1) == 0 && old
            && old->pending == 0)
            s_drop_segment (self, old);
    }
    size_t len = strlen (json);
    char *line = (char *) zmalloc (len + 4);
    memcpy (line, "C ", 2);
    memcpy (line + 2, json, len);
    line[len + 2] = '\n';
    int written = s_write (self, line, len + 3);
    free (line);
    if (written != 0) {
        CM_LOG_CALL (CM_LOG_ERROR, "journal", cm_cdr_uniqueid (cdr),
                     "CDR not journaled: %s", json);
        goto out;
    }
    self->seg_records++;
    void *handle = NULL;
    if (s_enqueue (self, cm_cdr_uniqueid (cdr), json, self->seq) == 0)
        handle = zhashx_lookup (self->index, cm_cdr_uniqueid (cdr));
    json = NULL;
    s_entry_t *entry = handle ? (s_entry_t *) zlistx_handle_item (handle)
                              : NULL;
    //  Its first send builds the body from the CDR, not from the line.
    if (entry)
        entry->fresh = cdr;
    s_request_sync (self);
    s_pump (self);
    if (entry)
        entry->fresh = NULL;
    rc = 0;
out:
    free (json);
    cm_cdr_destroy (&cdr);
    return rc;
}

size_t
sipd_journal_pending (sipd_journal_t *self)
{
    assert (self);
    return zlistx_size (self->queue);
}

uint64_t
sipd_journal_acked (sipd_journal_t *self)
{
    assert (self);
    return self->acked;
}

bool
sipd_journal_synced (sipd_journal_t *self)
{
    assert (self);
    return self->synced_seq >= self->write_seq;
}

void
sipd_journal_set_timing (sipd_journal_t *self, int timeout_ms,
                         int retry_min_ms, int retry_max_ms)
{
    assert (self);
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    self->retry_min_ms = retry_min_ms > 0 ? retry_min_ms : 500;
    self->retry_max_ms = retry_max_ms >= self->retry_min_ms
                             ? retry_max_ms
                             : self->retry_min_ms;
    self->backoff_ms = self->retry_min_ms;
}

void
sipd_journal_status (sipd_journal_t *self, json_t *body)
{
    assert (self);
    assert (body);
    json_object_set_new (body, "cdr_pending",
                         json_integer ((json_int_t) zlistx_size (self->queue)));
    json_object_set_new (body, "cdr_acked",
                         json_integer ((json_int_t) self->acked));
    json_object_set_new (body, "cdr_synced",
                         json_boolean (sipd_journal_synced (self)));
}
