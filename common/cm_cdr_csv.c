//  cm_cdr_csv — CSV codec for cm_cdr. See cm_cdr_csv.h.
//
//  The encoder runs for every CDR cdrd stores; it writes the record into
//  one buffer sized for the worst case (every byte of a quoted field
//  doubled) rather than growing a chunk byte by byte.

#include "cm_cdr_csv.h"
#include "cm_cdr_private.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_header[] =
    "uniqueid,start_time,answer_time,end_time,duration,billsec,src,dst,"
    "dialed,direction,disposition,sip_code,cause,call_tag,released_by,fci,"
    "recording";

const char *
cm_cdr_csv_header (void)
{
    return s_header;
}

//  Append field at *p_p with RFC 4180 quoting when needed (a field with
//  , " CR or LF, or leading or trailing blanks); advances *p_p. Writes at
//  most 2 * strlen (field) + 3 bytes.
static void
s_csv_field (char **p_p, const char *field, bool first)
{
    char *p = *p_p;
    if (!first)
        *p++ = ',';
    size_t n = strlen (field);
    bool quote = strpbrk (field, ",\"\r\n") != NULL
                 || (n > 0 && (isblank ((unsigned char) field[0])
                               || isblank ((unsigned char) field[n - 1])));
    if (!quote) {
        memcpy (p, field, n);
        *p_p = p + n;
        return;
    }
    *p++ = '"';
    for (const char *s = field; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p_p = p;
}

//  Decimal text of value into buf (at least 24 bytes). Returns buf.
static char *
s_int_text (int64_t value, char *buf)
{
    cm_cdr_int_text (value, buf);
    return buf;
}

char *
cm_cdr_csv_encode (const cm_cdr_t *self)
{
    assert (self);
    char start[CM_CDR_TIME_SIZE], answer[CM_CDR_TIME_SIZE],
        end[CM_CDR_TIME_SIZE], duration[24], billsec[24], sip_code[24],
        cause[24], call_tag[24];
    const char *fields[CM_CDR_COLUMNS] = {
        cm_cdr_uniqueid (self),
        cm_cdr_time_format (cm_cdr_start_time (self), start, sizeof start),
        cm_cdr_time_format (cm_cdr_answer_time (self), answer, sizeof answer),
        cm_cdr_time_format (cm_cdr_end_time (self), end, sizeof end),
        s_int_text (cm_cdr_duration (self), duration),
        s_int_text (cm_cdr_billsec (self), billsec),
        cm_cdr_src (self),
        cm_cdr_dst (self),
        cm_cdr_dialed (self),
        cm_cdr_direction_name (cm_cdr_direction (self)),
        cm_cdr_disposition_name (cm_cdr_disposition (self)),
        s_int_text (cm_cdr_sip_code (self), sip_code),
        s_int_text (cm_cdr_cause (self), cause),
        s_int_text (cm_cdr_call_tag (self), call_tag),
        cm_cdr_released_by_name (cm_cdr_released_by (self)),
        cm_cdr_fci (self),
        cm_cdr_recording (self)};
    size_t size = 1;
    for (int col = 0; col < CM_CDR_COLUMNS; col++)
        size += 2 * strlen (fields[col]) + 3;
    char *text = (char *) zmalloc (size);
    char *p = text;
    for (int col = 0; col < CM_CDR_COLUMNS; col++)
        s_csv_field (&p, fields[col], col == 0);
    *p = '\0';
    assert ((size_t) (p - text) < size);
    return text;
}

bool
cm_cdr_csv_complete (const char *text)
{
    size_t quotes = 0;
    for (const char *p = text; p && *p; p++)
        if (*p == '"')
            quotes++;
    return quotes % 2 == 0;
}

int
cm_cdr_csv_split (const char *record, char **fields, size_t max, char *error,
                  size_t size)
{
    assert (record);
    size_t len = strlen (record);
    //  Strip one trailing line terminator (outside quotes by construction
    //  of a complete record).
    if (len && record[len - 1] == '\n')
        len--;
    if (len && record[len - 1] == '\r')
        len--;
    size_t count = 0;
    zchunk_t *field = zchunk_new (NULL, 64);
    size_t i = 0;
    int rc = 0;
    while (true) {
        zchunk_set (field, NULL, 0);
        if (i < len && record[i] == '"') {
            i++;
            bool closed = false;
            while (i < len) {
                if (record[i] == '"') {
                    if (i + 1 < len && record[i + 1] == '"') {
                        zchunk_extend (field, "\"", 1);
                        i += 2;
                        continue;
                    }
                    closed = true;
                    i++;
                    break;
                }
                zchunk_extend (field, record + i, 1);
                i++;
            }
            if (!closed) {
                rc = cm_cdr_fail (error, size, "field %zu: unterminated quote",
                             count + 1);
                break;
            }
            if (i < len && record[i] != ',') {
                rc = cm_cdr_fail (error, size,
                             "field %zu: text after closing quote",
                             count + 1);
                break;
            }
        }
        else {
            size_t start = i;
            while (i < len && record[i] != ',') {
                if (record[i] == '"' || record[i] == '\r'
                    || record[i] == '\n') {
                    rc = cm_cdr_fail (error, size,
                                 "field %zu: quote or line break in an "
                                 "unquoted field",
                                 count + 1);
                    break;
                }
                i++;
            }
            if (rc)
                break;
            zchunk_extend (field, record + start, i - start);
        }
        if (count < max) {
            char *text = (char *) zmalloc (zchunk_size (field) + 1);
            memcpy (text, zchunk_data (field), zchunk_size (field));
            fields[count] = text;
        }
        count++;
        if (i >= len)
            break;
        i++;    //  the comma
    }
    zchunk_destroy (&field);
    if (rc) {
        for (size_t k = 0; k < count && k < max; k++) {
            free (fields[k]);
            fields[k] = NULL;
        }
        return -1;
    }
    return (int) count;
}

bool
cm_cdr_csv_is_header (const char *record)
{
    size_t n = strlen (s_header);
    if (!record || strncmp (record, s_header, n) != 0)
        return false;
    const char *rest = record + n;
    return streq (rest, "") || streq (rest, "\n") || streq (rest, "\r\n");
}

cm_cdr_t *
cm_cdr_csv_decode (const char *record, char *error, size_t size)
{
    assert (record);
    char *fields[CM_CDR_COLUMNS + 1] = {NULL};
    int count = cm_cdr_csv_split (record, fields, CM_CDR_COLUMNS + 1, error,
                                  size);
    if (count < 0)
        return NULL;
    cm_cdr_t *self = NULL;
    if (count != CM_CDR_COLUMNS)
        cm_cdr_fail (error, size, "expected %d columns, got %d", CM_CDR_COLUMNS,
                count);
    else
        self = cm_cdr_from_columns ((const char **) fields, error, size);
    for (int i = 0; i < count && i < CM_CDR_COLUMNS + 1; i++)
        free (fields[i]);
    return self;
}
