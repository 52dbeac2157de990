//  sipd_journal_sync — the CDR journal's sync actor (sipd_journal.h): one
//  thread doing fdatasync on request, coalescing, so that the loop never
//  waits for the disk.
//  Commands:
//      "SYNC" path write_seq   sync the current segment, then reply
//                              "SYNCED" write_seq
//      "SYNCFILE" path         also sync this (rolled) segment; no reply
//      "SYNCDIR" dir           fsync the directory (a segment was created)
//  Whatever is queued is handled as one batch: every file once, then the
//  directory, then the reply, so SYNCED means "all writes up to write_seq
//  are on disk". The loop keeps at most one SYNC outstanding, so the pipe
//  never fills up and sending to it never blocks the loop.

#ifndef SIPD_JOURNAL_SYNC_H_INCLUDED
#define SIPD_JOURNAL_SYNC_H_INCLUDED

#include <czmq.h>

//  The actor (zactor_new (sipd_journal_syncer, NULL)); args is unused.
void
    sipd_journal_syncer (zsock_t *pipe, void *args);

#endif
