//  test_sipd_leg — unit tests for sipd_leg: caller leg from an INVITE,
//  callee leg, in-dialog requests, ACK, dialog update from responses,
//  CSeq checks, response tagging, bodies, bad input.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_leg.h"
#include "../../sipd/sipd_msg.h"

#include <stdlib.h>
#include <string.h>

static const char *s_invite
    = "INVITE sip:101@127.0.0.1:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5201;branch=z9hG4bKabc;rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: \"Alice\" <sip:100@127.0.0.1>;tag=a1\r\n"
      "To: <sip:101@127.0.0.1>\r\n"
      "Call-ID: call-1@127.0.0.1\r\n"
      "CSeq: 20 INVITE\r\n"
      "Record-Route: <sip:p1.example.com;lr>\r\n"
      "Contact: <sip:100-0x55@127.0.0.1:5201;transport=udp>\r\n"
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

static char *
s_text (osip_message_t *msg)
{
    size_t len;
    char *text = sipd_msg_serialize (msg, &len);
    assert_non_null (text);
    return text;
}

static int
s_setup (void **state)
{
    (void) state;
    parser_init ();
    return 0;
}

static void
test_uas_leg (void **state)
{
    (void) state;
    osip_message_t *invite = s_parse (s_invite);
    sipd_source_t src = {SIPD_TRANSPORT_UDP, "127.0.0.1", 5201, 0};
    sipd_leg_t *leg = sipd_leg_new_uas (invite, &src, "127.0.0.1");
    assert_non_null (leg);
    assert_string_equal (sipd_leg_call_id (leg), "call-1@127.0.0.1");
    assert_string_equal (sipd_leg_remote_tag (leg), "a1");
    assert_string_equal (sipd_leg_remote_user (leg), "100");
    assert_true (strlen (sipd_leg_local_tag (leg)) >= 8);
    assert_int_equal (sipd_leg_dest (leg)->port, 5201);
    assert_non_null (sipd_leg_sdp (leg));

    //  A BYE toward the caller: To/From swapped, our tag, their Contact.
    osip_message_t *bye
        = sipd_leg_request (leg, "BYE", "<sip:sipd@127.0.0.1:5060>", NULL,
                            NULL);
    assert_non_null (bye);
    char *text = s_text (bye);
    assert_non_null (strstr (text, "BYE sip:100-0x55@127.0.0.1:5201;"
                                   "transport=udp SIP/2.0\r\n"));
    assert_non_null (strstr (text, "tag=a1"));
    assert_non_null (strstr (text, sipd_leg_local_tag (leg)));
    assert_non_null (strstr (text, "CSeq: 1 BYE"));
    assert_non_null (strstr (text, "Route: <sip:p1.example.com;lr>"));
    assert_non_null (strstr (text, "Content-Length: 0"));
    osip_from_t *from = bye->from;
    assert_string_equal (from->url->username, "101");
    osip_free (text);
    osip_message_free (bye);

    //  Response tagging: 180 and 200 carry the same To tag.
    osip_message_t *ringing = sipd_msg_response_new (invite, 180, NULL);
    assert_int_equal (sipd_leg_tag_response (leg, ringing), 0);
    osip_generic_param_t *tag = NULL;
    osip_to_get_tag (ringing->to, &tag);
    assert_string_equal (tag->gvalue, sipd_leg_local_tag (leg));
    osip_message_free (ringing);

    //  In-dialog requests: CSeq must not go down.
    osip_message_t *reinvite = s_parse (s_invite);
    osip_free (reinvite->cseq->number);
    osip_cseq_set_number (reinvite->cseq, osip_strdup ("21"));
    assert_int_equal (sipd_leg_check_request (leg, reinvite), 0);
    osip_free (reinvite->cseq->number);
    osip_cseq_set_number (reinvite->cseq, osip_strdup ("5"));
    assert_int_equal (sipd_leg_check_request (leg, reinvite), -1);
    osip_message_free (reinvite);
    assert_int_equal (sipd_leg_check_request (leg, NULL), -1);

    sipd_leg_destroy (&leg);
    assert_null (leg);
    sipd_leg_destroy (&leg);
    osip_message_free (invite);
}

static void
test_uas_bad_invite (void **state)
{
    (void) state;
    sipd_source_t src = {SIPD_TRANSPORT_UDP, "127.0.0.1", 5201, 0};
    assert_null (sipd_leg_new_uas (NULL, &src, "127.0.0.1"));
    //  No From tag.
    char *text = strdup (s_invite);
    char *p = strstr (text, ";tag=a1");
    memcpy (p, "       ", 7);
    osip_message_t *invite = s_parse (text);
    assert_non_null (invite);
    assert_null (sipd_leg_new_uas (invite, &src, "127.0.0.1"));
    osip_message_free (invite);
    free (text);
    //  No Contact.
    text = strdup (s_invite);
    p = strstr (text, "Contact:");
    memcpy (p, "X-Cont: ", 8);
    invite = s_parse (text);
    assert_null (sipd_leg_new_uas (invite, &src, "127.0.0.1"));
    osip_message_free (invite);
    free (text);
}

