//  test_sipd_registrar — unit tests for sipd_registrar: the REGISTER flow
//  of RFC 3261 §10.3 with digest authentication (challenge, success,
//  wrong password, throttling, stale nonce), expiry handling (Expires
//  header and parameter, 423, shortening), several contacts, removal with
//  Expires: 0 and "*", ordering, bad input, persistence across instances
//  and the status control handler.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_msg.h"
#include "../../sipd/sipd_registrar.h"
#include "digest_client.h"

#include <string.h>
#include <unistd.h>

#define LONG_100                                                             \
    "0123456789012345678901234567890123456789012345678901234567890123456789" \
    "012345678901234567890123456789"
#define LONG_1100                                                            \
    LONG_100 LONG_100 LONG_100 LONG_100 LONG_100 LONG_100 LONG_100 LONG_100  \
        LONG_100 LONG_100 LONG_100

typedef struct {
    cm_config_t *config;
    sipd_registrar_t *registrar;
    char dir[64];           //  data_dir
    int64_t now;            //  fake clock
    sipd_source_t source;   //  where requests come from
} fixture_t;

static int64_t
s_clock (void *arg)
{
    return ((fixture_t *) arg)->now;
}

static sipd_registrar_t *
s_registrar (fixture_t *fx)
{
    sipd_registrar_t *registrar
        = sipd_registrar_new (fx->config, NULL, NULL);
    assert_non_null (registrar);
    sipd_registrar_set_clock (registrar, s_clock, fx);
    return registrar;
}

static int
s_setup (void **state)
{
    parser_init ();
    fixture_t *fx = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (fx->dir, sizeof fx->dir, "/tmp/test_sipd_registrar.XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    char *text = zsys_sprintf ("[general]\n"
                               "data_dir = %s\n"
                               "[sipd]\n"
                               "realm = sipserver\n"
                               "min_expires = 60\n"
                               "max_expires = 600\n"
                               "default_expires = 300\n"
                               "nonce_lifetime = 30\n"
                               "auth_fail_limit = 3\n"
                               "auth_fail_window = 60\n"
                               "auth_block_time = 120\n"
                               "[extensions]\n"
                               "100 = secret100\n"
                               "101 = secret101\n",
                               fx->dir);
    char *error = NULL;
    fx->config = cm_config_load_string (text, "test.conf", &error);
    zstr_free (&text);
    assert_non_null (fx->config);
    fx->now = 1800000000;
    fx->registrar = s_registrar (fx);
    fx->source.transport = SIPD_TRANSPORT_UDP;
    snprintf (fx->source.ip, sizeof fx->source.ip, "127.0.0.1");
    fx->source.port = 5099;
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    sipd_registrar_destroy (&fx->registrar);
    assert_null (fx->registrar);
    sipd_registrar_destroy (&fx->registrar);
    cm_config_destroy (&fx->config);
    char path[128];
    snprintf (path, sizeof path, "%s/spool/registrations.json", fx->dir);
    (void) remove (path);   //  absent when nothing was registered
    snprintf (path, sizeof path, "%s/spool", fx->dir);
    assert_int_equal (rmdir (path), 0);
    assert_int_equal (rmdir (fx->dir), 0);
    free (fx);
    return 0;
}

//  Send a REGISTER and get the response as it would arrive on the wire.
static osip_message_t *
s_send (fixture_t *fx, osip_message_t *request)
{
    osip_message_t *response
        = sipd_registrar_handle (fx->registrar, request, &fx->source);
    assert_non_null (response);
    osip_message_t *wire = dc_wire (response);
    assert_non_null (wire);
    osip_message_free (response);
    return wire;
}

