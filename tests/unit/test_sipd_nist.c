//  test_sipd_nist — unit tests for sipd_nist: keys (RFC 3261 and RFC 2543
//  style), add/find, the Trying/Proceeding/Completed life, expiry, bad
//  input, and a burst of lingering transactions (record chunks, indexes).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_nist.h"

#include <stdlib.h>
#include <string.h>

static osip_message_t *
s_parse (const char *text)
{
    osip_message_t *msg = NULL;
    osip_message_init (&msg);
    if (osip_message_parse (msg, text, strlen (text)) != 0) {
        osip_message_free (msg);
        return NULL;
    }
    return msg;
}

static osip_message_t *
s_request (const char *method, const char *via)
{
    char text[512];
    snprintf (text, sizeof text,
              "%s sip:100@example.com SIP/2.0\r\nVia: %s\r\n"
              "To: <sip:100@example.com>\r\nFrom: <sip:1@e>;tag=f1\r\n"
              "Call-ID: c1\r\nCSeq: 5 %s\r\nContent-Length: 0\r\n\r\n",
              method, via, method);
    return s_parse (text);
}

static int
s_setup (void **state)
{
    (void) state;
    parser_init ();
    return 0;
}

static void
test_keys (void **state)
{
    (void) state;
    osip_message_t *a = s_request ("REGISTER",
                                   "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa");
    osip_message_t *b = s_request ("REGISTER",
                                   "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa");
    osip_message_t *c = s_request ("OPTIONS",
                                   "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa");
    osip_message_t *d = s_request ("REGISTER",
                                   "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKa");
    osip_message_t *old = s_request ("REGISTER",
                                     "SIP/2.0/UDP 192.0.2.1;branch=1234");
    osip_message_t *ack = s_request ("ACK",
                                     "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa");
    char *ka = sipd_nist_key (a), *kb = sipd_nist_key (b);
    char *kc = sipd_nist_key (c), *kd = sipd_nist_key (d);
    char *kold = sipd_nist_key (old);
    //  default port 5060 is the same sent-by
    assert_string_equal (ka, kb);
    //  method and sent-by are part of the key
    assert_string_not_equal (ka, kc);
    assert_string_not_equal (ka, kd);
    //  RFC 2543 branch: the other fields make the key
    assert_non_null (kold);
    assert_non_null (strstr (kold, "2543|"));
    assert_non_null (strstr (kold, "c1"));
    assert_null (sipd_nist_key (ack));
    assert_null (sipd_nist_key (NULL));
    free (ka), free (kb), free (kc), free (kd), free (kold);
    osip_message_free (a), osip_message_free (b), osip_message_free (c);
    osip_message_free (d), osip_message_free (old), osip_message_free (ack);
}

