//  sipd_segreader — reads CDR JSON back from the C lines of the journal's
//  segment files (sipd_journal.h) with pread(2), for resends of pending
//  CDRs that are not kept in memory.
//
//  Descriptors are cached in a few slots (SIPD_SEGREADER_SLOTS, least
//  recently used replaced): resends walk the pending CDRs in append order,
//  so the segment read last is nearly always the one read next, and with
//  thousands of segments on disk neither one descriptor per segment nor
//  one open(2) per CDR is needed. A read is one pread of one line, from
//  the page cache as a rule, so the loop does not wait for long.

#ifndef SIPD_SEGREADER_H_INCLUDED
#define SIPD_SEGREADER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define SIPD_SEGREADER_SLOTS 4  //  segments kept open for reading

typedef struct _sipd_segreader_t sipd_segreader_t;

//  Create a reader of the segments cdr-NNNNNNNNNN.journal in spool_dir.
//  Opens nothing yet.
//  Caller owns return value and must destroy it when done.
sipd_segreader_t *
    sipd_segreader_new (const char *spool_dir);

//  Close every descriptor and destroy the reader. NULL-safe; sets *self_p
//  to NULL.
void
    sipd_segreader_destroy (sipd_segreader_t **self_p);

//  Read the JSON of a C line: length bytes at offset in segment seq,
//  checked to follow "C " and to end the line. Returns the JSON text,
//  NUL-terminated (caller frees it), or NULL with *error_p set to a
//  static reason: the segment cannot be opened or read, ends before the
//  line, or has no C line there.
char *
    sipd_segreader_read (sipd_segreader_t *self, uint32_t seq,
                         uint64_t offset, size_t length,
                         const char **error_p);

//  Close segment seq's descriptor if open (it is about to be unlinked).
void
    sipd_segreader_forget (sipd_segreader_t *self, uint32_t seq);

//  Descriptors open now (tests).
size_t
    sipd_segreader_open_count (sipd_segreader_t *self);

#endif