//  Full REGISTER with authentication: unauthenticated attempt (expects
//  401), then the same request with credentials for user/password.
//  Returns the final response. extra: more header lines.
static osip_message_t *
s_register (fixture_t *fx, const char *to_user, const char *user,
            const char *password, const char *call_id, unsigned cseq,
            const char *extra)
{
    osip_message_t *request = dc_register (to_user, call_id, cseq, extra);
    assert_non_null (request);
    osip_message_t *challenge = s_send (fx, request);
    osip_message_free (request);
    assert_int_equal (osip_message_get_status_code (challenge), 401);
    const char *text = dc_challenge (challenge, "WWW-Authenticate", "MD5");
    assert_non_null (text);
    char *auth = dc_authorization (text, user, password, "REGISTER",
                                   "sip:127.0.0.1", 1, "cn");
    char *headers = zsys_sprintf ("Authorization: %s\r\n%s", auth, extra);
    request = dc_register (to_user, call_id, cseq + 1, headers);
    assert_non_null (request);
    osip_message_t *response = s_send (fx, request);
    free (auth);
    zstr_free (&headers);
    osip_message_free (request);
    osip_message_free (challenge);
    return response;
}

static int
s_code (osip_message_t *response)
{
    return osip_message_get_status_code (response);
}

//  expires parameter of the response Contact for uri, or -1.
static int
s_contact_expires (osip_message_t *response, const char *uri)
{
    for (int i = 0; i < osip_list_size (&response->contacts); i++) {
        osip_contact_t *contact
            = (osip_contact_t *) osip_list_get (&response->contacts, i);
        char *text = NULL;
        osip_uri_to_str (contact->url, &text);
        bool match = text && strcmp (text, uri) == 0;
        osip_free (text);
        osip_generic_param_t *param = NULL;
        if (match && osip_contact_param_get_byname (contact, "expires", &param)
                         == 0)
            return atoi (param->gvalue);
    }
    return -1;
}

static void
test_challenge_then_ok (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *request = dc_register (
        "100", "call-1", 1, "Contact: <sip:100@127.0.0.1:5099>\r\n");
    osip_message_t *challenge = s_send (fx, request);
    assert_int_equal (s_code (challenge), 401);
    assert_non_null (dc_challenge (challenge, "WWW-Authenticate", "SHA-256"));
    assert_non_null (dc_challenge (challenge, "WWW-Authenticate", "MD5"));
    osip_message_free (challenge);
    osip_message_free (request);

    osip_message_t *ok = s_register (
        fx, "100", "100", "secret100", "call-1", 1,
        "Contact: <sip:100@127.0.0.1:5099>\r\nUser-Agent: UnitPhone\r\n");
    assert_int_equal (s_code (ok), 200);
    assert_int_equal (s_contact_expires (ok, "sip:100@127.0.0.1:5099"), 300);
    const char *date = sipd_msg_header (ok, "Date");
    assert_non_null (date);
    assert_string_equal (date, "Fri, 15 Jan 2027 08:00:00 GMT");
    osip_message_free (ok);

    sipd_location_t *location = sipd_registrar_location (fx->registrar);
    assert_string_equal (sipd_location_state (location, "100"), "idle");
    sipd_contact_t found[2];
    assert_int_equal (sipd_location_contacts (location, "100", found, 2), 1);
    assert_string_equal (found[0].user_agent, "UnitPhone");
    assert_string_equal (found[0].call_id, "call-1");
    assert_int_equal (found[0].cseq, 2);
    assert_int_equal (found[0].source.port, 5099);
    assert_non_null (sipd_registrar_auth (fx->registrar));
    assert_non_null (sipd_registrar_throttle (fx->registrar));

    //  a long User-Agent is kept truncated
    ok = s_register (fx, "101", "101", "secret101", "call-ua", 1,
                     "Contact: <sip:101@127.0.0.1:5099>\r\n"
                     "User-Agent: " LONG_1100 "\r\n");
    assert_int_equal (s_code (ok), 200);
    osip_message_free (ok);
    assert_int_equal (sipd_location_contacts (location, "101", found, 2), 1);
    assert_int_equal (strlen (found[0].user_agent), 255);

    //  a query (no Contact) lists the bindings with the time left
    fx->now += 100;
    ok = s_register (fx, "100", "100", "secret100", "call-q", 1, "");
    assert_int_equal (s_code (ok), 200);
    assert_int_equal (s_contact_expires (ok, "sip:100@127.0.0.1:5099"), 200);
    osip_message_free (ok);
}

