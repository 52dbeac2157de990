//  test_sipd_timerq — the deadline queue: earliest first, nothing before
//  its time, equal deadlines all come out, growth and shrink under many
//  entries, and the order against a sorted reference.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_timerq.h"

#include <stdlib.h>

static void
test_empty (void **state)
{
    (void) state;
    sipd_timerq_t *q = sipd_timerq_new ();
    assert_non_null (q);
    int id = -1;
    int64_t due = -1;
    assert_false (sipd_timerq_pop_due (q, INT64_MAX, &id, &due));
    assert_int_equal (id, -1);
    assert_true (sipd_timerq_next (q) == INT64_MAX);
    assert_int_equal (sipd_timerq_size (q), 0);
    sipd_timerq_destroy (&q);
    assert_null (q);
    sipd_timerq_destroy (&q);
}

static void
test_order_and_due (void **state)
{
    (void) state;
    sipd_timerq_t *q = sipd_timerq_new ();
    assert_int_equal (sipd_timerq_push (q, 300, 3), 0);
    assert_int_equal (sipd_timerq_push (q, 100, 1), 0);
    assert_int_equal (sipd_timerq_push (q, 200, 2), 0);
    assert_int_equal (sipd_timerq_push (q, 100, 4), 0);
    assert_int_equal (sipd_timerq_size (q), 4);
    assert_true (sipd_timerq_next (q) == 100);
    int id;
    int64_t due;
    //  nothing is due before its time
    assert_false (sipd_timerq_pop_due (q, 99, &id, &due));
    //  both entries at 100, in either order
    int seen = 0;
    assert_true (sipd_timerq_pop_due (q, 150, &id, &due));
    assert_true (due == 100);
    seen |= 1 << id;
    assert_true (sipd_timerq_pop_due (q, 150, &id, &due));
    assert_true (due == 100);
    seen |= 1 << id;
    assert_int_equal (seen, (1 << 1) | (1 << 4));
    assert_false (sipd_timerq_pop_due (q, 150, &id, &due));
    assert_true (sipd_timerq_pop_due (q, 300, &id, &due));
    assert_int_equal (id, 2);
    assert_true (sipd_timerq_pop_due (q, 300, &id, &due));
    assert_int_equal (id, 3);
    assert_true (due == 300);
    assert_int_equal (sipd_timerq_size (q), 0);
    sipd_timerq_destroy (&q);
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

//  Many entries (the heap grows past its first array and shrinks again)
//  come out in the order of a sorted copy, interleaved with pushes.
static void
test_many (void **state)
{
    (void) state;
    enum { N = 20000 };
    int64_t *ref = malloc (N * sizeof *ref);
    assert_non_null (ref);
    sipd_timerq_t *q = sipd_timerq_new ();
    srand (4475);
    for (int i = 0; i < N; i++) {
        ref[i] = (int64_t) (rand () % 100000) * 32768 + i;     //  distinct
        assert_int_equal (sipd_timerq_push (q, ref[i], i), 0);
    }
    assert_int_equal (sipd_timerq_size (q), N);
    qsort (ref, N, sizeof *ref, s_cmp);
    int id;
    int64_t due, last = INT64_MIN;
    for (int i = 0; i < N; i++) {
        assert_true (sipd_timerq_pop_due (q, INT64_MAX, &id, &due));
        assert_true (due == ref[i]);
        assert_true (due >= last);
        assert_true (due % 32768 == id);
        last = due;
    }
    assert_false (sipd_timerq_pop_due (q, INT64_MAX, &id, &due));
    //  still usable after shrinking
    assert_int_equal (sipd_timerq_push (q, 5, 5), 0);
    assert_true (sipd_timerq_pop_due (q, 5, &id, &due));
    assert_int_equal (id, 5);
    sipd_timerq_destroy (&q);
    free (ref);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_empty),
        cmocka_unit_test (test_order_and_due),
        cmocka_unit_test (test_many),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
