//  test_sipd_auth — unit tests for sipd_auth: challenges, MD5 and SHA-256
//  responses (checked against vectors computed independently with Python's
//  hashlib), md5: HA1 passwords, stale and forged nonces, nonce-count
//  replay, malformed and foreign credentials, the used-nonce table.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_auth.h"
#include "../../sipd/sipd_msg.h"
#include "digest_client.h"

#include <string.h>

//  Fixture: the authenticator and a fake clock.
typedef struct {
    sipd_auth_t *auth;
    cm_config_t *config;
    int64_t now;
} fixture_t;

static int64_t
s_clock (void *arg)
{
    return ((fixture_t *) arg)->now;
}

static const char *s_conf
    = "[sipd]\n"
      "realm = sipserver\n"
      "nonce_lifetime = 30\n"
      "[extensions]\n"
      "100 = secret100\n"
      //  HA1 = MD5("101:sipserver:pw101"), computed with hashlib
      "101 = md5:BE4E6CAD75406D35316B2C3AE22CCF45\n";

static int
s_setup (void **state)
{
    parser_init ();
    fixture_t *fx = (fixture_t *) calloc (1, sizeof (fixture_t));
    char *error = NULL;
    fx->config = cm_config_load_string (s_conf, "test.conf", &error);
    assert_non_null (fx->config);
    fx->auth = sipd_auth_new (fx->config);
    assert_non_null (fx->auth);
    fx->now = 1800000000;
    sipd_auth_set_clock (fx->auth, s_clock, fx);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_auth_destroy (&fx->auth);
    assert_null (fx->auth);
    sipd_auth_destroy (&fx->auth);  //  idempotent
    cm_config_destroy (&fx->config);
    free (fx);
    return 0;
}

//  Challenge a REGISTER and return the 401 as received on the wire.
static osip_message_t *
s_challenge (fixture_t *fx, const char *user, bool stale)
{
    osip_message_t *request = dc_register (user, "cid1", 1, "");
    assert_non_null (request);
    osip_message_t *response = sipd_msg_response_new (request, 401, NULL);
    assert_int_equal (sipd_auth_challenge (fx->auth, response, user, stale),
                      0);
    osip_message_t *wire = dc_wire (response);
    assert_non_null (wire);
    osip_message_free (response);
    osip_message_free (request);
    return wire;
}

//  A REGISTER carrying an Authorization value.
static osip_message_t *
s_request_with (const char *user, const char *authorization)
{
    char *extra = zsys_sprintf ("Authorization: %s\r\n", authorization);
    osip_message_t *request = dc_register (user, "cid1", 2, extra);
    zstr_free (&extra);
    assert_non_null (request);
    return request;
}

//  Answer a challenge and verify; returns the result and the user seen.
static sipd_auth_result_t
s_answer (fixture_t *fx, osip_message_t *challenge, const char *algo,
          const char *user, const char *password, unsigned nc, char *seen)
{
    const char *text = dc_challenge (challenge, "WWW-Authenticate", algo);
    assert_non_null (text);
    char *value = dc_authorization (text, user, password, "REGISTER",
                                    "sip:127.0.0.1", nc, "c0ffee");
    assert_non_null (value);
    osip_message_t *request = s_request_with (user, value);
    free (value);
    sipd_auth_result_t result
        = sipd_auth_verify (fx->auth, request, false, seen, 64);
    osip_message_free (request);
    return result;
}

