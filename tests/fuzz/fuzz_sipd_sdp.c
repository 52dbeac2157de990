//  fuzz_sipd_sdp — libFuzzer target for the B2BUA's SDP rewriting
//  (sipd_sdp): any bytes as an offer or answer from a phone. Properties
//  checked beside ASan+UBSan: a rewrite either fails with a reason or
//  produces a NUL-free description with sipd's o= line that sipd itself
//  accepts again (on another leg) unchanged apart from o=; rewriting the
//  same input twice on one leg keeps the session version; the hold
//  predicate never crashes.

#include "../../sipd/sipd_sdp.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    char error[128];
    char *out = sipd_sdp_rewrite (leg, (const char *) data, size, error,
                                  sizeof error);
    (void) sipd_sdp_is_hold ((const char *) data, size);
    if (!out) {
        assert (error[0] != 0);
        assert (sipd_sdp_version (leg) == 0);
    }
    else {
        assert (strstr (out, "v=0\r\no=sipd ") == out);
        unsigned long long version = sipd_sdp_version (leg);
        char *again = sipd_sdp_rewrite (leg, (const char *) data, size,
                                        error, sizeof error);
        assert (again && strcmp (out, again) == 0);
        assert (sipd_sdp_version (leg) == version);
        free (again);
        //  Our own output is acceptable SDP and a fixed point after o=.
        sipd_sdp_t *other = sipd_sdp_new ("::1");
        char *second = sipd_sdp_rewrite (other, out, strlen (out), error,
                                         sizeof error);
        assert (second);
        const char *a = strstr (out, "\r\ns=");
        const char *b = strstr (second, "\r\ns=");
        assert (a && b && strcmp (a, b) == 0);
        free (second);
        sipd_sdp_destroy (&other);
        free (out);
    }
    sipd_sdp_destroy (&leg);
    return 0;
}
