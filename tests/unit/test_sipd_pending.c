//  test_sipd_pending — unit tests for sipd_pending, the journal's list of
//  pending CDR locations: append order, lookup, removal anywhere in the
//  list, duplicates, the length limit, and an index that grows and shrinks
//  with 20,000 entries.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_pending.h"

#include <stdio.h>
#include <string.h>

static void
test_add_lookup_remove (void **state)
{
    sipd_pending_t *pending = sipd_pending_new ();
    assert_null (sipd_pending_first (pending));
    sipd_pending_cdr_t *a = sipd_pending_add (pending, "a", 1, 2, 300);
    sipd_pending_cdr_t *b = sipd_pending_add (pending, "b", 1, 305, 40);
    sipd_pending_cdr_t *c = sipd_pending_add (pending, "c", 2, 2, 50);
    assert_non_null (a);
    assert_non_null (b);
    assert_non_null (c);
    assert_int_equal (sipd_pending_size (pending), 3);
    assert_string_equal (b->uniqueid, "b");
    assert_int_equal (b->segment, 1);
    assert_int_equal (b->offset, 305);
    assert_int_equal (b->length, 40);
    assert_false (b->in_flight);
    assert_false (b->unreadable);
    //  Append order.
    assert_ptr_equal (sipd_pending_first (pending), a);
    assert_ptr_equal (a->next, b);
    assert_ptr_equal (b->next, c);
    assert_null (c->next);
    assert_ptr_equal (sipd_pending_lookup (pending, "c"), c);
    assert_null (sipd_pending_lookup (pending, "d"));
    //  A duplicate or an impossible length is refused.
    assert_null (sipd_pending_add (pending, "b", 3, 0, 10));
    assert_null (sipd_pending_add (pending, "e", 3, 0,
                                   (size_t) SIPD_PENDING_LENGTH_MAX + 1));
    assert_int_equal (sipd_pending_size (pending), 3);
    //  Remove from the middle, the end and the front.
    sipd_pending_remove (pending, &b);
    assert_null (b);
    assert_ptr_equal (a->next, c);
    assert_ptr_equal (c->prev, a);
    assert_null (sipd_pending_lookup (pending, "b"));
    sipd_pending_remove (pending, &c);
    assert_null (a->next);
    sipd_pending_remove (pending, &a);
    assert_null (sipd_pending_first (pending));
    assert_int_equal (sipd_pending_size (pending), 0);
    //  A removed uniqueid can come again.
    assert_non_null (sipd_pending_add (pending, "b", 4, 2, 1));
    sipd_pending_destroy (&pending);
    assert_null (pending);
    sipd_pending_destroy (&pending);
}

static void
test_many (void **state)
{
    sipd_pending_t *pending = sipd_pending_new ();
    const int total = 20000;
    char id[48];
    for (int i = 0; i < total; i++) {
        snprintf (id, sizeof id, "%08x-1111-4222-8333-%012d", i, i);
        assert_non_null (sipd_pending_add (pending, id, (uint32_t) i / 1000,
                                           (uint64_t) i * 1000, 900));
    }
    assert_int_equal (sipd_pending_size (pending), total);
    //  Every one is found; remove the odd ones (the index shrinks later).
    for (int i = 0; i < total; i++) {
        snprintf (id, sizeof id, "%08x-1111-4222-8333-%012d", i, i);
        sipd_pending_cdr_t *cdr = sipd_pending_lookup (pending, id);
        assert_non_null (cdr);
        assert_int_equal (cdr->offset, (uint64_t) i * 1000);
        if (i % 2)
            sipd_pending_remove (pending, &cdr);
    }
    int n = 0;
    for (sipd_pending_cdr_t *cdr = sipd_pending_first (pending); cdr;
         cdr = cdr->next, n++)
        assert_int_equal (cdr->offset, (uint64_t) n * 2000);
    assert_int_equal (n, total / 2);
    //  Drain all but one; the survivor is still found.
    for (int i = 0; i < total - 2; i += 2) {
        snprintf (id, sizeof id, "%08x-1111-4222-8333-%012d", i, i);
        sipd_pending_cdr_t *cdr = sipd_pending_lookup (pending, id);
        assert_non_null (cdr);
        sipd_pending_remove (pending, &cdr);
    }
    assert_int_equal (sipd_pending_size (pending), 1);
    snprintf (id, sizeof id, "%08x-1111-4222-8333-%012d", total - 2,
              total - 2);
    assert_ptr_equal (sipd_pending_lookup (pending, id),
                      sipd_pending_first (pending));
    sipd_pending_destroy (&pending);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_add_lookup_remove),
        cmocka_unit_test (test_many),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