static void
test_challenge_offers_both (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *challenge = s_challenge (fx, "100", false);
    const char *sha = dc_challenge (challenge, "WWW-Authenticate", "SHA-256");
    const char *md5 = dc_challenge (challenge, "WWW-Authenticate", "MD5");
    assert_non_null (sha);
    assert_non_null (md5);
    char value[128];
    assert_int_equal (dc_param (md5, "realm", value, sizeof value), 0);
    assert_string_equal (value, "sipserver");
    assert_int_equal (dc_param (md5, "qop", value, sizeof value), 0);
    assert_string_equal (value, "auth");
    assert_int_not_equal (dc_param (md5, "stale", value, sizeof value), 0);
    //  one nonce for both; answering it twice is a replay, whatever the
    //  algorithm
    char nonce[128];
    assert_int_equal (dc_param (md5, "nonce", value, sizeof value), 0);
    assert_int_equal (dc_param (sha, "nonce", nonce, sizeof nonce), 0);
    assert_string_equal (value, nonce);
    char user[64];
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret100", 1, user),
        SIPD_AUTH_STALE);
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret100", 2, user),
        SIPD_AUTH_OK);
    osip_message_free (challenge);

    //  stale flag; and an MD5-HA1 user is offered MD5 only
    challenge = s_challenge (fx, "101", true);
    assert_null (dc_challenge (challenge, "WWW-Authenticate", "SHA-256"));
    md5 = dc_challenge (challenge, "WWW-Authenticate", "MD5");
    assert_non_null (md5);
    assert_int_equal (dc_param (md5, "stale", value, sizeof value), 0);
    assert_string_equal (value, "true");
    osip_message_free (challenge);

    //  407 uses Proxy-Authenticate; other codes are refused
    osip_message_t *request = dc_register ("100", "cid", 1, "");
    osip_message_t *response = sipd_msg_response_new (request, 407, NULL);
    assert_int_equal (sipd_auth_challenge (fx->auth, response, NULL, false),
                      0);
    assert_non_null (dc_challenge (response, "Proxy-Authenticate", "MD5"));
    osip_message_free (response);
    response = sipd_msg_response_new (request, 403, NULL);
    assert_int_equal (sipd_auth_challenge (fx->auth, response, NULL, false),
                      -1);
    osip_message_free (response);
    osip_message_free (request);
}

static void
test_md5_and_sha256_ok (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    osip_message_t *challenge = s_challenge (fx, "100", false);
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    assert_string_equal (user, "100");
    //  the same nonce (shared by both challenges), so the next nc
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret100", 2, user),
        SIPD_AUTH_OK);
    //  wrong password: failure whatever the nonce
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "wrong", 2, user),
        SIPD_AUTH_FAILED);
    assert_string_equal (user, "100");
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret10", 2, user),
        SIPD_AUTH_FAILED);
    //  unknown user
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "555", "secret100", 1, user),
        SIPD_AUTH_FAILED);
    assert_string_equal (user, "555");
    osip_message_free (challenge);
}

static void
test_md5_ha1_password (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    osip_message_t *challenge = s_challenge (fx, "100", false);
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "101", "pw101", 1, user),
        SIPD_AUTH_OK);
    //  SHA-256 cannot be checked against an MD5 HA1
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "101", "pw101", 1, user),
        SIPD_AUTH_FAILED);
    osip_message_free (challenge);
}

static void
test_stale_nonce (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    osip_message_t *challenge = s_challenge (fx, "100", false);
    fx->now += 31;  //  lifetime is 30 s
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_STALE);
    //  a wrong password with a stale nonce is still a failure
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "bad", 1, user),
        SIPD_AUTH_FAILED);
    osip_message_free (challenge);
    //  just inside the lifetime is fine
    challenge = s_challenge (fx, "100", false);
    fx->now += 30;
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    osip_message_free (challenge);
}

static void
test_replayed_nc (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    osip_message_t *challenge = s_challenge (fx, "100", false);
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    assert_int_equal (sipd_auth_tracked (fx->auth), 1);
    //  same nc again: replay
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_STALE);
    //  higher nc: fine; lower afterwards: replay
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 5, user),
        SIPD_AUTH_OK);
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 3, user),
        SIPD_AUTH_STALE);
    //  nc 0 is never valid
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret100", 0, user),
        SIPD_AUTH_STALE);
    osip_message_free (challenge);

    //  the table (one nonce: SHA-256's was refused before use) is purged
    //  once nonces have expired
    assert_int_equal (sipd_auth_tracked (fx->auth), 1);
    sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), 1);
    fx->now += 32;
    sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), 0);
}

