//  sipd_segreader — pread of C lines from journal segments through a small
//  cache of read descriptors. See sipd_segreader.h.

#include "sipd_segreader.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    uint32_t seq;               //  segment number
    int fd;                     //  read descriptor, -1 when the slot is free
    uint64_t used;              //  use stamp (larger is more recent)
} s_slot_t;

struct _sipd_segreader_t {
    char *dir;                  //  spool directory (owned)
    s_slot_t slots[SIPD_SEGREADER_SLOTS];   //  open segments
    uint64_t uses;              //  last use stamp handed out
};

sipd_segreader_t *
sipd_segreader_new (const char *spool_dir)
{
    assert (spool_dir);
    sipd_segreader_t *self
        = (sipd_segreader_t *) zmalloc (sizeof (sipd_segreader_t));
    self->dir = strdup (spool_dir);
    for (size_t i = 0; i < SIPD_SEGREADER_SLOTS; i++)
        self->slots[i].fd = -1;
    return self;
}

void
sipd_segreader_destroy (sipd_segreader_t **self_p)
{
    assert (self_p);
    sipd_segreader_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < SIPD_SEGREADER_SLOTS; i++)
        if (self->slots[i].fd >= 0)
            close (self->slots[i].fd);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  A descriptor for segment seq (borrowed), or -1 with errno set. Opens
//  it into the least recently used slot when it is not open yet.
static int
s_fd (sipd_segreader_t *self, uint32_t seq)
{
    s_slot_t *victim = &self->slots[0];
    for (size_t i = 0; i < SIPD_SEGREADER_SLOTS; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->fd >= 0 && slot->seq == seq) {
            slot->used = ++self->uses;
            return slot->fd;
        }
        if (slot->fd < 0 || (victim->fd >= 0 && slot->used < victim->used))
            victim = slot;
    }
    char path[4096];
    snprintf (path, sizeof path, "%s/cdr-%010u.journal", self->dir, seq);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (victim->fd >= 0)
        close (victim->fd);
    victim->seq = seq;
    victim->fd = fd;
    victim->used = ++self->uses;
    return fd;
}

//  Read all of len bytes at offset. Returns 0, or -1 with errno set (0
//  when the file ends first).
static int
s_pread_all (int fd, char *buf, size_t len, off_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread (fd, buf + done, len - done, offset + (off_t) done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

char *
sipd_segreader_read (sipd_segreader_t *self, uint32_t seq, uint64_t offset,
                     size_t length, const char **error_p)
{
    assert (self);
    assert (error_p);
    *error_p = NULL;
    if (offset < 2 || offset > INT64_MAX - length - 1) {
        *error_p = "no C line there";
        return NULL;
    }
    //  The whole line: "C " before the JSON and LF after it are checked.
    size_t size = length + 3;
    char *line = (char *) zmalloc (size + 1);
    int fd = s_fd (self, seq);
    if (fd < 0 || s_pread_all (fd, line, size, (off_t) (offset - 2)) != 0)
        *error_p = errno ? strerror (errno) : "file ends before the line";
    else if (memcmp (line, "C ", 2) != 0 || line[size - 1] != '\n')
        *error_p = "no C line there";
    if (*error_p) {
        free (line);
        return NULL;
    }
    memmove (line, line + 2, length);
    line[length] = '\0';
    return line;
}

void
sipd_segreader_forget (sipd_segreader_t *self, uint32_t seq)
{
    assert (self);
    for (size_t i = 0; i < SIPD_SEGREADER_SLOTS; i++)
        if (self->slots[i].fd >= 0 && self->slots[i].seq == seq) {
            close (self->slots[i].fd);
            self->slots[i].fd = -1;
        }
}

size_t
sipd_segreader_open_count (sipd_segreader_t *self)
{
    assert (self);
    size_t count = 0;
    for (size_t i = 0; i < SIPD_SEGREADER_SLOTS; i++)
        count += self->slots[i].fd >= 0;
    return count;
}
