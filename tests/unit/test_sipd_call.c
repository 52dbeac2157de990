//  test_sipd_call — unit tests for the call record: identity, route,
//  first release wins, the choice of the caller's final response when
//  every callee leg failed, and the CDR of each way a call ends.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_call.h"
#include "../../sipd/sipd_cause.h"

#include <string.h>

static void
test_identity_and_route (void **state)
{
    (void) state;
    sipd_call_t *call = sipd_call_new ("100", "95551234");
    assert_non_null (call);
    assert_int_equal (strlen (sipd_call_uniqueid (call)), 36);
    assert_string_equal (sipd_call_src (call), "100");
    assert_string_equal (sipd_call_dialed (call), "95551234");
    assert_string_equal (sipd_call_dst (call), "95551234");
    assert_int_equal (sipd_call_direction (call), SIPD_DIR_INTERNAL);
    sipd_call_set_route (call, "5551234", SIPD_DIR_OUTBOUND);
    assert_string_equal (sipd_call_dst (call), "5551234");
    assert_int_equal (sipd_call_direction (call), SIPD_DIR_OUTBOUND);
    sipd_call_t *other = sipd_call_new (NULL, NULL);
    assert_string_equal (sipd_call_src (other), "");
    assert_string_not_equal (sipd_call_uniqueid (call),
                             sipd_call_uniqueid (other));
    //  Line breaks never reach a CDR.
    sipd_call_set_route (other, "1\r\nX", SIPD_DIR_INBOUND);
    assert_string_equal (sipd_call_dst (other), "");
    sipd_call_destroy (&other);
    sipd_call_destroy (&call);
    assert_null (call);
    sipd_call_destroy (&call);
}

static void
test_first_release_wins (void **state)
{
    (void) state;
    sipd_call_t *call = sipd_call_new ("100", "101");
    assert_false (sipd_call_is_released (call));
    assert_true (sipd_call_release (call, SIPD_CAUSE_TAG_CALLER_CANCEL, 487,
                                    0));
    assert_false (sipd_call_release (call, SIPD_CAUSE_TAG_NO_ANSWER, 480, 0));
    assert_true (sipd_call_is_released (call));
    assert_int_equal (sipd_call_tag (call), SIPD_CAUSE_TAG_CALLER_CANCEL);
    assert_int_equal (sipd_call_sip_code (call), 487);
    cm_cdr_t *cdr = sipd_call_cdr (call);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_CANCELLED);
    assert_int_equal (cm_cdr_cause (cdr), 16);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLER);
    assert_int_equal (cm_cdr_validate (cdr, NULL, 0), 0);
    cm_cdr_destroy (&cdr);
    sipd_call_destroy (&call);
}

static void
test_answered_bye_with_reason (void **state)
{
    (void) state;
    sipd_call_t *call = sipd_call_new ("100", "101");
    sipd_call_set_answered (call);
    assert_true (sipd_call_is_answered (call));
    sipd_call_release (call, SIPD_CAUSE_TAG_CALLEE_BYE, 200, 31);
    cm_cdr_t *cdr = sipd_call_cdr (call);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_ANSWERED);
    assert_int_equal (cm_cdr_sip_code (cdr), 200);
    assert_int_equal (cm_cdr_cause (cdr), 31);
    assert_int_equal (cm_cdr_call_tag (cdr), 201);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLEE);
    assert_string_equal (cm_cdr_fci (cdr), "callTag=201;cause=31");
    assert_true (cm_cdr_answer_time (cdr) >= cm_cdr_start_time (cdr));
    assert_int_equal (cm_cdr_validate (cdr, NULL, 0), 0);
    cm_cdr_destroy (&cdr);
    sipd_call_destroy (&call);
}

//  The caller's final after forks failed, and the CDR that follows.
static void
s_failure (sipd_call_t *call, bool to_extension, int want_tag, int want_code,
           int want_cause)
{
    int tag, code, cause;
    const char *phrase, *reason;
    sipd_call_failure (call, to_extension, &tag, &code, &cause, &phrase,
                       &reason);
    assert_int_equal (tag, want_tag);
    assert_int_equal (code, want_code);
    assert_int_equal (cause, want_cause);
    sipd_call_release (call, tag, code, cause);
}

