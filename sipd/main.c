//  sipd — SIP registrar and B2BUA.
//
//  main: command line and config (cm_daemon), the SIP core (sipd_server,
//  which owns transports, transactions, registrar and events), the CDR
//  journal (sipd_journal) and the B2BUA (sipd_b2bua, calls), then the loop
//  until SIGTERM; objects are destroyed in reverse order.

#include "cm_daemon.h"
#include "sipd_b2bua.h"
#include "sipd_journal.h"
#include "sipd_server.h"

//  CDR sink: every finished call goes to the journal.
static void
s_on_cdr (void *arg, cm_cdr_t **cdr_p)
{
    //  On failure the journal logs the CDR's JSON at error level.
    (void) sipd_journal_append ((sipd_journal_t *) arg, cdr_p);
}

//  What pong reports besides name, version and uptime: the journal's
//  cdr_pending, cdr_acked and cdr_synced, sip_transactions and
//  sip_tcp_connections.
typedef struct {
    sipd_journal_t *journal;    //  CDR journal status (borrowed)
    sipd_server_t *server;      //  SIP counters (borrowed)
} s_pong_t;

static void
s_pong_extra (json_t *body, void *arg)
{
    s_pong_t *pong = arg;
    sipd_journal_status (pong->journal, body);
    json_object_set_new (body, "sip_transactions",
                         json_integer ((json_int_t) sipd_server_txn_count (
                             pong->server)));
    json_object_set_new (body, "sip_tcp_connections",
                         json_integer ((json_int_t) sipd_server_conn_count (
                             pong->server)));
}

int
main (int argc, char **argv)
{
    int exit_code = 0;
    cm_daemon_t *daemon = cm_daemon_new (argc, argv, "sipd",
                                         "SIP registrar and B2BUA", &exit_code);
    if (!daemon)
        return exit_code;
    sipd_server_t *server = sipd_server_new (daemon);
    if (!server) {
        //  the reason was printed by sipd_server_new (cm_daemon_fail)
        cm_daemon_destroy (&daemon);
        return CM_EXIT_CONFIG;
    }
    cm_config_t *config = cm_daemon_config (daemon);
    char spool[1024];
    snprintf (spool, sizeof spool, "%s/spool",
              cm_config_str (config, "general", "data_dir"));
    s_pong_t pong = {NULL, NULL};  //  outlives the loop (pong handler arg)
    sipd_journal_t *journal = sipd_journal_new (
        spool, cm_config_str (config, "ipc", "cdrd"), cm_daemon_loop (daemon));
    sipd_b2bua_t *b2bua = NULL;
    if (!journal)
        exit_code = cm_daemon_fail (daemon, "cannot open the CDR journal "
                                            "in %s (see log)", spool);
    else {
        b2bua = sipd_b2bua_new (server, sipd_server_registrar (server));
        if (!b2bua)
            exit_code = cm_daemon_fail (daemon, "[sipd] trunk: cannot "
                                                "resolve the trunk address");
    }
    if (b2bua) {
        sipd_b2bua_set_cdr_sink (b2bua, s_on_cdr, journal);
        pong.journal = journal;
        pong.server = server;
        cm_service_set_pong_extra (cm_daemon_service (daemon), s_pong_extra,
                                   &pong);
        exit_code = cm_daemon_run (daemon);
    }
    //  Live calls are released (with their CDRs) before the journal closes.
    sipd_b2bua_destroy (&b2bua);
    sipd_journal_destroy (&journal);
    sipd_server_destroy (&server);
    cm_daemon_destroy (&daemon);
    return exit_code;
}