//  The used-nonce table grows past its first size, still refuses replays
//  after growing, and shrinks again once the nonces expire.
static void
test_nonce_table_growth (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    osip_message_t *first = s_challenge (fx, "100", false);
    assert_int_equal (
        s_answer (fx, first, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    for (int i = 0; i < 1500; i++) {
        osip_message_t *challenge = s_challenge (fx, "100", false);
        assert_int_equal (
            s_answer (fx, challenge, "SHA-256", "100", "secret100", 1, user),
            SIPD_AUTH_OK);
        osip_message_free (challenge);
    }
    assert_int_equal (sipd_auth_tracked (fx->auth), 1501);
    assert_int_equal (
        s_answer (fx, first, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_STALE);
    assert_int_equal (
        s_answer (fx, first, "MD5", "100", "secret100", 2, user),
        SIPD_AUTH_OK);
    osip_message_free (first);
    sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), 1501);
    fx->now += 32;
    sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), 0);
}

//  Expiry is per second: ticking once a second drops exactly the nonces
//  whose lifetime (30 s, plus one) ended, whenever they were used, and
//  a nonce used long after its creation expires with its creation time.
static void
test_nonce_expiry_per_second (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    int64_t start = fx->now;
    osip_message_t *late = s_challenge (fx, "100", false);
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j <= i; j++) {  //  i + 1 nonces created at start+i
            osip_message_t *challenge = s_challenge (fx, "100", false);
            assert_int_equal (s_answer (fx, challenge, "MD5", "100",
                                        "secret100", 1, user),
                              SIPD_AUTH_OK);
            osip_message_free (challenge);
        }
        sipd_auth_expire (fx->auth);
        fx->now++;
    }
    //  the one created at start is used at start + 20
    fx->now = start + 20;
    sipd_auth_expire (fx->auth);
    assert_int_equal (
        s_answer (fx, late, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    osip_message_free (late);
    assert_int_equal (sipd_auth_tracked (fx->auth), 16);
    for (; fx->now < start + 31; fx->now++)
        sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), 16);
    //  at start + 31 the late one and the first second's one go
    sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), 14);
    int left = 14;
    for (int i = 1; i < 5; i++) {
        fx->now++;
        sipd_auth_expire (fx->auth);
        left -= i + 1;
        assert_int_equal (sipd_auth_tracked (fx->auth), left);
    }
    assert_int_equal (left, 0);
}

//  Entries expiring at different times are deleted in place; the others
//  stay reachable (replays of them are still refused).
static void
test_nonce_table_deletion (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    enum { BATCH = 400 };
    osip_message_t *kept[BATCH];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < BATCH; i++) {
            osip_message_t *challenge = s_challenge (fx, "100", false);
            assert_int_equal (s_answer (fx, challenge, "MD5", "100",
                                        "secret100", 1, user),
                              SIPD_AUTH_OK);
            if (round == 1)
                kept[i] = challenge;
            else
                osip_message_free (challenge);
        }
        fx->now += 20;
    }
    assert_int_equal (sipd_auth_tracked (fx->auth), 2 * BATCH);
    //  now = start + 40: the first batch (lifetime 30) has expired
    sipd_auth_expire (fx->auth);
    assert_int_equal (sipd_auth_tracked (fx->auth), BATCH);
    fx->now -= 15;  //  back inside the second batch's lifetime
    for (int i = 0; i < BATCH; i++) {
        if (s_answer (fx, kept[i], "MD5", "100", "secret100", 1, user)
            != SIPD_AUTH_STALE)
            fail_msg ("nonce %d of the second batch lost", i);
        assert_int_equal (
            s_answer (fx, kept[i], "MD5", "100", "secret100", 2, user),
            SIPD_AUTH_OK);
        osip_message_free (kept[i]);
    }
    assert_int_equal (sipd_auth_tracked (fx->auth), BATCH);
}

