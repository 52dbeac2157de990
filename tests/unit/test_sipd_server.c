//  test_sipd_server — unit tests for sipd_server's TU API, against a real
//  server on the loopback (port 0) and a UDP "peer" socket in the test:
//  server transactions (respond, stale ids, final twice), the built-in
//  OPTIONS and CANCEL answers, ACK for a 2xx with txn_id 0, client
//  transactions (send_request with responses reaching fn, CANCEL, the
//  ICT's ACK for a non-2xx), a TCP connect failure reported as 503, and
//  the transaction timers (client retransmissions until the response,
//  server retransmissions of a final response until the ACK), and the
//  retransmissions absorbed after a Confirmed IST or a Completed NICT
//  ended early (sipd_linger).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_msg.h"
#include "../../sipd/sipd_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    cm_daemon_t *daemon;
    sipd_server_t *server;
    char dir[64];
    int peer;               //  UDP socket of the test's peer
    int peer_port;
    //  what handlers saw
    int txn_id;             //  last request handler txn_id (-1 none)
    char method[32];        //  its method
    int responses[8];       //  codes reaching the client fn (0 = none)
    int response_count;
    int stop_after;         //  loop stops when response_count reaches it
} s_test_t;

static int
s_stop_timer (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

//  Run the server's loop for ms milliseconds.
static void
s_drive (s_test_t *t, int ms)
{
    zloop_t *loop = sipd_server_loop (t->server);
    int id = zloop_timer (loop, ms, 1, s_stop_timer, t);
    zloop_start (loop);
    zloop_timer_end (loop, id);
}

//  Peer: wait up to ms for a datagram and parse it. Returns NULL on none.
static osip_message_t *
s_peer_recv (s_test_t *t, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        s_drive (t, 10);
        struct pollfd pfd = {t->peer, POLLIN, 0};
        if (poll (&pfd, 1, 0) == 1) {
            char buf[65536];
            ssize_t n = recv (t->peer, buf, sizeof buf - 1, 0);
            if (n <= 0)
                return NULL;
            buf[n] = 0;
            osip_message_t *msg = NULL;
            osip_message_init (&msg);
            if (osip_message_parse (msg, buf, (size_t) n) != 0) {
                osip_message_free (msg);
                return NULL;
            }
            return msg;
        }
    }
    return NULL;
}

static void
s_peer_send (s_test_t *t, const char *text)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_port = htons ((uint16_t) sipd_server_port (t->server));
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    ssize_t n = sendto (t->peer, text, strlen (text), 0,
                        (struct sockaddr *) &addr, sizeof addr);
    assert_int_equal (n, (ssize_t) strlen (text));
}

static void
s_peer_send_msg (s_test_t *t, osip_message_t *msg)
{
    char *text = sipd_msg_serialize (msg, NULL);
    assert_non_null (text);
    s_peer_send (t, text);
    osip_free (text);
}

//  A request from the peer; method, branch, cseq method and call-id vary.
static void
s_peer_request (s_test_t *t, const char *method, const char *branch,
                const char *cseq_method, const char *to_tag)
{
    char text[1024];
    snprintf (text, sizeof text,
              "%s sip:100@127.0.0.1 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=%s\r\n"
              "Max-Forwards: 70\r\nTo: <sip:100@127.0.0.1>%s%s\r\n"
              "From: <sip:200@127.0.0.1>;tag=peer\r\n"
              "Call-ID: call-1@test\r\nCSeq: 1 %s\r\n"
              "Content-Length: 0\r\n\r\n",
              method, t->peer_port, branch, to_tag ? ";tag=" : "",
              to_tag ? to_tag : "", cseq_method);
    s_peer_send (t, text);
}

static int
s_on_request (void *arg, int txn_id, osip_message_t *request,
              const sipd_source_t *source)
{
    s_test_t *t = arg;
    t->txn_id = txn_id;
    snprintf (t->method, sizeof t->method, "%s", request->sip_method);
    assert_int_equal (source->transport, SIPD_TRANSPORT_UDP);
    assert_int_equal (source->port, t->peer_port);
    return 0;
}

static void
s_on_response (void *arg, int txn_id, const osip_message_t *response,
               int code)
{
    s_test_t *t = arg;
    if (response)
        assert_int_equal (osip_message_get_status_code (response), code);
    if (t->response_count < 8)
        t->responses[t->response_count++] = code;
}

