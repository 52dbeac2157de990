//  sipd_pending — the CDR journal's in-memory list of pending CDRs: where
//  each one's JSON lies in the journal, in append order, indexed by
//  uniqueid (sipd_journal.h).
//
//  The JSON itself stays on disk: while cdrd is away for hours the list
//  holds every CDR since, so an entry is kept to a location and two flags
//  (about 40 bytes plus the uniqueid, one allocation). The queue links and
//  the hash chain live inside the entry; a general list and hash table
//  (zlistx, zhashx) would add about 100 bytes of nodes per CDR.

#ifndef SIPD_PENDING_H_INCLUDED
#define SIPD_PENDING_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Longest JSON an entry can locate (its length field has 30 bits).
#define SIPD_PENDING_LENGTH_MAX ((1u << 30) - 1)

typedef struct _sipd_pending_t sipd_pending_t;

//  One pending CDR. The caller reads the location and sets the flags;
//  the links belong to the list.
typedef struct _sipd_pending_cdr_t sipd_pending_cdr_t;
struct _sipd_pending_cdr_t {
    sipd_pending_cdr_t *next;   //  next in append order (list's)
    sipd_pending_cdr_t *prev;   //  previous in append order (list's)
    sipd_pending_cdr_t *chain;  //  next in the same hash bucket (list's)
    uint64_t offset;            //  byte offset of the JSON in its segment
    uint32_t segment;           //  segment file holding the C line
    uint32_t length : 30;       //  JSON length in bytes
    uint32_t in_flight : 1;     //  a request to cdrd is outstanding
    uint32_t unreadable : 1;    //  the last read of the JSON failed
    char uniqueid[];            //  CDR key, NUL-terminated
};

//  Create an empty list.
//  Caller owns return value and must destroy it when done.
sipd_pending_t *
    sipd_pending_new (void);

//  Destroy the list and its entries. NULL-safe; sets *self_p to NULL.
void
    sipd_pending_destroy (sipd_pending_t **self_p);

//  Append a CDR whose JSON (length bytes) starts at offset in segment.
//  Returns the entry (borrowed, flags clear), or NULL when uniqueid is
//  already in the list or length exceeds SIPD_PENDING_LENGTH_MAX.
sipd_pending_cdr_t *
    sipd_pending_add (sipd_pending_t *self, const char *uniqueid,
                      uint32_t segment, uint64_t offset, size_t length);

//  The entry for uniqueid (borrowed), or NULL.
sipd_pending_cdr_t *
    sipd_pending_lookup (sipd_pending_t *self, const char *uniqueid);

//  Remove and free an entry of this list; *cdr_p is set to NULL.
void
    sipd_pending_remove (sipd_pending_t *self, sipd_pending_cdr_t **cdr_p);

//  The oldest entry (borrowed), or NULL when empty; entry->next walks on.
sipd_pending_cdr_t *
    sipd_pending_first (sipd_pending_t *self);

//  Number of entries.
size_t
    sipd_pending_size (sipd_pending_t *self);

#endif
