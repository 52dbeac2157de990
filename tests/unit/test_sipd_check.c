//  test_sipd_check — unit tests for sipd_check: each class of verdict
//  (valid, 400 naming the problem, 405, 416, 420, 483, 505, 513, 415,
//  drop) on hand-written messages, plus the libosip2-refused but legal
//  syntax that must get through.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_check.h"
#include "../../sipd/sipd_msg.h"

#include <stdio.h>
#include <string.h>

static const sipd_check_policy_t s_policy = {
    .max_message = 65536,
    .allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER",
    .supported = "path, outbound"};

//  A request from parts; headers is a block of "Name: value\r\n" lines.
static char *
s_request (const char *start, const char *headers, const char *body)
{
    static char buf[70000];
    snprintf (buf, sizeof buf, "%s\r\n%s\r\n%s", start, headers,
              body ? body : "");
    return buf;
}

#define BASE_HEADERS(method)                                                 \
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"                    \
    "To: <sip:100@example.com>\r\n"                                          \
    "From: <sip:200@example.com>;tag=1\r\n"                                  \
    "Call-ID: abc@192.0.2.1\r\n"                                             \
    "CSeq: 7 " method "\r\n"                                                 \
    "Max-Forwards: 70\r\n"

static int
s_check (const char *text, osip_message_t **msg_p, sipd_check_result_t *r)
{
    return sipd_check_message (text, strlen (text), &s_policy, msg_p, r);
}

static void
s_expect (const char *text, int code, const char *reason)
{
    osip_message_t *msg = NULL;
    sipd_check_result_t r;
    int rc = s_check (text, &msg, &r);
    if (rc != code)
        fprintf (stderr, "got %d %s for:\n%s\n", rc, r.reason, text);
    assert_int_equal (rc, code);
    assert_int_equal (r.code, code);
    if (reason)
        assert_string_equal (r.reason, reason);
    if (code >= 0) {
        assert_non_null (msg);
        //  every answerable verdict comes with a request we can answer
        if (code > 0) {
            osip_message_t *response
                = sipd_msg_response_new (msg, code, r.reason);
            assert_non_null (response);
            osip_message_free (response);
        }
    }
    else
        assert_null (msg);
    osip_message_free (msg);
}

static void
s_quiet (const char *file, int line, osip_trace_level_t level,
         const char *fmt, va_list ap)
{
    (void) file, (void) line, (void) level, (void) fmt, (void) ap;
}

static int
s_setup (void **state)
{
    (void) state;
    parser_init ();
    //  libosip2 traces parse errors to stderr by default
    osip_trace_initialize_func (OSIP_INFO4, s_quiet);
    return 0;
}

static void
test_valid (void **state)
{
    (void) state;
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS") "Content-Length: 0\r\n",
                         NULL),
              0, NULL);
    //  compact forms, folded lines, odd spacing (RFC 4475 §3.1.1.1)
    s_expect ("REGISTER sip:example.com SIP/2.0\r\n"
              "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2\r\n"
              "t: <sip:100@example.com>\r\n"
              "f  :  <sip:100@example.com>\r\n ;tag=9\r\n"
              "i: xyz\r\ncseq: 0009\r\n  REGISTER\r\n"
              "Max-Forwards: 0068\r\nl: 0\r\n\r\n",
              0, NULL);
    //  ACK and CANCEL need not be in Allow
    s_expect (s_request ("CANCEL sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("CANCEL"), NULL),
              0, NULL);
    //  supported Require passes
    s_expect (s_request ("REGISTER sip:example.com SIP/2.0",
                         BASE_HEADERS ("REGISTER") "Require: path\r\n", NULL),
              0, NULL);
    //  a response
    s_expect ("SIP/2.0 180 Ringing\r\n" BASE_HEADERS ("INVITE")
              "Content-Length: 0\r\n\r\n",
              0, NULL);
}

