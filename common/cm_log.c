//  cm_log — logfmt lines to stderr. See cm_log.h.

#include "cm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

//  The sink, configured once in main() (STYLE §6 allows exactly this).
static struct {
    char daemon[32];            //  d= field
    cm_log_level_t level;       //  lowest level written
} s_sink = {"sipserver", CM_LOG_INFO};

void
cm_log_init (const char *daemon, cm_log_level_t level)
{
    snprintf (s_sink.daemon, sizeof s_sink.daemon, "%s", daemon);
    s_sink.level = level;
}

void
cm_log_set_level (cm_log_level_t level)
{
    s_sink.level = level;
}

bool
cm_log_enabled (cm_log_level_t level)
{
    return level <= s_sink.level;
}

int
cm_log_level_parse (const char *name, cm_log_level_t *level_p)
{
    static const struct {
        const char *name;
        cm_log_level_t level;
    } names[] = {{"error", CM_LOG_ERROR}, {"warn", CM_LOG_WARN},
                 {"warning", CM_LOG_WARN}, {"info", CM_LOG_INFO},
                 {"debug", CM_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp (name, names[i].name) == 0) {
            *level_p = names[i].level;
            return 0;
        }
    return -1;
}

const char *
cm_log_level_name (cm_log_level_t level)
{
    switch (level) {
        case CM_LOG_ERROR: return "error";
        case CM_LOG_WARN: return "warning";
        case CM_LOG_INFO: return "info";
        default: return "debug";
    }
}

//  Append text to the line, escaping quotes, backslashes and control
//  characters so one event always stays one line.
static size_t
s_escape (char *dst, size_t size, size_t len, const char *src)
{
    for (; *src && len + 5 < size; src++) {
        unsigned char c = (unsigned char) *src;
        if (c == '"' || c == '\\') {
            dst[len++] = '\\';
            dst[len++] = (char) c;
        }
        else
        if (c < 0x20 || c == 0x7f)
            len += (size_t) snprintf (dst + len, size - len, "\\x%02x", c);
        else
            dst[len++] = (char) c;
    }
    dst[len] = 0;
    return len;
}

void
cm_log_write (cm_log_level_t level, const char *mod, const char *call,
              const char *fmt, ...)
{
    char text[2048];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);

    struct timeval now;
    gettimeofday (&now, NULL);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);

    char line[4096];
    size_t len = strftime (line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t) snprintf (line + len, sizeof line - len,
                              ".%03dZ lvl=%s d=%s mod=%s",
                              (int) (now.tv_usec / 1000),
                              cm_log_level_name (level), s_sink.daemon,
                              mod ? mod : "main");
    if (call && len < sizeof line - 8) {
        len += (size_t) snprintf (line + len, sizeof line - len, " call=\"");
        len = s_escape (line, sizeof line - 2, len, call);
        len += (size_t) snprintf (line + len, sizeof line - len, "\"");
    }
    if (len < sizeof line - 8) {
        len += (size_t) snprintf (line + len, sizeof line - len, " msg=\"");
        len = s_escape (line, sizeof line - 3, len, text);
        len += (size_t) snprintf (line + len, sizeof line - len, "\"");
    }
    fprintf (stderr, "%s\n", line);
}
