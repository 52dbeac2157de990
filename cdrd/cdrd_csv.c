//  cdrd_csv — daily CSV files of CDRs. See cdrd_csv.h.

#include "cdrd_csv.h"
#include "cm_log.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    FILE *file;                 //  append stream (owned)
    bool dirty;                 //  appended since the last flush
} s_file_t;

struct _cdrd_csv_t {
    char *dir;                  //  data_dir/cdr (owned)
    zhashx_t *files;            //  path -> s_file_t (owned)
    char newest[4096];          //  path of the latest day written
};

static void
s_file_destroy (s_file_t **file_p)
{
    s_file_t *file = *file_p;
    if (!file)
        return;
    if (file->file && fclose (file->file) != 0)
        CM_LOG (CM_LOG_ERROR, "csv", "close: %s", strerror (errno));
    free (file);
    *file_p = NULL;
}

cdrd_csv_t *
cdrd_csv_new (const char *dir)
{
    assert (dir);
    if (zsys_dir_create ("%s", dir) != 0) {
        CM_LOG (CM_LOG_ERROR, "csv", "cannot create %s: %s", dir,
                strerror (errno));
        return NULL;
    }
    cdrd_csv_t *self = (cdrd_csv_t *) zmalloc (sizeof (cdrd_csv_t));
    self->dir = strdup (dir);
    self->files = zhashx_new ();
    zhashx_set_destructor (self->files,
                           (zhashx_destructor_fn *) s_file_destroy);
    return self;
}

