//  sipd_regfile — snapshot of the bindings and the crash-safe file write,
//  in a zactor or in the caller (see sipd_regfile.h).
//
//  A snapshot is a sequence of records, each an s_record_t followed by
//  the strings number, uri, call_id, [instance], [user_agent], every one
//  NUL-terminated, padded to 8 bytes. The buffer comes from mmap and
//  grows by remapping; whoever writes it (actor or caller) unmaps it.
//  The actor and the loop share nothing: the buffer's ownership travels
//  with the WRITE message, and the outcome comes back as DONE.

#include "sipd_regfile.h"
#include "cm_log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RECORD_HINT 256             //  bytes a binding takes, to start with

//  One binding in a snapshot; the strings follow.
typedef struct {
    uint32_t size;                  //  bytes of the record, padded
    int32_t reg_id;
    uint32_t cseq;
    uint8_t has_instance;
    uint8_t has_user_agent;
    int64_t expires;
    sipd_source_t source;
} s_record_t;

//  A snapshot buffer (mmap'd).
typedef struct {
    char *data;                     //  the records
    size_t len;                     //  bytes used
    size_t cap;                     //  bytes mapped
} s_snap_t;

struct _sipd_regfile_t {
    char *path;                     //  registrations.json (owned)
    char *tmp_path;                 //  its temporary sibling (owned)
    zactor_t *writer;               //  background writer, or NULL
    bool busy;                      //  a WRITE is with the actor
    bool failed;                    //  a failure not collected yet
    s_snap_t snap;                  //  snapshot being built
    size_t writes;                  //  files written
};

//  What the actor gets at start (owned by the actor).
typedef struct {
    char *path;
    char *tmp_path;
} s_args_t;

static void
s_snap_free (s_snap_t *snap)
{
    if (snap->data)
        (void) munmap (snap->data, snap->cap);  //  cannot fail on our map
    memset (snap, 0, sizeof *snap);
}

