//  sipd — SIP registrar and B2BUA.
//
//  main: command line and config (cm_daemon), the SIP core (sipd_server,
//  which owns transports, transactions, registrar and events), then the
//  loop until SIGTERM; objects are destroyed in reverse order.

#include "cm_daemon.h"
#include "sipd_server.h"

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
    exit_code = cm_daemon_run (daemon);
    sipd_server_destroy (&server);
    cm_daemon_destroy (&daemon);
    return exit_code;
}
