//  test_sipd_msg — unit tests for sipd_msg: response building, header
//  lookup, header adding and serialization, bad input included.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_msg.h"

#include <stdlib.h>
#include <string.h>

static const char *s_register =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
    "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKother\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:100@example.com>\r\n"
    "From: <sip:100@example.com>;tag=456248\r\n"
    "Call-ID: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: <sip:100@192.0.2.1:5060>\r\n"
    "X-Custom: hello\r\n"
    "Content-Length: 0\r\n\r\n";

static osip_message_t *
s_parse (const char *text)
{
    osip_message_t *msg = NULL;
    assert_int_equal (osip_message_init (&msg), 0);
    if (osip_message_parse (msg, text, strlen (text)) != 0) {
        osip_message_free (msg);
        return NULL;
    }
    return msg;
}

static int
s_setup (void **state)
{
    (void) state;
    parser_init ();
    return 0;
}

static void
test_response_new (void **state)
{
    (void) state;
    osip_message_t *request = s_parse (s_register);
    assert_non_null (request);
    osip_message_t *response = sipd_msg_response_new (request, 200, NULL);
    assert_non_null (response);
    assert_int_equal (osip_message_get_status_code (response), 200);
    assert_string_equal (osip_message_get_reason_phrase (response), "OK");
    assert_int_equal (osip_list_size (&response->vias), 2);
    osip_via_t *via = osip_list_get (&response->vias, 0);
    assert_string_equal (via->host, "192.0.2.1");
    assert_string_equal (response->call_id->number, "843817637684230");
    assert_string_equal (response->cseq->method, "REGISTER");
    assert_string_equal (response->cseq->number, "1826");
    //  a To tag is added for code > 100
    osip_generic_param_t *tag = NULL;
    assert_int_equal (osip_to_get_tag (response->to, &tag), 0);
    assert_non_null (tag);
    assert_non_null (tag->gvalue);
    //  32 random bits as 8 lowercase hex digits
    assert_int_equal (strlen (tag->gvalue), 8);
    assert_int_equal (strspn (tag->gvalue, "0123456789abcdef"), 8);
    assert_string_equal (response->content_length->value, "0");

    size_t len = 0;
    char *text = sipd_msg_serialize (response, &len);
    assert_non_null (text);
    assert_int_equal (strlen (text), len);
    assert_true (strncmp (text, "SIP/2.0 200 OK\r\n", 16) == 0);
    osip_free (text);
    osip_message_free (response);
    osip_message_free (request);
}

static void
test_response_reason_and_100 (void **state)
{
    (void) state;
    osip_message_t *request = s_parse (s_register);
    assert_non_null (request);
    osip_message_t *response
        = sipd_msg_response_new (request, 400, "Bad CSeq");
    assert_non_null (response);
    assert_string_equal (osip_message_get_reason_phrase (response),
                         "Bad CSeq");
    osip_message_free (response);

    //  100 Trying gets no To tag
    response = sipd_msg_response_new (request, 100, NULL);
    assert_non_null (response);
    osip_generic_param_t *tag = NULL;
    osip_to_get_tag (response->to, &tag);
    assert_null (tag);
    osip_message_free (response);

    //  an existing To tag is kept
    osip_to_set_tag (request->to, osip_strdup ("abc"));
    response = sipd_msg_response_new (request, 486, NULL);
    assert_non_null (response);
    assert_int_equal (osip_to_get_tag (response->to, &tag), 0);
    assert_string_equal (tag->gvalue, "abc");
    osip_message_free (response);
    osip_message_free (request);
}

