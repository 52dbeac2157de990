//  sipd_random — random identifiers and hex text. See sipd_random.h.

#include "sipd_random.h"

#include <assert.h>
#include <czmq.h>
#include <string.h>
#include <sys/random.h>

void
sipd_random_bytes (void *buf, size_t len)
{
    assert (len <= 16);
    if (getrandom (buf, len, 0) == (ssize_t) len)
        return;
    zuuid_t *uuid = zuuid_new ();
    memcpy (buf, zuuid_data (uuid), len);
    zuuid_destroy (&uuid);
}

void
sipd_random_hex_of (const unsigned char *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}
