//  sipd_journal — append-only CDR journal with at-least-once delivery to
//  cdrd. See sipd_journal.h for the file format and the durability design.
//
//  In memory the journal keeps the pending CDRs in append order, indexed
//  by uniqueid (sipd_pending), and the segments with how many pending CDRs
//  each still holds. A pending CDR is only its location: the segment, the
//  byte offset and the length of the JSON of its C line. The segment files
//  hold the JSON durably anyway, so it is read back (sipd_segreader, one
//  pread of one line) when the CDR is resent or set aside. A long cdrd
//  outage thus costs sipd about 100 bytes per CDR, not its JSON and more
//  (~2 KB measured, docs/cdr.md). Entries never point into truncated
//  data: the current segment is only truncated when nothing is pending,
//  and a write that fails is cut back before any entry refers to it. A
//  line that cannot be read back, or is not the C line of that uniqueid
//  (the file was damaged), is logged once and its CDR stays pending,
//  skipped by sending and tried again every retry_max_ms; the next start
//  replays it from the file.
//
//  Sending is a sliding window: at most
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
#include "sipd_journal_sync.h"
#include "sipd_pending.h"
#include "sipd_segreader.h"

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
    sipd_pending_t *queue;      //  pending CDRs, append order (owned)
    sipd_pending_cdr_t *fresh;  //  the entry being appended (borrowed)
    const cm_cdr_t *fresh_cdr;  //  its CDR during the append (borrowed)
    zlistx_t *segments;         //  s_segment_t, oldest first (owned)
    sipd_segreader_t *reader;   //  reads pending CDRs back (owned)
    size_t unreadable;          //  pending CDRs marked unreadable
    int64_t unreadable_retry;   //  zclock_mono when they are tried again
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
//  Helpers

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
            if (ftruncate (self->fd, self->seg_bytes) != 0) {
                CM_LOG (CM_LOG_ERROR, "journal", "truncate segment %u: %s",
                        self->seq, strerror (errno));
                //  The torn bytes stay: later offsets count them.
                struct stat st;
                if (fstat (self->fd, &st) == 0)
                    self->seg_bytes = st.st_size;
            }
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
    sipd_segreader_forget (self->reader, segment->seq);
    char path[4096];
    s_segment_path (self, segment->seq, path, sizeof path);
    if (unlink (path) != 0 && errno != ENOENT)
        CM_LOG (CM_LOG_WARN, "journal", "unlink %s: %s", path,
                strerror (errno));
    void *handle = zlistx_find (self->segments, segment);
    zlistx_delete (self->segments, handle);
}

//  Roll to a new segment when the current one is full; if that fails
//  (logged), keep appending to the current one and try again next time.
static void
s_roll_if_full (sipd_journal_t *self)
{
    if (self->seg_records < SIPD_JOURNAL_SEGMENT_MAX)
        return;
    s_segment_t *old = s_segment (self, self->seq);
    if (s_open_segment (self, self->seq + 1) == 0 && old
        && old->pending == 0)
        s_drop_segment (self, old);
}

//  ---------------------------------------------------------------------
//  Acks and sending

static void s_pump (sipd_journal_t *self);

//  Remove a pending entry from memory and from its segment's count.
//  Returns the segment (NULL if unknown).
static s_segment_t *
s_forget (sipd_journal_t *self, sipd_pending_cdr_t **cdr_p)
{
    s_segment_t *segment = s_segment (self, (*cdr_p)->segment);
    if (segment && segment->pending)
        segment->pending--;
    if ((*cdr_p)->unreadable)
        self->unreadable--;
    sipd_pending_remove (self->queue, cdr_p);
    return segment;
}