//  A port free for UDP and TCP right now (the config wants a real one).
static int
s_free_port (void)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int udp = socket (AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET};
        inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
        bind (udp, (struct sockaddr *) &addr, sizeof addr);
        socklen_t len = sizeof addr;
        getsockname (udp, (struct sockaddr *) &addr, &len);
        int tcp = socket (AF_INET, SOCK_STREAM, 0);
        int rc = bind (tcp, (struct sockaddr *) &addr, sizeof addr);
        close (tcp);
        close (udp);
        if (rc == 0)
            return ntohs (addr.sin_port);
    }
    return -1;
}

static int
s_setup (void **state)
{
    s_test_t *t = calloc (1, sizeof *t);
    snprintf (t->dir, sizeof t->dir, "/tmp/test_sipd_server.XXXXXX");
    assert_non_null (mkdtemp (t->dir));
    char path[128];
    snprintf (path, sizeof path, "%s/sipserver.conf", t->dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fprintf (f,
             "[general]\ndata_dir = %s/var\nlog_level = error\n"
             "[ipc]\nsipd = ipc://%s/sipd.ipc\nevents = ipc://%s/events.ipc\n"
             "[sipd]\nlisten = 127.0.0.1:%d\n",
             t->dir, t->dir, t->dir, s_free_port ());
    fclose (f);
    char *argv[] = {"sipd", "-c", path, NULL};
    int exit_code = 0;
    t->daemon = cm_daemon_new (3, argv, "sipd", "test", &exit_code);
    assert_non_null (t->daemon);
    t->server = sipd_server_new (t->daemon);
    assert_non_null (t->server);
    assert_true (sipd_server_port (t->server) > 0);
    assert_string_equal (sipd_server_host (t->server), "127.0.0.1");

    t->peer = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    assert_int_equal (bind (t->peer, (struct sockaddr *) &addr, sizeof addr),
                      0);
    socklen_t len = sizeof addr;
    getsockname (t->peer, (struct sockaddr *) &addr, &len);
    t->peer_port = ntohs (addr.sin_port);
    t->txn_id = -1;
    *state = t;
    return 0;
}

static int
s_teardown (void **state)
{
    s_test_t *t = *state;
    close (t->peer);
    sipd_server_destroy (&t->server);
    assert_null (t->server);
    cm_daemon_destroy (&t->daemon);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", t->dir);
    assert_int_equal (system (cmd), 0);
    free (t);
    return 0;
}

static void
test_options_builtin (void **state)
{
    s_test_t *t = *state;
    s_peer_request (t, "OPTIONS", "z9hG4bKopt1", "OPTIONS", NULL);
    osip_message_t *response = s_peer_recv (t, 1000);
    assert_non_null (response);
    assert_int_equal (osip_message_get_status_code (response), 200);
    assert_non_null (response->accepts.nb_elt ? &response->accepts : NULL);
    osip_allow_t *allow = osip_list_get (&response->allows, 0);
    assert_non_null (allow);
    //  rport filled in with the peer's port (RFC 3581)
    osip_via_t *via = osip_list_get (&response->vias, 0);
    osip_generic_param_t *rport = NULL;
    osip_via_param_get_byname (via, "rport", &rport);
    assert_non_null (rport);
    assert_int_equal (atoi (rport->gvalue), t->peer_port);
    osip_message_free (response);
}

static void
test_server_transaction (void **state)
{
    s_test_t *t = *state;
    sipd_server_on_request (t->server, "INFO", s_on_request, t);
    s_peer_request (t, "INFO", "z9hG4bKinfo1", "INFO", "x");
    for (int i = 0; i < 50 && t->txn_id < 0; i++)
        s_drive (t, 10);
    assert_true (t->txn_id > 0);
    assert_string_equal (t->method, "INFO");
    int txn = t->txn_id;
    assert_non_null (sipd_server_txn_request (t->server, txn));
    assert_non_null (sipd_server_txn_source (t->server, txn));
    assert_int_equal (sipd_server_txn_source (t->server, txn)->port,
                      t->peer_port);

    //  a retransmission does not reach the handler again
    t->txn_id = -1;
    s_peer_request (t, "INFO", "z9hG4bKinfo1", "INFO", "x");
    s_drive (t, 50);
    assert_int_equal (t->txn_id, -1);

    assert_int_equal (sipd_server_respond_code (t->server, txn, 200, NULL), 0);
    osip_message_t *response = s_peer_recv (t, 1000);
    assert_non_null (response);
    assert_int_equal (osip_message_get_status_code (response), 200);
    assert_string_equal (response->cseq->method, "INFO");
    osip_message_free (response);

    //  final twice, stale ids, bad responses: refused, no crash
    assert_int_equal (sipd_server_respond_code (t->server, txn, 486, NULL),
                      -1);
    assert_int_equal (sipd_server_respond_code (t->server, 999999, 200, NULL),
                      -1);
    osip_message_t *none = NULL;
    assert_int_equal (sipd_server_respond (t->server, txn, &none), -1);
    assert_null (sipd_server_txn_request (t->server, 0));
    assert_null (sipd_server_txn_source (t->server, -5));
    sipd_server_on_request (t->server, "INFO", NULL, NULL);
}

static void
test_invite_ack_cancel (void **state)
{
    s_test_t *t = *state;
    sipd_server_on_request (t->server, "INVITE", s_on_request, t);
    sipd_server_on_request (t->server, "ACK", s_on_request, t);
    s_peer_request (t, "INVITE", "z9hG4bKinv1", "INVITE", NULL);
    osip_message_t *trying = s_peer_recv (t, 1000);
    assert_non_null (trying);
    assert_int_equal (osip_message_get_status_code (trying), 100);
    osip_message_free (trying);
    assert_string_equal (t->method, "INVITE");
    int invite_txn = t->txn_id;

    //  CANCEL with the INVITE's branch: built-in answer 200 + 487
    s_peer_request (t, "CANCEL", "z9hG4bKinv1", "CANCEL", NULL);
    int got200 = 0, got487 = 0;
    for (int i = 0; i < 2; i++) {
        osip_message_t *r = s_peer_recv (t, 1000);
        assert_non_null (r);
        int code = osip_message_get_status_code (r);
        if (code == 200 && strcmp (r->cseq->method, "CANCEL") == 0)
            got200++;
        if (code == 487 && strcmp (r->cseq->method, "INVITE") == 0)
            got487++;
        osip_message_free (r);
    }
    assert_int_equal (got200, 1);
    assert_int_equal (got487, 1);
    //  the transaction got its final response: no second one
    assert_int_equal (
        sipd_server_respond_code (t->server, invite_txn, 200, NULL), -1);
    //  CANCEL for nothing: 481
    s_peer_request (t, "CANCEL", "z9hG4bKnothing", "CANCEL", NULL);
    osip_message_t *r = s_peer_recv (t, 1000);
    assert_non_null (r);
    assert_int_equal (osip_message_get_status_code (r), 481);
    osip_message_free (r);

    //  a new INVITE answered 200, then its ACK (new branch): txn_id 0
    s_peer_request (t, "INVITE", "z9hG4bKinv2", "INVITE", NULL);
    r = s_peer_recv (t, 1000);  //  100 Trying
    osip_message_free (r);
    int txn = t->txn_id;
    assert_true (txn > 0);
    assert_int_equal (sipd_server_respond_code (t->server, txn, 200, NULL), 0);
    r = s_peer_recv (t, 1000);
    assert_non_null (r);
    assert_int_equal (osip_message_get_status_code (r), 200);
    osip_message_free (r);
    t->txn_id = -1;
    s_peer_request (t, "ACK", "z9hG4bKack2", "ACK", "x");
    for (int i = 0; i < 50 && t->txn_id < 0; i++)
        s_drive (t, 10);
    assert_int_equal (t->txn_id, 0);
    assert_string_equal (t->method, "ACK");
    sipd_server_on_request (t->server, "INVITE", NULL, NULL);
    sipd_server_on_request (t->server, "ACK", NULL, NULL);
}

//  A request from the server to the peer.
static osip_message_t *
s_new_request (s_test_t *t, const char *method)
{
    osip_message_t *request = NULL;
    osip_message_init (&request);
    osip_message_set_method (request, osip_strdup (method));
    osip_message_set_version (request, osip_strdup ("SIP/2.0"));
    osip_uri_t *uri = NULL;
    osip_uri_init (&uri);
    char text[64];
    snprintf (text, sizeof text, "sip:peer@127.0.0.1:%d", t->peer_port);
    osip_uri_parse (uri, text);
    osip_message_set_uri (request, uri);
    osip_message_set_to (request, "<sip:peer@127.0.0.1>");
    osip_message_set_from (request, "<sip:sipd@127.0.0.1>;tag=srv");
    osip_message_set_call_id (request, "client-1@test");
    char cseq[32];
    snprintf (cseq, sizeof cseq, "1 %s", method);
    osip_message_set_cseq (request, cseq);
    osip_message_set_content_length (request, "0");
    return request;
}

//  The server sends a new method request to the peer over UDP (a client
//  transaction reporting to s_on_response). Returns its txn_id.
static int
s_send_to_peer (s_test_t *t, const char *method)
{
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_UDP, .port = t->peer_port};
    snprintf (dest.ip, sizeof dest.ip, "127.0.0.1");
    osip_message_t *request = s_new_request (t, method);
    int txn = sipd_server_send_request (t->server, &request, &dest,
                                        s_on_response, t);
    assert_null (request);      //  taken, sent or not
    return txn;
}

