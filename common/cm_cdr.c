//  cm_cdr — call detail record type, JSON and CSV codecs, time helpers.
//  See cm_cdr.h for the format rules.
//
//  Decoding goes column by column through one function, s_set_column,
//  which parses the text form of a column strictly; the JSON decoder turns
//  typed JSON values into that text form first, so both codecs apply
//  exactly the same checks and error messages.

#include "cm_cdr.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FCI_EXTRA_MAX 16                //  extra fci pairs per record
#define FCI_KEY_MAX 32                  //  longest fci key
#define TIME_MAX_MS 253402300799999LL   //  9999-12-31T23:59:59.999Z

static const char *s_columns[CM_CDR_COLUMNS] = {
    "uniqueid", "start_time", "answer_time", "end_time", "duration",
    "billsec", "src", "dst", "dialed", "direction", "disposition",
    "sip_code", "cause", "call_tag", "released_by", "fci", "recording"};

enum {
    COL_UNIQUEID, COL_START, COL_ANSWER, COL_END, COL_DURATION, COL_BILLSEC,
    COL_SRC, COL_DST, COL_DIALED, COL_DIRECTION, COL_DISPOSITION,
    COL_SIP_CODE, COL_CAUSE, COL_CALL_TAG, COL_RELEASED_BY, COL_FCI,
    COL_RECORDING
};

static const char *s_header =
    "uniqueid,start_time,answer_time,end_time,duration,billsec,src,dst,"
    "dialed,direction,disposition,sip_code,cause,call_tag,released_by,fci,"
    "recording";

static const char *s_directions[] = {"internal", "outbound", "inbound",
                                     "callback"};
static const char *s_dispositions[] = {"ANSWERED", "BUSY", "NO ANSWER",
                                       "CANCELLED", "FAILED"};
static const char *s_released[] = {"caller", "callee", "system"};

struct _cm_cdr_t {
    char uniqueid[CM_CDR_UNIQUEID_MAX + 1];     //  primary key
    int64_t start_time;                         //  ms since epoch, 0 unset
    int64_t answer_time;                        //  ms, 0 = never answered
    int64_t end_time;                           //  ms, 0 unset
    char src[CM_CDR_TEXT_MAX + 1];              //  caller number
    char dst[CM_CDR_TEXT_MAX + 1];              //  called number (analysed)
    char dialed[CM_CDR_TEXT_MAX + 1];           //  digits as dialled
    cm_cdr_direction_t direction;               //  internal, outbound, ...
    cm_cdr_disposition_t disposition;           //  ANSWERED, BUSY, ...
    int sip_code;                               //  final status to caller
    int cause;                                  //  Q.850 cause
    int call_tag;                               //  release location code
    cm_cdr_released_by_t released_by;           //  caller, callee, system
    size_t fci_count;                           //  extra fci pairs in use
    char *fci_keys[FCI_EXTRA_MAX];              //  extra keys (owned)
    char *fci_values[FCI_EXTRA_MAX];            //  extra values (owned)
    char fci[CM_CDR_FCI_MAX + 1];               //  built fci string
    char recording[CM_CDR_RECORDING_MAX + 1];   //  relative path or ""
};

//  ---------------------------------------------------------------------
//  UTF-8 helpers

//  Length of the valid UTF-8 sequence at s (n bytes available), or 0 when
//  it is invalid (overlong, surrogate, beyond U+10FFFF, truncated). Sets
//  *cp_p to the code point.
static size_t
s_utf8_len (const unsigned char *s, size_t n, uint32_t *cp_p)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
        *cp_p = c;
        return 1;
    }
    else if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    }
    else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    }
    else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    }
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cp_p = cp;
    return len;
}

static bool
s_is_control (uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

//  Copy text into dest (max bytes + NUL) replacing invalid UTF-8 and
//  control characters by '?' and cutting on a character boundary.
static void
s_sanitize (char *dest, size_t max, const char *text)
{
    const unsigned char *s = (const unsigned char *) (text ? text : "");
    size_t n = strlen ((const char *) s), out = 0, i = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t len = s_utf8_len (s + i, n - i, &cp);
        if (len == 0 || s_is_control (cp)) {
            if (out + 1 > max)
                break;
            dest[out++] = '?';
            i += len ? len : 1;
            continue;
        }
        if (out + len > max)
            break;
        memcpy (dest + out, s + i, len);
        out += len;
        i += len;
    }
    dest[out] = '\0';
}

