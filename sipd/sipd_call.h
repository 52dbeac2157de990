//  sipd_call — the record of one call attempt: who called what, when it
//  was answered, how it was released, and the CDR that comes out of it.
//
//  The B2BUA (sipd_b2bua) keeps one per call next to the call's dialogs
//  (sipd_leg) and feeds it what happens; sipd_call decides the things
//  that must come out the same every time:
//    - release is recorded once: the first sipd_call_release wins (a BYE
//      racing a timeout cannot rewrite who hung up);
//    - when every callee leg failed, which final response the caller gets
//      (sipd_call_fork_failed, sipd_call_failure): 6xx, then 486, then
//      other 4xx, then 5xx, then 3xx (RFC 3261 §16.7 step 6, simplified);
//      a real response beats a timeout; 3xx becomes 480 (no redirects);
//      no response at all is 480 toward an extension and 503 toward the
//      trunk;
//    - the CDR (DESIGN §6), filled with sipd_cause_apply.

#ifndef SIPD_CALL_H_INCLUDED
#define SIPD_CALL_H_INCLUDED

#include "cm_cdr.h"
#include "sipd_dialplan.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _sipd_call_t sipd_call_t;

//  Create the record of a call attempt by src (caller number, may be "")
//  dialling dialed; a fresh uniqueid, start time now, dst = dialed,
//  direction internal. Caller owns return value and must destroy it when
//  done.
sipd_call_t *
    sipd_call_new (const char *src, const char *dialed);

//  Destroy. NULL-safe; sets *self_p to NULL.
void
    sipd_call_destroy (sipd_call_t **self_p);

//  Accessors (borrowed strings, valid for the record's life).
const char *
    sipd_call_uniqueid (sipd_call_t *self);

const char *
    sipd_call_src (sipd_call_t *self);

const char *
    sipd_call_dst (sipd_call_t *self);

const char *
    sipd_call_dialed (sipd_call_t *self);

sipd_direction_t
    sipd_call_direction (sipd_call_t *self);

//  Set the result of number analysis: dst (after analysis) and direction.
void
    sipd_call_set_route (sipd_call_t *self, const char *dst,
                         sipd_direction_t direction);

//  The call was answered (200 toward the caller): answer time now.
void
    sipd_call_set_answered (sipd_call_t *self);

bool
    sipd_call_is_answered (sipd_call_t *self);

//  Record the release: call_tag (sipd_cause_tag_t), the final status sent
//  to the caller (0: the tag's default, or 200 when answered) and the cause
//  of a Reason: Q.850 header (0 if none). Returns true when recorded, false
//  when the call was already released (the first release wins).
bool
    sipd_call_release (sipd_call_t *self, int tag, int sip_code,
                       int reason_cause);

bool
    sipd_call_is_released (sipd_call_t *self);

//  The recorded release (0 before any).
int
    sipd_call_tag (sipd_call_t *self);

int
    sipd_call_sip_code (sipd_call_t *self);

//  A callee leg ended without answering: code is its final status, or
//  408/503 with responded false when it never answered (timeout,
//  transport error). reason is its Reason header value and phrase its
//  reason phrase (either may be NULL). Keeps the best failure so far.
void
    sipd_call_fork_failed (sipd_call_t *self, int code, bool responded,
                           const char *reason, const char *phrase);

//  What the caller gets once every callee leg failed (see above). Fills
//  *tag_p, *code_p, *cause_p (from the Reason, 0 if none), and points
//  *phrase_p and *reason_p at the callee's phrase and Reason (NULL when
//  none or when the status was changed). to_extension: the callee is an
//  extension (else the trunk).
void
    sipd_call_failure (sipd_call_t *self, bool to_extension, int *tag_p,
                       int *code_p, int *cause_p, const char **phrase_p,
                       const char **reason_p);

//  Build the CDR of the call, ended now. Unreleased calls count as
//  shutdown. Caller owns return value and must destroy it when done.
cm_cdr_t *
    sipd_call_cdr (sipd_call_t *self);

#endif