static void
test_multipart (void **state)
{
    (void) state;
    //  a multipart body stays one opaque body; Content-Type survives
    const char *body = "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
                       "--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                       "--b1--\r\n";
    char headers[512];
    snprintf (headers, sizeof headers,
              BASE_HEADERS ("INVITE") "Content-Type: multipart/mixed;"
              "boundary=b1\r\nContent-Length: %zu\r\n", strlen (body));
    osip_message_t *msg = NULL;
    sipd_check_result_t r;
    char *text = s_request ("INVITE sip:100@example.com SIP/2.0", headers,
                            body);
    assert_int_equal (s_check (text, &msg, &r), 0);
    assert_non_null (msg->content_type);
    assert_string_equal (msg->content_type->type, "multipart");
    assert_int_equal (osip_list_size (&msg->bodies), 1);
    assert_null (sipd_msg_header (msg, "X-Sipd-Multipart-Type"));
    osip_message_free (msg);
    //  a broken part (libosip2 leaked on this) is just a body
    snprintf (headers, sizeof headers,
              BASE_HEADERS ("INVITE") "c: multipart/mixed;boundary=b1\r\n"
              "Content-Length: 20\r\n");
    text = s_request ("INVITE sip:100@example.com SIP/2.0", headers,
                      "--b1\r\nContent-Type:\r\n");
    assert_int_equal (s_check (text, &msg, &r), 0);
    osip_message_free (msg);
}

static void
test_start_line (void **state)
{
    (void) state;
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/3.0",
                         BASE_HEADERS ("OPTIONS"), NULL),
              505, "Version Not Supported");
    s_expect (s_request ("OPTIONS  sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS"), NULL),
              400, "Bad Request-Line");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0 ",
                         BASE_HEADERS ("OPTIONS"), NULL),
              400, "Bad Request-Line");
    s_expect (s_request ("OPTIONS <sip:100@example.com> SIP/2.0",
                         BASE_HEADERS ("OPTIONS"), NULL),
              400, "Bad Request-URI");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/two",
                         BASE_HEADERS ("OPTIONS"), NULL),
              400, "Bad SIP Version");
    s_expect (s_request ("OPTIONS gopher://example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS"), NULL),
              416, "Unsupported URI Scheme");
    s_expect (s_request ("OPT\"IONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS"), NULL),
              400, "Bad Method");
}

static void
test_headers (void **state)
{
    (void) state;
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("INVITE"), NULL),
              400, "CSeq Method Mismatch");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:200@example.com>;tag=1\r\n"
                         "CSeq: 1 OPTIONS\r\n",
                         NULL),
              400, "Missing Call-ID Header");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:200@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 99999999999 OPTIONS\r\n",
                         NULL),
              400, "Bad CSeq Header");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS") "Expires: soon\r\n", NULL),
              400, "Bad Expires Header");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:200@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"
                         "Max-Forwards: 300\r\n",
                         NULL),
              400, "Bad Max-Forwards Header");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS")
                         "Date: Fri, 01 Jan 2010 16:00:00 EST\r\n",
                         NULL),
              400, "Bad Date Header");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS") "Content-Length: 40\r\n",
                         "short"),
              400, "Content-Length Larger Than Body");
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS") "Content-Length: -3\r\n",
                         NULL),
              400, NULL);
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("OPTIONS")
                         "From: <sip:300@example.com>;tag=2\r\n",
                         NULL),
              400, "Multiple From Headers");
    //  an unparseable To is named; the answer still goes out
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
                         "To: \"unterminated <sip:100@example.com>\r\n"
                         "From: <sip:200@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n",
                         NULL),
              400, "Bad To Header");
    s_expect (s_request ("REGISTER sip:example.com SIP/2.0",
                         BASE_HEADERS ("REGISTER")
                         "Contact: sip:100@192.0.2.1?Route=%3Csip:x%3E\r\n",
                         NULL),
              400, "Bad Contact Header");
    s_expect (s_request ("INVITE sip:100@example.com?Route=x SIP/2.0",
                         BASE_HEADERS ("INVITE"), NULL),
              400, "Bad Request-URI");
}

