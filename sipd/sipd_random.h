//  sipd_random — random bytes for identifiers (tags, Call-IDs, CDR
//  uniqueids, SDP session ids) and lowercase hex text of bytes.
//  getrandom(2) directly: libuuid's generator (zuuid_new) reseeds srandom
//  for every UUID, ~60k instructions each, several per call; it remains
//  the fallback should getrandom fail.

#ifndef SIPD_RANDOM_H_INCLUDED
#define SIPD_RANDOM_H_INCLUDED

#include <stddef.h>

//  Fill buf with len (at most 16) random bytes.
void
    sipd_random_bytes (void *buf, size_t len);

//  Lowercase hex of len bytes into out (2 * len + 1 bytes, NUL-terminated).
void
    sipd_random_hex_of (const unsigned char *data, size_t len, char *out);

#endif