static void
test_sha256_credentials (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *request = dc_register (
        "101", "call-s", 1, "Contact: <sip:101@127.0.0.1:7000>\r\n");
    osip_message_t *challenge = s_send (fx, request);
    osip_message_free (request);
    const char *text = dc_challenge (challenge, "WWW-Authenticate", "SHA-256");
    char *auth = dc_authorization (text, "101", "secret101", "REGISTER",
                                   "sip:127.0.0.1", 1, "x");
    char *headers = zsys_sprintf (
        "Authorization: %s\r\nContact: <sip:101@127.0.0.1:7000>\r\n", auth);
    request = dc_register ("101", "call-s", 2, headers);
    osip_message_t *ok = s_send (fx, request);
    assert_int_equal (s_code (ok), 200);
    osip_message_free (ok);
    //  the same credentials again: replayed nc, fresh stale challenge
    osip_message_free (request);
    request = dc_register ("101", "call-s", 3, headers);
    osip_message_t *stale = s_send (fx, request);
    assert_int_equal (s_code (stale), 401);
    char value[16];
    assert_int_equal (dc_param (dc_challenge (stale, "WWW-Authenticate",
                                              "MD5"),
                                "stale", value, sizeof value),
                      0);
    assert_string_equal (value, "true");
    osip_message_free (stale);
    osip_message_free (request);
    free (auth);
    zstr_free (&headers);
    osip_message_free (challenge);
}

static void
test_wrong_password_and_throttle (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    const char *contact = "Contact: <sip:100@127.0.0.1:5099>\r\n";
    for (int i = 0; i < 3; i++) {
        osip_message_t *response
            = s_register (fx, "100", "100", "guess", "call-w", 1, contact);
        assert_int_equal (s_code (response), 403);
        osip_message_free (response);
    }
    //  now blocked: 403 without a challenge, even for the right password
    osip_message_t *request = dc_register ("100", "call-w", 9, contact);
    osip_message_t *response = s_send (fx, request);
    assert_int_equal (s_code (response), 403);
    osip_message_free (response);
    osip_message_free (request);
    //  another address is not affected
    snprintf (fx->source.ip, sizeof fx->source.ip, "127.0.0.2");
    response = s_register (fx, "100", "100", "secret100", "call-ok", 1,
                           contact);
    assert_int_equal (s_code (response), 200);
    osip_message_free (response);
    //  after the block (and the tick) the first address may try again
    snprintf (fx->source.ip, sizeof fx->source.ip, "127.0.0.1");
    fx->now += 121;
    sipd_registrar_tick (fx->registrar);
    response = s_register (fx, "100", "100", "secret100", "call-ok", 5,
                           contact);
    assert_int_equal (s_code (response), 200);
    osip_message_free (response);
}

static void
test_user_mismatch_and_unknown (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    const char *contact = "Contact: <sip:100@127.0.0.1:5099>\r\n";
    //  101's credentials for 100's registration
    osip_message_t *response
        = s_register (fx, "100", "101", "secret101", "c", 1, contact);
    assert_int_equal (s_code (response), 403);
    osip_message_free (response);
    //  unknown extension: challenged like any other, then 403
    response = s_register (fx, "555", "555", "x", "c", 1, contact);
    assert_int_equal (s_code (response), 403);
    osip_message_free (response);
}

static void
test_expires_rules (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    //  too brief: 423 with Min-Expires
    osip_message_t *response
        = s_register (fx, "100", "100", "secret100", "c", 1,
                      "Contact: <sip:100@127.0.0.1:1>\r\nExpires: 30\r\n");
    assert_int_equal (s_code (response), 423);
    assert_string_equal (sipd_msg_header (response, "Min-Expires"), "60");
    osip_message_free (response);
    response = s_register (fx, "100", "100", "secret100", "c", 3,
                           "Contact: <sip:100@127.0.0.1:1>;expires=59\r\n");
    assert_int_equal (s_code (response), 423);
    osip_message_free (response);
    //  too long: shortened; parameter wins over header
    response = s_register (
        fx, "100", "100", "secret100", "c", 5,
        "Contact: <sip:100@127.0.0.1:1>, <sip:100@127.0.0.1:2>;expires=120\r\n"
        "Expires: 99999999999\r\n");
    assert_int_equal (s_code (response), 200);
    assert_int_equal (s_contact_expires (response, "sip:100@127.0.0.1:1"),
                      600);
    assert_int_equal (s_contact_expires (response, "sip:100@127.0.0.1:2"),
                      120);
    osip_message_free (response);
    //  bad values
    static const char *bad[] = {
        "Contact: <sip:100@127.0.0.1:1>\r\nExpires: soon\r\n",
        "Contact: <sip:100@127.0.0.1:1>\r\nExpires: -5\r\n",
        "Contact: <sip:100@127.0.0.1:1>;expires=1x\r\n",
        "Contact: *\r\n",
        "Contact: *\r\nExpires: 60\r\n",
        "Contact: *, <sip:100@127.0.0.1:1>\r\nExpires: 0\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        response = s_register (fx, "100", "100", "secret100", "c",
                               10 + 2 * (unsigned) i, bad[i]);
        if (s_code (response) != 400)
            fail_msg ("case %zu: %d", i, s_code (response));
        osip_message_free (response);
    }
    //  nothing changed by the refused requests
    sipd_contact_t found[4];
    assert_int_equal (sipd_location_contacts (
                          sipd_registrar_location (fx->registrar), "100",
                          found, 4),
                      2);
}

