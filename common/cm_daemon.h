//  cm_daemon — the life of a daemon process, shared by all five.
//
//  Parses the command line (-c FILE, --version, --help, --dump-config,
//  --config-doc), loads and validates the config, sets up logging, creates
//  the zloop and binds the daemon's control socket ([ipc] <name>, which
//  answers ping). cm_daemon_run notifies systemd (READY=1, STOPPING=1;
//  harmless without systemd) and runs the loop until SIGTERM/SIGINT.
//  Start-up errors print one clear line and make main exit 2 (DESIGN §4).

#ifndef CM_DAEMON_H_INCLUDED
#define CM_DAEMON_H_INCLUDED

#include "cm_config.h"
#include "cm_service.h"

#include <czmq.h>

typedef struct _cm_daemon_t cm_daemon_t;

#define CM_EXIT_CONFIG 2    //  bad config, unbindable endpoint (DESIGN §4)

//  Parse argv and start up. name is the daemon's name ("sipd"), summary a
//  one-line description for --help. Returns NULL when main must exit with
//  *exit_code_p (0 after --version/--help, 2 on a start-up error, the
//  reason already printed). Caller owns return value.
cm_daemon_t *
    cm_daemon_new (int argc, char **argv, const char *name,
                   const char *summary, int *exit_code_p);

//  Destroy; closes the control socket and the loop. NULL-safe.
void
    cm_daemon_destroy (cm_daemon_t **self_p);

//  The loaded configuration (borrowed).
cm_config_t *
    cm_daemon_config (cm_daemon_t *self);

//  The daemon's event loop (borrowed).
zloop_t *
    cm_daemon_loop (cm_daemon_t *self);

//  The control socket service (borrowed): register request handlers here.
cm_service_t *
    cm_daemon_service (cm_daemon_t *self);

//  Report a start-up error: prints "<name>: <message>" as one line to
//  stderr. Returns CM_EXIT_CONFIG for `return cm_daemon_fail (...)`.
int
    cm_daemon_fail (cm_daemon_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Create data_dir/<sub> (and parents). Returns 0, or -1 with the reason
//  printed as a start-up error.
int
    cm_daemon_make_dir (cm_daemon_t *self, const char *sub, char *path,
                        size_t size);

//  Run the loop until interrupted; READY before, STOPPING after. Returns
//  the process exit code (0 after a clean shutdown).
int
    cm_daemon_run (cm_daemon_t *self);

#endif
