//  sipd_regfile — writes the location's bindings to registrations.json
//  (see sipd_location.h for when), crash-safe and off the event loop.
//
//  The location copies its bindings into a snapshot (sipd_regfile_begin,
//  sipd_regfile_add for each, sipd_regfile_commit): a flat buffer of
//  fixed-size records and the strings, built with memcpy only, so taking
//  it costs the loop well under a millisecond for 10,000 bindings. The
//  JSON text, the write, fsync and rename happen in a zactor when
//  background writing is on (sipd_regfile_set_background), else in the
//  calling thread. The buffer is mapped with mmap and handed to the actor
//  (it owns it from then on), so two-megabyte snapshots neither sit in nor
//  fragment the heap.
//
//  The file is written to <path>.tmp, fsync'd, renamed over <path> and the
//  directory fsync'd: a crash or power loss leaves the old file or the new
//  one, never a torn one. At most one write is in flight; the location
//  keeps its changes pending meanwhile.
//
//  File format (read back by sipd_location_load):
//      {"v":1,"bindings":[{"number":"100","uri":"sip:...","instance":...,
//       "reg_id":0,"call_id":"...","cseq":1,"expires":1800000000,
//       "user_agent":"...","transport":"udp","ip":"127.0.0.1","port":5060,
//       "conn_id":0},
//      ...]}

#ifndef SIPD_REGFILE_H_INCLUDED
#define SIPD_REGFILE_H_INCLUDED

#include "sipd_location.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct _sipd_regfile_t sipd_regfile_t;

//  Create a writer of path (copied); writes happen in the calling thread
//  until sipd_regfile_set_background. Caller owns return value and must
//  destroy it when done.
sipd_regfile_t *
    sipd_regfile_new (const char *path);

//  Destroy, waiting for a write in flight (its failure is logged) and
//  ending the actor. A snapshot begun but not committed is dropped.
//  NULL-safe; sets *self_p to NULL.
void
    sipd_regfile_destroy (sipd_regfile_t **self_p);

//  Write in a background zactor (true) or in the calling thread (false,
//  the default). Switching waits for a write in flight. Returns 0, -1
//  when the actor cannot be started (writes stay in the calling thread).
int
    sipd_regfile_set_background (sipd_regfile_t *self, bool background);

//  Start a snapshot of about count bindings (a hint; it grows as needed).
//  Drops a snapshot begun but not committed.
void
    sipd_regfile_begin (sipd_regfile_t *self, size_t count);

//  Copy one binding of number into the snapshot.
void
    sipd_regfile_add (sipd_regfile_t *self, const char *number,
                      const sipd_contact_t *contact);

//  Write the snapshot: hand it to the actor, or write it now without the
//  actor. wait: return only when the file is written. Call only when
//  sipd_regfile_busy is false. Returns 0, or -1 on a write error (logged;
//  with background writing and !wait the error shows later through
//  sipd_regfile_collect).
int
    sipd_regfile_commit (sipd_regfile_t *self, bool wait);

//  True while the actor is writing. Does not block.
bool
    sipd_regfile_busy (sipd_regfile_t *self);

//  Collect the outcome of a finished background write, without blocking.
//  Returns -1 once for each write that failed (logged), else 0.
int
    sipd_regfile_collect (sipd_regfile_t *self);

//  Wait for a write in flight to finish. Returns -1 when it failed
//  (logged) or an earlier failure was not collected yet, else 0.
int
    sipd_regfile_wait (sipd_regfile_t *self);

//  Number of files written so far (tests).
size_t
    sipd_regfile_writes (sipd_regfile_t *self);

#endif