//  A full used-nonce table (more live nonces than its bound) forgets the
//  oldest ones instead of refusing every new nonce; a forgotten nonce is
//  stale from then on (never accepted again), the younger ones are still
//  tracked (replays refused).
static void
test_nonce_table_full (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    sipd_auth_set_max_tracked (fx->auth, 1024);    //  512 live nonces
    enum { BATCH = 300 };
    osip_message_t *old[BATCH], *young[BATCH];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < BATCH; i++) {
            osip_message_t *challenge = s_challenge (fx, "100", false);
            assert_int_equal (s_answer (fx, challenge, "MD5", "100",
                                        "secret100", 1, user),
                              SIPD_AUTH_OK);
            if (round == 0)
                old[i] = challenge;
            else
                young[i] = challenge;
        }
        fx->now += 20;     //  lifetime 30: the first batch is still live
        if (round == 0)
            assert_int_equal (sipd_auth_tracked (fx->auth), BATCH);
    }
    //  the 513th made room by forgetting the first batch
    assert_int_equal (sipd_auth_tracked (fx->auth), BATCH);
    fx->now -= 20;     //  within both batches' lifetime again
    for (int i = 0; i < BATCH; i++) {
        assert_int_equal (
            s_answer (fx, old[i], "MD5", "100", "secret100", 2, user),
            SIPD_AUTH_STALE);
        assert_int_equal (
            s_answer (fx, young[i], "MD5", "100", "secret100", 1, user),
            SIPD_AUTH_STALE);
        assert_int_equal (
            s_answer (fx, young[i], "MD5", "100", "secret100", 2, user),
            SIPD_AUTH_OK);
        osip_message_free (old[i]);
        osip_message_free (young[i]);
    }
    //  fresh nonces still work
    osip_message_t *fresh = s_challenge (fx, "100", false);
    assert_int_equal (
        s_answer (fx, fresh, "SHA-256", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    osip_message_free (fresh);
}

//  Known-answer vectors (Python hashlib) with a nonce sipd never issued:
//  a correct digest over a foreign nonce proves the password, so the
//  result is STALE (fresh challenge), not OK and not FAILED.
static void
test_known_vectors_foreign_nonce (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64];
    const char *md5
        = "Digest username=\"100\", realm=\"sipserver\", "
          "nonce=\"0123456789abcdef\", uri=\"sip:127.0.0.1\", "
          "response=\"2690A797F45BE3E0930B364ED53B8970\", algorithm=MD5, "
          "cnonce=\"c0ffee\", qop=auth, nc=00000001";
    osip_message_t *request = s_request_with ("100", md5);
    assert_int_equal (sipd_auth_verify (fx->auth, request, false, user, 64),
                      SIPD_AUTH_STALE);
    osip_message_free (request);
    const char *sha
        = "Digest username=\"100\", realm=\"sipserver\", "
          "nonce=\"0123456789abcdef\", uri=\"sip:127.0.0.1\", "
          "response=\"78097feda7587971bd4804b45a98c7aac766cb65320aa67a0af0810e"
          "219a8e11\", algorithm=SHA-256, cnonce=\"c0ffee\", qop=auth, "
          "nc=00000001";
    request = s_request_with ("100", sha);
    assert_int_equal (sipd_auth_verify (fx->auth, request, false, user, 64),
                      SIPD_AUTH_STALE);
    osip_message_free (request);
    //  one digit off: failure
    const char *bad
        = "Digest username=\"100\", realm=\"sipserver\", "
          "nonce=\"0123456789abcdef\", uri=\"sip:127.0.0.1\", "
          "response=\"2690a797f45be3e0930b364ed53b8971\", algorithm=MD5, "
          "cnonce=\"c0ffee\", qop=auth, nc=00000001";
    request = s_request_with ("100", bad);
    assert_int_equal (sipd_auth_verify (fx->auth, request, false, user, 64),
                      SIPD_AUTH_FAILED);
    osip_message_free (request);
}

