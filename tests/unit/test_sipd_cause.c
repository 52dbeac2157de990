//  test_sipd_cause — unit tests for sipd_cause: SIP -> Q.850 and back,
//  Reason header parsing (good, odd and junk input), call_tag table and
//  sipd_cause_apply filling a CDR.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_cause.h"

#include <stdlib.h>
#include <string.h>

static void
test_from_sip (void **state)
{
    (void) state;
    //  The DESIGN §6 / issue 4 list.
    struct {
        int status, cause;
    } cases[] = {{486, 17}, {404, 1},   {480, 18}, {408, 18}, {487, 16},
                 {200, 16}, {503, 41},  {403, 21}, {484, 28}, {488, 65},
                 {500, 41}, {600, 17},  {603, 21}, {604, 1},  {606, 58},
                 {401, 21}, {407, 21},  {410, 22}, {502, 38}, {504, 102},
                 {485, 1},  {415, 79},  {420, 127}, {202, 16}, {302, 23},
                 {499, 127}, {599, 41}, {699, 127}, {0, 0}};
    for (int i = 0; cases[i].status; i++)
        if (sipd_cause_from_sip (cases[i].status) != cases[i].cause)
            fail_msg ("%d -> %d, expected %d", cases[i].status,
                      sipd_cause_from_sip (cases[i].status), cases[i].cause);
    assert_int_equal (sipd_cause_from_sip (180), 0);
    assert_int_equal (sipd_cause_from_sip (100), 0);
    assert_int_equal (sipd_cause_from_sip (0), 0);
    assert_int_equal (sipd_cause_from_sip (700), 0);
    assert_int_equal (sipd_cause_from_sip (-1), 0);
}

static void
test_to_sip (void **state)
{
    (void) state;
    struct {
        int cause, status;
    } cases[] = {{1, 404},  {3, 404},   {16, 480}, {17, 486}, {18, 408},
                 {19, 480}, {20, 480},  {21, 403}, {22, 410}, {27, 502},
                 {28, 484}, {31, 480},  {34, 503}, {38, 503}, {41, 503},
                 {42, 503}, {47, 503},  {58, 503}, {65, 488}, {79, 501},
                 {102, 504}, {127, 500}, {5, 480}, {35, 503}, {60, 500},
                 {0, 0}};
    for (int i = 0; cases[i].cause; i++)
        if (sipd_cause_to_sip (cases[i].cause) != cases[i].status)
            fail_msg ("%d -> %d, expected %d", cases[i].cause,
                      sipd_cause_to_sip (cases[i].cause), cases[i].status);
    assert_int_equal (sipd_cause_to_sip (0), 500);
    assert_int_equal (sipd_cause_to_sip (128), 500);
    //  Every tag's own cause maps back to the tag's own status, so the
    //  response sipd sends and the CDR cause agree.
    for (int tag = 100; tag < 500; tag++) {
        if (!sipd_cause_tag_known (tag) || !sipd_cause_tag_sip_code (tag)
            || tag == SIPD_CAUSE_TAG_CALLER_CANCEL
            || tag == SIPD_CAUSE_TAG_CALLBACK_CANCEL)
            continue;
        if (sipd_cause_to_sip (sipd_cause_tag_cause (tag))
            != sipd_cause_tag_sip_code (tag))
            fail_msg ("tag %d: cause %d -> %d, tag sends %d", tag,
                      sipd_cause_tag_cause (tag),
                      sipd_cause_to_sip (sipd_cause_tag_cause (tag)),
                      sipd_cause_tag_sip_code (tag));
    }
}

static void
test_text (void **state)
{
    (void) state;
    assert_string_equal (sipd_cause_text (17), "User busy");
    assert_string_equal (sipd_cause_text (16), "Normal call clearing");
    assert_string_equal (sipd_cause_text (0), "Unknown cause");
    assert_string_equal (sipd_cause_text (126), "Unknown cause");
}

static void
test_reason_parse_good (void **state)
{
    (void) state;
    char text[64];
    assert_int_equal (
        sipd_cause_reason_parse ("Q.850;cause=17;text=\"User busy\"", text,
                                 sizeof text),
        17);
    assert_string_equal (text, "User busy");
    //  RFC 3326 examples: blanks, case, several values.
    assert_int_equal (sipd_cause_reason_parse ("Q.850 ;cause=16 ;text=\"Terminated\"",
                                               text, sizeof text),
                      16);
    assert_string_equal (text, "Terminated");
    assert_int_equal (
        sipd_cause_reason_parse ("SIP ;cause=200 ;text=\"Call completed "
                                 "elsewhere, really\", q.850; CAUSE = 31",
                                 text, sizeof text),
        31);
    assert_string_equal (text, "");
    assert_int_equal (sipd_cause_reason_parse ("Q.850;text=\"a;b,c \\\"q\\\"\";"
                                               "cause=21;x-foo=bar;flag",
                                               text, sizeof text),
                      21);
    assert_string_equal (text, "a;b,c \"q\"");
    //  First well-formed Q.850 wins; an out-of-range one is skipped.
    assert_int_equal (sipd_cause_reason_parse ("Q.850;cause=200, Q.850;cause=34",
                                               NULL, 0),
                      34);
    assert_int_equal (sipd_cause_reason_parse ("Q.850;cause=18, Q.850;cause=34",
                                               NULL, 0),
                      18);
    //  Text truncated to the buffer.
    char small[5];
    assert_int_equal (sipd_cause_reason_parse ("Q.850;cause=1;text=\"Unallocated\"",
                                               small, sizeof small),
                      1);
    assert_string_equal (small, "Unal");
}

