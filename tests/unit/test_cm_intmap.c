//  test_cm_intmap — integer-keyed zhashx: insert, look up, delete and
//  iterate by id without key copies; negative and large ids; many keys.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cm_intmap.h"

static void
test_insert_lookup_delete (void **state)
{
    zhashx_t *map = cm_intmap_new ();
    int a = 1, b = 2, c = 3;
    assert_int_equal (zhashx_insert (map, CM_INTMAP_KEY (7), &a), 0);
    assert_int_equal (zhashx_insert (map, CM_INTMAP_KEY (-7), &b), 0);
    assert_int_equal (zhashx_insert (map, CM_INTMAP_KEY (INT32_MAX), &c), 0);
    //  a second insert of the same id is refused, as for string keys
    assert_int_equal (zhashx_insert (map, CM_INTMAP_KEY (7), &b), -1);
    assert_ptr_equal (zhashx_lookup (map, CM_INTMAP_KEY (7)), &a);
    assert_ptr_equal (zhashx_lookup (map, CM_INTMAP_KEY (-7)), &b);
    assert_ptr_equal (zhashx_lookup (map, CM_INTMAP_KEY (INT32_MAX)), &c);
    assert_null (zhashx_lookup (map, CM_INTMAP_KEY (8)));
    zhashx_delete (map, CM_INTMAP_KEY (7));
    assert_null (zhashx_lookup (map, CM_INTMAP_KEY (7)));
    assert_int_equal (zhashx_size (map), 2);
    //  the cursor is the integer itself
    int seen = 0;
    for (void *item = zhashx_first (map); item; item = zhashx_next (map)) {
        intptr_t key = (intptr_t) zhashx_cursor (map);
        assert_true (key == -7 || key == INT32_MAX);
        seen++;
    }
    assert_int_equal (seen, 2);
    zhashx_destroy (&map);
    assert_null (map);
}

static void
test_many_keys (void **state)
{
    zhashx_t *map = zhashx_new ();
    cm_intmap_setup (map);
    static int values[20000];
    for (int i = 0; i < 20000; i++) {
        values[i] = i;
        assert_int_equal (zhashx_insert (map, CM_INTMAP_KEY (i * 3 + 3), &values[i]), 0);
    }
    assert_int_equal (zhashx_size (map), 20000);
    for (int i = 0; i < 20000; i++) {
        int *v = (int *) zhashx_lookup (map, CM_INTMAP_KEY (i * 3 + 3));
        assert_non_null (v);
        assert_int_equal (*v, i);
        assert_null (zhashx_lookup (map, CM_INTMAP_KEY (i * 3 + 4)));
    }
    for (int i = 0; i < 20000; i += 2)
        zhashx_delete (map, CM_INTMAP_KEY (i * 3 + 3));
    assert_int_equal (zhashx_size (map), 10000);
    assert_null (zhashx_lookup (map, CM_INTMAP_KEY (3)));
    assert_non_null (zhashx_lookup (map, CM_INTMAP_KEY (6)));
    zhashx_destroy (&map);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_insert_lookup_delete),
        cmocka_unit_test (test_many_keys),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
