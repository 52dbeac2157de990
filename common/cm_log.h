//  cm_log — the one logging facade of every sipserver daemon.
//
//  Each event is one logfmt line on stderr (journald picks it up):
//      ts=2026-11-26T14:30:00.123Z lvl=info d=sipd mod=reg msg="..."
//  The sink (daemon name, level) is configured once in main(); it is the
//  only process-wide mutable state besides the signal flag (STYLE §6).

#ifndef CM_LOG_H_INCLUDED
#define CM_LOG_H_INCLUDED

#include <stdbool.h>

typedef enum {
    CM_LOG_ERROR = 0,
    CM_LOG_WARN = 1,
    CM_LOG_INFO = 2,
    CM_LOG_DEBUG = 3
} cm_log_level_t;

//  Configure the sink: daemon name (copied) and minimum level.
void
    cm_log_init (const char *daemon, cm_log_level_t level);

//  Change the minimum level (after the config has been read).
void
    cm_log_set_level (cm_log_level_t level);

//  True when a message of this level would be written.
bool
    cm_log_enabled (cm_log_level_t level);

//  Parse "error|warn|info|debug" ("warning" accepted). Returns 0 on
//  success and sets *level_p, -1 on an unknown name.
int
    cm_log_level_parse (const char *name, cm_log_level_t *level_p);

//  Name of a level ("error", "warning", "info", "debug").
const char *
    cm_log_level_name (cm_log_level_t level);

//  Write one line. mod names the module; call may be NULL (no call= field).
//  Use the CM_LOG macros instead, which skip argument evaluation when the
//  level is filtered out.
void
    cm_log_write (cm_log_level_t level, const char *mod, const char *call,
                  const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

#define CM_LOG(level, mod, ...)                                              \
    do {                                                                     \
        if (cm_log_enabled (level))                                          \
            cm_log_write ((level), (mod), NULL, __VA_ARGS__);                \
    } while (0)

//  Per-call line: carries call=<call-id> (STYLE §9).
#define CM_LOG_CALL(level, mod, call_id, ...)                                \
    do {                                                                     \
        if (cm_log_enabled (level))                                          \
            cm_log_write ((level), (mod), (call_id), __VA_ARGS__);           \
    } while (0)

//  Redaction marker for phone numbers and URIs. Today it passes the value
//  through; it is the single place to turn on redaction.
#define CM_PII(s) ((s) ? (s) : "-")

#endif
