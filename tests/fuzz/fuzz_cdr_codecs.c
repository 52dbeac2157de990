//  fuzz_cdr_codecs — libFuzzer target for the CDR decoders that read
//  foreign input: cm_cdr CSV records and JSON (cdrd's `cdr` requests,
//  minicdr, sipd's journal replay), UTC time parsing, and sipd_cause's
//  Reason header parser. Whatever decodes must validate and survive a
//  round trip (encode, decode, equal), in both codecs.

#include "../../sipd/sipd_cause.h"
#include "cm_cdr.h"
#include "cm_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    cm_log_set_level (CM_LOG_ERROR);
    return 0;
}

static void
s_round_trip (cm_cdr_t *cdr)
{
    char error[256];
    if (cm_cdr_validate (cdr, error, sizeof error) != 0)
        abort ();
    char *row = cm_cdr_csv_encode (cdr);
    cm_cdr_t *back = cm_cdr_csv_decode (row, error, sizeof error);
    if (!back || !cm_cdr_eq (cdr, back))
        abort ();
    cm_cdr_destroy (&back);
    free (row);
    char *json = cm_cdr_encode_json (cdr);
    back = cm_cdr_decode_json (json, error, sizeof error);
    if (!back || !cm_cdr_eq (cdr, back))
        abort ();
    cm_cdr_destroy (&back);
    free (json);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    memcpy (text, data, size);
    text[size] = '\0';
    char error[256];

    cm_cdr_t *cdr = cm_cdr_csv_decode (text, error, sizeof error);
    if (cdr) {
        s_round_trip (cdr);
        cm_cdr_destroy (&cdr);
    }
    cdr = cm_cdr_decode_json (text, error, sizeof error);
    if (cdr) {
        s_round_trip (cdr);
        cm_cdr_destroy (&cdr);
    }
    char *fields[20] = {NULL};
    int n = cm_cdr_csv_split (text, fields, 20, error, sizeof error);
    for (int i = 0; i < n && i < 20; i++)
        free (fields[i]);
    (void) cm_cdr_csv_complete (text);
    int64_t ms = 0;
    if (cm_cdr_time_parse (text, &ms) == 0) {
        char buf[CM_CDR_TIME_SIZE];
        if (strcmp (cm_cdr_time_format (ms, buf, sizeof buf), text) != 0)
            abort ();
    }
    char reason[64];
    int cause = sipd_cause_reason_parse (text, reason, sizeof reason);
    if (cause < 0 || cause > 127)
        abort ();
    //  The sanitizing setters accept anything.
    cdr = cm_cdr_new ("fuzz");
    cm_cdr_set_src (cdr, text);
    (void) cm_cdr_fci_add (cdr, "k", text);
    (void) cm_cdr_set_recording (cdr, text);
    cm_cdr_destroy (&cdr);
    free (text);
    return 0;
}
