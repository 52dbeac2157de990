//  cm_cdr — one call detail record (DESIGN §6); its codecs are declared in
//  cm_cdr_json.h, cm_cdr_csv.h and cm_cdr_time.h, all included here.
//
//  A CDR is one row per call attempt with these columns, in this order
//  (the CSV header, the SQL table and the JSON keys use the same names):
//
//      uniqueid, start_time, answer_time, end_time, duration, billsec,
//      src, dst, dialed, direction, disposition, sip_code, cause,
//      call_tag, released_by, fci, recording
//
//  Times are held as milliseconds since the Unix epoch (UTC; 0 = unset)
//  and written as ISO 8601 UTC with milliseconds: 2026-11-26T14:30:00.123Z.
//  duration and billsec are derived from the times (whole seconds,
//  truncated, like Asterisk's default): duration = end - start, billsec =
//  end - answer (0 when never answered). fci is derived too:
//  "callTag=<call_tag>;cause=<cause>" followed by the extra ";key=value"
//  pairs added with cm_cdr_fci_add.
//
//  Setters of free text (src, dst, dialed) never fail, so a call with an
//  odd caller number still gets its CDR: invalid UTF-8 and control
//  characters become '?', and text is cut to CM_CDR_TEXT_MAX bytes on a
//  character boundary. Decoders (JSON, CSV) are strict instead: anything
//  malformed is refused with a one-line reason. A record that passes
//  cm_cdr_validate encodes and decodes back to an equal record in both
//  JSON and CSV.
//
//  JSON (cm_cdr_json.h) and CSV (cm_cdr_csv.h) describe their forms.

#ifndef CM_CDR_H_INCLUDED
#define CM_CDR_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_CDR_COLUMNS 17           //  columns in the table / CSV header
#define CM_CDR_UNIQUEID_MAX 64      //  longest uniqueid in bytes
#define CM_CDR_TEXT_MAX 128         //  longest src / dst / dialed in bytes
#define CM_CDR_RECORDING_MAX 255    //  longest recording path in bytes
#define CM_CDR_FCI_MAX 512          //  longest fci string in bytes
#define CM_CDR_TIME_LEN 24          //  "YYYY-MM-DDTHH:MM:SS.mmmZ"
#define CM_CDR_TIME_SIZE (CM_CDR_TIME_LEN + 1)

typedef enum {
    CM_CDR_INTERNAL = 0,            //  extension to extension
    CM_CDR_OUTBOUND,                //  extension to the trunk
    CM_CDR_INBOUND,                 //  trunk to an extension
    CM_CDR_CALLBACK                 //  originated by callbackd
} cm_cdr_direction_t;

typedef enum {
    CM_CDR_ANSWERED = 0,            //  "ANSWERED"
    CM_CDR_BUSY,                    //  "BUSY"
    CM_CDR_NO_ANSWER,               //  "NO ANSWER"
    CM_CDR_CANCELLED,               //  "CANCELLED"
    CM_CDR_FAILED                   //  "FAILED"
} cm_cdr_disposition_t;

typedef enum {
    CM_CDR_CALLER = 0,              //  "caller"
    CM_CDR_CALLEE,                  //  "callee"
    CM_CDR_SYSTEM                   //  "system"
} cm_cdr_released_by_t;

typedef struct _cm_cdr_t cm_cdr_t;

//  Create an empty record. uniqueid may be NULL: a fresh random one (32
//  lowercase hex digits) is generated. Returns NULL when uniqueid is not
//  valid (see cm_cdr_set_uniqueid). Defaults: times unset, direction
//  internal, disposition FAILED, sip_code 0, cause 0, call_tag 0,
//  released_by system, empty texts.
//  Caller owns return value and must destroy it when done.
cm_cdr_t *
    cm_cdr_new (const char *uniqueid);

//  Destroy the record. NULL-safe; sets *self_p to NULL.
void
    cm_cdr_destroy (cm_cdr_t **self_p);

//  Deep copy. Caller owns return value and must destroy it when done.
cm_cdr_t *
    cm_cdr_dup (const cm_cdr_t *self);

//  True when both records hold the same values (fci extras included).
bool
    cm_cdr_eq (const cm_cdr_t *self, const cm_cdr_t *other);

//  ---------------------------------------------------------------------
//  Setters

//  uniqueid: 1..CM_CDR_UNIQUEID_MAX characters of [A-Za-z0-9._@-], not
//  starting with '.' (it is also the recording's file name). Returns 0,
//  or -1 (unchanged) when invalid.
int
    cm_cdr_set_uniqueid (cm_cdr_t *self, const char *uniqueid);

//  Times in milliseconds since the epoch, 0 = unset. Returns 0, or -1
//  (unchanged) for a negative value or one past year 9999.
int
    cm_cdr_set_start_time (cm_cdr_t *self, int64_t ms);
int
    cm_cdr_set_answer_time (cm_cdr_t *self, int64_t ms);
int
    cm_cdr_set_end_time (cm_cdr_t *self, int64_t ms);

//  Free text, sanitized as described above (NULL means empty).
void
    cm_cdr_set_src (cm_cdr_t *self, const char *src);
void
    cm_cdr_set_dst (cm_cdr_t *self, const char *dst);
