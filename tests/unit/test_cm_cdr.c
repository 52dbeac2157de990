//  test_cm_cdr — unit tests for cm_cdr: setters and sanitizing, derived
//  columns, time format, JSON and CSV round trips, RFC 4180 quoting, and
//  rejection of bad input with a useful reason.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cm_cdr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  2026-11-26T14:30:00.123Z
#define T0 1795703400123LL

static cm_cdr_t *
s_answered (void)
{
    cm_cdr_t *cdr = cm_cdr_new ("call-1@host");
    assert_non_null (cdr);
    assert_int_equal (cm_cdr_set_start_time (cdr, T0), 0);
    assert_int_equal (cm_cdr_set_answer_time (cdr, T0 + 4500), 0);
    assert_int_equal (cm_cdr_set_end_time (cdr, T0 + 65999), 0);
    cm_cdr_set_src (cdr, "100");
    cm_cdr_set_dst (cdr, "101");
    cm_cdr_set_dialed (cdr, "101");
    cm_cdr_set_direction (cdr, CM_CDR_INTERNAL);
    cm_cdr_set_disposition (cdr, CM_CDR_ANSWERED);
    assert_int_equal (cm_cdr_set_sip_code (cdr, 200), 0);
    assert_int_equal (cm_cdr_set_cause (cdr, 16), 0);
    assert_int_equal (cm_cdr_set_call_tag (cdr, 101), 0);
    cm_cdr_set_released_by (cdr, CM_CDR_CALLER);
    return cdr;
}

static cm_cdr_t *
s_busy (void)
{
    cm_cdr_t *cdr = cm_cdr_new ("busy-2");
    cm_cdr_set_start_time (cdr, T0);
    cm_cdr_set_end_time (cdr, T0 + 2000);
    cm_cdr_set_src (cdr, "100");
    cm_cdr_set_dst (cdr, "101");
    cm_cdr_set_dialed (cdr, "101");
    cm_cdr_set_disposition (cdr, CM_CDR_BUSY);
    cm_cdr_set_sip_code (cdr, 486);
    cm_cdr_set_cause (cdr, 17);
    cm_cdr_set_call_tag (cdr, 203);
    cm_cdr_set_released_by (cdr, CM_CDR_CALLEE);
    return cdr;
}

static void
test_new_defaults (void **state)
{
    (void) state;
    cm_cdr_t *cdr = cm_cdr_new (NULL);
    assert_non_null (cdr);
    const char *id = cm_cdr_uniqueid (cdr);
    assert_int_equal (strlen (id), 32);
    assert_int_equal (strspn (id, "0123456789abcdef"), 32);
    cm_cdr_t *other = cm_cdr_new (NULL);
    assert_string_not_equal (id, cm_cdr_uniqueid (other));
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_FAILED);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_SYSTEM);
    assert_string_equal (cm_cdr_fci (cdr), "callTag=0;cause=0");
    assert_string_equal (cm_cdr_recording (cdr), "");
    //  Incomplete: no times, no sip_code.
    char error[128];
    assert_int_equal (cm_cdr_validate (cdr, error, sizeof error), -1);
    assert_non_null (strstr (error, "start_time"));
    cm_cdr_destroy (&cdr);
    assert_null (cdr);
    cm_cdr_destroy (&other);
    cm_cdr_destroy (&other);     //  idempotent
}