static void
test_fork_failures (void **state)
{
    (void) state;
    //  Busy with a Reason: relayed, and the CDR cause is the Reason's.
    sipd_call_t *call = sipd_call_new ("100", "101");
    sipd_call_fork_failed (call, 486, true,
                           "Q.850;cause=17;text=\"User busy\"", "Busy Here");
    s_failure (call, true, SIPD_CAUSE_TAG_CALLEE_BUSY, 486, 17);
    int tag, code, cause;
    const char *phrase, *reason;
    sipd_call_failure (call, true, &tag, &code, &cause, &phrase, &reason);
    assert_string_equal (phrase, "Busy Here");
    assert_string_equal (reason, "Q.850;cause=17;text=\"User busy\"");
    cm_cdr_t *cdr = sipd_call_cdr (call);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_BUSY);
    assert_int_equal (cm_cdr_cause (cdr), 17);
    assert_int_equal (cm_cdr_released_by (cdr), CM_CDR_CALLEE);
    assert_string_equal (cm_cdr_fci_get (cdr, "calleeCode"), "486");
    cm_cdr_destroy (&cdr);
    sipd_call_destroy (&call);

    //  Two forks: 480 and 603 -> 603 wins; a later 486 does not beat it.
    call = sipd_call_new ("100", "101");
    sipd_call_fork_failed (call, 480, true, NULL, "Temporarily Unavailable");
    sipd_call_fork_failed (call, 603, true, NULL, "Decline");
    sipd_call_fork_failed (call, 486, true, NULL, "Busy Here");
    s_failure (call, true, SIPD_CAUSE_TAG_CALLEE_REJECT, 603, 0);
    cdr = sipd_call_cdr (call);
    assert_int_equal (cm_cdr_cause (cdr), sipd_cause_from_sip (603));
    cm_cdr_destroy (&cdr);
    sipd_call_destroy (&call);

    //  A timeout does not beat a real response, whatever the order.
    call = sipd_call_new ("100", "101");
    sipd_call_fork_failed (call, 404, true, NULL, "Not Found");
    sipd_call_fork_failed (call, 408, false, NULL, NULL);
    s_failure (call, true, SIPD_CAUSE_TAG_CALLEE_REJECT, 404, 0);
    sipd_call_destroy (&call);
    call = sipd_call_new ("100", "101");
    sipd_call_fork_failed (call, 408, false, NULL, NULL);
    sipd_call_fork_failed (call, 500, true, NULL, "Server Error");
    s_failure (call, true, SIPD_CAUSE_TAG_CALLEE_REJECT, 500, 0);
    sipd_call_destroy (&call);

    //  Nobody answered: 480 toward an extension, 503 toward the trunk.
    call = sipd_call_new ("100", "101");
    sipd_call_fork_failed (call, 408, false, "Q.850;cause=1", "x");
    s_failure (call, true, SIPD_CAUSE_TAG_CALLEE_TIMEOUT, 480, 0);
    cdr = sipd_call_cdr (call);
    assert_int_equal (cm_cdr_cause (cdr), 18);
    cm_cdr_destroy (&cdr);
    sipd_call_destroy (&call);
    call = sipd_call_new ("100", "9555");
    sipd_call_fork_failed (call, 503, false, NULL, NULL);
    s_failure (call, false, SIPD_CAUSE_TAG_TRUNK_FAILURE, 503, 0);
    sipd_call_destroy (&call);

    //  3xx is not relayed: 480, without the callee's phrase.
    call = sipd_call_new ("100", "101");
    sipd_call_fork_failed (call, 302, true, NULL, "Moved Temporarily");
    sipd_call_failure (call, true, &tag, &code, &cause, &phrase, &reason);
    assert_int_equal (code, 480);
    assert_null (phrase);
    sipd_call_destroy (&call);
}

static void
test_unreleased_is_shutdown (void **state)
{
    (void) state;
    sipd_call_t *call = sipd_call_new ("100", "101");
    cm_cdr_t *cdr = sipd_call_cdr (call);
    assert_int_equal (cm_cdr_call_tag (cdr), SIPD_CAUSE_TAG_SHUTDOWN);
    assert_int_equal (cm_cdr_sip_code (cdr), 503);
    assert_int_equal (cm_cdr_disposition (cdr), CM_CDR_FAILED);
    assert_int_equal (cm_cdr_validate (cdr, NULL, 0), 0);
    cm_cdr_destroy (&cdr);
    sipd_call_destroy (&call);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_identity_and_route),
        cmocka_unit_test (test_first_release_wins),
        cmocka_unit_test (test_answered_bye_with_reason),
        cmocka_unit_test (test_fork_failures),
        cmocka_unit_test (test_unreleased_is_shutdown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