//  True when text is valid UTF-8 without control characters and at most
//  max bytes long.
static bool
s_text_valid (const char *text, size_t max)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t n = strlen (text);
    if (n > max)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = s_utf8_len (s + i, n - i, &cp);
        if (len == 0 || s_is_control (cp))
            return false;
        i += len;
    }
    return true;
}

//  ---------------------------------------------------------------------
//  Construction

static bool
s_uniqueid_valid (const char *uniqueid)
{
    size_t n = strlen (uniqueid);
    if (n == 0 || n > CM_CDR_UNIQUEID_MAX || uniqueid[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) uniqueid[i];
        if (!(isalnum (c) || c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

static void s_fci_build (cm_cdr_t *self);

cm_cdr_t *
cm_cdr_new (const char *uniqueid)
{
    char fresh[33];
    if (!uniqueid) {
        zuuid_t *uuid = zuuid_new ();
        snprintf (fresh, sizeof fresh, "%s", zuuid_str (uuid));
        zuuid_destroy (&uuid);
        for (char *p = fresh; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
        uniqueid = fresh;
    }
    if (!s_uniqueid_valid (uniqueid))
        return NULL;
    cm_cdr_t *self = (cm_cdr_t *) zmalloc (sizeof (cm_cdr_t));
    snprintf (self->uniqueid, sizeof self->uniqueid, "%s", uniqueid);
    self->direction = CM_CDR_INTERNAL;
    self->disposition = CM_CDR_FAILED;
    self->released_by = CM_CDR_SYSTEM;
    s_fci_build (self);
    return self;
}

void
cm_cdr_destroy (cm_cdr_t **self_p)
{
    assert (self_p);
    cm_cdr_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->fci_count; i++) {
        free (self->fci_keys[i]);
        free (self->fci_values[i]);
    }
    free (self);
    *self_p = NULL;
}

cm_cdr_t *
cm_cdr_dup (const cm_cdr_t *self)
{
    assert (self);
    cm_cdr_t *copy = (cm_cdr_t *) zmalloc (sizeof (cm_cdr_t));
    memcpy (copy, self, sizeof (cm_cdr_t));
    for (size_t i = 0; i < self->fci_count; i++) {
        copy->fci_keys[i] = strdup (self->fci_keys[i]);
        copy->fci_values[i] = strdup (self->fci_values[i]);
    }
    return copy;
}

bool
cm_cdr_eq (const cm_cdr_t *self, const cm_cdr_t *other)
{
    assert (self);
    assert (other);
    return streq (self->uniqueid, other->uniqueid)
           && self->start_time == other->start_time
           && self->answer_time == other->answer_time
           && self->end_time == other->end_time
           && streq (self->src, other->src) && streq (self->dst, other->dst)
           && streq (self->dialed, other->dialed)
           && self->direction == other->direction
           && self->disposition == other->disposition
           && self->sip_code == other->sip_code
           && self->cause == other->cause
           && self->call_tag == other->call_tag
           && self->released_by == other->released_by
           && streq (self->fci, other->fci)
           && streq (self->recording, other->recording);
}

//  ---------------------------------------------------------------------
//  Setters

int
cm_cdr_set_uniqueid (cm_cdr_t *self, const char *uniqueid)
{
    assert (self);
    if (!uniqueid || !s_uniqueid_valid (uniqueid))
        return -1;
    snprintf (self->uniqueid, sizeof self->uniqueid, "%s", uniqueid);
    return 0;
}

static int
s_set_time (int64_t *field, int64_t ms)
{
    if (ms < 0 || ms > TIME_MAX_MS)
        return -1;
    *field = ms;
    return 0;
}

int
cm_cdr_set_start_time (cm_cdr_t *self, int64_t ms)
{
    assert (self);
    return s_set_time (&self->start_time, ms);
}

int
cm_cdr_set_answer_time (cm_cdr_t *self, int64_t ms)
{
    assert (self);
    return s_set_time (&self->answer_time, ms);
}

int
cm_cdr_set_end_time (cm_cdr_t *self, int64_t ms)
{
    assert (self);
    return s_set_time (&self->end_time, ms);
}

void
cm_cdr_set_src (cm_cdr_t *self, const char *src)
{
    assert (self);
    s_sanitize (self->src, CM_CDR_TEXT_MAX, src);
}

void
cm_cdr_set_dst (cm_cdr_t *self, const char *dst)
{
    assert (self);
    s_sanitize (self->dst, CM_CDR_TEXT_MAX, dst);
}

void
cm_cdr_set_dialed (cm_cdr_t *self, const char *dialed)
{
    assert (self);
    s_sanitize (self->dialed, CM_CDR_TEXT_MAX, dialed);
}

void
cm_cdr_set_direction (cm_cdr_t *self, cm_cdr_direction_t direction)
{
    assert (self);
    assert ((unsigned) direction <= CM_CDR_CALLBACK);
    self->direction = direction;
}

void
cm_cdr_set_disposition (cm_cdr_t *self, cm_cdr_disposition_t disposition)
{
    assert (self);
    assert ((unsigned) disposition <= CM_CDR_FAILED);
    self->disposition = disposition;
}

void
cm_cdr_set_released_by (cm_cdr_t *self, cm_cdr_released_by_t released_by)
{
    assert (self);
    assert ((unsigned) released_by <= CM_CDR_SYSTEM);
    self->released_by = released_by;
}

int
cm_cdr_set_sip_code (cm_cdr_t *self, int sip_code)
{
    assert (self);
    if (sip_code < 100 || sip_code > 699)
        return -1;
    self->sip_code = sip_code;
    return 0;
}

int
cm_cdr_set_cause (cm_cdr_t *self, int cause)
{
    assert (self);
    if (cause < 0 || cause > 127)
        return -1;
    self->cause = cause;
    s_fci_build (self);
    return 0;
}

int
cm_cdr_set_call_tag (cm_cdr_t *self, int call_tag)
{
    assert (self);
    if (call_tag < 0 || call_tag > 999)
        return -1;
    self->call_tag = call_tag;
    s_fci_build (self);
    return 0;
}

static bool
s_recording_valid (const char *path)
{
    if (strlen (path) > CM_CDR_RECORDING_MAX || path[0] == '/'
        || !s_text_valid (path, CM_CDR_RECORDING_MAX))
        return false;
    //  No ".." path segment.
    for (const char *p = path; *p;) {
        const char *slash = strchr (p, '/');
        size_t seg = slash ? (size_t) (slash - p) : strlen (p);
        if (seg == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += seg + (slash ? 1 : 0);
    }
    return true;
}

int
cm_cdr_set_recording (cm_cdr_t *self, const char *recording)
{
    assert (self);
    if (!recording)
        recording = "";
    if (!s_recording_valid (recording))
        return -1;
    snprintf (self->recording, sizeof self->recording, "%s", recording);
    return 0;
}

//  ---------------------------------------------------------------------
//  fci

static bool
s_fci_key_valid (const char *key)
{
    size_t n = strlen (key);
    if (n == 0 || n > FCI_KEY_MAX || streq (key, "callTag")
        || streq (key, "cause"))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) key[i];
        if (!(isalnum (c) || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static bool
s_fci_value_valid (const char *value)
{
    return s_text_valid (value, CM_CDR_FCI_MAX) && !strpbrk (value, ";=\"");
}

//  Rebuild self->fci from call_tag, cause and the extras. The extras are
//  only ever added after s_fci_length_with said they fit.
static void
s_fci_build (cm_cdr_t *self)
{
    int len = snprintf (self->fci, sizeof self->fci, "callTag=%d;cause=%d",
                        self->call_tag, self->cause);
    for (size_t i = 0; i < self->fci_count; i++)
        len += snprintf (self->fci + len, sizeof self->fci - (size_t) len,
                         ";%s=%s", self->fci_keys[i], self->fci_values[i]);
}

static size_t
s_fci_length_with (const cm_cdr_t *self, const char *key, const char *value)
{
    size_t len = strlen ("callTag=999;cause=127");
    for (size_t i = 0; i < self->fci_count; i++)
        if (!streq (self->fci_keys[i], key))
            len += 2 + strlen (self->fci_keys[i])
                   + strlen (self->fci_values[i]);
    return len + 2 + strlen (key) + strlen (value);
}

int
cm_cdr_fci_add (cm_cdr_t *self, const char *key, const char *value)
{
    assert (self);
    assert (key);
    if (!s_fci_key_valid (key))
        return -1;
    char clean[CM_CDR_FCI_MAX + 1];
    s_sanitize (clean, CM_CDR_FCI_MAX, value);
    for (char *p = clean; *p; p++)
        if (*p == ';' || *p == '=' || *p == '"')
            *p = '_';
    if (s_fci_length_with (self, key, clean) > CM_CDR_FCI_MAX)
        return -1;
    for (size_t i = 0; i < self->fci_count; i++)
        if (streq (self->fci_keys[i], key)) {
            free (self->fci_values[i]);
            self->fci_values[i] = strdup (clean);
            s_fci_build (self);
            return 0;
        }
    if (self->fci_count == FCI_EXTRA_MAX)
        return -1;
    self->fci_keys[self->fci_count] = strdup (key);
    self->fci_values[self->fci_count] = strdup (clean);
    self->fci_count++;
    s_fci_build (self);
    return 0;
}

//  ---------------------------------------------------------------------
//  Getters

const char *
cm_cdr_uniqueid (const cm_cdr_t *self)
{
    assert (self);
    return self->uniqueid;
}

int64_t
cm_cdr_start_time (const cm_cdr_t *self)
{
    assert (self);
    return self->start_time;
}

int64_t
cm_cdr_answer_time (const cm_cdr_t *self)
{
    assert (self);
    return self->answer_time;
}

int64_t
cm_cdr_end_time (const cm_cdr_t *self)
{
    assert (self);
    return self->end_time;
}

int64_t
cm_cdr_duration (const cm_cdr_t *self)
{
    assert (self);
    if (!self->start_time || !self->end_time
        || self->end_time < self->start_time)
        return 0;
    return (self->end_time - self->start_time) / 1000;
}

int64_t
cm_cdr_billsec (const cm_cdr_t *self)
{
    assert (self);
    if (!self->answer_time || !self->end_time
        || self->end_time < self->answer_time)
        return 0;
    return (self->end_time - self->answer_time) / 1000;
}

const char *
cm_cdr_src (const cm_cdr_t *self)
{
    assert (self);
    return self->src;
}

const char *
cm_cdr_dst (const cm_cdr_t *self)
{
    assert (self);
    return self->dst;
}

const char *
cm_cdr_dialed (const cm_cdr_t *self)
{
    assert (self);
    return self->dialed;
}

cm_cdr_direction_t
cm_cdr_direction (const cm_cdr_t *self)
{
    assert (self);
    return self->direction;
}

cm_cdr_disposition_t
cm_cdr_disposition (const cm_cdr_t *self)
{
    assert (self);
    return self->disposition;
}

int
cm_cdr_sip_code (const cm_cdr_t *self)
{
    assert (self);
    return self->sip_code;
}

int
cm_cdr_cause (const cm_cdr_t *self)
{
    assert (self);
    return self->cause;
}

int
cm_cdr_call_tag (const cm_cdr_t *self)
{
    assert (self);
    return self->call_tag;
}

cm_cdr_released_by_t
cm_cdr_released_by (const cm_cdr_t *self)
{
    assert (self);
    return self->released_by;
}

const char *
cm_cdr_fci (const cm_cdr_t *self)
{
    assert (self);
    return self->fci;
}

const char *
cm_cdr_fci_get (const cm_cdr_t *self, const char *key)
{
    assert (self);
    assert (key);
    for (size_t i = 0; i < self->fci_count; i++)
        if (streq (self->fci_keys[i], key))
            return self->fci_values[i];
    return NULL;
}

const char *
cm_cdr_recording (const cm_cdr_t *self)
{
    assert (self);
    return self->recording;
}

//  ---------------------------------------------------------------------
//  Enum names

const char *
cm_cdr_direction_name (cm_cdr_direction_t direction)
{
    return (unsigned) direction <= CM_CDR_CALLBACK ? s_directions[direction]
                                                   : "internal";
}

const char *
cm_cdr_disposition_name (cm_cdr_disposition_t disposition)
{
    return (unsigned) disposition <= CM_CDR_FAILED
               ? s_dispositions[disposition]
               : "FAILED";
}

const char *
cm_cdr_released_by_name (cm_cdr_released_by_t released_by)
{
    return (unsigned) released_by <= CM_CDR_SYSTEM ? s_released[released_by]
                                                   : "system";
}

static int
s_lookup (const char *name, const char **names, int count)
{
    for (int i = 0; name && i < count; i++)
        if (streq (name, names[i]))
            return i;
    return -1;
}

int
cm_cdr_direction_parse (const char *name, cm_cdr_direction_t *direction_p)
{
    int i = s_lookup (name, s_directions, 4);
    if (i < 0)
        return -1;
    *direction_p = (cm_cdr_direction_t) i;
    return 0;
}

int
cm_cdr_disposition_parse (const char *name,
                          cm_cdr_disposition_t *disposition_p)
{
    int i = s_lookup (name, s_dispositions, 5);
    if (i < 0)
        return -1;
    *disposition_p = (cm_cdr_disposition_t) i;
    return 0;
}

int
cm_cdr_released_by_parse (const char *name,
                          cm_cdr_released_by_t *released_by_p)
{
    int i = s_lookup (name, s_released, 3);
    if (i < 0)
        return -1;
    *released_by_p = (cm_cdr_released_by_t) i;
    return 0;
}

//  ---------------------------------------------------------------------
//  Validation

static int
s_fail (char *error, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_fail (char *error, size_t size, const char *fmt, ...)
{
    if (error && size) {
        va_list args;
        va_start (args, fmt);
        vsnprintf (error, size, fmt, args);
        va_end (args);
    }
    return -1;
}

int
cm_cdr_validate (const cm_cdr_t *self, char *error, size_t size)
{
    assert (self);
    if (!self->start_time)
        return s_fail (error, size, "start_time is not set");
    if (!self->end_time)
        return s_fail (error, size, "end_time is not set");
    if (self->end_time < self->start_time)
        return s_fail (error, size, "end_time is before start_time");
    bool answered = self->disposition == CM_CDR_ANSWERED;
    if (answered && !self->answer_time)
        return s_fail (error, size, "disposition ANSWERED without answer_time");
    if (!answered && self->answer_time)
        return s_fail (error, size, "answer_time set but disposition is %s",
                       cm_cdr_disposition_name (self->disposition));
    if (self->answer_time && (self->answer_time < self->start_time
                              || self->answer_time > self->end_time))
        return s_fail (error, size,
                       "answer_time is outside start_time..end_time");
    if (self->sip_code < 100 || self->sip_code > 699)
        return s_fail (error, size, "sip_code is not set");
    if (answered && (self->sip_code < 200 || self->sip_code > 299))
        return s_fail (error, size, "disposition ANSWERED with sip_code %d",
                       self->sip_code);
    return 0;
}

//  ---------------------------------------------------------------------
//  Column parsing (shared by the JSON and CSV decoders)

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
    snprintf (head, sizeof head, "callTag=%d;cause=%d", self->call_tag,
              self->cause);
    size_t hlen = strlen (head);
    if (strncmp (text, head, hlen) != 0 || (text[hlen] && text[hlen] != ';'))
        return s_fail (error, size,
                       "column 'fci': must start with \"%s\" (call_tag and "
                       "cause columns)",
                       head);
    if (strlen (text) > CM_CDR_FCI_MAX)
        return s_fail (error, size, "column 'fci': longer than %d bytes",
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
        if (!eq || !s_fci_key_valid (pair) || !s_fci_value_valid (eq + 1)
            || cm_cdr_fci_get (self, pair)
            || cm_cdr_fci_add (self, pair, eq + 1) != 0)
            rc = s_fail (error, size,
                         "column 'fci': bad or repeated key=value pair '%s'",
                         pair);
        if (end)
            *end = ';';
    }
    free (copy);
    return rc;
}

//  Parse the text form of one column into self. Derived columns
//  (duration, billsec, fci) are checked afterwards by s_check_derived.
static int
s_set_column (cm_cdr_t *self, int col, const char *text, char *error,
              size_t size)
{
    const char *name = s_columns[col];
    int64_t n = 0;
    int rc = 0;
    switch (col) {
        case COL_UNIQUEID:
            rc = cm_cdr_set_uniqueid (self, text);
            break;
        case COL_START:
        case COL_END:
        case COL_ANSWER:
            if (col == COL_ANSWER && *text == '\0')
                self->answer_time = 0;
            else if ((rc = cm_cdr_time_parse (text, &n)) == 0)
                *(col == COL_START  ? &self->start_time
                  : col == COL_END ? &self->end_time
                                   : &self->answer_time) = n;
            break;
        case COL_DURATION:
        case COL_BILLSEC:
            rc = s_parse_int (text, 0, TIME_MAX_MS / 1000, &n);
            break;
        case COL_SRC:
        case COL_DST:
        case COL_DIALED:
            rc = s_text_valid (text, CM_CDR_TEXT_MAX) ? 0 : -1;
            if (rc == 0)
                strcpy (col == COL_SRC   ? self->src
                        : col == COL_DST ? self->dst
                                         : self->dialed,
                        text);
            break;
        case COL_DIRECTION:
            rc = cm_cdr_direction_parse (text, &self->direction);
            break;
        case COL_DISPOSITION:
            rc = cm_cdr_disposition_parse (text, &self->disposition);
            break;
        case COL_RELEASED_BY:
            rc = cm_cdr_released_by_parse (text, &self->released_by);
            break;
        case COL_SIP_CODE:
            rc = s_parse_int (text, 100, 699, &n);
            self->sip_code = rc == 0 ? (int) n : 0;
            break;
        case COL_CAUSE:
            rc = s_parse_int (text, 0, 127, &n);
            if (rc == 0)
                cm_cdr_set_cause (self, (int) n);
            break;
        case COL_CALL_TAG:
            rc = s_parse_int (text, 0, 999, &n);
            if (rc == 0)
                cm_cdr_set_call_tag (self, (int) n);
            break;
        case COL_FCI:
            return s_parse_fci (self, text, error, size);
        case COL_RECORDING:
            rc = cm_cdr_set_recording (self, text);
            break;
        default:
            rc = -1;
    }
    if (rc != 0) {
        char shown[48];
        s_sanitize (shown, 40, text);
        return s_fail (error, size, "column '%s': invalid value '%s'", name,
                       shown);
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
        if (s_parse_int (duration, 0, TIME_MAX_MS / 1000, &n) != 0
            || n != cm_cdr_duration (self))
            return s_fail (error, size,
                           "column 'duration': '%.20s' does not match "
                           "end_time - start_time (%" PRId64 ")",
                           duration, cm_cdr_duration (self));
    }
    if (billsec) {
        int64_t n = -1;
        if (s_parse_int (billsec, 0, TIME_MAX_MS / 1000, &n) != 0
            || n != cm_cdr_billsec (self))
            return s_fail (error, size,
                           "column 'billsec': '%.20s' does not match "
                           "end_time - answer_time (%" PRId64 ")",
                           billsec, cm_cdr_billsec (self));
    }
    return 0;
}

//  Build a record from the text of each column (NULL: absent, allowed
//  only for the derived columns). fci goes last: it needs call_tag and
//  cause.
static cm_cdr_t *
s_from_texts (const char **texts, char *error, size_t size)
{
    cm_cdr_t *self = cm_cdr_new ("x");
    for (int col = 0; col < CM_CDR_COLUMNS; col++) {
        if (col == COL_DURATION || col == COL_BILLSEC || col == COL_FCI)
            continue;
        if (!texts[col]) {
            s_fail (error, size, "column '%s' is missing", s_columns[col]);
            goto fail;
        }
        if (s_set_column (self, col, texts[col], error, size) != 0)
            goto fail;
    }
    if (texts[COL_FCI]
        && s_set_column (self, COL_FCI, texts[COL_FCI], error, size) != 0)
        goto fail;
    if (cm_cdr_validate (self, error, size) != 0
        || s_check_derived (self, texts[COL_DURATION], texts[COL_BILLSEC],
                            error, size)
               != 0)
        goto fail;
    return self;
fail:
    cm_cdr_destroy (&self);
    return NULL;
}

//  ---------------------------------------------------------------------
//  JSON

json_t *
cm_cdr_to_json (const cm_cdr_t *self)
{
    assert (self);
    char start[CM_CDR_TIME_SIZE], answer[CM_CDR_TIME_SIZE],
        end[CM_CDR_TIME_SIZE];
    json_t *json = json_object ();
    json_object_set_new (json, "uniqueid", json_string (self->uniqueid));
    json_object_set_new (
        json, "start_time",
        json_string (cm_cdr_time_format (self->start_time, start, sizeof start)));
    json_object_set_new (
        json, "answer_time",
        self->answer_time
            ? json_string (cm_cdr_time_format (self->answer_time, answer,
                                               sizeof answer))
            : json_null ());
    json_object_set_new (
        json, "end_time",
        json_string (cm_cdr_time_format (self->end_time, end, sizeof end)));
    json_object_set_new (json, "duration",
                         json_integer (cm_cdr_duration (self)));
    json_object_set_new (json, "billsec", json_integer (cm_cdr_billsec (self)));
    json_object_set_new (json, "src", json_string (self->src));
    json_object_set_new (json, "dst", json_string (self->dst));
    json_object_set_new (json, "dialed", json_string (self->dialed));
    json_object_set_new (json, "direction",
                         json_string (cm_cdr_direction_name (self->direction)));
    json_object_set_new (
        json, "disposition",
        json_string (cm_cdr_disposition_name (self->disposition)));
    json_object_set_new (json, "sip_code", json_integer (self->sip_code));
    json_object_set_new (json, "cause", json_integer (self->cause));
    json_object_set_new (json, "call_tag", json_integer (self->call_tag));
    json_object_set_new (
        json, "released_by",
        json_string (cm_cdr_released_by_name (self->released_by)));
    json_object_set_new (json, "fci", json_string (self->fci));
    json_object_set_new (json, "recording", json_string (self->recording));
    return json;
}

cm_cdr_t *
cm_cdr_from_json (json_t *json, char *error, size_t size)
{
    if (!json_is_object (json)) {
        s_fail (error, size, "CDR is not a JSON object");
        return NULL;
    }
    const char *texts[CM_CDR_COLUMNS] = {NULL};
    char numbers[CM_CDR_COLUMNS][24];
    for (int col = 0; col < CM_CDR_COLUMNS; col++) {
        json_t *value = json_object_get (json, s_columns[col]);
        if (!value)
            continue;
        if (json_is_string (value)) {
            //  Embedded NUL would hide the rest of the string.
            if (strlen (json_string_value (value))
                != json_string_length (value)) {
                s_fail (error, size, "column '%s': contains NUL",
                        s_columns[col]);
                return NULL;
            }
            texts[col] = json_string_value (value);
        }
        else if (col == COL_ANSWER && json_is_null (value))
            texts[col] = "";
        else if (json_is_integer (value) && json_integer_value (value) >= 0) {
            snprintf (numbers[col], sizeof numbers[col], "%" JSON_INTEGER_FORMAT,
                      json_integer_value (value));
            texts[col] = numbers[col];
        }
        else {
            s_fail (error, size, "column '%s': wrong JSON type",
                    s_columns[col]);
            return NULL;
        }
        //  Integer columns take JSON integers, text columns strings.
        bool numeric = col == COL_DURATION || col == COL_BILLSEC
                       || col == COL_SIP_CODE || col == COL_CAUSE
                       || col == COL_CALL_TAG;
        if (numeric != json_is_integer (value) && !json_is_null (value)) {
            s_fail (error, size, "column '%s': expected a JSON %s",
                    s_columns[col], numeric ? "integer" : "string");
            return NULL;
        }
    }
    return s_from_texts (texts, error, size);
}

char *
cm_cdr_encode_json (const cm_cdr_t *self)
{
    assert (self);
    json_t *json = cm_cdr_to_json (self);
    char *text = json_dumps (json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (json);
    return text;
}

cm_cdr_t *
cm_cdr_decode_json (const char *text, char *error, size_t size)
{
    if (!text) {
        s_fail (error, size, "no JSON text");
        return NULL;
    }
    json_error_t jerr;
    json_t *json = json_loads (text, JSON_REJECT_DUPLICATES, &jerr);
    if (!json) {
        s_fail (error, size, "bad JSON at column %d: %s", jerr.column,
                jerr.text);
        return NULL;
    }
    cm_cdr_t *self = cm_cdr_from_json (json, error, size);
    json_decref (json);
    return self;
}

//  ---------------------------------------------------------------------
//  CSV

const char *
cm_cdr_csv_header (void)
{
    return s_header;
}

const char *
cm_cdr_column_name (size_t index)
{
    return index < CM_CDR_COLUMNS ? s_columns[index] : NULL;
}

//  Append field to buf with RFC 4180 quoting when needed.
static void
s_csv_field (zchunk_t *buf, const char *field, bool first)
{
    if (!first)
        zchunk_extend (buf, ",", 1);
    size_t n = strlen (field);
    bool quote = strpbrk (field, ",\"\r\n") != NULL
                 || (n > 0 && (isblank ((unsigned char) field[0])
                               || isblank ((unsigned char) field[n - 1])));
    if (!quote) {
        zchunk_extend (buf, field, n);
        return;
    }
    zchunk_extend (buf, "\"", 1);
    for (const char *p = field; *p; p++) {
        if (*p == '"')
            zchunk_extend (buf, "\"", 1);
        zchunk_extend (buf, p, 1);
    }
    zchunk_extend (buf, "\"", 1);
}

char *
cm_cdr_csv_encode (const cm_cdr_t *self)
{
    assert (self);
    char start[CM_CDR_TIME_SIZE], answer[CM_CDR_TIME_SIZE],
        end[CM_CDR_TIME_SIZE], duration[24], billsec[24], sip_code[8],
        cause[8], call_tag[8];
    snprintf (duration, sizeof duration, "%" PRId64, cm_cdr_duration (self));
    snprintf (billsec, sizeof billsec, "%" PRId64, cm_cdr_billsec (self));
    snprintf (sip_code, sizeof sip_code, "%d", self->sip_code);
    snprintf (cause, sizeof cause, "%d", self->cause);
    snprintf (call_tag, sizeof call_tag, "%d", self->call_tag);
    const char *fields[CM_CDR_COLUMNS] = {
        self->uniqueid,
        cm_cdr_time_format (self->start_time, start, sizeof start),
        cm_cdr_time_format (self->answer_time, answer, sizeof answer),
        cm_cdr_time_format (self->end_time, end, sizeof end),
        duration,
        billsec,
        self->src,
        self->dst,
        self->dialed,
        cm_cdr_direction_name (self->direction),
        cm_cdr_disposition_name (self->disposition),
        sip_code,
        cause,
        call_tag,
        cm_cdr_released_by_name (self->released_by),
        self->fci,
        self->recording};
    zchunk_t *buf = zchunk_new (NULL, 256);
    for (int col = 0; col < CM_CDR_COLUMNS; col++)
        s_csv_field (buf, fields[col], col == 0);
    char *text = (char *) zmalloc (zchunk_size (buf) + 1);
    memcpy (text, zchunk_data (buf), zchunk_size (buf));
    zchunk_destroy (&buf);
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
                rc = s_fail (error, size, "field %zu: unterminated quote",
                             count + 1);
                break;
            }
            if (i < len && record[i] != ',') {
                rc = s_fail (error, size,
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
                    rc = s_fail (error, size,
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
        s_fail (error, size, "expected %d columns, got %d", CM_CDR_COLUMNS,
                count);
    else
        self = s_from_texts ((const char **) fields, error, size);
    for (int i = 0; i < count && i < CM_CDR_COLUMNS + 1; i++)
        free (fields[i]);
    return self;
}

//  ---------------------------------------------------------------------
//  Time

char *
cm_cdr_time_format (int64_t ms, char *buf, size_t size)
{
    assert (buf);
    if (ms <= 0 || ms > TIME_MAX_MS) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
              tm.tm_min, tm.tm_sec, (int) (ms % 1000));
    return buf;
}

//  Read n digits at text into *value_p; -1 if any is not a digit.
static int
s_digits (const char *text, int n, int *value_p)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) text[i]))
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    *value_p = value;
    return 0;
}

int
cm_cdr_time_parse (const char *text, int64_t *ms_p)
{
    assert (ms_p);
    //  0123456789012345678901234
    //  YYYY-MM-DDTHH:MM:SS.mmmZ
    if (!text || strlen (text) != CM_CDR_TIME_LEN || text[4] != '-'
        || text[7] != '-' || text[10] != 'T' || text[13] != ':'
        || text[16] != ':' || text[19] != '.' || text[23] != 'Z')
        return -1;
    int year, mon, day, hour, min, sec, msec;
    if (s_digits (text, 4, &year) || s_digits (text + 5, 2, &mon)
        || s_digits (text + 8, 2, &day) || s_digits (text + 11, 2, &hour)
        || s_digits (text + 14, 2, &min) || s_digits (text + 17, 2, &sec)
        || s_digits (text + 20, 3, &msec))
        return -1;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || mon < 1 || mon > 12 || day < 1
        || day > days[mon - 1] + (mon == 2 && leap) || hour > 23 || min > 59
        || sec > 59)
        return -1;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t secs = timegm (&tm);
    if (secs == (time_t) -1)
        return -1;
    int64_t ms = (int64_t) secs * 1000 + msec;
    if (ms <= 0)
        return -1;  //  1970-01-01T00:00:00.000Z is the "unset" value
    *ms_p = ms;
    return 0;
}

int64_t
cm_cdr_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
