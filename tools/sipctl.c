//  sipctl — send one request to a daemon's control socket and print the
//  reply body as JSON. Used by operators and by the tests' readiness
//  checks (a health request instead of sleep, STYLE §13).
//
//      sipctl [-t MS] ENDPOINT TYPE [JSON-BODY]
//      sipctl tcp://127.0.0.1:7101 ping
//
//  Exit: 0 reply received (type not "error"), 1 error reply, 3 timeout,
//  2 usage.

#include "cm_log.h"
#include "cm_msg.h"

#include <czmq.h>
#include <string.h>

int
main (int argc, char **argv)
{
    int timeout_ms = 2000;
    int arg = 1;
    if (arg + 1 < argc && strcmp (argv[arg], "-t") == 0) {
        timeout_ms = atoi (argv[arg + 1]);
        arg += 2;
    }
    if (argc - arg < 2 || argc - arg > 3) {
        fprintf (stderr, "usage: sipctl [-t MS] ENDPOINT TYPE [JSON-BODY]\n");
        return 2;
    }
    cm_log_init ("sipctl", CM_LOG_WARN);
    const char *endpoint = argv[arg];
    const char *type = argv[arg + 1];
    json_t *body = NULL;
    if (argc - arg == 3) {
        json_error_t jerr;
        body = json_loads (argv[arg + 2], 0, &jerr);
        if (!json_is_object (body)) {
            fprintf (stderr, "sipctl: body is not a JSON object: %s\n",
                     jerr.text);
            json_decref (body);
            return 2;
        }
    }
    cm_msg_t *request = cm_msg_new (type, "sipctl-1", &body);
    if (!request) {
        fprintf (stderr, "sipctl: invalid request type '%s'\n", type);
        return 2;
    }
    zsys_set_linger (0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    int rc = 3;
    if (!dealer || zsock_connect (dealer, "%s", endpoint) < 0) {
        fprintf (stderr, "sipctl: cannot connect to %s\n", endpoint);
        rc = 2;
        goto out;
    }
    if (cm_msg_send (request, dealer, NULL)) {
        fprintf (stderr, "sipctl: cannot send\n");
        goto out;
    }
    zpoller_t *poller = zpoller_new (dealer, NULL);
    if (zpoller_wait (poller, timeout_ms) == dealer) {
        cm_msg_t *reply = cm_msg_recv (dealer);
        if (reply) {
            char *json = json_dumps (cm_msg_body (reply), JSON_COMPACT);
            printf ("%s %s\n", cm_msg_type (reply), json);
            free (json);
            rc = strcmp (cm_msg_type (reply), "error") == 0 ? 1 : 0;
            cm_msg_destroy (&reply);
        }
    }
    else
        fprintf (stderr, "sipctl: no reply from %s within %d ms\n",
                 endpoint, timeout_ms);
    zpoller_destroy (&poller);
out:
    zsock_destroy (&dealer);
    cm_msg_destroy (&request);
    return rc;
}
