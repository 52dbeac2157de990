//  cm_cdr_json — the JSON form of a CDR (the `cdr` IPC message, sipd's
//  journal, cdr.query rows): an object with the 17 column keys in column
//  order; times as strings, answer_time null when never answered;
//  duration, billsec, sip_code, cause and call_tag as integers. Decoding
//  ignores unknown keys (the IPC envelope adds "v" and "id"). Included by
//  cm_cdr.h.

#ifndef CM_CDR_JSON_H_INCLUDED
#define CM_CDR_JSON_H_INCLUDED

#include "cm_cdr.h"

#include <jansson.h>

//  Encode as a JSON object. Caller owns the returned reference.
json_t *
    cm_cdr_to_json (const cm_cdr_t *self);

//  Decode and validate a JSON object (not consumed). Every column must be
//  present with the right type (answer_time may be null or ""), except the
//  derived duration, billsec and fci, which must agree with the other
//  columns when present (fci extras are taken from it); the result must
//  pass cm_cdr_validate. Returns NULL with the reason in error on bad
//  input.
//  Caller owns return value and must destroy it when done.
cm_cdr_t *
    cm_cdr_from_json (json_t *json, char *error, size_t size);

//  Encode as compact one-line JSON text, byte for byte what
//  json_dumps (cm_cdr_to_json (self), JSON_COMPACT | JSON_PRESERVE_ORDER)
//  gives, but written directly (no jansson objects). Caller frees it with
//  free().
char *
    cm_cdr_encode_json (const cm_cdr_t *self);

//  Decode JSON text (see cm_cdr_from_json). Caller owns return value.
cm_cdr_t *
    cm_cdr_decode_json (const char *text, char *error, size_t size);

#endif
