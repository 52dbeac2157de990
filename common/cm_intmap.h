//  cm_intmap — a zhashx keyed by integers (transaction, timer and call
//  ids) kept in the key pointer itself: no key text to format, copy or
//  free per lookup. Id 0 is not a key (zhashx asserts on a NULL key): use
//  ids from 1 (libosip2 transaction ids and our own counters do). Values keep zhashx's defaults (set a destructor or
//  duplicator as for any zhashx).
//
//      zhashx_t *map = cm_intmap_new ();
//      zhashx_insert (map, CM_INTMAP_KEY (id), item);
//      item = zhashx_lookup (map, CM_INTMAP_KEY (id));

#ifndef CM_INTMAP_H_INCLUDED
#define CM_INTMAP_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

//  The key for integer id.
#define CM_INTMAP_KEY(id) ((void *) (intptr_t) (id))

//  Turn an empty zhashx into an integer-keyed one.
void
    cm_intmap_setup (zhashx_t *map);

//  A new integer-keyed zhashx. Caller owns return value and must destroy
//  it with zhashx_destroy.
zhashx_t *
    cm_intmap_new (void);

#endif