static void
test_reason_parse_junk (void **state)
{
    (void) state;
    char text[64] = "stale";
    const char *junk[] = {
        "",
        "   ",
        "Q.850",
        "SIP;cause=486",
        "Q.850;cause=0",
        "Q.850;cause=128",
        "Q.850;cause=1000",
        "Q.850;cause=-1",
        "Q.850;cause=1x",
        "Q.850;cause=",
        "Q.850;cause",
        "Q.850;cause=17;cause=18",
        "Q.850;cause=17;text=\"unterminated",
        "Q.850;cause=17;text=\"bad escape\\",
        "Q.850;cause=17 junk",
        "Q.850;cause=17,",
        "Q.850;;cause=17",
        ";cause=17",
        "\"Q.850\";cause=17",
        "Q.850;cause=17;=x",
        "Q.850;cause=\"17\"",
        NULL};
    for (int i = 0; junk[i]; i++) {
        int cause = sipd_cause_reason_parse (junk[i], text, sizeof text);
        if (cause != 0)
            fail_msg ("'%s' gave cause %d", junk[i], cause);
        assert_string_equal (text, "");
    }
    assert_int_equal (sipd_cause_reason_parse (NULL, text, sizeof text), 0);
    //  Random bytes never crash (and the function is deterministic).
    unsigned seed = 42;
    for (int n = 0; n < 20000; n++) {
        char buf[40];
        size_t len = (size_t) (rand_r (&seed) % 39);
        const char alphabet[] = "Q.850;cause=1234567\" \\,text=SIP\t\x01\xff";
        for (size_t i = 0; i < len; i++)
            buf[i] = alphabet[rand_r (&seed) % (sizeof alphabet - 1)];
        buf[len] = '\0';
        int cause = sipd_cause_reason_parse (buf, text, sizeof text);
        assert_true (cause >= 0 && cause <= 127);
    }
}

static void
test_reason_format (void **state)
{
    (void) state;
    char buf[128], text[128];
    assert_string_equal (sipd_cause_reason_format (17, buf, sizeof buf),
                         "Q.850;cause=17;text=\"User busy\"");
    //  Round trip for every cause we know a text for.
    for (int cause = 1; cause <= 127; cause++) {
        sipd_cause_reason_format (cause, buf, sizeof buf);
        assert_int_equal (sipd_cause_reason_parse (buf, text, sizeof text),
                          cause);
        assert_string_equal (text, sipd_cause_text (cause));
    }
}

static void
test_tag_table (void **state)
{
    (void) state;
    int known = 0;
    for (int tag = 0; tag < 1000; tag++) {
        if (!sipd_cause_tag_known (tag))
            continue;
        known++;
        assert_true (tag >= 101 && tag <= 499);
        assert_string_not_equal (sipd_cause_tag_name (tag), "unknown");
        assert_string_not_equal (sipd_cause_tag_description (tag),
                                 "unknown call tag");
        //  Names are unique.
        for (int other = 0; other < tag; other++)
            if (sipd_cause_tag_known (other))
                assert_string_not_equal (sipd_cause_tag_name (tag),
                                         sipd_cause_tag_name (other));
    }
    assert_int_equal (known, 22);
    assert_false (sipd_cause_tag_known (0));
    assert_string_equal (sipd_cause_tag_name (999), "unknown");
    assert_string_equal (sipd_cause_tag_name (SIPD_CAUSE_TAG_CALLER_BYE),
                         "caller-bye");
    assert_int_equal (sipd_cause_tag_released_by (SIPD_CAUSE_TAG_CALLER_CANCEL),
                      CM_CDR_CALLER);
    assert_int_equal (sipd_cause_tag_released_by (SIPD_CAUSE_TAG_CALLEE_BUSY),
                      CM_CDR_CALLEE);
    assert_int_equal (sipd_cause_tag_released_by (SIPD_CAUSE_TAG_NO_ANSWER),
                      CM_CDR_SYSTEM);
    assert_int_equal (sipd_cause_tag_cause (SIPD_CAUSE_TAG_NO_ROUTE), 1);
    assert_int_equal (sipd_cause_tag_sip_code (SIPD_CAUSE_TAG_NO_ROUTE), 404);
    assert_int_equal (sipd_cause_tag_sip_code (SIPD_CAUSE_TAG_OFFLINE), 480);
    assert_int_equal (sipd_cause_tag_cause (SIPD_CAUSE_TAG_CALLEE_REJECT), 0);
    assert_int_equal (sipd_cause_tag_released_by (12345), CM_CDR_SYSTEM);
}