static void
test_client_transaction (void **state)
{
    s_test_t *t = *state;
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_UDP, .port = t->peer_port};
    snprintf (dest.ip, sizeof dest.ip, "127.0.0.1");
    int txn = s_send_to_peer (t, "OPTIONS");
    assert_true (txn > 0);
    osip_message_t *got = s_peer_recv (t, 1000);
    assert_non_null (got);
    assert_string_equal (got->sip_method, "OPTIONS");
    osip_via_t *via = osip_list_get (&got->vias, 0);
    osip_generic_param_t *branch = NULL;
    osip_via_param_get_byname (via, "branch", &branch);
    assert_non_null (branch);
    assert_memory_equal (branch->gvalue, "z9hG4bK", 7);
    assert_string_equal (sipd_msg_header (got, "Max-Forwards"), "70");
    osip_message_t *response = sipd_msg_response_new (got, 200, NULL);
    s_peer_send_msg (t, response);
    osip_message_free (response);
    osip_message_free (got);
    for (int i = 0; i < 50 && t->response_count < 1; i++)
        s_drive (t, 10);
    assert_int_equal (t->response_count, 1);
    assert_int_equal (t->responses[0], 200);

    //  bad requests are refused and freed
    osip_message_t *bad = NULL;
    osip_message_init (&bad);
    assert_int_equal (sipd_server_send_request (t->server, &bad, &dest,
                                                s_on_response, t),
                      -1);
    assert_null (bad);
}