static void
test_missing_and_malformed (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char user[64] = "junk";
    osip_message_t *request = dc_register ("100", "cid", 1, "");
    assert_int_equal (sipd_auth_verify (fx->auth, request, false, user, 64),
                      SIPD_AUTH_MISSING);
    assert_string_equal (user, "");
    //  Proxy-Authorization is not looked at for proxy=false and vice versa
    osip_message_free (request);
    static const char *cases[][2] = {
        //  other realm: not for us
        {"Digest username=\"100\", realm=\"other\", nonce=\"n\", "
         "uri=\"sip:127.0.0.1\", response=\"00\"",
         "missing"},
        {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "missing"},
        //  no response parameter
        {"Digest username=\"100\", realm=\"sipserver\", nonce=\"n\", "
         "uri=\"sip:127.0.0.1\"",
         "malformed"},
        //  qop without nc/cnonce
        {"Digest username=\"100\", realm=\"sipserver\", nonce=\"n\", "
         "uri=\"sip:127.0.0.1\", response=\"00\", qop=auth",
         "malformed"},
        //  digest-uri naming another resource
        {"Digest username=\"100\", realm=\"sipserver\", nonce=\"n\", "
         "uri=\"sip:evil.example.com\", response=\"00\"",
         "malformed"},
        {"Digest username=\"100\", realm=\"sipserver\", nonce=\"n\", "
         "uri=\"not a uri\", response=\"00\"",
         "malformed"},
        //  algorithm and qop never offered
        {"Digest username=\"100\", realm=\"sipserver\", nonce=\"n\", "
         "uri=\"sip:127.0.0.1\", response=\"00\", algorithm=MD5-sess",
         "failed"},
        {"Digest username=\"100\", realm=\"sipserver\", nonce=\"n\", "
         "uri=\"sip:127.0.0.1\", response=\"00\", qop=auth-int, "
         "nc=00000001, cnonce=\"x\"",
         "failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        request = s_request_with ("100", cases[i][0]);
        sipd_auth_result_t result
            = sipd_auth_verify (fx->auth, request, false, user, 64);
        sipd_auth_result_t want = strcmp (cases[i][1], "missing") == 0
                                      ? SIPD_AUTH_MISSING
                                  : strcmp (cases[i][1], "malformed") == 0
                                      ? SIPD_AUTH_MALFORMED
                                      : SIPD_AUTH_FAILED;
        if (result != want)
            fail_msg ("case %zu: got %d want %d", i, result, want);
        osip_message_free (request);
    }
}

static void
test_proxy_authorization (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *request = dc_register ("100", "cid", 1, "");
    osip_message_t *response = sipd_msg_response_new (request, 407, NULL);
    assert_int_equal (sipd_auth_challenge (fx->auth, response, NULL, false),
                      0);
    const char *text = dc_challenge (response, "Proxy-Authenticate", "MD5");
    assert_non_null (text);
    char *value = dc_authorization (text, "100", "secret100", "REGISTER",
                                    "sip:127.0.0.1", 1, "abc");
    char *extra = zsys_sprintf ("Proxy-Authorization: %s\r\n", value);
    osip_message_t *authed = dc_register ("100", "cid", 2, extra);
    char user[64];
    assert_int_equal (sipd_auth_verify (fx->auth, authed, false, user, 64),
                      SIPD_AUTH_MISSING);
    assert_int_equal (sipd_auth_verify (fx->auth, authed, true, user, 64),
                      SIPD_AUTH_OK);
    assert_true (sipd_auth_has_user (fx->auth, "100"));
    assert_false (sipd_auth_has_user (fx->auth, "999"));
    assert_false (sipd_auth_has_user (fx->auth, NULL));
    free (value);
    zstr_free (&extra);
    osip_message_free (authed);
    osip_message_free (response);
    osip_message_free (request);
}

static void
test_md5_only_user_agents (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    static const struct {
        const char *header;
        bool sha256;
    } cases[] = {
        {"User-Agent: baresip v1.0.0 (x86_64/linux)\r\n", false},
        {"User-Agent: BareSIP/2\r\n", false},
        {"User-Agent: Linphone/5.1\r\n", true},
        {"User-Agent: my baresip\r\n", true},
        {"", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osip_message_t *request = dc_register ("100", "ua", 1,
                                               cases[i].header);
        osip_message_t *response = sipd_msg_response_new (request, 401, NULL);
        assert_int_equal (sipd_auth_challenge_request (fx->auth, response,
                                                       request, "100", false),
                          0);
        assert_non_null (dc_challenge (response, "WWW-Authenticate", "MD5"));
        if (cases[i].sha256 != (dc_challenge (response, "WWW-Authenticate",
                                              "SHA-256")
                                != NULL))
            fail_msg ("case %zu: SHA-256 offer wrong", i);
        osip_message_free (response);
        osip_message_free (request);
    }
}

static void
test_bad_config (void **state)
{
    (void) state;
    static const char *bad[] = {
        "[extensions]\n100 = md5:xyz\n",
        "[sipd]\ndigest_algorithms = SHA-1\n",
        "[sipd]\ndigest_algorithms = MD5,MD5\n",
        "[sipd]\ndigest_algorithms = ,\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *error = NULL;
        cm_config_t *config
            = cm_config_load_string (bad[i], "bad.conf", &error);
        assert_non_null (config);
        assert_null (sipd_auth_new (config));
        cm_config_destroy (&config);
    }
}

//  The first challenge header, as most phones read it.
static const char *
s_first_algorithm (osip_message_t *response, char *out, size_t size)
{
    osip_www_authenticate_t *w = (osip_www_authenticate_t *) osip_list_get (
        &response->www_authenticates, 0);
    assert_non_null (w);
    snprintf (out, size, "%s", w->algorithm);
    return out;
}

static void
test_algorithm_order (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char first[32];
    osip_message_t *challenge = s_challenge (fx, "100", false);
    assert_string_equal (s_first_algorithm (challenge, first, sizeof first),
                         "MD5");
    osip_message_free (challenge);

    //  SHA-256 first, or SHA-256 only
    char *error = NULL;
    cm_config_t *config = cm_config_load_string (
        "[sipd]\ndigest_algorithms = sha-256, md5\n[extensions]\n"
        "100 = secret100\n101 = md5:BE4E6CAD75406D35316B2C3AE22CCF45\n",
        "x", &error);
    sipd_auth_t *auth = fx->auth;
    fx->auth = sipd_auth_new (config);
    challenge = s_challenge (fx, "100", false);
    assert_string_equal (s_first_algorithm (challenge, first, sizeof first),
                         "SHA-256");
    osip_message_free (challenge);
    sipd_auth_destroy (&fx->auth);
    cm_config_destroy (&config);

    config = cm_config_load_string (
        "[sipd]\ndigest_algorithms = SHA-256\n[extensions]\n"
        "100 = secret100\n101 = md5:BE4E6CAD75406D35316B2C3AE22CCF45\n",
        "x", &error);
    fx->auth = sipd_auth_new (config);
    char user[64];
    challenge = s_challenge (fx, "100", false);
    assert_null (dc_challenge (challenge, "WWW-Authenticate", "MD5"));
    assert_int_equal (
        s_answer (fx, challenge, "SHA-256", "100", "secret100", 1, user),
        SIPD_AUTH_OK);
    osip_message_free (challenge);
    //  an MD5 answer is refused when MD5 is not offered...
    challenge = s_challenge (fx, "101", false);
    assert_non_null (dc_challenge (challenge, "WWW-Authenticate", "MD5"));
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "100", "secret100", 1, user),
        SIPD_AUTH_FAILED);
    //  ...except from a user whose HA1 allows nothing else
    assert_int_equal (
        s_answer (fx, challenge, "MD5", "101", "pw101", 1, user),
        SIPD_AUTH_OK);
    osip_message_free (challenge);
    //  ...or from a User-Agent of md5_only_user_agents
    osip_message_t *request
        = dc_register ("100", "ua", 1, "User-Agent: baresip 1.0\r\n");
    osip_message_t *response = sipd_msg_response_new (request, 401, NULL);
    assert_int_equal (sipd_auth_challenge_request (fx->auth, response,
                                                   request, "100", false),
                      0);
    assert_null (dc_challenge (response, "WWW-Authenticate", "SHA-256"));
    char *value = dc_authorization (
        dc_challenge (response, "WWW-Authenticate", "MD5"), "100",
        "secret100", "REGISTER", "sip:127.0.0.1", 1, "k");
    char *extra = zsys_sprintf (
        "User-Agent: baresip 1.0\r\nAuthorization: %s\r\n", value);
    osip_message_t *authed = dc_register ("100", "ua", 2, extra);
    assert_int_equal (sipd_auth_verify (fx->auth, authed, false, user, 64),
                      SIPD_AUTH_OK);
    free (value);
    zstr_free (&extra);
    osip_message_free (authed);
    osip_message_free (response);
    osip_message_free (request);
    sipd_auth_destroy (&fx->auth);
    cm_config_destroy (&config);
    fx->auth = auth;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_challenge_offers_both, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_md5_and_sha256_ok, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_md5_ha1_password, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_stale_nonce, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replayed_nc, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_nonce_table_growth, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_nonce_expiry_per_second,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_nonce_table_deletion, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_nonce_table_full, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_known_vectors_foreign_nonce,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_missing_and_malformed, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_proxy_authorization, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_algorithm_order, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_md5_only_user_agents, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_bad_config),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
