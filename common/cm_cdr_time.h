//  cm_cdr_time — the CDR time form (DESIGN §6): milliseconds since the
//  Unix epoch, written as ISO 8601 UTC with milliseconds,
//  "YYYY-MM-DDTHH:MM:SS.mmmZ" (always CM_CDR_TIME_LEN characters, which
//  sort and compare correctly as text). 0 means unset. Included by
//  cm_cdr.h.

#ifndef CM_CDR_TIME_H_INCLUDED
#define CM_CDR_TIME_H_INCLUDED

#include "cm_cdr.h"

//  Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf
//  (at least CM_CDR_TIME_SIZE bytes; a shorter buffer gets a truncated,
//  terminated string). ms 0 (or out of range) gives "". Returns buf.
char *
    cm_cdr_time_format (int64_t ms, char *buf, size_t size);

//  Parse exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" (fields range-checked, the
//  day checked against the month). Returns 0 and sets *ms_p, or -1.
int
    cm_cdr_time_parse (const char *text, int64_t *ms_p);

//  Current wall-clock time in ms since the epoch.
int64_t
    cm_cdr_now (void);

#endif