static cm_cdr_t *
s_cdr (void)
{
    cm_cdr_t *cdr = cm_cdr_new (NULL);
    cm_cdr_set_start_time (cdr, 1795703400000LL);
    cm_cdr_set_end_time (cdr, 1795703410000LL);
    return cdr;
}

static void
test_apply (void **state)
{
    (void) state;
    char error[128];
    //  Answered, caller BYE.
    cm_cdr_t *cdr = s_cdr ();
    cm_cdr_set_answer_time (cdr, 1795703402000LL);
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLER_BYE, 0, 0,
                                        true),
                      0);
    assert_int_equal (cm_cdr_sip_code (cdr), 200);
    assert_int_equal (cm_cdr_cause (cdr), 16);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_ANSWERED);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLER);
    assert_string_equal (cm_cdr_fci (cdr), "callTag=101;cause=16");
    assert_int_equal (cm_cdr_validate (cdr, error, sizeof error), 0);
    //  Callee BYE with Reason cause 31.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLEE_BYE, 200,
                                        31, true),
                      0);
    assert_int_equal (cm_cdr_cause (cdr), 31);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLEE);
    //  Answered with a non-2xx status is refused.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLEE_BYE, 486,
                                        0, true),
                      -1);
    assert_int_equal (cm_cdr_call_tag (cdr), SIPD_CAUSE_TAG_CALLEE_BYE);
    cm_cdr_destroy (&cdr);

    //  Busy callee: 486 with Reason 17.
    cdr = s_cdr ();
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLEE_BUSY, 486,
                                        17, false),
                      0);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_BUSY);
    assert_int_equal (cm_cdr_cause (cdr), 17);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLEE);
    assert_string_equal (cm_cdr_fci (cdr), "callTag=203;cause=17");
    assert_int_equal (cm_cdr_validate (cdr, error, sizeof error), 0);
    //  Callee reject 603 with Reason 17 counts as busy; without Reason
    //  it maps to 21 and FAILED.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLEE_REJECT, 603,
                                        17, false),
                      0);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_BUSY);
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLEE_REJECT, 603,
                                        0, false),
                      0);
    assert_int_equal (cm_cdr_cause (cdr), 21);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_FAILED);
    //  Reject needs a status.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLEE_REJECT, 0,
                                        0, false),
                      -1);
    //  Caller CANCEL: 487, cause 16, CANCELLED, caller.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_CALLER_CANCEL, 0,
                                        0, false),
                      0);
    assert_int_equal (cm_cdr_sip_code (cdr), 487);
    assert_int_equal (cm_cdr_cause (cdr), 16);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_CANCELLED);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLER);
    //  No answer: 480, 19, NO ANSWER, system.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_NO_ANSWER, 0, 0,
                                        false),
                      0);
    assert_int_equal (cm_cdr_sip_code (cdr), 480);
    assert_int_equal (cm_cdr_cause (cdr), 19);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_NO_ANSWER);
    //  Unknown number: 404, 1, FAILED.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_NO_ROUTE, 0, 0,
                                        false),
                      0);
    assert_int_equal (cm_cdr_sip_code (cdr), 404);
    assert_int_equal (cm_cdr_cause (cdr), 1);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_FAILED);
    assert_int_equal (cm_cdr_validate (cdr, error, sizeof error), 0);
    //  Offline: 480, 20.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_OFFLINE, 0, 0,
                                        false),
                      0);
    assert_int_equal (cm_cdr_sip_code (cdr), 480);
    assert_int_equal (cm_cdr_cause (cdr), 20);
    //  Local busy.
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_LOCAL_BUSY, 0, 0,
                                        false),
                      0);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_BUSY);
    //  Bad tag or status: cdr unchanged.
    assert_int_equal (sipd_cause_apply (cdr, 999, 0, 0, false), -1);
    assert_int_equal (sipd_cause_apply (cdr, SIPD_CAUSE_TAG_NO_ROUTE, 99, 0,
                                        false),
                      -1);
    assert_int_equal (cm_cdr_call_tag (cdr), SIPD_CAUSE_TAG_LOCAL_BUSY);
    cm_cdr_destroy (&cdr);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_from_sip),
        cmocka_unit_test (test_to_sip),
        cmocka_unit_test (test_text),
        cmocka_unit_test (test_reason_parse_good),
        cmocka_unit_test (test_reason_parse_junk),
        cmocka_unit_test (test_reason_format),
        cmocka_unit_test (test_tag_table),
        cmocka_unit_test (test_apply),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