static void
test_life (void **state)
{
    (void) state;
    sipd_nist_t *nist = sipd_nist_new ();
    sipd_source_t src = {.transport = SIPD_TRANSPORT_UDP, .ip = "192.0.2.1",
                         .port = 5060};
    osip_message_t *req = s_request ("REGISTER",
                                     "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa");
    char *key = sipd_nist_key (req);
    assert_int_equal (sipd_nist_find (nist, key), 0);
    assert_int_equal (sipd_nist_add (nist, 7, key, &req, &src, &src), 0);
    assert_null (req);
    assert_int_equal (sipd_nist_find (nist, key), 7);
    assert_int_equal (sipd_nist_size (nist), 1);
    assert_true (sipd_nist_is_open (nist, 7));
    assert_non_null (sipd_nist_request (nist, 7));
    assert_int_equal (sipd_nist_source (nist, 7)->port, 5060);
    //  Trying: nothing to resend
    assert_null (sipd_nist_last (nist, 7, NULL));

    //  the same key or id again is refused (and the request freed)
    osip_message_t *dup = s_request ("REGISTER",
                                     "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa");
    assert_int_equal (sipd_nist_add (nist, 8, key, &dup, &src, &src), -1);
    assert_null (dup);

    //  Proceeding: the 1xx is resent
    assert_int_equal (sipd_nist_record (nist, 7, "SIP/2.0 100 Trying", 18,
                                        false, 1000, SIPD_NIST_LINGER_MS),
                      0);
    size_t len = 0;
    assert_string_equal (sipd_nist_last (nist, 7, &len), "SIP/2.0 100 Trying");
    assert_int_equal (len, 18);
    //  Completed: the final is resent; the request lives until expire
    assert_int_equal (sipd_nist_record (nist, 7, "SIP/2.0 200 OK", 14, true,
                                        1000, SIPD_NIST_LINGER_MS),
                      0);
    assert_false (sipd_nist_is_open (nist, 7));
    assert_true (sipd_nist_exists (nist, 7));
    assert_null (sipd_nist_request (nist, 7));
    assert_string_equal (sipd_nist_last (nist, 7, NULL), "SIP/2.0 200 OK");
    assert_int_equal (sipd_nist_record (nist, 7, "x", 1, true, 1000, 0), -1);
    //  lingers for timer J, then goes
    sipd_nist_expire (nist, 1000 + SIPD_NIST_LINGER_MS - 1);
    assert_int_equal (sipd_nist_find (nist, key), 7);
    sipd_nist_expire (nist, 1000 + SIPD_NIST_LINGER_MS);
    assert_int_equal (sipd_nist_find (nist, key), 0);
    assert_false (sipd_nist_exists (nist, 7));
    assert_int_equal (sipd_nist_size (nist), 0);
    free (key);

    //  TCP: no linger, gone at the next expire even behind UDP entries
    osip_message_t *u = s_request ("OPTIONS",
                                   "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKu");
    osip_message_t *t = s_request ("OPTIONS",
                                   "SIP/2.0/TCP 192.0.2.9;branch=z9hG4bKt");
    char *ku = sipd_nist_key (u), *kt = sipd_nist_key (t);
    assert_int_equal (sipd_nist_add (nist, 10, ku, &u, &src, &src), 0);
    assert_int_equal (sipd_nist_add (nist, 11, kt, &t, &src, &src), 0);
    sipd_nist_record (nist, 10, "SIP/2.0 200 OK", 14, true, 5000,
                      SIPD_NIST_LINGER_MS);
    sipd_nist_record (nist, 11, "SIP/2.0 200 OK", 14, true, 5000, 0);
    sipd_nist_expire (nist, 5001);
    assert_int_equal (sipd_nist_find (nist, ku), 10);
    assert_int_equal (sipd_nist_find (nist, kt), 0);
    free (ku), free (kt);

    //  bad ids
    assert_false (sipd_nist_is_open (nist, 0));
    assert_null (sipd_nist_dest (nist, -1));
    assert_int_equal (sipd_nist_find (nist, NULL), 0);
    sipd_nist_destroy (&nist);
    assert_null (nist);
    sipd_nist_destroy (&nist);
}

