//  sipd_clock — the time source of the registrar classes (auth, throttle,
//  location). Seconds since the Unix epoch (wall clock, because bindings
//  are persisted across restarts). Production code uses the default
//  (time (NULL)); unit tests install their own function to move time.

#ifndef SIPD_CLOCK_H_INCLUDED
#define SIPD_CLOCK_H_INCLUDED

#include <stdint.h>

//  Return the current time in seconds since the epoch. arg is the
//  argument given with the function (borrowed).
typedef int64_t (sipd_clock_fn) (void *arg);

//  The default time source: time (NULL). arg is ignored.
int64_t
    sipd_clock_wall (void *arg);

#endif
