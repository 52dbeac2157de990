//  cm_intmap — integer-keyed zhashx. See cm_intmap.h.

#include "cm_intmap.h"

#include <assert.h>

static size_t
s_int_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_int_compare (const void *a, const void *b)
{
    intptr_t x = (intptr_t) a, y = (intptr_t) b;
    return x < y ? -1 : x > y;
}

void
cm_intmap_setup (zhashx_t *map)
{
    assert (map);
    assert (zhashx_size (map) == 0);
    zhashx_set_key_hasher (map, s_int_hash);
    zhashx_set_key_comparator (map, s_int_compare);
    zhashx_set_key_duplicator (map, NULL);
    zhashx_set_key_destructor (map, NULL);
}

zhashx_t *
cm_intmap_new (void)
{
    zhashx_t *map = zhashx_new ();
    assert (map);   //  allocation failure aborts (STYLE §4)
    cm_intmap_setup (map);
    return map;
}