static void
test_several_contacts_and_removal (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *response = s_register (
        fx, "100", "100", "secret100", "phone-a", 1,
        "Contact: <sip:100@127.0.0.1:1>\r\n");
    assert_int_equal (s_code (response), 200);
    osip_message_free (response);
    response = s_register (fx, "100", "100", "secret100", "phone-b", 1,
                           "Contact: <sip:100@127.0.0.1:2>;expires=100\r\n");
    assert_int_equal (s_code (response), 200);
    assert_int_equal (osip_list_size (&response->contacts), 2);
    assert_int_equal (s_contact_expires (response, "sip:100@127.0.0.1:1"),
                      300);
    assert_int_equal (s_contact_expires (response, "sip:100@127.0.0.1:2"),
                      100);
    osip_message_free (response);

    //  out-of-order CSeq for phone-a's binding: 500, nothing changes
    response = s_register (fx, "100", "100", "secret100", "phone-a", 0,
                           "Contact: <sip:100@127.0.0.1:1>;expires=0\r\n");
    assert_int_equal (s_code (response), 500);
    osip_message_free (response);

    //  Expires: 0 removes one binding
    response = s_register (fx, "100", "100", "secret100", "phone-a", 10,
                           "Contact: <sip:100@127.0.0.1:1>\r\nExpires: 0\r\n");
    assert_int_equal (s_code (response), 200);
    assert_int_equal (osip_list_size (&response->contacts), 1);
    assert_int_equal (s_contact_expires (response, "sip:100@127.0.0.1:2"),
                      100);
    osip_message_free (response);

    //  "*" with phone-b's Call-ID and an old CSeq: aborted (§10.3 step 6)
    response = s_register (fx, "100", "100", "secret100", "phone-b", 0,
                           "Contact: *\r\nExpires: 0\r\n");
    assert_int_equal (s_code (response), 500);
    osip_message_free (response);
    assert_int_equal (sipd_location_size (
                          sipd_registrar_location (fx->registrar)),
                      1);

    //  "*" removes the rest
    response = s_register (fx, "100", "100", "secret100", "phone-c", 1,
                           "Contact: *\r\nExpires: 0\r\n");
    assert_int_equal (s_code (response), 200);
    assert_int_equal (osip_list_size (&response->contacts), 0);
    osip_message_free (response);
    assert_string_equal (
        sipd_location_state (sipd_registrar_location (fx->registrar), "100"),
        "offline");
}

//  A binding with a very long +sip.instance is still listed in the 200
//  with its instance and reg-id (the text outgrows the stack buffer).
static void
test_long_instance (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    char instance[1601];
    memset (instance, 'a', sizeof instance - 1);
    instance[sizeof instance - 1] = '\0';
    char *extra = zsys_sprintf (
        "Contact: <sip:100@127.0.0.1:7>;expires=600;"
        "+sip.instance=\"<urn:uuid:%s>\";reg-id=3\r\n", instance);
    osip_message_t *response
        = s_register (fx, "100", "100", "secret100", "long", 1, extra);
    zstr_free (&extra);
    assert_int_equal (s_code (response), 200);
    char *text = NULL;
    size_t len = 0;
    osip_message_to_str (response, &text, &len);
    assert_non_null (strstr (text, instance));
    assert_non_null (strstr (text, "reg-id=3"));
    assert_non_null (strstr (text, "expires=600"));
    osip_free (text);
    osip_message_free (response);
}

