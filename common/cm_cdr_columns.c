//  cm_cdr_columns — the column names and the strict column decoder that
//  the JSON and CSV codecs share (cm_cdr_column_name in cm_cdr.h,
//  cm_cdr_from_columns in cm_cdr_private.h).
//
//  Decoding goes column by column through one function, s_set_column,
//  which parses the text form of a column strictly; the JSON decoder turns
//  typed JSON values into that text form first, so both codecs apply
//  exactly the same checks and error messages. It works through the
//  record's public setters, after checking the text strictly (the setters
//  themselves sanitize rather than refuse).

#include "cm_cdr.h"
#include "cm_cdr_private.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_columns[CM_CDR_COLUMNS] = {
    "uniqueid", "start_time", "answer_time", "end_time", "duration",
    "billsec", "src", "dst", "dialed", "direction", "disposition",
    "sip_code", "cause", "call_tag", "released_by", "fci", "recording"};

const char *
cm_cdr_column_name (size_t index)
{
    return index < CM_CDR_COLUMNS ? s_columns[index] : NULL;
}

//  Strict unsigned decimal in [min, max]: no sign, no blanks, at most 18
//  digits.
static int
s_parse_int (const char *text, int64_t min, int64_t max, int64_t *value_p)
{
    size_t n = strlen (text);
    if (n == 0 || n > 18)
        return -1;
    int64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) text[i]))
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    if (value < min || value > max)
        return -1;
    *value_p = value;
    return 0;
}

//  fci must be "callTag=<call_tag>;cause=<cause>" matching the columns
//  (already parsed), followed by valid ";key=value" pairs.
static int
s_parse_fci (cm_cdr_t *self, const char *text, char *error, size_t size)
{
    char head[64];
    snprintf (head, sizeof head, "callTag=%d;cause=%d",
              cm_cdr_call_tag (self), cm_cdr_cause (self));
    size_t hlen = strlen (head);
    if (strncmp (text, head, hlen) != 0 || (text[hlen] && text[hlen] != ';'))
        return cm_cdr_fail (error, size,
                            "column 'fci': must start with \"%s\" (call_tag "
                            "and cause columns)",
                            head);
    if (strlen (text) > CM_CDR_FCI_MAX)
        return cm_cdr_fail (error, size,
                            "column 'fci': longer than %d bytes",
                            CM_CDR_FCI_MAX);
    char *copy = strdup (text + hlen);
    int rc = 0;
    char *rest = copy;
    while (rc == 0 && *rest == ';') {
        char *pair = rest + 1;
        char *end = strchr (pair, ';');
        rest = end ? end : pair + strlen (pair);
        if (end)
            *end = '\0';
        char *eq = strchr (pair, '=');
        if (eq)
            *eq = '\0';
        if (!eq || !cm_cdr_fci_key_valid (pair)
            || !cm_cdr_fci_value_valid (eq + 1) || cm_cdr_fci_get (self, pair)
            || cm_cdr_fci_add (self, pair, eq + 1) != 0)
            rc = cm_cdr_fail (error, size,
                              "column 'fci': bad or repeated key=value pair "
                              "'%s'",
                              pair);
        if (end)
            *end = ';';
    }
    free (copy);
    return rc;
}

//  Parse a time column (answer_time may be empty: never answered).
static int
s_set_time_column (cm_cdr_t *self, int col, const char *text)
{
    int64_t ms = 0;
    if (!(col == CM_CDR_COL_ANSWER && *text == '\0')
        && cm_cdr_time_parse (text, &ms) != 0)
        return -1;
    return col == CM_CDR_COL_START ? cm_cdr_set_start_time (self, ms)
           : col == CM_CDR_COL_END ? cm_cdr_set_end_time (self, ms)
                                   : cm_cdr_set_answer_time (self, ms);
}

//  Parse an enum column by name.
static int
s_set_enum_column (cm_cdr_t *self, int col, const char *text)
{
    if (col == CM_CDR_COL_DIRECTION) {
        cm_cdr_direction_t direction;
        if (cm_cdr_direction_parse (text, &direction) != 0)
            return -1;
        cm_cdr_set_direction (self, direction);
    }
    else if (col == CM_CDR_COL_DISPOSITION) {
        cm_cdr_disposition_t disposition;
        if (cm_cdr_disposition_parse (text, &disposition) != 0)
            return -1;
        cm_cdr_set_disposition (self, disposition);
    }
    else {
        cm_cdr_released_by_t released_by;
        if (cm_cdr_released_by_parse (text, &released_by) != 0)
            return -1;
        cm_cdr_set_released_by (self, released_by);
    }
    return 0;
}

