//  sipd_journal — at-least-once CDR delivery from sipd to cdrd (DESIGN §2).
//
//  Every CDR is first appended to an append-only journal under the spool
//  directory (data_dir/spool/), then sent to cdrd as a `cdr` request. When
//  cdrd answers `ack` with the CDR's uniqueid (it acks only once the row is
//  durably stored), the CDR is marked acked. Unacked CDRs are resent on a
//  timer with exponential backoff, and replayed from the journal when sipd
//  starts again; cdrd de-duplicates by uniqueid, so a resend is harmless.
//
//  Journal format (stable; tests and tools read it). The journal is a set
//  of segment files spool/cdr-NNNNNNNNNN.journal (10-digit sequence,
//  zero-padded, so lexical order is append order). Each line is one event,
//  ending in LF:
//      C <cdr-json>        a CDR (cm_cdr JSON, one line)
//      A <uniqueid>        cdrd acknowledged that CDR
//  A CDR is pending when its C line has no later A line in the same or a
//  later segment. A line that is cut short or does not parse (a crash in
//  mid-write) is skipped with a warning. `minicdr cat` prints the CDRs of
//  journal files as CSV.
//
//  Durability without blocking the loop: appending is a write(2) of one
//  line (page cache, microseconds), which already survives a crash or
//  kill -9 of sipd. fdatasync(2), which protects against power loss and
//  costs milliseconds, runs in a helper zactor that coalesces requests:
//  however many CDRs were appended while it was syncing, the next
//  fdatasync covers them all (group commit). At most one sync request is
//  outstanding, so talking to the actor never blocks the loop either. A segment holds at most
//  SIPD_JOURNAL_SEGMENT_MAX CDRs; a segment whose CDRs are all acked is
//  unlinked, and when every CDR is acked the current segment is truncated,
//  so the journal is compacted without rewriting files. On start-up the
//  existing segments are replayed and a new segment is begun (a torn tail
//  in an old segment is never appended to).
//
//  Memory: a pending CDR is not held in memory, only where its JSON lies
//  in the journal (segment, offset, length) and its uniqueid; a resend
//  reads the JSON back from the segment file. A CDR whose line can no
//  longer be read back (a damaged file) stays pending and is logged.

#ifndef SIPD_JOURNAL_H_INCLUDED
#define SIPD_JOURNAL_H_INCLUDED

#include "cm_cdr.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIPD_JOURNAL_SEGMENT_MAX 1000   //  CDRs per segment file
#define SIPD_JOURNAL_WINDOW 256         //  CDRs in flight to cdrd at once

typedef struct _sipd_journal_t sipd_journal_t;

//  Open (creating spool_dir if needed) the journal, replay the pending
//  CDRs of existing segments, connect a cm_client to cdrd_endpoint on loop
//  and start sending. Returns NULL (reason logged) when spool_dir cannot
//  be created or read, or the endpoint is invalid.
//  Caller owns return value and must destroy it when done.
sipd_journal_t *
    sipd_journal_new (const char *spool_dir, const char *cdrd_endpoint,
                      zloop_t *loop);

//  Stop sending, sync the journal to disk and close it. Pending CDRs stay
//  in the journal for the next start. NULL-safe; sets *self_p to NULL.
void
    sipd_journal_destroy (sipd_journal_t **self_p);

//  Append a finished CDR and send it. Takes ownership of *cdr_p (nulls
//  it, also on failure). Returns 0 once the line is written to the journal;
//  -1 when the CDR fails cm_cdr_validate, its uniqueid is already pending,
//  or the write fails (logged at error level with the CDR's JSON, so the
//  record is not silently lost).
int
    sipd_journal_append (sipd_journal_t *self, cm_cdr_t **cdr_p);

//  CDRs not yet acknowledged by cdrd (for ping/status).
size_t
    sipd_journal_pending (sipd_journal_t *self);

//  CDRs acknowledged since this journal was opened.
uint64_t
    sipd_journal_acked (sipd_journal_t *self);

//  True when everything appended so far has been fdatasync'ed.
bool
    sipd_journal_synced (sipd_journal_t *self);

//  Tune delivery timing (tests use short values). timeout_ms: how long to
//  wait for an ack (default 5000); retry_min_ms / retry_max_ms: backoff
//  between resend rounds after a timeout (default 500 doubling to 30000;
//  reset by the next ack).
void
    sipd_journal_set_timing (sipd_journal_t *self, int timeout_ms,
                             int retry_min_ms, int retry_max_ms);

//  Add pending, acked and synced fields to a status/pong body.
void
    sipd_journal_status (sipd_journal_t *self, json_t *body);

#endif