//  The peer sends an INVITE with branch; the TU (s_on_request, which must
//  be registered) answers it 486.
static void
s_peer_invite_rejected (s_test_t *t, const char *branch)
{
    t->txn_id = -1;
    s_peer_request (t, "INVITE", branch, "INVITE", NULL);
    for (int i = 0; i < 100 && t->txn_id < 0; i++)
        s_drive (t, 10);
    assert_true (t->txn_id > 0);
    assert_int_equal (sipd_server_respond_code (t->server, t->txn_id, 486,
                                                NULL),
                      0);
}

//  Timers run from the deadline queue: a NICT over UDP retransmits its
//  request (timer E, T1 = 500 ms) until a response, then stops; an IST
//  retransmits its final non-2xx (timer G) until the ACK, then stops.
static void
test_timers (void **state)
{
    s_test_t *t = *state;
    int txn = s_send_to_peer (t, "OPTIONS");
    assert_true (txn > 0);
    osip_message_t *first = s_peer_recv (t, 1000);
    assert_non_null (first);
    //  no answer: the same request again after about T1
    osip_message_t *again = s_peer_recv (t, 2000);
    assert_non_null (again);
    assert_string_equal (again->sip_method, "OPTIONS");
    osip_generic_param_t *b1 = NULL, *b2 = NULL;
    osip_via_t *v1 = osip_list_get (&first->vias, 0);
    osip_via_t *v2 = osip_list_get (&again->vias, 0);
    assert_non_null (v1);
    assert_non_null (v2);
    osip_via_param_get_byname (v1, "branch", &b1);
    osip_via_param_get_byname (v2, "branch", &b2);
    assert_non_null (b1);
    assert_non_null (b2);
    assert_string_equal (b1->gvalue, b2->gvalue);
    osip_message_t *response = sipd_msg_response_new (again, 200, NULL);
    s_peer_send_msg (t, response);
    osip_message_free (response);
    osip_message_free (first);
    osip_message_free (again);
    for (int i = 0; i < 50 && t->response_count < 1; i++)
        s_drive (t, 10);
    assert_int_equal (t->response_count, 1);
    assert_int_equal (t->responses[0], 200);
    //  answered: no more retransmissions (the next E would be 1 s later)
    osip_message_t *late = s_peer_recv (t, 1500);
    assert_null (late);

    //  IST: 486 to an INVITE, retransmitted until the ACK
    sipd_server_on_request (t->server, "INVITE", s_on_request, t);
    s_peer_invite_rejected (t, "z9hG4bKtimers");
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        osip_message_t *got = s_peer_recv (t, 2000);
        if (!got)
            break;
        int code = osip_message_get_status_code (got);
        osip_message_free (got);
        if (code == 486)
            seen++;
        if (seen == 2)
            break;
    }
    assert_int_equal (seen, 2);     //  the 486 and one retransmission
    s_peer_request (t, "ACK", "z9hG4bKtimers", "ACK", "x");
    s_drive (t, 100);
    //  drain what crossed the ACK, then nothing more
    osip_message_t *crossed = NULL;
    while ((crossed = s_peer_recv (t, 50)))
        osip_message_free (crossed);
    osip_message_t *after = s_peer_recv (t, 1500);
    assert_null (after);
}