static void
test_policy (void **state)
{
    (void) state;
    osip_message_t *msg = NULL;
    sipd_check_result_t r;
    int rc = s_check (s_request ("FROBNICATE sip:100@example.com SIP/2.0",
                                 BASE_HEADERS ("FROBNICATE"), NULL),
                      &msg, &r);
    assert_int_equal (rc, 405);
    assert_string_equal (r.hname, "Allow");
    assert_string_equal (r.hvalue, s_policy.allow);
    osip_message_free (msg);

    rc = s_check (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                             BASE_HEADERS ("OPTIONS")
                             "Require: foo, path\r\nRequire: bar\r\n",
                             NULL),
                  &msg, &r);
    assert_int_equal (rc, 420);
    assert_string_equal (r.hname, "Unsupported");
    assert_string_equal (r.hvalue, "foo, bar");
    osip_message_free (msg);

    s_expect (s_request ("REGISTER sip:example.com SIP/2.0",
                         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:100@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 1 REGISTER\r\n"
                         "Max-Forwards: 0\r\n",
                         NULL),
              483, "Too Many Hops");
    //  OPTIONS with Max-Forwards 0 is answered by us (RFC 3261 §11)
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:100@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"
                         "Max-Forwards: 0\r\n",
                         NULL),
              0, NULL);
    s_expect (s_request ("INVITE sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("INVITE")
                         "Content-Type: text/plain\r\nContent-Length: 5\r\n",
                         "hello"),
              415, "Unsupported Media Type");

    //  too large
    static char big[70000];
    int n = snprintf (big, sizeof big, "OPTIONS sip:100@example.com SIP/2.0"
                      "\r\n" BASE_HEADERS ("OPTIONS") "X-Pad: ");
    memset (big + n, 'a', 66000);
    memcpy (big + n + 66000, "\r\n\r\n", 5);
    s_expect (big, 513, "Message Too Large");
}

static void
test_drop (void **state)
{
    (void) state;
    //  no Via: nowhere to answer
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:200@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n",
                         NULL),
              -1, NULL);
    //  broken Via
    s_expect (s_request ("OPTIONS sip:100@example.com SIP/2.0",
                         "Via: SIP/2.0/UDP ;;;\r\n"
                         "To: <sip:100@example.com>\r\n"
                         "From: <sip:200@example.com>;tag=1\r\n"
                         "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n",
                         NULL),
              -1, NULL);
    //  a bad ACK is never answered
    s_expect (s_request ("ACK sip:100@example.com SIP/2.0",
                         BASE_HEADERS ("INVITE"), NULL),
              -1, NULL);
    //  responses with impossible codes or CSeq
    s_expect ("SIP/2.0 4294967301 Big\r\n" BASE_HEADERS ("INVITE") "\r\n", -1,
              NULL);
    s_expect ("SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
              "To: <sip:100@example.com>\r\nFrom: <sip:2@e>;tag=1\r\n"
              "Call-ID: a\r\nCSeq: 92923948347723040233 OPTIONS\r\n\r\n",
              -1, NULL);
    //  garbage of every kind
    s_expect ("", -1, NULL);
    s_expect ("\r\n\r\n", -1, NULL);
    s_expect ("hello world", -1, NULL);
    osip_message_t *msg = NULL;
    sipd_check_result_t r;
    const char nul[] = "OPTIONS\0sip:x SIP/2.0\r\n\r\n";
    assert_int_equal (sipd_check_message (nul, sizeof nul, &s_policy, &msg,
                                          &r),
                      -1);
    assert_null (msg);
    assert_int_equal (sipd_check_message (NULL, 0, &s_policy, &msg, &r), -1);
}

static void
test_token (void **state)
{
    (void) state;
    assert_true (sipd_check_is_token ("INVITE", 6));
    assert_true (sipd_check_is_token ("!interesting-Method0123_*+`.%'~", 31));
    assert_false (sipd_check_is_token ("IN VITE", 7));
    assert_false (sipd_check_is_token ("", 0));
    assert_false (sipd_check_is_token (NULL, 3));
    assert_false (sipd_check_is_token ("a:b", 3));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_valid),   cmocka_unit_test (test_multipart),
        cmocka_unit_test (test_start_line),
        cmocka_unit_test (test_headers), cmocka_unit_test (test_policy),
        cmocka_unit_test (test_drop),    cmocka_unit_test (test_token),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