void
    cm_cdr_set_dialed (cm_cdr_t *self, const char *dialed);

void
    cm_cdr_set_direction (cm_cdr_t *self, cm_cdr_direction_t direction);
void
    cm_cdr_set_disposition (cm_cdr_t *self,
                            cm_cdr_disposition_t disposition);
void
    cm_cdr_set_released_by (cm_cdr_t *self,
                            cm_cdr_released_by_t released_by);

//  Final SIP status toward the caller, 100..699. Returns 0 or -1.
int
    cm_cdr_set_sip_code (cm_cdr_t *self, int sip_code);

//  Q.850 cause value, 0..127 (0 = none). Returns 0 or -1.
int
    cm_cdr_set_cause (cm_cdr_t *self, int cause);

//  Release location code (docs/cdr.md; sipd_cause.h), 0..999. Returns 0
//  or -1.
int
    cm_cdr_set_call_tag (cm_cdr_t *self, int call_tag);

//  Recording path relative to data_dir (e.g.
//  "recordings/2026/11/26/<uniqueid>.wav"); NULL or "" means none. Must
//  not be absolute nor contain a ".." segment or control characters.
//  Returns 0, or -1 (unchanged) when invalid.
int
    cm_cdr_set_recording (cm_cdr_t *self, const char *recording);

//  Append ";key=value" to fci after callTag and cause. key: 1..32 of
//  [A-Za-z0-9_.-], not "callTag" or "cause"; value: printable UTF-8
//  without ';' '=' '"' (such bytes are replaced by '_'). Setting a key
//  again replaces its value. Returns 0, or -1 on a bad key or when fci
//  would exceed CM_CDR_FCI_MAX.
int
    cm_cdr_fci_add (cm_cdr_t *self, const char *key, const char *value);

//  ---------------------------------------------------------------------
//  Getters (strings are borrowed and valid until the next setter call)

const char *
    cm_cdr_uniqueid (const cm_cdr_t *self);
int64_t
    cm_cdr_start_time (const cm_cdr_t *self);
int64_t
    cm_cdr_answer_time (const cm_cdr_t *self);
int64_t
    cm_cdr_end_time (const cm_cdr_t *self);
//  Derived: whole seconds, truncated; 0 while a time is unset.
int64_t
    cm_cdr_duration (const cm_cdr_t *self);
int64_t
    cm_cdr_billsec (const cm_cdr_t *self);
const char *
    cm_cdr_src (const cm_cdr_t *self);
const char *
    cm_cdr_dst (const cm_cdr_t *self);
const char *
    cm_cdr_dialed (const cm_cdr_t *self);
cm_cdr_direction_t
    cm_cdr_direction (const cm_cdr_t *self);
cm_cdr_disposition_t
    cm_cdr_disposition (const cm_cdr_t *self);
int
    cm_cdr_sip_code (const cm_cdr_t *self);
int
    cm_cdr_cause (const cm_cdr_t *self);
int
    cm_cdr_call_tag (const cm_cdr_t *self);
cm_cdr_released_by_t
    cm_cdr_released_by (const cm_cdr_t *self);
//  "callTag=<call_tag>;cause=<cause>[;key=value...]"
const char *
    cm_cdr_fci (const cm_cdr_t *self);
//  Value of an fci extra key, or NULL.
const char *
    cm_cdr_fci_get (const cm_cdr_t *self, const char *key);
const char *
    cm_cdr_recording (const cm_cdr_t *self);

//  ---------------------------------------------------------------------
//  Enum names (the strings written in CSV, JSON and SQL)

//  "internal", "outbound", "inbound", "callback"
const char *
    cm_cdr_direction_name (cm_cdr_direction_t direction);
//  "ANSWERED", "BUSY", "NO ANSWER", "CANCELLED", "FAILED"
const char *
    cm_cdr_disposition_name (cm_cdr_disposition_t disposition);
//  "caller", "callee", "system"
const char *
    cm_cdr_released_by_name (cm_cdr_released_by_t released_by);

//  Parse a name (exact, case-sensitive). Return 0 and set *x_p, or -1.
int
    cm_cdr_direction_parse (const char *name, cm_cdr_direction_t *direction_p);
int
    cm_cdr_disposition_parse (const char *name,
                              cm_cdr_disposition_t *disposition_p);
int
    cm_cdr_released_by_parse (const char *name,
                              cm_cdr_released_by_t *released_by_p);

//  ---------------------------------------------------------------------
//  Validation and codecs

//  Check that the record is complete and consistent: start and end time
//  set, start <= answer <= end (when answered), disposition ANSWERED iff
//  answer_time is set, sip_code set. Returns 0, or -1 with the reason
//  written into error (size bytes; error may be NULL).
int
    cm_cdr_validate (const cm_cdr_t *self, char *error, size_t size);

//  Column name by index 0..CM_CDR_COLUMNS-1, or NULL (cm_cdr_columns.c).
const char *
    cm_cdr_column_name (size_t index);

#endif

//  The codecs and time helpers have their own file pairs; including
//  cm_cdr.h gives them all.
#include "cm_cdr_csv.h"
#include "cm_cdr_json.h"
#include "cm_cdr_time.h"
