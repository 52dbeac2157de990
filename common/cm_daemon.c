//  cm_daemon — command line, config, logging, control socket, systemd
//  notification and the main loop. See cm_daemon.h.

#include "cm_daemon.h"
#include "cm_log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

struct _cm_daemon_t {
    char name[32];          //  daemon name
    cm_config_t *config;    //  loaded config (owned)
    zloop_t *loop;          //  the event loop (owned)
    cm_service_t *service;  //  control socket (owned)
};

static void
s_usage (const char *name, const char *summary, FILE *out)
{
    fprintf (out,
             "%s %s — %s\n\n"
             "Usage: %s -c FILE [--dump-config]\n"
             "       %s --version | --help | --config-doc\n\n"
             "  -c, --config FILE  the suite's INI file (DESIGN §3)\n"
             "  --dump-config      print the effective configuration, exit\n"
             "  --config-doc       print the key reference (Markdown), exit\n"
             "  --version          print the version, exit\n"
             "  --help             this text\n\n"
             "Runs in the foreground, logs to stderr, stops cleanly on "
             "SIGTERM or SIGINT.\nExit codes: 0 clean stop, 2 bad "
             "configuration or start-up failure.\n"
             "Keys it reads: [general], [ipc] and [%s] — see "
             "docs/config.md.\n",
             name, SIPSERVER_VERSION, summary, name, name, name);
}

//  Command-line outcome.
typedef struct {
    const char *config_path;    //  -c value (borrowed from argv)
    bool dump;                  //  --dump-config
    int exit_code;              //  >= 0: exit now with this code
} s_args_t;

static s_args_t
s_parse_args (int argc, char **argv, const char *name, const char *summary)
{
    s_args_t args = {NULL, false, -1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp (arg, "--version") == 0) {
            printf ("%s %s\n", name, SIPSERVER_VERSION);
            args.exit_code = 0;
            return args;
        }
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
            s_usage (name, summary, stdout);
            args.exit_code = 0;
            return args;
        }
        if (strcmp (arg, "--config-doc") == 0) {
            cm_config_print_doc (stdout);
            args.exit_code = 0;
            return args;
        }
        if (strcmp (arg, "--dump-config") == 0)
            args.dump = true;
        else
        if ((strcmp (arg, "-c") == 0 || strcmp (arg, "--config") == 0)
            && i + 1 < argc)
            args.config_path = argv[++i];
        else {
            fprintf (stderr, "%s: unknown or incomplete option '%s' "
                     "(try --help)\n", name, arg);
            args.exit_code = CM_EXIT_CONFIG;
            return args;
        }
    }
    if (!args.config_path) {
        fprintf (stderr, "%s: no configuration file given (-c FILE)\n",
                 name);
        args.exit_code = CM_EXIT_CONFIG;
    }
    return args;
}

cm_daemon_t *
cm_daemon_new (int argc, char **argv, const char *name, const char *summary,
               int *exit_code_p)
{
    assert (name);
    assert (exit_code_p);
    cm_log_init (name, CM_LOG_INFO);
    s_args_t args = s_parse_args (argc, argv, name, summary);
    if (args.exit_code >= 0) {
        *exit_code_p = args.exit_code;
        return NULL;
    }
    char *error = NULL;
    cm_config_t *config = cm_config_load (args.config_path, &error);
    if (!config) {
        fprintf (stderr, "%s: %s\n", name, error);
        free (error);
        *exit_code_p = CM_EXIT_CONFIG;
        return NULL;
    }
    if (args.dump) {
        cm_config_dump (config, stdout);
        cm_config_destroy (&config);
        *exit_code_p = 0;
        return NULL;
    }
    cm_log_level_t level = CM_LOG_INFO;
    (void) cm_log_level_parse (cm_config_str (config, "general", "log_level"),
                               &level);     //  validated as an enum
    cm_log_set_level (level);

    cm_daemon_t *self = (cm_daemon_t *) zmalloc (sizeof (cm_daemon_t));
    snprintf (self->name, sizeof self->name, "%s", name);
    self->config = config;
    //  czmq's own SIGINT/SIGTERM handler sets zsys_interrupted, which ends
    //  zloop_start; keep it, and make sockets close without lingering.
    zsys_init ();
    zsys_set_linger (0);
    //  A peer or log reader that went away must not kill a server.
    signal (SIGPIPE, SIG_IGN);
    self->loop = zloop_new ();

    //  The daemon's control endpoint is the first entry of [ipc] <name>.
    char endpoint[256];
    const char *list = cm_config_str (config, "ipc", name);
    size_t len = strcspn (list, ",");
    snprintf (endpoint, sizeof endpoint, "%.*s", (int) len, list);
    char reason[512];
    self->service = cm_service_new (name, endpoint, self->loop, reason,
                                    sizeof reason);
    if (!self->service) {
        char where[512];
        cm_config_where (config, "ipc", name, where, sizeof where);
        fprintf (stderr, "%s: %s: %s\n", name, where, reason);
        cm_daemon_destroy (&self);
        *exit_code_p = CM_EXIT_CONFIG;
        return NULL;
    }
    CM_LOG (CM_LOG_INFO, "main", "%s %s starting, config %s, control %s",
            name, SIPSERVER_VERSION, args.config_path, endpoint);
    *exit_code_p = 0;
    return self;
}

void
cm_daemon_destroy (cm_daemon_t **self_p)
{
    assert (self_p);
    cm_daemon_t *self = *self_p;
    if (!self)
        return;
    cm_service_destroy (&self->service);
    zloop_destroy (&self->loop);
    cm_config_destroy (&self->config);
    free (self);
    *self_p = NULL;
}

cm_config_t *
cm_daemon_config (cm_daemon_t *self)
{
    assert (self);
    return self->config;
}

zloop_t *
cm_daemon_loop (cm_daemon_t *self)
{
    assert (self);
    return self->loop;
}

cm_service_t *
cm_daemon_service (cm_daemon_t *self)
{
    assert (self);
    return self->service;
}

int
cm_daemon_fail (cm_daemon_t *self, const char *fmt, ...)
{
    assert (self);
    char text[1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    fprintf (stderr, "%s: %s\n", self->name, text);
    return CM_EXIT_CONFIG;
}

//  mkdir -p
static int
s_mkdir_p (const char *path)
{
    char buf[4096];
    snprintf (buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (buf, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir (buf, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

int
cm_daemon_make_dir (cm_daemon_t *self, const char *sub, char *path,
                    size_t size)
{
    assert (self);
    const char *data_dir = cm_config_str (self->config, "general",
                                          "data_dir");
    snprintf (path, size, "%s%s%s", data_dir, sub && *sub ? "/" : "",
              sub ? sub : "");
    if (s_mkdir_p (path)) {
        char where[512];
        cm_config_where (self->config, "general", "data_dir", where,
                         sizeof where);
        cm_daemon_fail (self, "%s: cannot create %s: %s", where, path,
                        strerror (errno));
        return -1;
    }
    return 0;
}

int
cm_daemon_run (cm_daemon_t *self)
{
    assert (self);
    (void) sd_notify (0, "READY=1");    //  no-op without systemd
    CM_LOG (CM_LOG_INFO, "main", "ready");
    zloop_start (self->loop);
    (void) sd_notify (0, "STOPPING=1");
    CM_LOG (CM_LOG_INFO, "main", "stopping");
    return 0;
}