//  The CDR is delivered: record it, forget it, compact.
static void
s_mark_acked (sipd_journal_t *self, sipd_pending_cdr_t **cdr_p)
{
    char line[CM_CDR_UNIQUEID_MAX + 4];
    int len = snprintf (line, sizeof line, "A %s\n", (*cdr_p)->uniqueid);
    if (s_write (self, line, (size_t) len) == 0)
        s_request_sync (self);
    s_segment_t *segment = s_forget (self, cdr_p);
    self->acked++;
    if (segment && segment->pending == 0 && segment->seq != self->seq)
        s_drop_segment (self, segment);
    if (sipd_pending_size (self->queue) == 0 && self->seg_bytes > 0) {
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

//  Read a pending CDR's C line back from its segment and parse its JSON.
//  Returns the body (caller owns it) and, when text_p is not NULL, the JSON
//  text (caller frees it). NULL when the line cannot be read or is not the
//  C line of this uniqueid: logged at error level the first time, and the
//  entry is marked unreadable (it stays pending).
static json_t *
s_read_body (sipd_journal_t *self, sipd_pending_cdr_t *cdr, char **text_p)
{
    const char *error = NULL;
    json_t *body = NULL;
    char *text = sipd_segreader_read (self->reader, cdr->segment,
                                      cdr->offset, cdr->length, &error);
    if (text) {
        body = json_loads (text, 0, NULL);
        const char *uniqueid
            = json_string_value (json_object_get (body, "uniqueid"));
        if (!uniqueid || !streq (uniqueid, cdr->uniqueid))
            error = "not this CDR's line";
    }
    if (error) {
        CM_LOG_CALL (cdr->unreadable ? CM_LOG_DEBUG : CM_LOG_ERROR, "journal",
                     cdr->uniqueid,
                     "cannot read CDR back from segment %u at %" PRIu64
                     ": %s; it stays pending",
                     cdr->segment, cdr->offset, error);
        if (!cdr->unreadable && self->unreadable++ == 0)
            self->unreadable_retry = zclock_mono () + self->retry_max_ms;
        cdr->unreadable = true;
        json_decref (body);
        free (text);
        return NULL;
    }
    if (cdr->unreadable)
        self->unreadable--;
    cdr->unreadable = false;
    if (text_p)
        *text_p = text;
    else
        free (text);
    return body;
}

//  Set a rejected CDR aside in cdr-rejected.jsonl for an operator.
//  Returns -1 when its JSON cannot be read back (it stays pending).
static int
s_reject (sipd_journal_t *self, sipd_pending_cdr_t *cdr, const char *reason)
{
    char *text = NULL;
    json_t *body = s_read_body (self, cdr, &text);
    if (!body)
        return -1;
    json_decref (body);
    CM_LOG (CM_LOG_ERROR, "journal",
            "cdrd refused CDR %s for good (%s); kept in cdr-rejected.jsonl",
            cdr->uniqueid, reason ? reason : "no reason");
    char path[4096];
    snprintf (path, sizeof path, "%s/cdr-rejected.jsonl", self->dir);
    FILE *file = fopen (path, "a");
    if (file) {
        fprintf (file, "%s\n", text);
        fclose (file);
    }
    free (text);
    return 0;
}

//  No ack (timeout or transient error): back off once per round.
static void
s_back_off (sipd_journal_t *self, const char *uniqueid, const char *type)
{
    int64_t now = zclock_mono ();
    if (self->next_send > now)
        return;
    CM_LOG (CM_LOG_WARN, "journal",
            "no ack from cdrd for %s (%s); %zu pending, retry in %d ms",
            uniqueid, type ? type : "timeout",
            sipd_pending_size (self->queue), self->backoff_ms);
    self->next_send = now + self->backoff_ms;
    self->window = 1;
    self->backoff_ms = self->backoff_ms * 2 > self->retry_max_ms
                           ? self->retry_max_ms
                           : self->backoff_ms * 2;
}

static void
s_on_reply (cm_msg_t *reply, void *arg)
{
    s_request_t *request = (s_request_t *) arg;
    sipd_journal_t *self = request->journal;
    if (self->closing)
        goto out;
    sipd_pending_cdr_t *cdr = sipd_pending_lookup (self->queue,
                                                   request->uniqueid);
    if (cdr && cdr->in_flight) {
        cdr->in_flight = false;
        self->in_flight--;
    }
    const char *type = reply ? cm_msg_type (reply) : NULL;
    const char *uniqueid = reply ? cm_msg_get_str (reply, "uniqueid") : NULL;
    if (type && streq (type, "ack") && uniqueid
        && streq (uniqueid, request->uniqueid)) {
        if (cdr)
            s_mark_acked (self, &cdr);
        self->backoff_ms = self->retry_min_ms;
        self->next_send = 0;
        self->window = SIPD_JOURNAL_WINDOW;
    }
    else if (type && streq (type, "error") && cdr
             && json_is_false (json_object_get (cm_msg_body (reply),
                                                "retry"))) {
        if (s_reject (self, cdr, cm_msg_get_str (reply, "error")) == 0)
            s_mark_acked (self, &cdr);
    }
    else
        s_back_off (self, request->uniqueid, type);
    s_pump (self);
out:
    free (request->uniqueid);
    free (request);
}

//  Send one pending CDR. The CDR being appended is turned into the body
//  directly; a resend or a replayed one is read back from its C line.
//  Returns 0 when sent or skipped as unreadable, -1 when sending must
//  pause.
static int
s_send (sipd_journal_t *self, sipd_pending_cdr_t *cdr)
{
    json_t *body = NULL;
    if (cdr == self->fresh)
        body = cm_cdr_to_json (self->fresh_cdr);
    else {
        body = s_read_body (self, cdr, NULL);
        if (!body)
            return 0;       //  logged; skipped until the next retry round
    }
    s_request_t *request = (s_request_t *) zmalloc (sizeof (s_request_t));
    request->journal = self;
    request->uniqueid = strdup (cdr->uniqueid);
    if (!body
        || cm_client_request (self->client, "cdr", &body, self->timeout_ms,
                              s_on_reply, request)
               != 0) {
        json_decref (body);
        free (request->uniqueid);
        free (request);
        self->next_send = zclock_mono () + self->backoff_ms;
        return -1;
    }
    cdr->in_flight = true;
    self->in_flight++;
    return 0;
}

//  Send pending CDRs, oldest first, while the window has room. CDRs that
//  could not be read back are skipped, except once per retry_max_ms.
static void
s_pump (sipd_journal_t *self)
{
    int64_t now = zclock_mono ();
    if (self->closing || now < self->next_send)
        return;
    bool retry_unreadable = self->unreadable
                            && now >= self->unreadable_retry;
    if (retry_unreadable)
        self->unreadable_retry = now + self->retry_max_ms;
    for (sipd_pending_cdr_t *cdr = sipd_pending_first (self->queue);
         cdr && self->in_flight < self->window; cdr = cdr->next) {
        if (cdr->in_flight || (cdr->unreadable && !retry_unreadable))
            continue;
        if (s_send (self, cdr) != 0)
            return;
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

//  Queue a CDR whose JSON (length bytes) was just written or replayed at
//  offset in segment seq. Returns the entry (borrowed), or NULL when the
//  uniqueid is already pending.
static sipd_pending_cdr_t *
s_enqueue (sipd_journal_t *self, const char *uniqueid, uint32_t seq,
           uint64_t offset, size_t length)
{
    sipd_pending_cdr_t *cdr = sipd_pending_add (self->queue, uniqueid, seq,
                                                offset, length);
    s_segment_t *segment = cdr ? s_segment (self, seq) : NULL;
    if (segment)
        segment->pending++;
    return cdr;
}

//  Replay one complete line (LF replaced by NUL, len bytes before it)
//  that starts at offset in segment seq. Returns -1 (with the reason in
//  error) when it is not a usable A or C line.
static int
s_replay_line (sipd_journal_t *self, uint32_t seq, const char *line,
               size_t len, uint64_t offset, char *error, size_t size)
{
    if (memchr (line, '\0', len)) {
        snprintf (error, size, "NUL byte in line");
        return -1;
    }
    if (line[0] == 'A' && line[1] == ' ') {
        sipd_pending_cdr_t *cdr = sipd_pending_lookup (self->queue, line + 2);
        if (cdr)
            s_forget (self, &cdr);
        return 0;
    }
    if (line[0] != 'C' || line[1] != ' ') {
        snprintf (error, size, "unknown line type");
        return -1;
    }
    cm_cdr_t *cdr = cm_cdr_decode_json (line + 2, error, size);
    if (!cdr)
        return -1;
    //  Only where the JSON lies is kept; a resend reads it back.
    s_enqueue (self, cm_cdr_uniqueid (cdr), seq, offset + 2, len - 2);
    cm_cdr_destroy (&cdr);
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
    uint64_t offset = 0;        //  where the line read next starts
    while ((len = getline (&line, &size, file)) > 0) {
        uint64_t start = offset;
        offset += (uint64_t) len;
        lineno++;
        char error[256] = "";
        if (line[len - 1] != '\n') {
            bad++;      //  torn tail of a crashed write
            continue;
        }
        line[len - 1] = '\0';
        if (s_replay_line (self, seq, line, (size_t) len - 1, start, error,
                           sizeof error)
            != 0) {
            CM_LOG (CM_LOG_WARN, "journal", "%s:%zu: skipped: %s", path,
                    lineno, *error ? error : "unusable line");
            bad++;
        }
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
    self->queue = sipd_pending_new ();
    self->reader = sipd_segreader_new (spool_dir);
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
    self->syncer = zactor_new (sipd_journal_syncer, NULL);
    zstr_sendx (self->syncer, "SYNCDIR", self->dir, NULL);
    zloop_reader (loop, zactor_sock (self->syncer), s_on_synced, self);
    self->timer_id = zloop_timer (loop, TICK_MS, 0, s_on_tick, self);
    if (sipd_pending_size (self->queue))
        CM_LOG (CM_LOG_INFO, "journal", "replaying %zu unacknowledged CDR(s)",
                sipd_pending_size (self->queue));
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
    sipd_segreader_destroy (&self->reader);
    if (sipd_pending_size (self->queue))
        CM_LOG (CM_LOG_INFO, "journal",
                "%zu CDR(s) not yet acknowledged stay in %s",
                sipd_pending_size (self->queue), self->dir);
    sipd_pending_destroy (&self->queue);
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
    if (sipd_pending_lookup (self->queue, cm_cdr_uniqueid (cdr))) {
        CM_LOG_CALL (CM_LOG_ERROR, "journal", cm_cdr_uniqueid (cdr),
                     "duplicate uniqueid not journaled: %s", json);
        goto out;
    }
    size_t len = strlen (json);
    if (len > SIPD_PENDING_LENGTH_MAX) {
        CM_LOG_CALL (CM_LOG_ERROR, "journal", cm_cdr_uniqueid (cdr),
                     "CDR of %zu bytes too long to journal: %s", len, json);
        goto out;
    }
    s_roll_if_full (self);
    uint64_t offset = (uint64_t) self->seg_bytes + 2;   //  after "C "
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
    //  Its first send builds the body from the CDR, not from the line.
    self->fresh = s_enqueue (self, cm_cdr_uniqueid (cdr), self->seq, offset,
                             len);
    self->fresh_cdr = cdr;
    s_request_sync (self);
    s_pump (self);
    self->fresh = NULL;
    self->fresh_cdr = NULL;
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
    return sipd_pending_size (self->queue);
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
                         json_integer ((json_int_t) sipd_pending_size (self->queue)));
    json_object_set_new (body, "cdr_acked",
                         json_integer ((json_int_t) self->acked));
    json_object_set_new (body, "cdr_synced",
                         json_boolean (sipd_journal_synced (self)));
}
