//  test_sipd_sdp — unit tests for sipd_sdp: codec filtering (baresip and
//  linphone offers), telephone-event payload types, ptime, o= versions,
//  rejected streams, hold detection and bad SDP.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What baresip 1.0.0 offers (trimmed: PCMU, PCMA, telephone-event 101).
static const char *s_baresip
    = "v=0\r\n"
      "o=- 1226 3001 IN IP4 127.0.0.1\r\n"
      "s=-\r\n"
      "c=IN IP4 127.0.0.1\r\n"
      "t=0 0\r\n"
      "m=audio 40100 RTP/AVP 0 8 101\r\n"
      "b=AS:64\r\n"
      "a=rtpmap:0 PCMU/8000\r\n"
      "a=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\n"
      "a=fmtp:101 0-15\r\n"
      "a=sendrecv\r\n"
      "a=label:1\r\n"
      "a=ssrc:123 cname:abc\r\n"
      "a=rtcp-rsize\r\n"
      "a=ptime:20\r\n";

//  What linphone 5 offers: opus first, telephone-event on 96, ICE-less.
static const char *s_linphone
    = "v=0\n"
      "o=101 3184 1043 IN IP4 127.0.0.1\n"
      "s=Talk\n"
      "c=IN IP4 127.0.0.1\n"
      "t=0 0\n"
      "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL\n"
      "m=audio 40130 RTP/AVP 96 0 8 97 101\n"
      "a=rtpmap:96 opus/48000/2\n"
      "a=fmtp:96 useinbandfec=1\n"
      "a=rtpmap:97 telephone-event/48000\n"
      "a=rtpmap:101 telephone-event/8000\n"
      "a=rtcp:40131\n"
      "a=rtcp-fb:* trr-int 1000\n"
      "m=video 40140 RTP/AVP 98\n"
      "a=rtpmap:98 VP8/90000\n";

static void
test_baresip_offer (void **state)
{
    (void) state;
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    char error[128];
    char *out = sipd_sdp_rewrite (leg, s_baresip, strlen (s_baresip), error,
                                  sizeof error);
    assert_non_null (out);
    assert_string_equal (error, "");
    assert_non_null (strstr (out, "v=0\r\no=sipd "));
    assert_non_null (strstr (out, " 1 IN IP4 127.0.0.1\r\n"));
    assert_non_null (strstr (out, "s=sipserver\r\n"));
    assert_non_null (strstr (out, "c=IN IP4 127.0.0.1\r\n"));
    assert_non_null (strstr (out, "m=audio 40100 RTP/AVP 0 8 101\r\n"));
    assert_non_null (strstr (out, "a=rtpmap:0 PCMU/8000\r\n"));
    assert_non_null (strstr (out, "a=rtpmap:8 PCMA/8000\r\n"));
    assert_non_null (strstr (out, "a=rtpmap:101 telephone-event/8000\r\n"));
    assert_non_null (strstr (out, "a=fmtp:101 0-15\r\n"));
    assert_non_null (strstr (out, "a=ptime:20\r\n"));
    assert_non_null (strstr (out, "a=sendrecv\r\n"));
    //  Dropped: bandwidth, label, ssrc, rtcp-rsize; ptime only once.
    assert_null (strstr (out, "b=AS"));
    assert_null (strstr (out, "a=label"));
    assert_null (strstr (out, "a=ssrc"));
    assert_null (strstr (out, "rtcp-rsize"));
    assert_null (strstr (strstr (out, "a=ptime:20") + 1, "a=ptime"));
    assert_int_equal (sipd_sdp_version (leg), 1);
    free (out);
    sipd_sdp_destroy (&leg);
    assert_null (leg);
    sipd_sdp_destroy (&leg);
}

static void
test_linphone_offer (void **state)
{
    (void) state;
    sipd_sdp_t *leg = sipd_sdp_new ("::1");
    char error[128];
    char *out = sipd_sdp_rewrite (leg, s_linphone, strlen (s_linphone),
                                  error, sizeof error);
    assert_non_null (out);
    //  Opus and the 48 kHz telephone-event go; 0, 8 and 101 stay in order.
    assert_non_null (strstr (out, "m=audio 40130 RTP/AVP 0 8 101\r\n"));
    assert_null (strstr (out, "opus"));
    assert_null (strstr (out, "a=rtpmap:97"));
    assert_non_null (strstr (out, "a=rtcp:40131\r\n"));
    assert_non_null (strstr (out, " IN IP6 ::1\r\n"));
    assert_null (strstr (out, "rtcp-xr"));
    //  Video is kept in place, rejected.
    assert_non_null (strstr (out, "m=video 0 RTP/AVP 98\r\n"));
    assert_null (strstr (out, "VP8"));
    free (out);
    sipd_sdp_destroy (&leg);
}

