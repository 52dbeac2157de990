//  sipd_journal_sync — the CDR journal's sync actor. See
//  sipd_journal_sync.h.

#include "sipd_journal_sync.h"

#include "cm_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

void
sipd_journal_syncer (zsock_t *pipe, void *args)
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
