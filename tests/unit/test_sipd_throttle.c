//  test_sipd_throttle — unit tests for sipd_throttle: counting within the
//  window, blocking and unblocking, success resetting, expiry of entries
//  and the bound on the table.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_throttle.h"

#include <stdio.h>

static int64_t
s_clock (void *arg)
{
    return *(int64_t *) arg;
}

static void
test_block_after_limit (void **state)
{
    (void) state;
    int64_t now = 1000;
    sipd_throttle_t *throttle = sipd_throttle_new (3, 60, 30);
    sipd_throttle_set_clock (throttle, s_clock, &now);
    assert_false (sipd_throttle_is_blocked (throttle, "192.0.2.1"));
    assert_false (sipd_throttle_failure (throttle, "192.0.2.1"));
    assert_false (sipd_throttle_failure (throttle, "192.0.2.1"));
    assert_false (sipd_throttle_is_blocked (throttle, "192.0.2.1"));
    assert_true (sipd_throttle_failure (throttle, "192.0.2.1"));
    assert_true (sipd_throttle_is_blocked (throttle, "192.0.2.1"));
    //  other addresses are not affected
    assert_false (sipd_throttle_is_blocked (throttle, "192.0.2.2"));
    //  failures while blocked do not start a new block
    assert_false (sipd_throttle_failure (throttle, "192.0.2.1"));
    //  success does not lift a block
    sipd_throttle_success (throttle, "192.0.2.1");
    assert_true (sipd_throttle_is_blocked (throttle, "192.0.2.1"));
    now += 29;
    assert_true (sipd_throttle_is_blocked (throttle, "192.0.2.1"));
    now += 1;
    assert_false (sipd_throttle_is_blocked (throttle, "192.0.2.1"));
    sipd_throttle_expire (throttle);
    assert_int_equal (sipd_throttle_size (throttle), 0);
    //  NULL addresses are ignored
    assert_false (sipd_throttle_failure (throttle, NULL));
    assert_false (sipd_throttle_is_blocked (throttle, NULL));
    sipd_throttle_destroy (&throttle);
    assert_null (throttle);
    sipd_throttle_destroy (&throttle);
}

static void
test_window_and_success (void **state)
{
    (void) state;
    int64_t now = 1000;
    sipd_throttle_t *throttle = sipd_throttle_new (3, 10, 30);
    sipd_throttle_set_clock (throttle, s_clock, &now);
    //  failures spread over more than the window never block
    for (int i = 0; i < 10; i++) {
        assert_false (sipd_throttle_failure (throttle, "::1"));
        now += 6;
    }
    assert_false (sipd_throttle_is_blocked (throttle, "::1"));
    //  a success forgets the failures
    assert_false (sipd_throttle_failure (throttle, "::1"));
    assert_false (sipd_throttle_failure (throttle, "::1"));
    sipd_throttle_success (throttle, "::1");
    assert_int_equal (sipd_throttle_size (throttle), 0);
    assert_false (sipd_throttle_failure (throttle, "::1"));
    assert_false (sipd_throttle_failure (throttle, "::1"));
    assert_true (sipd_throttle_failure (throttle, "::1"));
    //  entries whose window passed are expired, blocked ones stay
    assert_false (sipd_throttle_failure (throttle, "192.0.2.9"));
    assert_int_equal (sipd_throttle_size (throttle), 2);
    now += 11;
    sipd_throttle_expire (throttle);
    assert_int_equal (sipd_throttle_size (throttle), 1);
    assert_true (sipd_throttle_is_blocked (throttle, "::1"));
    now += 20;
    sipd_throttle_expire (throttle);
    assert_int_equal (sipd_throttle_size (throttle), 0);
    sipd_throttle_destroy (&throttle);
}

static void
test_bounded (void **state)
{
    (void) state;
    int64_t now = 1000;
    sipd_throttle_t *throttle = sipd_throttle_new (5, 60, 60);
    sipd_throttle_set_clock (throttle, s_clock, &now);
    char ip[32];
    for (int i = 0; i < SIPD_THROTTLE_MAX_ENTRIES + 100; i++) {
        snprintf (ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255,
                  (i >> 8) & 255, i & 255);
        (void) sipd_throttle_failure (throttle, ip);
    }
    assert_int_equal (sipd_throttle_size (throttle),
                      SIPD_THROTTLE_MAX_ENTRIES);
    //  after the window, new addresses are tracked again
    now += 61;
    assert_false (sipd_throttle_failure (throttle, "192.0.2.77"));
    assert_int_equal (sipd_throttle_size (throttle), 1);
    sipd_throttle_destroy (&throttle);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_block_after_limit),
        cmocka_unit_test (test_window_and_success),
        cmocka_unit_test (test_bounded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
