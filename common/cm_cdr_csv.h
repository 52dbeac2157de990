//  cm_cdr_csv — the CSV form of a CDR (DESIGN §5, the day files and
//  minicdr): the header row of column names, then one record per CDR with
//  RFC 4180 quoting (a field containing , " CR or LF, or leading or
//  trailing blanks, is put in double quotes with inner quotes doubled),
//  UTF-8, records end with LF (the parser also accepts CRLF). answer_time
//  is empty when never answered. Included by cm_cdr.h.

#ifndef CM_CDR_CSV_H_INCLUDED
#define CM_CDR_CSV_H_INCLUDED

#include "cm_cdr.h"

//  The CSV header line, without line terminator:
//  "uniqueid,start_time,...,recording".
const char *
    cm_cdr_csv_header (void);

//  Encode as one CSV record without line terminator.
//  Caller frees it with free().
char *
    cm_cdr_csv_encode (const cm_cdr_t *self);

//  True when text holds a complete CSV record, i.e. its double quotes
//  are balanced. A reader appends physical lines until this holds.
bool
    cm_cdr_csv_complete (const char *text);

//  Split one CSV record (a trailing CR/LF is ignored) into fields per RFC
//  4180. Returns the number of fields and stores up to max of them, each
//  a new string, into fields (caller frees each with free()); -1 with the
//  reason in error on malformed quoting (nothing is stored then).
int
    cm_cdr_csv_split (const char *record, char **fields, size_t max,
                      char *error, size_t size);

//  True when record is the CSV header line (a trailing CR/LF ignored).
bool
    cm_cdr_csv_is_header (const char *record);

//  Decode and validate one CSV record (same rules as cm_cdr_from_json;
//  answer_time empty when never answered). Returns NULL with the reason
//  (naming the column) in error on bad input.
//  Caller owns return value and must destroy it when done.
cm_cdr_t *
    cm_cdr_csv_decode (const char *record, char *error, size_t size);

#endif