void
cdrd_csv_destroy (cdrd_csv_t **self_p)
{
    assert (self_p);
    cdrd_csv_t *self = *self_p;
    if (!self)
        return;
    cdrd_csv_flush (self);
    zhashx_destroy (&self->files);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

char *
cdrd_csv_path (cdrd_csv_t *self, int64_t start_time, char *buf, size_t size)
{
    assert (self);
    time_t secs = (time_t) (start_time / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    snprintf (buf, size, "%s/%04d%02d%02d.csv", self->dir, tm.tm_year + 1900,
              tm.tm_mon + 1, tm.tm_mday);
    return buf;
}

//  Cut a partial last line (no trailing LF) off fd. Returns the new size
//  or -1.
static off_t
s_repair_tail (int fd, const char *path, off_t size)
{
    char buf[4096];
    off_t end = size;
    while (end > 0) {
        size_t chunk = end > (off_t) sizeof buf ? sizeof buf : (size_t) end;
        ssize_t n = pread (fd, buf, chunk, end - (off_t) chunk);
        if (n != (ssize_t) chunk)
            return -1;
        for (ssize_t i = n - 1; i >= 0; i--)
            if (buf[i] == '\n') {
                off_t keep = end - (off_t) chunk + i + 1;
                if (keep == size)
                    return size;
                CM_LOG (CM_LOG_WARN, "csv",
                        "%s: removing %lld bytes of a partial last line",
                        path, (long long) (size - keep));
                return ftruncate (fd, keep) == 0 ? keep : -1;
            }
        end -= (off_t) chunk;
    }
    CM_LOG (CM_LOG_WARN, "csv", "%s: no complete line, starting afresh",
            path);
    return ftruncate (fd, 0) == 0 ? 0 : -1;
}

//  Open (or create, writing the header) a day file for appending.
static s_file_t *
s_open (cdrd_csv_t *self, const char *path)
{
    s_file_t *entry = (s_file_t *) zhashx_lookup (self->files, path);
    if (entry)
        return entry;
    int fd = open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        CM_LOG (CM_LOG_ERROR, "csv", "cannot open %s: %s", path,
                strerror (errno));
        return NULL;
    }
    struct stat st;
    off_t size = fstat (fd, &st) == 0 ? st.st_size : -1;
    if (size > 0)
        size = s_repair_tail (fd, path, size);
    FILE *file = size >= 0 ? fdopen (fd, "a") : NULL;
    if (!file) {
        CM_LOG (CM_LOG_ERROR, "csv", "cannot use %s: %s", path,
                strerror (errno));
        close (fd);
        return NULL;
    }
    if (size == 0)
        fprintf (file, "%s\n", cm_cdr_csv_header ());
    entry = (s_file_t *) zmalloc (sizeof (s_file_t));
    entry->file = file;
    entry->dirty = size == 0;
    zhashx_insert (self->files, path, entry);
    return entry;
}

int
cdrd_csv_append (cdrd_csv_t *self, const cm_cdr_t *cdr)
{
    assert (self);
    assert (cdr);
    char path[4096];
    cdrd_csv_path (self, cm_cdr_start_time (cdr), path, sizeof path);
    s_file_t *entry = s_open (self, path);
    if (!entry)
        return -1;
    char *row = cm_cdr_csv_encode (cdr);
    int rc = fprintf (entry->file, "%s\n", row) < 0 ? -1 : 0;
    free (row);
    entry->dirty = true;
    if (strcmp (path, self->newest) > 0)
        snprintf (self->newest, sizeof self->newest, "%s", path);
    if (rc)
        CM_LOG (CM_LOG_ERROR, "csv", "write %s: %s", path, strerror (errno));
    return rc;
}

int
cdrd_csv_flush (cdrd_csv_t *self)
{
    assert (self);
    int rc = 0;
    zlistx_t *old = zlistx_new ();
    for (s_file_t *entry = (s_file_t *) zhashx_first (self->files); entry;
         entry = (s_file_t *) zhashx_next (self->files)) {
        const char *path = (const char *) zhashx_cursor (self->files);
        if (entry->dirty) {
            if (fflush (entry->file) != 0
                || fdatasync (fileno (entry->file)) != 0) {
                CM_LOG (CM_LOG_ERROR, "csv", "flush %s: %s", path,
                        strerror (errno));
                rc = -1;
                //  Reopen next time: that also cuts a partial line.
                zlistx_add_end (old, (void *) path);
                continue;
            }
            else
                entry->dirty = false;
        }
        if (!entry->dirty && !streq (path, self->newest))
            zlistx_add_end (old, (void *) path);
    }
    //  Close files of older days (a late CDR reopens them).
    for (const char *path = (const char *) zlistx_first (old); path;
         path = (const char *) zlistx_next (old))
        zhashx_delete (self->files, path);
    zlistx_destroy (&old);
    return rc;
}

int
cdrd_csv_contains (cdrd_csv_t *self, const cm_cdr_t *cdr)
{
    assert (self);
    assert (cdr);
    char path[4096];
    cdrd_csv_path (self, cm_cdr_start_time (cdr), path, sizeof path);
    s_file_t *entry = (s_file_t *) zhashx_lookup (self->files, path);
    if (entry)
        fflush (entry->file);
    FILE *file = fopen (path, "r");
    if (!file)
        return errno == ENOENT ? 0 : -1;
    char prefix[CM_CDR_UNIQUEID_MAX + 2];
    snprintf (prefix, sizeof prefix, "%s,", cm_cdr_uniqueid (cdr));
    size_t plen = strlen (prefix);
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    int found = 0;
    //  Complete lines only; see cdrd_csv_ids.
    while (!found && (len = getline (&line, &size, file)) > 0)
        found = line[len - 1] == '\n' && strncmp (line, prefix, plen) == 0;
    free (line);
    fclose (file);
    return found;
}

zhashx_t *
cdrd_csv_ids (cdrd_csv_t *self, int64_t start_time)
{
    assert (self);
    char path[4096];
    cdrd_csv_path (self, start_time, path, sizeof path);
    s_file_t *entry = (s_file_t *) zhashx_lookup (self->files, path);
    if (entry)
        fflush (entry->file);
    zhashx_t *ids = zhashx_new ();
    FILE *file = fopen (path, "r");
    if (!file) {
        if (errno == ENOENT)
            return ids;
        zhashx_destroy (&ids);
        return NULL;
    }
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    //  A uniqueid never needs quoting, so it is the text before the first
    //  comma of a record (the header's "uniqueid" is harmless). A last
    //  line without newline is a partial write: it does not count (it is
    //  cut off when the file is next appended to).
    while ((len = getline (&line, &size, file)) > 0) {
        if (line[len - 1] != '\n')
            break;
        char *comma = strchr (line, ',');
        if (comma && comma != line) {
            *comma = '\0';
            zhashx_update (ids, line, (void *) 1);
        }
    }
    free (line);
    fclose (file);
    return ids;
}
