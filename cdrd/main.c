//  cdrd — CDR store (SQLite today; PostgreSQL, MariaDB later; CSV files).
//
//  main: command line and config (cm_daemon), the server on the daemon's
//  control socket ([ipc] cdrd), then the loop until SIGTERM.

#include "cdrd_server.h"
#include "cm_daemon.h"

int
main (int argc, char **argv)
{
    int exit_code = 0;
    cm_daemon_t *daemon = cm_daemon_new (
        argc, argv, "cdrd", "CDR store (SQLite, PostgreSQL, MariaDB, CSV)",
        &exit_code);
    if (!daemon)
        return exit_code;
    cm_config_t *config = cm_daemon_config (daemon);
    char csv_dir[4096];
    bool csv = cm_config_bool (config, "cdrd", "csv");
    if (csv && cm_daemon_make_dir (daemon, "cdr", csv_dir, sizeof csv_dir)) {
        cm_daemon_destroy (&daemon);
        return CM_EXIT_CONFIG;
    }
    char error[512];
    cdrd_server_t *server = cdrd_server_new (
        cm_config_str (config, "cdrd", "backend"),
        cm_config_str (config, "cdrd", "dsn"), csv ? csv_dir : NULL,
        cm_daemon_loop (daemon), cm_daemon_service (daemon), error,
        sizeof error);
    if (!server) {
        char where[512];
        cm_config_where (config, "cdrd", "backend", where, sizeof where);
        exit_code = cm_daemon_fail (daemon, "%s: %s", where, error);
        cm_daemon_destroy (&daemon);
        return exit_code;
    }
    exit_code = cm_daemon_run (daemon);
    cdrd_server_destroy (&server);
    cm_daemon_destroy (&daemon);
    return exit_code;
}