//  Make room for size more bytes.
static void
s_snap_reserve (s_snap_t *snap, size_t size)
{
    if (snap->data && snap->len + size <= snap->cap)
        return;
    size_t page = (size_t) sysconf (_SC_PAGESIZE);
    size_t cap = snap->cap ? snap->cap : 64 * 1024;
    while (cap < snap->len + size)
        cap *= 2;
    cap = (cap + page - 1) / page * page;
    char *data = (char *) mmap (NULL, cap, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert (data != MAP_FAILED);    //  allocation failure aborts (STYLE §4)
    if (snap->data) {
        memcpy (data, snap->data, snap->len);
        (void) munmap (snap->data, snap->cap);
    }
    snap->data = data;
    snap->cap = cap;
}

//  Output text being built (mmap'd, sized for the worst case).
typedef struct {
    char *data;
    char *at;                       //  end of the text
    size_t cap;                     //  bytes mapped
} s_out_t;

static void
s_put (s_out_t *out, const char *text, size_t len)
{
    memcpy (out->at, text, len);
    out->at += len;
}

#define S_PUT_LITERAL(out, literal) s_put ((out), (literal), sizeof (literal) - 1)

//  Decimal digits of value.
static void
s_put_int (s_out_t *out, long long value)
{
    char digits[24];
    char *end = digits + sizeof digits, *p = end;
    unsigned long long magnitude
        = value < 0 ? 0ULL - (unsigned long long) value
                    : (unsigned long long) value;
    do {
        *--p = (char) ('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0)
        *--p = '-';
    s_put (out, p, (size_t) (end - p));
}

//  Bytes that end a plain run in a JSON string: NUL (the end), controls,
//  quote and backslash.
static const bool s_special[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
    [0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
    [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
    [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
    [0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1};

//  Write text as a JSON string (RFC 8259 §7); at most 6 bytes per byte
//  of text plus 2.
static void
s_put_string (s_out_t *out, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    char *at = out->at;
    *at++ = '"';
    const unsigned char *c = (const unsigned char *) text;
    while (true) {
        //  the plain run (most strings are one) is copied at once
        size_t run = 0;
        while (!s_special[c[run]])
            run++;
        memcpy (at, c, run);
        at += run;
        c += run;
        if (!*c)
            break;
        if (*c == '"' || *c == '\\') {
            *at++ = '\\';
            *at++ = (char) *c;
        }
        else {
            memcpy (at, "\\u00", 4);
            at[4] = hex[*c >> 4];
            at[5] = hex[*c & 15];
            at += 6;
        }
        c++;
    }
    *at++ = '"';
    out->at = at;
}

//  One record as a JSON object; returns the next record.
static const char *
s_put_record (s_out_t *out, const char *at)
{
    s_record_t rec;
    memcpy (&rec, at, sizeof rec);
    const char *number = at + sizeof rec;
    const char *uri = number + strlen (number) + 1;
    const char *call_id = uri + strlen (uri) + 1;
    const char *next = call_id + strlen (call_id) + 1;
    const char *instance = NULL, *user_agent = NULL;
    if (rec.has_instance) {
        instance = next;
        next += strlen (next) + 1;
    }
    if (rec.has_user_agent)
        user_agent = next;
    S_PUT_LITERAL (out, "{\"number\":");
    s_put_string (out, number);
    S_PUT_LITERAL (out, ",\"uri\":");
    s_put_string (out, uri);
    if (instance) {
        S_PUT_LITERAL (out, ",\"instance\":");
        s_put_string (out, instance);
    }
    S_PUT_LITERAL (out, ",\"reg_id\":");
    s_put_int (out, rec.reg_id);
    S_PUT_LITERAL (out, ",\"call_id\":");
    s_put_string (out, call_id);
    S_PUT_LITERAL (out, ",\"cseq\":");
    s_put_int (out, rec.cseq);
    S_PUT_LITERAL (out, ",\"expires\":");
    s_put_int (out, rec.expires);
    if (user_agent) {
        S_PUT_LITERAL (out, ",\"user_agent\":");
        s_put_string (out, user_agent);
    }
    if (rec.source.transport == SIPD_TRANSPORT_TCP)
        S_PUT_LITERAL (out, ",\"transport\":\"tcp\",\"ip\":");
    else
        S_PUT_LITERAL (out, ",\"transport\":\"udp\",\"ip\":");
    s_put_string (out, rec.source.ip);
    S_PUT_LITERAL (out, ",\"port\":");
    s_put_int (out, rec.source.port);
    S_PUT_LITERAL (out, ",\"conn_id\":");
    s_put_int (out, rec.source.conn_id);
    S_PUT_LITERAL (out, "}");
    return at + rec.size;
}

//  The JSON text of a snapshot, in out (mapped here; the caller unmaps
//  out->data, out->cap). Returns -1 when no memory can be mapped.
static int
s_format (const s_snap_t *snap, s_out_t *out)
{
    //  every snapshot byte becomes at most 6 (a \u escape), and each
    //  record adds under 200 bytes of names and digits, while it takes
    //  at least sizeof (s_record_t) of the snapshot
    out->cap = snap->len * 8 + 4096;
    out->data = (char *) mmap (NULL, out->cap, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (out->data == MAP_FAILED) {
        out->data = NULL;
        return -1;
    }
    out->at = out->data;
    S_PUT_LITERAL (out, "{\"v\":1,\"bindings\":[");
    for (const char *at = snap->data; at && at < snap->data + snap->len;) {
        if (at != snap->data)
            S_PUT_LITERAL (out, ",\n");
        at = s_put_record (out, at);
    }
    S_PUT_LITERAL (out, "]}\n");
    assert (out->at <= out->data + out->cap);
    return 0;
}

//  fsync the directory holding path, so the rename is durable.
static int
s_sync_dir (const char *path)
{
    char *copy = strdup (path);
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY);
    free (copy);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

//  Write the snapshot as the file, through tmp_path and rename. Returns
//  0, or an errno value. Safe in any thread: touches only its arguments.
static int
s_write (const char *path, const char *tmp_path, const s_snap_t *snap)
{
    s_out_t out;
    if (s_format (snap, &out) != 0)
        return ENOMEM;
    int err = 0;
    int fd = open (tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        err = errno;
    for (const char *at = out.data; !err && at < out.at;) {
        ssize_t done = write (fd, at, (size_t) (out.at - at));
        if (done < 0 && errno != EINTR)
            err = errno;
        else if (done > 0)
            at += done;
    }
    (void) munmap (out.data, out.cap);
    if (fd >= 0) {
        if (!err && fsync (fd) != 0)
            err = errno;
        if (close (fd) != 0 && !err)
            err = errno;
    }
    if (!err && rename (tmp_path, path) != 0)
        err = errno;
    if (err) {
        if (fd >= 0)
            (void) remove (tmp_path);
        return err;
    }
    (void) s_sync_dir (path);   //  best effort: the file itself is whole
    return 0;
}

//  The actor: WRITE snapshot-pointer len cap → DONE err.
static void
s_writer (zsock_t *pipe, void *arg)
{
    s_args_t *args = (s_args_t *) arg;
    //  SIGTERM/SIGINT are the main thread's (its loop must see them):
    //  blocked here, already from creation (see set_background)
    sigset_t all;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, NULL);
    zsock_signal (pipe, 0);
    while (true) {
        char *command = NULL;
        void *data = NULL;
        uint64_t len = 0, cap = 0;
        if (zsock_recv (pipe, "sp88", &command, &data, &len, &cap) != 0) {
            if (zmq_errno () == EINTR || zmq_errno () == EAGAIN)
                continue;
            break;  //  context terminated
        }
        bool term = !command || streq (command, "$TERM");
        if (!term && streq (command, "WRITE")) {
            s_snap_t snap = {.data = (char *) data, .len = (size_t) len,
                             .cap = (size_t) cap};
            int err = s_write (args->path, args->tmp_path, &snap);
            s_snap_free (&snap);
            zsock_send (pipe, "si", "DONE", err);
        }
        zstr_free (&command);
        if (term)
            break;
    }
    free (args->path);
    free (args->tmp_path);
    free (args);
}

sipd_regfile_t *
sipd_regfile_new (const char *path)
{
    assert (path);
    sipd_regfile_t *self = (sipd_regfile_t *) zmalloc (sizeof (*self));
    self->path = strdup (path);
    self->tmp_path = zsys_sprintf ("%s.tmp", path);
    return self;
}

//  Log a failed write.
static void
s_log_failure (sipd_regfile_t *self, int err)
{
    CM_LOG (CM_LOG_ERROR, "location", "cannot write %s: %s", self->path,
            strerror (err));
}

//  Take the actor's DONE (blocking). Returns 0 or -1 (logged).
static int
s_take_done (sipd_regfile_t *self)
{
    char *command = NULL;
    int err = EIO;
    int rc;
    do  //  a signal (SIGTERM at shutdown) must not lose the answer
        rc = zsock_recv (self->writer, "si", &command, &err);
    while (rc != 0 && zmq_errno () == EINTR);
    if (rc != 0 || !command || !streq (command, "DONE")) {
        //  the writer is gone (only when the ZeroMQ context ends): write
        //  in this thread from now on. Its exit signal was just taken,
        //  so zactor_destroy would wait forever: the handle is dropped.
        CM_LOG (CM_LOG_ERROR, "location", "background writer of %s lost",
                self->path);
        self->writer = NULL;
        err = EIO;
    }
    zstr_free (&command);
    self->busy = false;
    if (err) {
        s_log_failure (self, err);
        return -1;
    }
    self->writes++;
    return 0;
}

int
sipd_regfile_wait (sipd_regfile_t *self)
{
    assert (self);
    int rc = self->busy ? s_take_done (self) : 0;
    if (self->failed) {
        self->failed = false;
        rc = -1;
    }
    return rc;
}

void
sipd_regfile_destroy (sipd_regfile_t **self_p)
{
    assert (self_p);
    sipd_regfile_t *self = *self_p;
    if (!self)
        return;
    (void) sipd_regfile_set_background (self, false);  //  waits; logged
    s_snap_free (&self->snap);
    free (self->path);
    free (self->tmp_path);
    free (self);
    *self_p = NULL;
}

int
sipd_regfile_set_background (sipd_regfile_t *self, bool background)
{
    assert (self);
    if (background == (self->writer != NULL))
        return 0;
    if (!background) {
        if (self->busy && s_take_done (self) != 0)
            self->failed = true;
        zactor_destroy (&self->writer);
        return 0;
    }
    s_args_t *args = (s_args_t *) zmalloc (sizeof (*args));
    args->path = strdup (self->path);
    args->tmp_path = strdup (self->tmp_path);
    //  the thread inherits a mask that blocks every signal
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, &old);
    self->writer = zactor_new (s_writer, args);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (!self->writer) {
        CM_LOG (CM_LOG_WARN, "location", "no background writer thread: "
                "%s is written in the event loop", self->path);
        free (args->path);
        free (args->tmp_path);
        free (args);
        return -1;
    }
    return 0;
}

void
sipd_regfile_begin (sipd_regfile_t *self, size_t count)
{
    assert (self);
    self->snap.len = 0;
    s_snap_reserve (&self->snap, (count + 1) * RECORD_HINT);
}

//  Append text and its NUL.
static char *
s_append (char *at, const char *text, size_t len)
{
    memcpy (at, text, len);
    at[len] = '\0';
    return at + len + 1;
}

void
sipd_regfile_add (sipd_regfile_t *self, const char *number,
                  const sipd_contact_t *contact)
{
    assert (self);
    assert (number);
    assert (contact);
    const char *call_id = contact->call_id ? contact->call_id : "";
    const char *uri = contact->uri ? contact->uri : "";
    size_t number_len = strlen (number), uri_len = strlen (uri),
           call_id_len = strlen (call_id),
           instance_len = contact->instance ? strlen (contact->instance) : 0,
           agent_len = contact->user_agent ? strlen (contact->user_agent) : 0;
    size_t size = sizeof (s_record_t) + number_len + uri_len + call_id_len
                  + 3 + (contact->instance ? instance_len + 1 : 0)
                  + (contact->user_agent ? agent_len + 1 : 0);
    size = (size + 7) & ~(size_t) 7;
    s_snap_reserve (&self->snap, size);
    char *at = self->snap.data + self->snap.len;
    s_record_t rec = {.size = (uint32_t) size, .reg_id = contact->reg_id,
                      .cseq = contact->cseq,
                      .has_instance = contact->instance != NULL,
                      .has_user_agent = contact->user_agent != NULL,
                      .expires = contact->expires, .source = contact->source};
    rec.source.ip[sizeof rec.source.ip - 1] = '\0';
    memcpy (at, &rec, sizeof rec);
    char *cursor = at + sizeof rec;
    cursor = s_append (cursor, number, number_len);
    cursor = s_append (cursor, uri, uri_len);
    cursor = s_append (cursor, call_id, call_id_len);
    if (contact->instance)
        cursor = s_append (cursor, contact->instance, instance_len);
    if (contact->user_agent)
        cursor = s_append (cursor, contact->user_agent, agent_len);
    self->snap.len += size;
}

int
sipd_regfile_commit (sipd_regfile_t *self, bool wait)
{
    assert (self);
    assert (!self->busy);
    s_snap_reserve (&self->snap, 0);    //  an empty snapshot has a map too
    if (!self->writer) {
        int err = s_write (self->path, self->tmp_path, &self->snap);
        s_snap_free (&self->snap);
        if (err) {
            s_log_failure (self, err);
            return -1;
        }
        self->writes++;
        return 0;
    }
    //  the actor owns the map from here on
    zsock_send (self->writer, "sp88", "WRITE", self->snap.data,
                (uint64_t) self->snap.len, (uint64_t) self->snap.cap);
    memset (&self->snap, 0, sizeof self->snap);
    self->busy = true;
    return wait ? sipd_regfile_wait (self) : 0;
}

bool
sipd_regfile_busy (sipd_regfile_t *self)
{
    assert (self);
    if (self->busy && (zsock_events (self->writer) & ZMQ_POLLIN)
        && s_take_done (self) != 0)
        self->failed = true;
    return self->busy;
}

int
sipd_regfile_collect (sipd_regfile_t *self)
{
    assert (self);
    (void) sipd_regfile_busy (self);    //  takes a DONE that arrived
    if (!self->failed)
        return 0;
    self->failed = false;
    return -1;
}

size_t
sipd_regfile_writes (sipd_regfile_t *self)
{
    assert (self);
    return self->writes;
}