static void
test_linphone_telephone_event_96 (void **state)
{
    (void) state;
    const char *sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                      "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                      "m=audio 7078 RTP/AVP 8 96\r\n"
                      "a=rtpmap:96 telephone-event/8000\r\n";
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    char error[128];
    char *out = sipd_sdp_rewrite (leg, sdp, strlen (sdp), error, sizeof error);
    assert_non_null (out);
    assert_non_null (strstr (out, "m=audio 7078 RTP/AVP 8 96\r\n"));
    assert_non_null (strstr (out, "a=rtpmap:96 telephone-event/8000\r\n"));
    assert_non_null (strstr (out, "a=rtpmap:8 PCMA/8000\r\n"));
    free (out);
    sipd_sdp_destroy (&leg);
}

//  A payload type repeated in m= is kept once, and its rtpmap too.
static void
test_duplicate_payload_types (void **state)
{
    (void) state;
    const char *sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                      "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                      "m=audio 7078 RTP/AVP 0 8 0 8 0 101 8\r\n"
                      "a=rtpmap:101 telephone-event/8000\r\n";
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    char error[128];
    char *out = sipd_sdp_rewrite (leg, sdp, strlen (sdp), error, sizeof error);
    assert_non_null (out);
    assert_non_null (strstr (out, "m=audio 7078 RTP/AVP 0 8 101\r\n"));
    char *first = strstr (out, "a=rtpmap:0 ");
    assert_non_null (first);
    assert_null (strstr (first + 1, "a=rtpmap:0 "));
    free (out);
    sipd_sdp_destroy (&leg);
}

//  Extract the o= version of an output.
static unsigned long long
s_version (const char *out)
{
    unsigned long long id = 0, version = 0;
    const char *o = strstr (out, "o=sipd ");
    assert_non_null (o);
    assert_int_equal (sscanf (o, "o=sipd %llu %llu", &id, &version), 2);
    return version;
}

static void
test_versions (void **state)
{
    (void) state;
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    char error[128];
    char *a = sipd_sdp_rewrite (leg, s_baresip, strlen (s_baresip), error,
                                sizeof error);
    //  Same description again (session refresh): same version, same id.
    char *b = sipd_sdp_rewrite (leg, s_baresip, strlen (s_baresip), error,
                                sizeof error);
    assert_string_equal (a, b);
    assert_int_equal (s_version (b), 1);
    //  Hold: the description changes, the version goes up by one.
    char hold[1024];
    snprintf (hold, sizeof hold, "%s", s_baresip);
    char *p = strstr (hold, "a=sendrecv");
    memcpy (p, "a=sendonly", 10);
    char *c = sipd_sdp_rewrite (leg, hold, strlen (hold), error, sizeof error);
    assert_non_null (strstr (c, "a=sendonly\r\n"));
    assert_int_equal (s_version (c), 2);
    assert_true (sipd_sdp_is_hold (hold, strlen (hold)));
    assert_false (sipd_sdp_is_hold (s_baresip, strlen (s_baresip)));
    //  Session id stays the same on the leg; another leg has another.
    unsigned long long id1, id2, v;
    assert_int_equal (sscanf (strstr (a, "o=sipd"), "o=sipd %llu %llu", &id1,
                              &v), 2);
    assert_int_equal (sscanf (strstr (c, "o=sipd"), "o=sipd %llu %llu", &id2,
                              &v), 2);
    assert_true (id1 == id2);
    sipd_sdp_t *other = sipd_sdp_new ("127.0.0.1");
    char *d = sipd_sdp_rewrite (other, s_baresip, strlen (s_baresip), error,
                                sizeof error);
    assert_int_equal (sscanf (strstr (d, "o=sipd"), "o=sipd %llu %llu", &id2,
                              &v), 2);
    assert_true (id1 != id2);
    assert_int_equal (sipd_sdp_version (leg), 2);
    free (a);
    free (b);
    free (c);
    free (d);
    sipd_sdp_destroy (&leg);
    sipd_sdp_destroy (&other);
}

