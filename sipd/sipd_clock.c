//  sipd_clock — the default time source of the registrar classes.
//  See sipd_clock.h.

#include "sipd_clock.h"

#include <time.h>

int64_t
sipd_clock_wall (void *arg)
{
    (void) arg;
    return (int64_t) time (NULL);
}
