//  cm_cdr — the call detail record: construction, setters with
//  sanitizing, fci pairs, getters, enum names and validation. See cm_cdr.h
//  for the rules. The codecs live in cm_cdr_json.c and cm_cdr_csv.c, the
//  strict column decoder they share in cm_cdr_columns.c, the time helpers
//  in cm_cdr_time.c.

#include "cm_cdr.h"
#include "cm_cdr_private.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FCI_EXTRA_MAX 16                //  extra fci pairs per record
#define FCI_KEY_MAX 32                  //  longest fci key

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
void
cm_cdr_sanitize (char *dest, size_t max, const char *text)
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
bool
cm_cdr_text_valid (const char *text, size_t max)
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
    //  Valid: at most CM_CDR_UNIQUEID_MAX bytes.
    memcpy (self->uniqueid, uniqueid, strlen (uniqueid) + 1);
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
    //  Valid: at most CM_CDR_UNIQUEID_MAX bytes.
    memcpy (self->uniqueid, uniqueid, strlen (uniqueid) + 1);
    return 0;
}

static int
s_set_time (int64_t *field, int64_t ms)
{
    if (ms < 0 || ms > CM_CDR_TIME_MAX_MS)
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
    cm_cdr_sanitize (self->src, CM_CDR_TEXT_MAX, src);
}

void
cm_cdr_set_dst (cm_cdr_t *self, const char *dst)
{
    assert (self);
    cm_cdr_sanitize (self->dst, CM_CDR_TEXT_MAX, dst);
}

void
cm_cdr_set_dialed (cm_cdr_t *self, const char *dialed)
{
    assert (self);
    cm_cdr_sanitize (self->dialed, CM_CDR_TEXT_MAX, dialed);
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
        || !cm_cdr_text_valid (path, CM_CDR_RECORDING_MAX))
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

bool
cm_cdr_fci_key_valid (const char *key)
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

bool
cm_cdr_fci_value_valid (const char *value)
{
    return cm_cdr_text_valid (value, CM_CDR_FCI_MAX)
           && !strpbrk (value, ";=\"");
}

//  Append text at self->fci + *len_p (it fits: see below).
static void
s_fci_put (cm_cdr_t *self, size_t *len_p, const char *text)
{
    size_t n = strlen (text);
    memcpy (self->fci + *len_p, text, n);
    *len_p += n;
}

//  Append a non-negative number (call_tag and cause are range-checked).
static void
s_fci_put_int (cm_cdr_t *self, size_t *len_p, int value)
{
    char digits[12];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char) ('0' + value % 10);
        value /= 10;
    } while (value > 0);
    memcpy (self->fci + *len_p, digits + n, sizeof digits - n);
    *len_p += sizeof digits - n;
}

//  Rebuild self->fci from call_tag, cause and the extras. The extras are
//  only ever added after s_fci_length_with said they fit. Written
//  without snprintf: it runs on every set_cause and set_call_tag.
static void
s_fci_build (cm_cdr_t *self)
{
    size_t len = 0;
    s_fci_put (self, &len, "callTag=");
    s_fci_put_int (self, &len, self->call_tag);
    s_fci_put (self, &len, ";cause=");
    s_fci_put_int (self, &len, self->cause);
    for (size_t i = 0; i < self->fci_count; i++) {
        s_fci_put (self, &len, ";");
        s_fci_put (self, &len, self->fci_keys[i]);
        s_fci_put (self, &len, "=");
        s_fci_put (self, &len, self->fci_values[i]);
    }
    self->fci[len] = '\0';
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
    if (!cm_cdr_fci_key_valid (key))
        return -1;
    char clean[CM_CDR_FCI_MAX + 1];
    cm_cdr_sanitize (clean, CM_CDR_FCI_MAX, value);
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

int
cm_cdr_fail (char *error, size_t size, const char *fmt, ...)
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
        return cm_cdr_fail (error, size, "start_time is not set");
    if (!self->end_time)
        return cm_cdr_fail (error, size, "end_time is not set");
    if (self->end_time < self->start_time)
        return cm_cdr_fail (error, size, "end_time is before start_time");
    bool answered = self->disposition == CM_CDR_ANSWERED;
    if (answered && !self->answer_time)
        return cm_cdr_fail (error, size, "disposition ANSWERED without answer_time");
    if (!answered && self->answer_time)
        return cm_cdr_fail (error, size, "answer_time set but disposition is %s",
                       cm_cdr_disposition_name (self->disposition));
    if (self->answer_time && (self->answer_time < self->start_time
                              || self->answer_time > self->end_time))
        return cm_cdr_fail (error, size,
                       "answer_time is outside start_time..end_time");
    if (self->sip_code < 100 || self->sip_code > 699)
        return cm_cdr_fail (error, size, "sip_code is not set");
    if (answered && (self->sip_code < 200 || self->sip_code > 299))
        return cm_cdr_fail (error, size, "disposition ANSWERED with sip_code %d",
                       self->sip_code);
    return 0;
}

size_t
cm_cdr_int_text (int64_t value, char *buf)
{
    char digits[24];
    size_t n = sizeof digits;
    uint64_t v = value < 0 ? (uint64_t) 0 - (uint64_t) value
                           : (uint64_t) value;
    do {
        digits[--n] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    if (value < 0)
        digits[--n] = '-';
    size_t len = sizeof digits - n;
    memcpy (buf, digits + n, len);
    buf[len] = '\0';
    return len;
}