static void
test_uniqueid_rules (void **state)
{
    (void) state;
    assert_null (cm_cdr_new (""));
    assert_null (cm_cdr_new (".hidden"));
    assert_null (cm_cdr_new ("a/b"));
    assert_null (cm_cdr_new ("a b"));
    char longid[CM_CDR_UNIQUEID_MAX + 2];
    memset (longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_null (cm_cdr_new (longid));
    longid[CM_CDR_UNIQUEID_MAX] = '\0';
    cm_cdr_t *cdr = cm_cdr_new (longid);
    assert_non_null (cdr);
    assert_int_equal (cm_cdr_set_uniqueid (cdr, "x/y"), -1);
    assert_string_equal (cm_cdr_uniqueid (cdr), longid);
    assert_int_equal (cm_cdr_set_uniqueid (cdr, "ok_1.2-3@h"), 0);
    assert_string_equal (cm_cdr_uniqueid (cdr), "ok_1.2-3@h");
    cm_cdr_destroy (&cdr);
}

static void
test_setters_and_ranges (void **state)
{
    (void) state;
    cm_cdr_t *cdr = s_answered ();
    assert_int_equal (cm_cdr_duration (cdr), 65);   //  65.999 s truncated
    assert_int_equal (cm_cdr_billsec (cdr), 61);    //  61.499 s truncated
    assert_int_equal (cm_cdr_set_sip_code (cdr, 99), -1);
    assert_int_equal (cm_cdr_set_sip_code (cdr, 700), -1);
    assert_int_equal (cm_cdr_sip_code (cdr), 200);
    assert_int_equal (cm_cdr_set_cause (cdr, 128), -1);
    assert_int_equal (cm_cdr_set_cause (cdr, -1), -1);
    assert_int_equal (cm_cdr_set_call_tag (cdr, 1000), -1);
    assert_int_equal (cm_cdr_set_start_time (cdr, -5), -1);
    assert_int_equal (cm_cdr_start_time (cdr), T0);
    assert_string_equal (cm_cdr_fci (cdr), "callTag=101;cause=16");
    assert_int_equal (cm_cdr_set_recording (cdr, "/etc/passwd"), -1);
    assert_int_equal (cm_cdr_set_recording (cdr, "recordings/../x.wav"), -1);
    assert_int_equal (cm_cdr_set_recording (cdr, ".."), -1);
    assert_int_equal (
        cm_cdr_set_recording (cdr, "recordings/2026/11/26/call-1@host.wav"),
        0);
    assert_string_equal (cm_cdr_recording (cdr),
                         "recordings/2026/11/26/call-1@host.wav");
    assert_int_equal (cm_cdr_validate (cdr, NULL, 0), 0);
    cm_cdr_destroy (&cdr);
}

static void
test_text_sanitizing (void **state)
{
    (void) state;
    cm_cdr_t *cdr = cm_cdr_new ("s");
    cm_cdr_set_src (cdr, "10\n0\x01");
    assert_string_equal (cm_cdr_src (cdr), "10?0?");
    cm_cdr_set_dst (cdr, "J\xc3\xbcrgen \xff\xfe");     //  Jürgen + junk
    assert_string_equal (cm_cdr_dst (cdr), "J\xc3\xbcrgen ??");
    cm_cdr_set_dialed (cdr, NULL);
    assert_string_equal (cm_cdr_dialed (cdr), "");
    //  Overlong encoding and surrogate are invalid.
    cm_cdr_set_src (cdr, "\xc0\xaf\xed\xa0\x80");
    assert_int_equal (strchr (cm_cdr_src (cdr), '/') == NULL, 1);
    //  Cut at a character boundary: 127 'a' then a 2-byte character.
    char text[200];
    memset (text, 'a', 127);
    strcpy (text + 127, "\xc3\xa9tail");
    cm_cdr_set_src (cdr, text);
    assert_int_equal (strlen (cm_cdr_src (cdr)), 127);
    cm_cdr_destroy (&cdr);
}

static void
test_fci_extras (void **state)
{
    (void) state;
    cm_cdr_t *cdr = s_busy ();
    assert_string_equal (cm_cdr_fci (cdr), "callTag=203;cause=17");
    assert_int_equal (cm_cdr_fci_add (cdr, "reason", "User busy"), 0);
    assert_int_equal (cm_cdr_fci_add (cdr, "leg", "a;b=c\"d"), 0);
    assert_string_equal (cm_cdr_fci (cdr),
                         "callTag=203;cause=17;reason=User busy;leg=a_b_c_d");
    assert_int_equal (cm_cdr_fci_add (cdr, "reason", "x"), 0);
    assert_string_equal (cm_cdr_fci_get (cdr, "reason"), "x");
    assert_null (cm_cdr_fci_get (cdr, "nope"));
    assert_int_equal (cm_cdr_fci_add (cdr, "cause", "1"), -1);
    assert_int_equal (cm_cdr_fci_add (cdr, "callTag", "1"), -1);
    assert_int_equal (cm_cdr_fci_add (cdr, "", "1"), -1);
    assert_int_equal (cm_cdr_fci_add (cdr, "bad key", "1"), -1);
    char big[CM_CDR_FCI_MAX];
    memset (big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal (cm_cdr_fci_add (cdr, "big", big), -1);
    //  Cause change rebuilds fci and keeps extras.
    cm_cdr_set_cause (cdr, 21);
    assert_string_equal (cm_cdr_fci (cdr),
                         "callTag=203;cause=21;reason=x;leg=a_b_c_d");
    cm_cdr_destroy (&cdr);
}

static void
test_time_format_parse (void **state)
{
    (void) state;
    char buf[CM_CDR_TIME_SIZE];
    assert_string_equal (cm_cdr_time_format (T0, buf, sizeof buf),
                         "2026-11-26T14:30:00.123Z");
    assert_string_equal (cm_cdr_time_format (0, buf, sizeof buf), "");
    int64_t ms = 0;
    assert_int_equal (cm_cdr_time_parse ("2026-11-26T14:30:00.123Z", &ms), 0);
    assert_int_equal (ms, T0);
    assert_int_equal (cm_cdr_time_parse ("2024-02-29T00:00:00.000Z", &ms), 0);
    const char *bad[] = {"2023-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
                         "2026-11-26T24:00:00.000Z", "2026-11-26 14:30:00.123Z",
                         "2026-11-26T14:30:00.123", "2026-11-26T14:30:00Z",
                         "2026-11-26T14:30:00.12aZ", "1969-12-31T23:59:59.999Z",
                         "", "2026-11-26T14:30:00.123Z ", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal (cm_cdr_time_parse (bad[i], &ms), -1);
    assert_int_equal (cm_cdr_time_parse (NULL, &ms), -1);
    int64_t now = cm_cdr_now ();
    assert_true (now > T0 - 86400000LL * 365);
    cm_cdr_time_format (now, buf, sizeof buf);
    assert_int_equal (cm_cdr_time_parse (buf, &ms), 0);
    assert_int_equal (ms, now);
}

//  The direct time formatter agrees with gmtime_r + strftime over the
//  whole range (leap days, century years, the last millisecond of 9999),
//  and parse inverts it.
static void
test_time_against_libc (void **state)
{
    (void) state;
    int64_t samples[] = {1,
                         86399999,
                         951782400000LL,         //  2000-02-29
                         4107456000000LL,        //  2100-02-28
                         4107542400000LL,        //  2100-03-01
                         1709164800000LL,        //  2024-02-29
                         253402300799999LL};     //  9999-12-31T23:59:59.999
    uint64_t x = 88172645463325252ULL;          //  xorshift state
    char got[CM_CDR_TIME_SIZE], want[CM_CDR_TIME_SIZE + 8];
    for (int i = 0; i < 20000; i++) {
        int64_t ms;
        if (i < (int) (sizeof samples / sizeof samples[0]))
            ms = samples[i];
        else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ms = 1 + (int64_t) (x % 253402300799999ULL);
        }
        time_t secs = (time_t) (ms / 1000);
        struct tm tm;
        gmtime_r (&secs, &tm);
        size_t n = strftime (want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf (want + n, sizeof want - n, ".%03dZ", (int) (ms % 1000));
        assert_string_equal (cm_cdr_time_format (ms, got, sizeof got), want);
        int64_t back = 0;
        assert_int_equal (cm_cdr_time_parse (got, &back), 0);
        assert_int_equal (back, ms);
    }
    //  Out of range and short buffers.
    assert_string_equal (cm_cdr_time_format (253402300800000LL, got,
                                             sizeof got),
                         "");
    assert_string_equal (cm_cdr_time_format (-5, got, sizeof got), "");
    char small[11];
    assert_string_equal (cm_cdr_time_format (T0, small, sizeof small),
                         "2026-11-26");
}

//  The direct JSON encoder writes the same bytes as jansson would, for
//  records with quotes, backslashes, UTF-8, fci extras and a recording.
static void
test_json_encoder_matches_jansson (void **state)
{
    (void) state;
    const char *srcs[] = {"100", "O'Neil, \"Jo\" \\ 3", "Jos\xc3\xa9 \xe2\x82\xac",
                          "", " lead and trail ", "a/b\\\\c"};
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
        cm_cdr_t *cdr = i % 2 ? s_busy () : s_answered ();
        cm_cdr_set_src (cdr, srcs[i]);
        cm_cdr_set_dst (cdr, srcs[(i + 1) % 6]);
        cm_cdr_set_dialed (cdr, srcs[(i + 2) % 6]);
        if (i % 3 == 0) {
            assert_int_equal (cm_cdr_fci_add (cdr, "calleeCode", "486"), 0);
            assert_int_equal (cm_cdr_fci_add (cdr, "note", "x\\y/z"), 0);
        }
        if (i == 4)
            assert_int_equal (
                cm_cdr_set_recording (cdr, "recordings/2026/11/26/x.wav"),
                0);
        json_t *json = cm_cdr_to_json (cdr);
        char *want = json_dumps (json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        char *got = cm_cdr_encode_json (cdr);
        assert_string_equal (got, want);
        //  And it decodes back to an equal record.
        char error[256];
        cm_cdr_t *back = cm_cdr_decode_json (got, error, sizeof error);
        if (!back)
            fail_msg ("%s: %s", got, error);
        assert_true (cm_cdr_eq (back, cdr));
        cm_cdr_destroy (&back);
        free (got);
        free (want);
        json_decref (json);
        cm_cdr_destroy (&cdr);
    }
}

static void
test_json_round_trip (void **state)
{
    (void) state;
    cm_cdr_t *cdr = s_answered ();
    cm_cdr_fci_add (cdr, "codec", "PCMU");
    cm_cdr_set_src (cdr, "J\xc3\xbcrgen, \"the\" caller");
    char *text = cm_cdr_encode_json (cdr);
    assert_non_null (text);
    assert_non_null (strstr (text, "\"uniqueid\":\"call-1@host\""));
    assert_non_null (strstr (text, "\"answer_time\":\"2026-11-26T14:30:04.623Z\""));
    assert_non_null (strstr (text, "\"duration\":65"));
    assert_non_null (strstr (text, "\"fci\":\"callTag=101;cause=16;codec=PCMU\""));
    char error[256] = "";
    cm_cdr_t *back = cm_cdr_decode_json (text, error, sizeof error);
    assert_non_null (back);
    assert_true (cm_cdr_eq (cdr, back));
    assert_string_equal (cm_cdr_fci_get (back, "codec"), "PCMU");
    free (text);
    cm_cdr_destroy (&back);

    //  Unanswered: answer_time null; extra envelope keys ignored.
    cm_cdr_t *busy = s_busy ();
    json_t *json = cm_cdr_to_json (busy);
    assert_true (json_is_null (json_object_get (json, "answer_time")));
    json_object_set_new (json, "v", json_integer (1));
    json_object_set_new (json, "id", json_string ("7"));
    back = cm_cdr_from_json (json, error, sizeof error);
    assert_non_null (back);
    assert_true (cm_cdr_eq (busy, back));
    cm_cdr_destroy (&back);
    //  Derived columns are optional.
    json_object_del (json, "duration");
    json_object_del (json, "billsec");
    json_object_del (json, "fci");
    json_object_set_new (json, "answer_time", json_string (""));
    back = cm_cdr_from_json (json, error, sizeof error);
    assert_non_null (back);
    assert_true (cm_cdr_eq (busy, back));
    cm_cdr_destroy (&back);
    json_decref (json);
    cm_cdr_destroy (&busy);
    cm_cdr_destroy (&cdr);
}

//  Decode a modified copy of a good CDR's JSON and expect an error
//  mentioning needle.
static void
s_expect_json_error (const char *key, json_t *value, const char *needle)
{
    cm_cdr_t *cdr = s_answered ();
    json_t *json = cm_cdr_to_json (cdr);
    if (value)
        json_object_set_new (json, key, value);
    else
        json_object_del (json, key);
    char error[256] = "";
    cm_cdr_t *back = cm_cdr_from_json (json, error, sizeof error);
    if (back)
        fail_msg ("%s: accepted", key);
    if (!strstr (error, needle))
        fail_msg ("%s: error '%s' lacks '%s'", key, error, needle);
    json_decref (json);
    cm_cdr_destroy (&cdr);
}

static void
test_json_bad_input (void **state)
{
    (void) state;
    char error[256] = "";
    assert_null (cm_cdr_decode_json (NULL, error, sizeof error));
    assert_null (cm_cdr_decode_json ("{", error, sizeof error));
    assert_non_null (strstr (error, "bad JSON"));
    assert_null (cm_cdr_decode_json ("[1,2]", error, sizeof error));
    assert_non_null (strstr (error, "not a JSON object"));
    assert_null (cm_cdr_decode_json ("{\"uniqueid\":\"a\",\"uniqueid\":\"b\"}",
                                     error, sizeof error));
    s_expect_json_error ("uniqueid", NULL, "'uniqueid' is missing");
    s_expect_json_error ("uniqueid", json_string ("../x"), "'uniqueid'");
    s_expect_json_error ("src", json_integer (100), "expected a JSON string");
    s_expect_json_error ("sip_code", json_string ("200"),
                         "expected a JSON integer");
    s_expect_json_error ("sip_code", json_integer (700), "'sip_code'");
    s_expect_json_error ("cause", json_integer (-1), "'cause'");
    s_expect_json_error ("start_time", json_string ("yesterday"),
                         "'start_time'");
    s_expect_json_error ("end_time", json_string ("2026-11-26T14:29:00.000Z"),
                         "before start_time");
    s_expect_json_error ("duration", json_integer (64), "'duration'");
    s_expect_json_error ("billsec", json_integer (0), "'billsec'");
    s_expect_json_error ("disposition", json_string ("answered"),
                         "'disposition'");
    s_expect_json_error ("disposition", json_string ("BUSY"),
                         "answer_time set");
    s_expect_json_error ("answer_time", json_null (), "without answer_time");
    s_expect_json_error ("direction", json_string ("sideways"), "'direction'");
    s_expect_json_error ("released_by", json_string ("nobody"),
                         "'released_by'");
    s_expect_json_error ("fci", json_string ("callTag=1;cause=16"), "'fci'");
    s_expect_json_error ("fci", json_string ("callTag=101;cause=16;x"),
                         "'fci'");
    s_expect_json_error ("fci", json_string ("callTag=101;cause=16;a=1;a=2"),
                         "'fci'");
    s_expect_json_error ("src", json_string ("a\nb"), "'src'");
    s_expect_json_error ("src", json_stringn ("a\0b", 3), "NUL");
    s_expect_json_error ("recording", json_string ("/abs.wav"), "'recording'");
    s_expect_json_error ("call_tag", json_real (1.5), "'call_tag'");
}

static void
test_csv_header (void **state)
{
    (void) state;
    assert_string_equal (cm_cdr_csv_header (),
                         "uniqueid,start_time,answer_time,end_time,duration,"
                         "billsec,src,dst,dialed,direction,disposition,"
                         "sip_code,cause,call_tag,released_by,fci,recording");
    assert_true (cm_cdr_csv_is_header (cm_cdr_csv_header ()));
    char line[512];
    snprintf (line, sizeof line, "%s\r\n", cm_cdr_csv_header ());
    assert_true (cm_cdr_csv_is_header (line));
    assert_false (cm_cdr_csv_is_header ("uniqueid,start_time"));
    assert_string_equal (cm_cdr_column_name (0), "uniqueid");
    assert_string_equal (cm_cdr_column_name (16), "recording");
    assert_null (cm_cdr_column_name (17));
}

static void
test_csv_encode_and_quoting (void **state)
{
    (void) state;
    cm_cdr_t *cdr = s_busy ();
    char *row = cm_cdr_csv_encode (cdr);
    assert_string_equal (row,
                         "busy-2,2026-11-26T14:30:00.123Z,,"
                         "2026-11-26T14:30:02.123Z,2,0,100,101,101,internal,"
                         "BUSY,486,17,203,callee,callTag=203;cause=17,");
    free (row);
    cm_cdr_set_src (cdr, "Doe, \"JD\"");
    cm_cdr_set_dst (cdr, " 101");
    cm_cdr_set_dialed (cdr, "\xe2\x82\xac" "42");   //  euro sign, UTF-8 kept
    row = cm_cdr_csv_encode (cdr);
    assert_non_null (strstr (row, ",\"Doe, \"\"JD\"\"\",\" 101\",\xe2\x82\xac" "42,"));
    char error[256] = "";
    cm_cdr_t *back = cm_cdr_csv_decode (row, error, sizeof error);
    if (!back)
        fail_msg ("decode: %s", error);
    assert_true (cm_cdr_eq (cdr, back));
    cm_cdr_destroy (&back);
    free (row);
    cm_cdr_destroy (&cdr);

    cm_cdr_t *ans = s_answered ();
    cm_cdr_fci_add (ans, "note", "a,b");
    cm_cdr_set_recording (ans, "recordings/2026/11/26/call-1@host.wav");
    row = cm_cdr_csv_encode (ans);
    //  With CRLF terminator too.
    char *crlf = (char *) malloc (strlen (row) + 3);
    sprintf (crlf, "%s\r\n", row);
    back = cm_cdr_csv_decode (crlf, error, sizeof error);
    if (!back)
        fail_msg ("decode: %s", error);
    assert_true (cm_cdr_eq (ans, back));
    cm_cdr_destroy (&back);
    free (crlf);
    free (row);
    cm_cdr_destroy (&ans);
}

static void
test_csv_split (void **state)
{
    (void) state;
    char *f[8] = {NULL};
    char error[128];
    int n = cm_cdr_csv_split ("a,\"b,c\",\"d\"\"e\",,\"x\ny\"\n", f, 8, error,
                              sizeof error);
    assert_int_equal (n, 5);
    assert_string_equal (f[0], "a");
    assert_string_equal (f[1], "b,c");
    assert_string_equal (f[2], "d\"e");
    assert_string_equal (f[3], "");
    assert_string_equal (f[4], "x\ny");
    for (int i = 0; i < n; i++)
        free (f[i]);
    //  More fields than room: counted, not stored.
    n = cm_cdr_csv_split ("1,2,3", f, 2, error, sizeof error);
    assert_int_equal (n, 3);
    free (f[0]);
    free (f[1]);
    n = cm_cdr_csv_split ("", f, 8, error, sizeof error);
    assert_int_equal (n, 1);
    free (f[0]);
    assert_int_equal (cm_cdr_csv_split ("a,\"b", f, 8, error, sizeof error),
                      -1);
    assert_non_null (strstr (error, "field 2: unterminated quote"));
    assert_int_equal (cm_cdr_csv_split ("\"a\"b,c", f, 8, error, sizeof error),
                      -1);
    assert_non_null (strstr (error, "after closing quote"));
    assert_int_equal (cm_cdr_csv_split ("a\"b", f, 8, error, sizeof error),
                      -1);
    assert_true (cm_cdr_csv_complete ("a,\"b\nc\""));
    assert_false (cm_cdr_csv_complete ("a,\"b\n"));
}

static void
test_csv_bad_rows (void **state)
{
    (void) state;
    cm_cdr_t *cdr = s_answered ();
    char *good = cm_cdr_csv_encode (cdr);
    char error[256];
    struct {
        const char *from, *to, *needle;
    } cases[] = {
        {",ANSWERED,", ",ANSWER,", "'disposition'"},
        {",200,", ",2OO,", "'sip_code'"},
        {",65,", ",66,", "'duration'"},
        {",61,", ",-61,", "'billsec'"},
        {"2026-11-26T14:30:04.623Z", "2026-11-26T14:32:04.623Z", "outside"},
        {",internal,", ",local,", "'direction'"},
        {"callTag=101", "callTag=102", "'fci'"},
        {",caller,", ",me,", "'released_by'"},
        {NULL, NULL, NULL}};
    for (int i = 0; cases[i].from; i++) {
        char *p = strstr (good, cases[i].from);
        assert_non_null (p);
        char row[1024];
        snprintf (row, sizeof row, "%.*s%s%s", (int) (p - good), good,
                  cases[i].to, p + strlen (cases[i].from));
        cm_cdr_t *back = cm_cdr_csv_decode (row, error, sizeof error);
        if (back)
            fail_msg ("case %d accepted: %s", i, row);
        if (!strstr (error, cases[i].needle))
            fail_msg ("case %d: error '%s' lacks '%s'", i, error,
                      cases[i].needle);
    }
    assert_null (cm_cdr_csv_decode ("a,b,c", error, sizeof error));
    assert_non_null (strstr (error, "expected 17 columns, got 3"));
    char longer[1024];
    snprintf (longer, sizeof longer, "%s,extra", good);
    assert_null (cm_cdr_csv_decode (longer, error, sizeof error));
    assert_non_null (strstr (error, "got 18"));
    assert_null (cm_cdr_csv_decode (cm_cdr_csv_header (), error, sizeof error));
    assert_null (cm_cdr_csv_decode ("\"unterminated", error, sizeof error));
    free (good);
    cm_cdr_destroy (&cdr);
}

static void
test_dup_and_eq (void **state)
{
    (void) state;
    cm_cdr_t *cdr = s_answered ();
    cm_cdr_fci_add (cdr, "k", "v");
    cm_cdr_t *copy = cm_cdr_dup (cdr);
    assert_true (cm_cdr_eq (cdr, copy));
    cm_cdr_fci_add (copy, "k", "w");
    assert_false (cm_cdr_eq (cdr, copy));
    assert_string_equal (cm_cdr_fci_get (cdr, "k"), "v");
    cm_cdr_destroy (&copy);
    cm_cdr_destroy (&cdr);
}

static void
test_enum_names (void **state)
{
    (void) state;
    cm_cdr_disposition_t d;
    assert_int_equal (cm_cdr_disposition_parse ("NO ANSWER", &d), 0);
    assert_int_equal (d, CM_CDR_NO_ANSWER);
    assert_string_equal (cm_cdr_disposition_name (CM_CDR_CANCELLED),
                         "CANCELLED");
    assert_int_equal (cm_cdr_disposition_parse ("no answer", &d), -1);
    cm_cdr_direction_t dir;
    assert_int_equal (cm_cdr_direction_parse ("callback", &dir), 0);
    assert_int_equal (dir, CM_CDR_CALLBACK);
    assert_int_equal (cm_cdr_direction_parse (NULL, &dir), -1);
    cm_cdr_released_by_t r;
    assert_int_equal (cm_cdr_released_by_parse ("callee", &r), 0);
    assert_int_equal (r, CM_CDR_CALLEE);
    assert_string_equal (cm_cdr_released_by_name (CM_CDR_SYSTEM), "system");
    assert_string_equal (cm_cdr_direction_name (CM_CDR_OUTBOUND), "outbound");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_new_defaults),
        cmocka_unit_test (test_uniqueid_rules),
        cmocka_unit_test (test_setters_and_ranges),
        cmocka_unit_test (test_text_sanitizing),
        cmocka_unit_test (test_fci_extras),
        cmocka_unit_test (test_time_format_parse),
        cmocka_unit_test (test_time_against_libc),
        cmocka_unit_test (test_json_encoder_matches_jansson),
        cmocka_unit_test (test_json_round_trip),
        cmocka_unit_test (test_json_bad_input),
        cmocka_unit_test (test_csv_header),
        cmocka_unit_test (test_csv_encode_and_quoting),
        cmocka_unit_test (test_csv_split),
        cmocka_unit_test (test_csv_bad_rows),
        cmocka_unit_test (test_dup_and_eq),
        cmocka_unit_test (test_enum_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
