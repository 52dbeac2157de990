//  cm_cdr_private — helpers shared by the cm_cdr*.c files only (the record,
//  the column decoder, the JSON and CSV codecs). Not part of the public
//  API: include cm_cdr.h instead.

#ifndef CM_CDR_PRIVATE_H_INCLUDED
#define CM_CDR_PRIVATE_H_INCLUDED

#include "cm_cdr.h"

#define CM_CDR_TIME_MAX_MS 253402300799999LL  //  9999-12-31T23:59:59.999Z

//  Column indices, in cm_cdr_column_name order.
enum {
    CM_CDR_COL_UNIQUEID, CM_CDR_COL_START, CM_CDR_COL_ANSWER, CM_CDR_COL_END,
    CM_CDR_COL_DURATION, CM_CDR_COL_BILLSEC, CM_CDR_COL_SRC, CM_CDR_COL_DST,
    CM_CDR_COL_DIALED, CM_CDR_COL_DIRECTION, CM_CDR_COL_DISPOSITION,
    CM_CDR_COL_SIP_CODE, CM_CDR_COL_CAUSE, CM_CDR_COL_CALL_TAG,
    CM_CDR_COL_RELEASED_BY, CM_CDR_COL_FCI, CM_CDR_COL_RECORDING
};

//  Write the formatted reason into error (when error and size) and
//  return -1.
int
    cm_cdr_fail (char *error, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Decimal text of value into buf (at least 24 bytes), NUL-terminated.
//  Returns its length. Hand-written: snprintf was a visible share of
//  encoding a CDR.
size_t
    cm_cdr_int_text (int64_t value, char *buf);

//  True when text is valid UTF-8 without control characters and at most
//  max bytes long.
bool
    cm_cdr_text_valid (const char *text, size_t max);

//  Copy text into dest (max bytes + NUL) replacing invalid UTF-8 and
//  control characters by '?' and cutting on a character boundary.
void
    cm_cdr_sanitize (char *dest, size_t max, const char *text);

//  fci extra key / value syntax (see cm_cdr_fci_add).
bool
    cm_cdr_fci_key_valid (const char *key);
bool
    cm_cdr_fci_value_valid (const char *value);

//  Build and validate a record from the text form of each column (NULL:
//  absent, allowed only for duration, billsec and fci). Returns NULL with
//  the reason in error. Caller owns return value.
cm_cdr_t *
    cm_cdr_from_columns (const char **texts, char *error, size_t size);

#endif