static void
test_uac_leg (void **state)
{
    (void) state;
    sipd_source_t dest = {SIPD_TRANSPORT_TCP, "127.0.0.1", 5211, 7};
    sipd_leg_t *leg = sipd_leg_new_uac (
        "sip:101-0x99@127.0.0.1:5211;transport=tcp", "sip:100@127.0.0.1",
        "Al\"ice\\", "sip:101@127.0.0.1", &dest, "127.0.0.1");
    assert_non_null (leg);
    assert_string_equal (sipd_leg_remote_tag (leg), "");
    assert_string_equal (sipd_leg_remote_user (leg), "101");
    assert_int_equal (sipd_leg_dest (leg)->conn_id, 7);
    osip_message_t *invite = sipd_leg_request (
        leg, "INVITE", "<sip:sipd@127.0.0.1:5060>", "application/sdp",
        "v=0\r\n");
    assert_non_null (invite);
    char *text = s_text (invite);
    assert_non_null (strstr (text, "INVITE sip:101-0x99@127.0.0.1:5211;"
                                   "transport=tcp SIP/2.0\r\n"));
    assert_non_null (strstr (text, "\"Alice\" <sip:100@127.0.0.1>;tag="));
    assert_non_null (strstr (text, "CSeq: 1 INVITE"));
    assert_non_null (strstr (text, "Content-Type: application/sdp"));
    assert_non_null (strstr (text, "Content-Length:"));
    assert_int_equal (atoi (strstr (text, "Content-Length:") + 15), 5);
    assert_non_null (strstr (text, "\r\n\r\nv=0\r\n"));
    assert_int_equal (sipd_leg_local_cseq (leg), 1);
    size_t len;
    assert_string_equal (sipd_leg_body (invite, &len), "v=0\r\n");
    assert_int_equal (len, 5);
    osip_free (text);

    //  200 with a tag, Contact and Record-Route fixes the dialog.
    const char *ok_text
        = "SIP/2.0 200 OK\r\n"
          "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
          "From: <sip:100@127.0.0.1>;tag=zz\r\n"
          "To: <sip:101@127.0.0.1>;tag=b7\r\n"
          "Call-ID: x\r\nCSeq: 1 INVITE\r\n"
          "Record-Route: <sip:r1;lr>\r\nRecord-Route: <sip:r2;lr>\r\n"
          "Contact: <sip:101@127.0.0.1:5299>\r\nContent-Length: 0\r\n\r\n";
    osip_message_t *ok = s_parse (ok_text);
    assert_int_equal (sipd_leg_update_from_response (leg, ok), 0);
    assert_string_equal (sipd_leg_remote_tag (leg), "b7");
    osip_message_t *ack = sipd_leg_ack (leg, 1, NULL);
    text = s_text (ack);
    assert_non_null (strstr (text, "ACK sip:101@127.0.0.1:5299 SIP/2.0"));
    assert_non_null (strstr (text, "CSeq: 1 ACK"));
    assert_non_null (strstr (text, "tag=b7"));
    //  Reversed route set: r2 first.
    char *r2 = strstr (text, "sip:r2");
    char *r1 = strstr (text, "sip:r1");
    assert_non_null (r1);
    assert_non_null (r2);
    assert_true (r2 < r1);
    osip_free (text);
    osip_message_free (ack);
    //  Once fixed, a later 2xx with another tag changes nothing.
    osip_message_t *bye = sipd_leg_request (leg, "BYE", NULL, NULL, NULL);
    text = s_text (bye);
    assert_non_null (strstr (text, "CSeq: 2 BYE"));
    osip_free (text);
    osip_message_free (bye);
    osip_message_free (ok);
    osip_message_free (invite);

    //  Body replaced and removed.
    osip_message_t *info = sipd_leg_request (leg, "INFO", NULL,
                                             "application/dtmf-relay",
                                             "Signal=5\r\n");
    assert_int_equal (sipd_leg_set_body (info, NULL, NULL), 0);
    assert_null (sipd_leg_body (info, &len));
    assert_int_equal (len, 0);
    osip_message_free (info);
    assert_int_equal (sipd_leg_set_body (NULL, NULL, NULL), -1);
    assert_null (sipd_leg_body (NULL, NULL));

    //  A response without To tag is refused.
    osip_message_t *trying = s_parse (
        "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal (sipd_leg_update_from_response (leg, trying), -1);
    osip_message_free (trying);
    sipd_leg_destroy (&leg);

    assert_null (sipd_leg_new_uac ("not a uri", "sip:a@b", NULL, "sip:c@d",
                                   &dest, "127.0.0.1"));
    assert_null (sipd_leg_new_uac (NULL, "sip:a@b", NULL, "sip:c@d", &dest,
                                   "127.0.0.1"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_uas_leg),
        cmocka_unit_test (test_uas_bad_invite),
        cmocka_unit_test (test_uac_leg),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