static void
test_expiry_and_persistence (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *response = s_register (
        fx, "100", "100", "secret100", "p", 1,
        "Contact: <sip:100@127.0.0.1:1>;expires=60\r\n"
        "Contact: <sip:100@127.0.0.1:2>;expires=600;"
        "+sip.instance=\"<urn:uuid:abc>\";reg-id=1\r\n");
    assert_int_equal (s_code (response), 200);
    char *text = NULL;
    size_t len = 0;
    osip_message_to_str (response, &text, &len);
    assert_non_null (strstr (text, "+sip.instance=\"<urn:uuid:abc>\""));
    assert_non_null (strstr (text, "reg-id=1"));
    osip_free (text);
    osip_message_free (response);
    sipd_registrar_tick (fx->registrar);    //  writes the file

    //  a restart keeps both bindings
    sipd_registrar_destroy (&fx->registrar);
    fx->registrar = s_registrar (fx);
    sipd_location_t *location = sipd_registrar_location (fx->registrar);
    assert_int_equal (sipd_location_size (location), 2);
    //  the short one expires on time
    fx->now += 60;
    sipd_registrar_tick (fx->registrar);
    assert_int_equal (sipd_location_size (location), 1);
    sipd_contact_t found[2];
    assert_int_equal (sipd_location_contacts (location, "100", found, 2), 1);
    assert_string_equal (found[0].instance, "<urn:uuid:abc>");
}