static void
test_response_bad_input (void **state)
{
    (void) state;
    assert_null (sipd_msg_response_new (NULL, 200, NULL));
    osip_message_t *request = s_parse (s_register);
    assert_non_null (request);
    assert_null (sipd_msg_response_new (request, 99, NULL));
    assert_null (sipd_msg_response_new (request, 700, NULL));

    //  a response is not a request
    osip_message_t *response = sipd_msg_response_new (request, 200, NULL);
    assert_non_null (response);
    assert_null (sipd_msg_response_new (response, 200, NULL));
    osip_message_free (response);

    //  missing Call-ID
    osip_call_id_free (request->call_id);
    request->call_id = NULL;
    assert_null (sipd_msg_response_new (request, 200, NULL));
    osip_message_free (request);

    //  missing Via
    request = s_parse ("OPTIONS sip:a@b SIP/2.0\r\n"
                       "To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\n"
                       "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
    assert_non_null (request);
    assert_null (sipd_msg_response_new (request, 200, NULL));
    osip_message_free (request);
}

static void
test_header_lookup_and_add (void **state)
{
    (void) state;
    osip_message_t *request = s_parse (s_register);
    assert_non_null (request);
    assert_string_equal (sipd_msg_header (request, "max-forwards"), "70");
    assert_string_equal (sipd_msg_header (request, "X-CUSTOM"), "hello");
    assert_null (sipd_msg_header (request, "Require"));
    assert_null (sipd_msg_header (request, NULL));
    assert_null (sipd_msg_header (NULL, "Require"));

    assert_int_equal (sipd_msg_add_header (request, "Require", "foo"), 0);
    assert_string_equal (sipd_msg_header (request, "require"), "foo");
    assert_int_equal (sipd_msg_add_header (request, NULL, "x"), -1);
    assert_int_equal (sipd_msg_add_header (request, "X-A", NULL), -1);
    assert_int_equal (sipd_msg_add_header (NULL, "X-A", "b"), -1);

    char *text = sipd_msg_serialize (request, NULL);
    assert_non_null (text);
    assert_non_null (strstr (text, "Require: foo\r\n"));
    osip_free (text);
    assert_null (sipd_msg_serialize (NULL, NULL));
    osip_message_free (request);
}

//  The cached form is reused only while the message is unchanged.
static void
test_serialize_cached (void **state)
{
    (void) state;
    osip_message_t *request = s_parse (s_register);
    assert_non_null (request);
    osip_message_t *response = sipd_msg_response_new (request, 200, NULL);
    assert_non_null (response);
    size_t len = 0, len2 = 0;
    char *first = sipd_msg_serialize (response, &len);
    assert_non_null (first);
    char *again = sipd_msg_serialize_cached (response, &len2);
    assert_non_null (again);
    assert_int_equal (len, len2);
    assert_memory_equal (first, again, len);
    osip_free (again);

    //  a libosip2 setter invalidates the cache
    assert_int_equal (sipd_msg_add_header (response, "X-Late", "1"), 0);
    again = sipd_msg_serialize_cached (response, &len2);
    assert_non_null (again);
    assert_non_null (strstr (again, "X-Late: 1\r\n"));
    assert_true (len2 > len);
    osip_free (again);

    //  a direct edit needs osip_message_force_update (documented)
    osip_free (response->reason_phrase);
    response->reason_phrase = osip_strdup ("Fine");
    osip_message_force_update (response);
    again = sipd_msg_serialize_cached (response, &len2);
    assert_non_null (again);
    assert_non_null (strstr (again, "SIP/2.0 200 Fine\r\n"));
    osip_free (again);

    //  never serialized: built from scratch
    char *fresh = sipd_msg_serialize_cached (request, &len2);
    assert_non_null (fresh);
    assert_non_null (strstr (fresh, "REGISTER sip:example.com SIP/2.0\r\n"));
    osip_free (fresh);
    assert_null (sipd_msg_serialize_cached (NULL, NULL));
    osip_free (first);
    osip_message_free (response);
    osip_message_free (request);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_response_new),
        cmocka_unit_test (test_response_reason_and_100),
        cmocka_unit_test (test_response_bad_input),
        cmocka_unit_test (test_header_lookup_and_add),
        cmocka_unit_test (test_serialize_cached),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