//  Parse the text form of one column into self. Derived columns
//  (duration, billsec, fci) are checked afterwards by s_check_derived.
static int
s_set_column (cm_cdr_t *self, int col, const char *text, char *error,
              size_t size)
{
    int64_t n = 0;
    int rc = 0;
    switch (col) {
        case CM_CDR_COL_UNIQUEID:
            rc = cm_cdr_set_uniqueid (self, text);
            break;
        case CM_CDR_COL_START:
        case CM_CDR_COL_END:
        case CM_CDR_COL_ANSWER:
            rc = s_set_time_column (self, col, text);
            break;
        case CM_CDR_COL_DURATION:
        case CM_CDR_COL_BILLSEC:
            rc = s_parse_int (text, 0, CM_CDR_TIME_MAX_MS / 1000, &n);
            break;
        case CM_CDR_COL_SRC:
        case CM_CDR_COL_DST:
        case CM_CDR_COL_DIALED:
            //  Valid text passes the sanitizing setters unchanged.
            rc = cm_cdr_text_valid (text, CM_CDR_TEXT_MAX) ? 0 : -1;
            if (rc == 0 && col == CM_CDR_COL_SRC)
                cm_cdr_set_src (self, text);
            else if (rc == 0 && col == CM_CDR_COL_DST)
                cm_cdr_set_dst (self, text);
            else if (rc == 0)
                cm_cdr_set_dialed (self, text);
            break;
        case CM_CDR_COL_DIRECTION:
        case CM_CDR_COL_DISPOSITION:
        case CM_CDR_COL_RELEASED_BY:
            rc = s_set_enum_column (self, col, text);
            break;
        case CM_CDR_COL_SIP_CODE:
            rc = s_parse_int (text, 100, 699, &n);
            if (rc == 0)
                rc = cm_cdr_set_sip_code (self, (int) n);
            break;
        case CM_CDR_COL_CAUSE:
            rc = s_parse_int (text, 0, 127, &n);
            if (rc == 0)
                rc = cm_cdr_set_cause (self, (int) n);
            break;
        case CM_CDR_COL_CALL_TAG:
            rc = s_parse_int (text, 0, 999, &n);
            if (rc == 0)
                rc = cm_cdr_set_call_tag (self, (int) n);
            break;
        case CM_CDR_COL_FCI:
            return s_parse_fci (self, text, error, size);
        case CM_CDR_COL_RECORDING:
            rc = cm_cdr_set_recording (self, text);
            break;
        default:
            rc = -1;
    }
    if (rc != 0) {
        char shown[48];
        cm_cdr_sanitize (shown, 40, text);
        return cm_cdr_fail (error, size, "column '%s': invalid value '%s'",
                            s_columns[col], shown);
    }
    return 0;
}

//  duration and billsec given in the input must equal the derived values.
static int
s_check_derived (cm_cdr_t *self, const char *duration, const char *billsec,
                 char *error, size_t size)
{
    if (duration) {
        int64_t n = -1;
        if (s_parse_int (duration, 0, CM_CDR_TIME_MAX_MS / 1000, &n) != 0
            || n != cm_cdr_duration (self))
            return cm_cdr_fail (error, size,
                                "column 'duration': '%.20s' does not match "
                                "end_time - start_time (%" PRId64 ")",
                                duration, cm_cdr_duration (self));
    }
    if (billsec) {
        int64_t n = -1;
        if (s_parse_int (billsec, 0, CM_CDR_TIME_MAX_MS / 1000, &n) != 0
            || n != cm_cdr_billsec (self))
            return cm_cdr_fail (error, size,
                                "column 'billsec': '%.20s' does not match "
                                "end_time - answer_time (%" PRId64 ")",
                                billsec, cm_cdr_billsec (self));
    }
    return 0;
}

//  fci goes last: it needs call_tag and cause.
cm_cdr_t *
cm_cdr_from_columns (const char **texts, char *error, size_t size)
{
    assert (texts);
    cm_cdr_t *self = cm_cdr_new ("x");
    for (int col = 0; col < CM_CDR_COLUMNS; col++) {
        if (col == CM_CDR_COL_DURATION || col == CM_CDR_COL_BILLSEC
            || col == CM_CDR_COL_FCI)
            continue;
        if (!texts[col]) {
            cm_cdr_fail (error, size, "column '%s' is missing",
                         s_columns[col]);
            goto fail;
        }
        if (s_set_column (self, col, texts[col], error, size) != 0)
            goto fail;
    }
    if (texts[CM_CDR_COL_FCI]
        && s_set_column (self, CM_CDR_COL_FCI, texts[CM_CDR_COL_FCI], error,
                         size)
               != 0)
        goto fail;
    if (cm_cdr_validate (self, error, size) != 0
        || s_check_derived (self, texts[CM_CDR_COL_DURATION],
                            texts[CM_CDR_COL_BILLSEC], error, size)
               != 0)
        goto fail;
    return self;
fail:
    cm_cdr_destroy (&self);
    return NULL;
}
