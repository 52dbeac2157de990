//  callbackd — UDP call-back service for application servers.
//
//  main: command line and config (cm_daemon), then the loop until SIGTERM.

#include "cm_daemon.h"

int
main (int argc, char **argv)
{
    int exit_code = 0;
    cm_daemon_t *daemon = cm_daemon_new (argc, argv, "callbackd",
                                         "UDP call-back service for application servers", &exit_code);
    if (!daemon)
        return exit_code;
    exit_code = cm_daemon_run (daemon);
    cm_daemon_destroy (&daemon);
    return exit_code;
}