//  A NICT that got its 200 and an IST that got the ACK for its 486 end at
//  once over UDP, their keys lingering for T4: a retransmitted 200 does
//  not reach the client fn again, a retransmitted ACK (or INVITE) does
//  not reach the TU, and nothing is sent in answer to either.
static void
test_linger_absorbs (void **state)
{
    s_test_t *t = *state;
    assert_true (s_send_to_peer (t, "BYE") > 0);
    osip_message_t *got = s_peer_recv (t, 1000);
    assert_non_null (got);
    osip_message_t *ok = sipd_msg_response_new (got, 200, NULL);
    osip_message_free (got);
    s_peer_send_msg (t, ok);
    for (int i = 0; i < 50 && t->response_count < 1; i++)
        s_drive (t, 10);
    assert_int_equal (t->response_count, 1);
    s_peer_send_msg (t, ok);            //  the 200 again
    s_drive (t, 200);
    osip_message_free (ok);
    assert_int_equal (t->response_count, 1);

    sipd_server_on_request (t->server, "INVITE", s_on_request, t);
    sipd_server_on_request (t->server, "ACK", s_on_request, t);
    s_peer_invite_rejected (t, "z9hG4bKlinger");
    int code = 0;
    while (code != 486 && (got = s_peer_recv (t, 1000))) {  //  100, 486
        code = osip_message_get_status_code (got);
        osip_message_free (got);
    }
    assert_int_equal (code, 486);
    s_peer_request (t, "ACK", "z9hG4bKlinger", "ACK", "x");
    s_drive (t, 100);
    //  a 486 retransmission may have crossed the ACK
    osip_message_t *crossed = NULL;
    while ((crossed = s_peer_recv (t, 50)))
        osip_message_free (crossed);
    t->txn_id = -1;
    t->method[0] = 0;
    s_peer_request (t, "ACK", "z9hG4bKlinger", "ACK", "x");
    s_peer_request (t, "INVITE", "z9hG4bKlinger", "INVITE", NULL);
    s_drive (t, 300);
    assert_int_equal (t->txn_id, -1);
    assert_string_equal (t->method, "");
    osip_message_t *answer = s_peer_recv (t, 300);
    assert_null (answer);
    sipd_server_on_request (t->server, "INVITE", NULL, NULL);
    sipd_server_on_request (t->server, "ACK", NULL, NULL);
}