static void
test_hold_forms (void **state)
{
    (void) state;
    const char *old = "v=0\r\no=x 1 2 IN IP4 0.0.0.0\r\ns=-\r\n"
                      "c=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                      "m=audio 4000 RTP/AVP 0\r\n";
    assert_true (sipd_sdp_is_hold (old, strlen (old)));
    const char *inactive = "v=0\r\no=x 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"
                           "c=IN IP4 192.0.2.1\r\nt=0 0\r\na=inactive\r\n"
                           "m=audio 4000 RTP/AVP 0\r\n";
    assert_true (sipd_sdp_is_hold (inactive, strlen (inactive)));
    assert_false (sipd_sdp_is_hold ("garbage", 7));
    assert_false (sipd_sdp_is_hold (NULL, 0));
    //  Old-style hold is relayed as is.
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    char error[128];
    char *out = sipd_sdp_rewrite (leg, old, strlen (old), error, sizeof error);
    assert_non_null (out);
    assert_non_null (strstr (out, "c=IN IP4 0.0.0.0\r\n"));
    free (out);
    out = sipd_sdp_rewrite (leg, inactive, strlen (inactive), error,
                            sizeof error);
    assert_non_null (strstr (out, "t=0 0\r\na=inactive\r\n"));
    free (out);
    sipd_sdp_destroy (&leg);
}

//  Each of these must fail with a reason, never crash.
static void
test_bad_sdp (void **state)
{
    (void) state;
    const char *bad[] = {
        "",
        "hello world",
        "v=1\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n",
        //  no media
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\n",
        //  only opus
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n",
        //  only telephone-event
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\nm=audio 4000 RTP/AVP 101\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n",
        //  SRTP only
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n",
        //  bad port
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\nm=audio 99999 RTP/AVP 0\r\n",
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\nm=audio -5 RTP/AVP 0\r\n",
        //  no c= at all
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n",
        //  bad c=
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IPX 1.2.3.4\r\n"
        "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
        //  all streams rejected already
        "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
        "t=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
        //  LF line ends, last m= without payload types: libosip2 reads past
        //  the end of its input here unless the copy has a spare NUL
        "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n"
        "m=audio 0 RTP/AVP\n",
    };
    sipd_sdp_t *leg = sipd_sdp_new (NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[128] = "x";
        char *out = sipd_sdp_rewrite (leg, bad[i], strlen (bad[i]), error,
                                      sizeof error);
        if (out)
            fprintf (stderr, "case %zu accepted:\n%s\n", i, out);
        assert_null (out);
        assert_true (strlen (error) > 0);
    }
    char error[128];
    assert_null (sipd_sdp_rewrite (leg, NULL, 0, error, sizeof error));
    //  Embedded NUL.
    assert_null (sipd_sdp_rewrite (leg, "v=0\0\r\n", 6, error, sizeof error));
    //  Too large.
    char *big = malloc (SIPD_SDP_MAX + 10);
    memset (big, 'a', SIPD_SDP_MAX + 9);
    big[SIPD_SDP_MAX + 9] = 0;
    assert_null (sipd_sdp_rewrite (leg, big, strlen (big), error,
                                   sizeof error));
    assert_non_null (strstr (error, "too large"));
    free (big);
    assert_int_equal (sipd_sdp_version (leg), 0);
    sipd_sdp_destroy (&leg);
}

//  Random mutations of a valid offer: whatever comes out, no crash, and
//  accepted output always has our o= line.
static void
test_mutations (void **state)
{
    (void) state;
    sipd_sdp_t *leg = sipd_sdp_new ("127.0.0.1");
    size_t len = strlen (s_baresip);
    char *text = malloc (len + 1);
    srand (4475);
    for (int round = 0; round < 3000; round++) {
        memcpy (text, s_baresip, len + 1);
        int edits = 1 + rand () % 4;
        for (int e = 0; e < edits; e++)
            text[rand () % len] = (char) (1 + rand () % 255);
        size_t cut = rand () % 5 == 0 ? (size_t) rand () % len : len;
        char error[128];
        char *out = sipd_sdp_rewrite (leg, text, cut, error, sizeof error);
        if (out) {
            assert_non_null (strstr (out, "o=sipd "));
            assert_null (strchr (out, 0x7f));
            free (out);
        }
        else
            assert_true (strlen (error) > 0);
    }
    free (text);
    sipd_sdp_destroy (&leg);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_baresip_offer),
        cmocka_unit_test (test_linphone_offer),
        cmocka_unit_test (test_linphone_telephone_event_96),
        cmocka_unit_test (test_duplicate_payload_types),
        cmocka_unit_test (test_versions),
        cmocka_unit_test (test_hold_forms),
        cmocka_unit_test (test_bad_sdp),
        cmocka_unit_test (test_mutations),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