//  Contact and Expires forms from the RFC 4475 torture categories
//  (cparam01, cparam02, regescrt, scalar02), authenticated, as 100.
static void
test_torture_forms (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    static const struct {
        const char *headers;    //  Contact/Expires lines
        int code;               //  expected answer
        const char *uri;        //  expected binding URI, or NULL
        int expires;            //  its expiry in the 200, or -1
    } cases[] = {
        //  without <>, ;unknownparam is a header parameter (cparam01)
        {"Contact: sip:100@gw1.example.net;unknownparam\r\n", 200,
         "sip:100@gw1.example.net", 300},
        //  inside <>, it belongs to the URI (cparam02)
        {"Contact: <sip:100@gw2.example.net;unknownparam>\r\n", 200,
         "sip:100@gw2.example.net;unknownparam", 300},
        //  compact form, escaped URI headers (regescrt)
        {"m: <sip:100@gw3.example.com?Route=%3Csip:sip.example.com%3E>\r\n",
         200, NULL, -1},
        //  absurdly large Expires (scalar02): capped, then shortened
        {"Expires: 1000000000000000000000000000000000000000000000000000\r\n"
         "Contact: <sip:100@gw4.example.com>\r\n",
         200, "sip:100@gw4.example.com", 600},
        {"Contact: <sip:100@gw5.example.com>;expires=280297596632815\r\n",
         200, "sip:100@gw5.example.com", 600},
        //  parameter names are case-insensitive (RFC 3261 §7.3.1)
        {"Contact: <sip:100@gw6.example.com>;EXPIRES=120\r\n", 200,
         "sip:100@gw6.example.com", 120},
        {"Contact: <sip:100@gw7.example.com>;expires=\r\n", 400, NULL, -1},
        {"Contact: <sip:100@gw7.example.com>;expires=12 0\r\n", 400, NULL,
         -1},
        {"Expires: 12abc\r\nContact: <sip:100@gw7.example.com>\r\n", 400,
         NULL, -1},
        //  contact URIs are bounded
        {"Contact: <sip:100@gw8.example.com;x=" LONG_1100 ">\r\n", 400, NULL,
         -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char call_id[16];
        snprintf (call_id, sizeof call_id, "t%zu", i);
        osip_message_t *response = s_register (
            fx, "100", "100", "secret100", call_id, 1, cases[i].headers);
        if (s_code (response) != cases[i].code)
            fail_msg ("case %zu: %d, want %d", i, s_code (response),
                      cases[i].code);
        if (cases[i].uri
            && s_contact_expires (response, cases[i].uri) != cases[i].expires)
            fail_msg ("case %zu: %s expires %d, want %d", i, cases[i].uri,
                      s_contact_expires (response, cases[i].uri),
                      cases[i].expires);
        osip_message_free (response);
    }
    sipd_contact_t found[SIPD_LOCATION_MAX_CONTACTS];
    assert_int_equal (sipd_location_contacts (
                          sipd_registrar_location (fx->registrar), "100",
                          found, SIPD_LOCATION_MAX_CONTACTS),
                      6);
}

static void
test_not_register (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *options = dc_parse (
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKo\r\n"
        "From: <sip:100@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
        "Call-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
    assert_non_null (options);
    assert_null (sipd_registrar_handle (fx->registrar, options, &fx->source));
    assert_null (sipd_registrar_handle (fx->registrar, NULL, &fx->source));
    osip_message_free (options);
    //  a NULL source is tolerated (no throttling possible)
    osip_message_t *request = dc_register ("100", "n", 1, "");
    osip_message_t *response
        = sipd_registrar_handle (fx->registrar, request, NULL);
    assert_int_equal (s_code (response), 401);
    osip_message_free (response);
    osip_message_free (request);
}

static void
test_status_handler (void **state)
{
    fixture_t *fx = (fixture_t *) *state;
    osip_message_t *response = s_register (
        fx, "101", "101", "secret101", "p", 1,
        "Contact: <sip:101@127.0.0.1:9>\r\nUser-Agent: Status/2\r\n");
    assert_int_equal (s_code (response), 200);
    osip_message_free (response);

    zloop_t *loop = zloop_new ();
    char error[256];
    cm_service_t *service = cm_service_new (
        "sipd", "inproc://test-registrar-status", loop, error, sizeof error);
    assert_non_null (service);
    cm_service_on (service, "status", sipd_registrar_on_status,
                   fx->registrar);
    zsock_t *dealer = zsock_new_dealer (">inproc://test-registrar-status");
    cm_msg_t *request = cm_msg_new ("status", "r1", NULL);
    assert_int_equal (cm_msg_send (request, dealer, NULL), 0);
    cm_msg_destroy (&request);
    //  run the loop until the request is served
    zsock_t *router = cm_service_sock (service);
    zpoller_t *poller = zpoller_new (router, NULL);
    assert_non_null (zpoller_wait (poller, 2000));
    zpoller_destroy (&poller);
    zmsg_t *zmsg = zmsg_recv (router);
    zframe_t *routing_id = zmsg_pop (zmsg);
    cm_msg_t *decoded = cm_msg_decode (&zmsg, error, sizeof error);
    assert_int_equal (sipd_registrar_on_status (service, routing_id, decoded,
                                                fx->registrar),
                      0);
    cm_msg_t *reply = cm_msg_recv (dealer);
    assert_non_null (reply);
    assert_string_equal (cm_msg_type (reply), "status");
    assert_string_equal (cm_msg_id (reply), "r1");
    json_t *list = json_object_get (cm_msg_body (reply), "extensions");
    assert_int_equal (json_array_size (list), 2);
    json_t *ext = json_array_get (list, 1);
    assert_string_equal (json_string_value (json_object_get (ext, "number")),
                         "101");
    assert_string_equal (json_string_value (json_object_get (ext, "state")),
                         "idle");
    json_t *contact = json_array_get (json_object_get (ext, "contacts"), 0);
    assert_string_equal (
        json_string_value (json_object_get (contact, "user_agent")),
        "Status/2");
    assert_int_equal (
        json_integer_value (json_object_get (contact, "expires_in")), 300);
    assert_string_equal (
        json_string_value (json_object_get (json_array_get (list, 0),
                                            "state")),
        "offline");
    cm_msg_destroy (&reply);
    cm_msg_destroy (&decoded);
    zframe_destroy (&routing_id);
    zsock_destroy (&dealer);
    cm_service_destroy (&service);
    zloop_destroy (&loop);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_challenge_then_ok, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_sha256_credentials, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_wrong_password_and_throttle,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_user_mismatch_and_unknown,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_expires_rules, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_several_contacts_and_removal,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_expiry_and_persistence,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_long_instance, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_torture_forms, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_not_register, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_status_handler, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