//  A request the kernel refuses to send (broadcast: EACCES) fails its
//  client transaction with 503 at once, not 408 at timer F (32 s).
static void
test_client_send_refused (void **state)
{
    s_test_t *t = *state;
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_UDP, .port = 5060};
    snprintf (dest.ip, sizeof dest.ip, "255.255.255.255");
    osip_message_t *request = s_new_request (t, "OPTIONS");
    assert_true (sipd_server_send_request (t->server, &request, &dest,
                                           s_on_response, t) > 0);
    for (int i = 0; i < 100 && t->response_count < 1; i++)
        s_drive (t, 10);
    assert_int_equal (t->response_count, 1);
    assert_int_equal (t->responses[0], 503);
}

static void
test_client_invite_cancel (void **state)
{
    s_test_t *t = *state;
    t->response_count = 0;
    int txn = s_send_to_peer (t, "INVITE");
    assert_true (txn > 0);
    osip_message_t *invite = s_peer_recv (t, 1000);
    assert_non_null (invite);
    assert_string_equal (invite->sip_method, "INVITE");
    osip_message_t *ringing = sipd_msg_response_new (invite, 180, NULL);
    s_peer_send_msg (t, ringing);
    osip_message_free (ringing);
    for (int i = 0; i < 50 && t->response_count < 1; i++)
        s_drive (t, 10);
    assert_int_equal (t->responses[0], 180);

    assert_int_equal (sipd_server_cancel (t->server, txn), 0);
    osip_message_t *cancel = s_peer_recv (t, 1000);
    assert_non_null (cancel);
    assert_string_equal (cancel->sip_method, "CANCEL");
    assert_string_equal (cancel->cseq->method, "CANCEL");
    osip_via_t *v1 = osip_list_get (&invite->vias, 0);
    osip_via_t *v2 = osip_list_get (&cancel->vias, 0);
    osip_generic_param_t *b1 = NULL, *b2 = NULL;
    osip_via_param_get_byname (v1, "branch", &b1);
    osip_via_param_get_byname (v2, "branch", &b2);
    assert_string_equal (b1->gvalue, b2->gvalue);
    osip_message_t *ok = sipd_msg_response_new (cancel, 200, NULL);
    s_peer_send_msg (t, ok);
    osip_message_free (ok);
    osip_message_t *terminated = sipd_msg_response_new (invite, 487, NULL);
    s_peer_send_msg (t, terminated);
    osip_message_free (terminated);
    //  the ICT ACKs the 487 itself, on the INVITE's branch
    osip_message_t *ack = s_peer_recv (t, 1000);
    assert_non_null (ack);
    assert_string_equal (ack->sip_method, "ACK");
    osip_via_t *v3 = osip_list_get (&ack->vias, 0);
    osip_generic_param_t *b3 = NULL;
    osip_via_param_get_byname (v3, "branch", &b3);
    assert_string_equal (b3->gvalue, b1->gvalue);
    assert_int_equal (t->response_count, 2);
    assert_int_equal (t->responses[1], 487);
    //  cancelling an ended transaction fails
    assert_int_equal (sipd_server_cancel (t->server, txn), -1);
    osip_message_free (ack);
    osip_message_free (cancel);
    osip_message_free (invite);
}

static void
test_client_tcp_refused (void **state)
{
    s_test_t *t = *state;
    t->response_count = 0;
    //  a port nobody listens on: our own closed UDP peer's number over TCP
    int probe = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    bind (probe, (struct sockaddr *) &addr, sizeof addr);
    socklen_t len = sizeof addr;
    getsockname (probe, (struct sockaddr *) &addr, &len);
    close (probe);
    sipd_source_t dest = {.transport = SIPD_TRANSPORT_TCP,
                          .port = ntohs (addr.sin_port)};
    snprintf (dest.ip, sizeof dest.ip, "127.0.0.1");
    osip_message_t *request = s_new_request (t, "OPTIONS");
    int txn = sipd_server_send_request (t->server, &request, &dest,
                                        s_on_response, t);
    for (int i = 0; i < 100 && t->response_count < 1; i++)
        s_drive (t, 10);
    //  reported at once (503), not after timer F
    assert_int_equal (t->response_count, 1);
    assert_int_equal (t->responses[0], 503);
    (void) txn;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_options_builtin, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_server_transaction, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_invite_ack_cancel, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_client_transaction, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_client_invite_cancel, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_client_tcp_refused, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_timers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_linger_absorbs, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_client_send_refused, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
