//  test_sipd_trunk — unit tests for the trunk's digest client: the
//  RFC 2617 and RFC 7616 example vectors (MD5 and SHA-256, qop=auth),
//  the RFC 2069 form without qop, and unknown algorithms.
//  (Registration and 401/407 answers run against SIPp in t0311.)

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_trunk.h"

#include <string.h>

static void
test_rfc2617_md5 (void **state)
{
    (void) state;
    char out[65];
    assert_int_equal (sipd_trunk_digest ("MD5", "Mufasa", "testrealm@host.com",
                                         "Circle Of Life", "GET",
                                         "/dir/index.html",
                                         "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                                         "auth", "00000001", "0a4f113b", out,
                                         sizeof out),
                      0);
    assert_string_equal (out, "6629fae49393a05397450978507c4ef1");
    //  No algorithm means MD5.
    assert_int_equal (sipd_trunk_digest (NULL, "Mufasa", "testrealm@host.com",
                                         "Circle Of Life", "GET",
                                         "/dir/index.html",
                                         "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                                         "auth", "00000001", "0a4f113b", out,
                                         sizeof out),
                      0);
    assert_string_equal (out, "6629fae49393a05397450978507c4ef1");
}

static void
test_rfc7616 (void **state)
{
    (void) state;
    const char *nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const char *cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    char out[65];
    assert_int_equal (sipd_trunk_digest ("SHA-256", "Mufasa",
                                         "http-auth@example.org",
                                         "Circle of Life", "GET",
                                         "/dir/index.html", nonce, "auth",
                                         "00000001", cnonce, out, sizeof out),
                      0);
    assert_string_equal (
        out,
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    assert_int_equal (sipd_trunk_digest ("md5", "Mufasa",
                                         "http-auth@example.org",
                                         "Circle of Life", "GET",
                                         "/dir/index.html", nonce, "auth",
                                         "00000001", cnonce, out, sizeof out),
                      0);
    assert_string_equal (out, "8ca523f5e9506fed4657c9700eebdbec");
}

static void
test_no_qop_and_errors (void **state)
{
    (void) state;
    char out[65];
    //  RFC 2069 form: H(HA1:nonce:HA2); HA1 = MD5("u:r:p"),
    //  HA2 = MD5("INVITE:sip:1@h").
    assert_int_equal (sipd_trunk_digest ("MD5", "u", "r", "p", "INVITE",
                                         "sip:1@h", "n", NULL, NULL, NULL,
                                         out, sizeof out),
                      0);
    assert_int_equal (strlen (out), 32);
    char again[65];
    sipd_trunk_digest ("MD5", "u", "r", "p", "INVITE", "sip:1@h", "n", NULL,
                       NULL, NULL, again, sizeof again);
    assert_string_equal (out, again);
    //  Different nonce, different answer.
    sipd_trunk_digest ("MD5", "u", "r", "p", "INVITE", "sip:1@h", "m", NULL,
                       NULL, NULL, again, sizeof again);
    assert_string_not_equal (out, again);
    assert_int_equal (sipd_trunk_digest ("SHA-512-256", "u", "r", "p",
                                         "INVITE", "sip:1@h", "n", NULL,
                                         NULL, NULL, out, sizeof out),
                      -1);
    char small[10];
    assert_int_equal (sipd_trunk_digest ("MD5", "u", "r", "p", "INVITE",
                                         "sip:1@h", "n", NULL, NULL, NULL,
                                         small, sizeof small),
                      -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rfc2617_md5),
        cmocka_unit_test (test_rfc7616),
        cmocka_unit_test (test_no_qop_and_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
