//  test_sipd_linger — unit tests for sipd_linger: keys are found until
//  their deadline and gone after it, a key added twice keeps the later
//  deadline, expiry goes oldest first and stops at the first key not due.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_linger.h"

#include <stdio.h>

static void
test_add_has_expire (void **state)
{
    (void) state;
    sipd_linger_t *linger = sipd_linger_new ();
    assert_non_null (linger);
    assert_false (sipd_linger_has (linger, "a"));
    assert_false (sipd_linger_has (linger, NULL));
    assert_int_equal (sipd_linger_add (linger, "a", 100), 0);
    assert_int_equal (sipd_linger_add (linger, "b", 200), 0);
    assert_int_equal (sipd_linger_add (linger, "c", 300), 0);
    assert_int_equal (sipd_linger_size (linger), 3);
    assert_true (sipd_linger_has (linger, "a"));
    assert_false (sipd_linger_has (linger, "A"));
    sipd_linger_expire (linger, 99);
    assert_int_equal (sipd_linger_size (linger), 3);
    sipd_linger_expire (linger, 200);       //  at the deadline: gone
    assert_false (sipd_linger_has (linger, "a"));
    assert_false (sipd_linger_has (linger, "b"));
    assert_true (sipd_linger_has (linger, "c"));
    assert_int_equal (sipd_linger_size (linger), 1);
    sipd_linger_expire (linger, 1000);
    assert_int_equal (sipd_linger_size (linger), 0);
    sipd_linger_destroy (&linger);
    assert_null (linger);
    sipd_linger_destroy (&linger);          //  NULL-safe
}

static void
test_added_twice (void **state)
{
    (void) state;
    sipd_linger_t *linger = sipd_linger_new ();
    assert_int_equal (sipd_linger_add (linger, "k", 100), 0);
    assert_int_equal (sipd_linger_add (linger, "k", 500), 0);
    assert_int_equal (sipd_linger_add (linger, "k", 50), 0);    //  earlier: kept 500
    assert_int_equal (sipd_linger_size (linger), 1);
    sipd_linger_expire (linger, 499);
    assert_true (sipd_linger_has (linger, "k"));
    //  a key behind one whose deadline moved waits for it
    assert_int_equal (sipd_linger_add (linger, "later", 200), 0);
    sipd_linger_expire (linger, 300);
    assert_true (sipd_linger_has (linger, "later"));
    sipd_linger_expire (linger, 500);
    assert_int_equal (sipd_linger_size (linger), 0);
    sipd_linger_destroy (&linger);
}

//  Many keys: every one found until its deadline, memory freed on
//  expire and destroy (checked under SANITIZE=1).
static void
test_many (void **state)
{
    (void) state;
    sipd_linger_t *linger = sipd_linger_new ();
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf (key, sizeof key, "z9hG4bK%d|h|5060|INVITE", i);
        assert_int_equal (sipd_linger_add (linger, key, i), 0);
    }
    sipd_linger_expire (linger, 4999);
    assert_int_equal (sipd_linger_size (linger), 5000);
    snprintf (key, sizeof key, "z9hG4bK%d|h|5060|INVITE", 4999);
    assert_false (sipd_linger_has (linger, key));
    snprintf (key, sizeof key, "z9hG4bK%d|h|5060|INVITE", 5000);
    assert_true (sipd_linger_has (linger, key));
    sipd_linger_destroy (&linger);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_add_has_expire),
        cmocka_unit_test (test_added_twice),
        cmocka_unit_test (test_many),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