//  A burst: thousands of lingering transactions (many record chunks, the
//  indexes growing), found by key and id, a response larger than a chunk,
//  expiry in order, and nothing left afterwards.
static void
test_burst (void **state)
{
    (void) state;
    sipd_nist_t *nist = sipd_nist_new ();
    sipd_source_t src = {.transport = SIPD_TRANSPORT_UDP, .ip = "192.0.2.1",
                         .port = 5060};
    const int count = 3000;
    char response[600];
    memset (response, 'r', sizeof response - 1);
    response[sizeof response - 1] = '\0';
    char **keys = calloc ((size_t) count, sizeof (char *));
    assert_non_null (keys);
    for (int i = 0; i < count; i++) {
        char via[96];
        snprintf (via, sizeof via, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK%d",
                  i);
        osip_message_t *req = s_request ("REGISTER", via);
        keys[i] = sipd_nist_key (req);
        src.port = 1000 + i;
        assert_int_equal (sipd_nist_add (nist, i + 1, keys[i], &req, &src,
                                         &src), 0);
        //  the first 1,000 complete at t=1000, the rest at t=2000
        int64_t now = i < 1000 ? 1000 : 2000;
        snprintf (response, 16, "SIP/2.0 %d", i);
        size_t len = strlen (response);
        response[len] = 'r';
        assert_int_equal (sipd_nist_record (nist, i + 1, response,
                                            sizeof response - 1, true, now,
                                            SIPD_NIST_LINGER_MS), 0);
        response[len] = '\0';
    }
    //  one response bigger than a record chunk
    size_t big_len = 200 * 1024;
    char *big = malloc (big_len + 1);
    assert_non_null (big);
    memset (big, 'b', big_len);
    big[big_len] = '\0';
    osip_message_t *req = s_request ("MESSAGE",
                                     "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKbig");
    char *big_key = sipd_nist_key (req);
    assert_int_equal (sipd_nist_add (nist, 99999, big_key, &req, &src, &src),
                      0);
    assert_int_equal (sipd_nist_record (nist, 99999, big, big_len, true, 2000,
                                        SIPD_NIST_LINGER_MS), 0);
    sipd_nist_expire (nist, 2000);     //  frees the retired entries only
    assert_int_equal (sipd_nist_size (nist), count + 1);
    for (int i = 0; i < count; i += 7) {
        assert_int_equal (sipd_nist_find (nist, keys[i]), i + 1);
        assert_true (sipd_nist_exists (nist, i + 1));
        assert_false (sipd_nist_is_open (nist, i + 1));
        assert_null (sipd_nist_request (nist, i + 1));
        assert_int_equal (sipd_nist_dest (nist, i + 1)->port, 1000 + i);
        assert_int_equal (sipd_nist_source (nist, i + 1)->port, 1000 + i);
        size_t len = 0;
        const char *last = sipd_nist_last (nist, i + 1, &len);
        assert_int_equal (len, sizeof response - 1);
        char head[16];
        snprintf (head, sizeof head, "SIP/2.0 %d", i);
        assert_memory_equal (last, head, strlen (head));
        assert_int_equal (last[len - 1], 'r');
        assert_int_equal (last[len], '\0');
    }
    size_t len = 0;
    assert_memory_equal (sipd_nist_last (nist, 99999, &len), big, big_len);
    assert_int_equal (len, big_len);
    //  a lingering key or id cannot be added again
    req = s_request ("REGISTER", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK5");
    assert_int_equal (sipd_nist_add (nist, 5000, keys[5], &req, &src, &src),
                      -1);
    req = s_request ("REGISTER", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKnew");
    char *new_key = sipd_nist_key (req);
    assert_int_equal (sipd_nist_add (nist, 6, new_key, &req, &src, &src), -1);
    assert_int_equal (sipd_nist_find (nist, new_key), 0);

    //  the first thousand go, in order; the rest stay findable
    sipd_nist_expire (nist, 1000 + SIPD_NIST_LINGER_MS);
    assert_int_equal (sipd_nist_size (nist), count - 1000 + 1);
    for (int i = 0; i < count; i++) {
        assert_int_equal (sipd_nist_find (nist, keys[i]),
                          i < 1000 ? 0 : i + 1);
        assert_int_equal (sipd_nist_exists (nist, i + 1), i >= 1000);
    }
    assert_null (sipd_nist_last (nist, 1, NULL));
    //  an expired key is new again
    req = s_request ("REGISTER", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3");
    assert_int_equal (sipd_nist_add (nist, 70000, keys[3], &req, &src, &src),
                      0);
    assert_true (sipd_nist_is_open (nist, 70000));
    sipd_nist_expire (nist, 2000 + SIPD_NIST_LINGER_MS);
    assert_int_equal (sipd_nist_size (nist), 1);   //  the open one
    assert_int_equal (sipd_nist_find (nist, big_key), 0);
    for (int i = 1000; i < count; i++)
        assert_int_equal (sipd_nist_find (nist, keys[i]), 0);
    //  and the memory is reused after everything went
    assert_int_equal (sipd_nist_record (nist, 70000, "SIP/2.0 200 OK", 14,
                                        true, 3000, SIPD_NIST_LINGER_MS), 0);
    assert_int_equal (sipd_nist_find (nist, keys[3]), 70000);
    assert_string_equal (sipd_nist_last (nist, 70000, NULL), "SIP/2.0 200 OK");
    for (int i = 0; i < count; i++)
        free (keys[i]);
    free (keys);
    free (big);
    free (big_key);
    free (new_key);
    sipd_nist_destroy (&nist);     //  with a lingering record left
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_keys),
        cmocka_unit_test (test_life),
        cmocka_unit_test (test_burst),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
