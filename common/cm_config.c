//  cm_config — INI configuration with a declarative key table.
//
//  libinih calls s_on_entry for every key; we look the key up in
//  cm_config_keys, validate it by type and store the text. After parsing,
//  every declared key without a value gets its default, so getters never
//  fail. The first validation error stops the load with one message.

#include "cm_config.h"
#include "cm_log.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct _cm_config_t {
    char *path;             //  file name used in messages (owned)
    zhashx_t *values;       //  "section.key" -> char * value (owned)
    zhashx_t *lines;        //  "section.key" -> line number as pointer
    zhashx_t *maps;         //  section -> zhashx_t of key -> value (owned)
    char *error;            //  first error while parsing (owned)
    int line;               //  line being parsed (Debian's libinih does
                            //  not pass line numbers to the handler)
    zhashx_t *warned;       //  unknown "section.key" already warned
};

static const cm_cfg_key_t *
s_find_key (const char *section, const char *key)
{
    for (const cm_cfg_key_t *k = cm_config_keys; k->section; k++)
        if (strcmp (k->section, section) == 0
            && (k->type == CM_CFG_MAP || strcmp (k->key, key) == 0))
            return k;
    return NULL;
}

static bool
s_section_known (const char *section)
{
    for (const cm_cfg_key_t *k = cm_config_keys; k->section; k++)
        if (strcmp (k->section, section) == 0)
            return true;
    return false;
}

static void
s_map_destroy (void **item_p)
{
    zhashx_destroy ((zhashx_t **) item_p);
}

//  A hash of owned string values.
static zhashx_t *
s_string_hash (void)
{
    zhashx_t *hash = zhashx_new ();
    zhashx_set_duplicator (hash, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (hash, (zhashx_destructor_fn *) zstr_free);
    return hash;
}

static cm_config_t *
s_new (const char *path)
{
    cm_config_t *self = (cm_config_t *) zmalloc (sizeof (cm_config_t));
    self->path = strdup (path);
    self->values = s_string_hash ();
    self->lines = zhashx_new ();
    zhashx_set_destructor (self->lines, NULL);
    zhashx_set_duplicator (self->lines, NULL);
    self->maps = zhashx_new ();
    zhashx_set_destructor (self->maps, s_map_destroy);
    self->warned = zhashx_new ();
    return self;
}

void
cm_config_destroy (cm_config_t **self_p)
{
    assert (self_p);
    cm_config_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->values);
    zhashx_destroy (&self->lines);
    zhashx_destroy (&self->maps);
    zhashx_destroy (&self->warned);
    free (self->error);
    free (self->path);
    free (self);
    *self_p = NULL;
}

//  Parse a whole decimal integer; -1 on junk or overflow.
static int
s_parse_long (const char *text, long *value_p)
{
    if (!*text)
        return -1;
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || *end)
        return -1;
    *value_p = value;
    return 0;
}

static int
s_parse_bool (const char *text, bool *value_p)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp (text, yes[i]) == 0) {
            *value_p = true;
            return 0;
        }
        if (strcasecmp (text, no[i]) == 0) {
            *value_p = false;
            return 0;
        }
    }
    return -1;
}

int
cm_config_split_hostport (const char *text, char *host, size_t size,
                          int *port_p, int port_default)
{
    const char *port = NULL;
    size_t host_len;
    if (*text == '[') {
        const char *close = strchr (text, ']');
        if (!close)
            return -1;
        host_len = (size_t) (close - text - 1);
        text++;
        if (close[1] == ':')
            port = close + 2;
        else
        if (close[1])
            return -1;
    }
    else {
        const char *colon = strrchr (text, ':');
        if (colon && strchr (text, ':') != colon)
            return -1;      //  bare IPv6 needs brackets
        host_len = colon ? (size_t) (colon - text) : strlen (text);
        port = colon ? colon + 1 : NULL;
    }
    if (host_len == 0 || host_len >= size)
        return -1;
    memcpy (host, text, host_len);
    host[host_len] = 0;
    long value = port_default;
    if (port && (s_parse_long (port, &value) || value < 1 || value > 65535))
        return -1;
    *port_p = (int) value;
    return 0;
}

//  Validate one value against its declaration. Returns 0 when valid, else
//  -1 with the reason written into msg.
static int
s_validate (const cm_cfg_key_t *k, const char *value, char *msg,
            size_t size)
{
    long number;
    bool flag;
    char host[256];
    int port;
    switch (k->type) {
        case CM_CFG_STRING:
        case CM_CFG_MAP:
            return 0;
        case CM_CFG_INT:
            if (s_parse_long (value, &number)) {
                snprintf (msg, size, "'%s' is not a number", value);
                return -1;
            }
            if (number < k->min || number > k->max) {
                snprintf (msg, size, "%s is out of range (%ld-%ld)", value,
                          k->min, k->max);
                return -1;
            }
            return 0;
        case CM_CFG_PORT:
            if (s_parse_long (value, &number) || number < 0
                || number > 65535) {
                snprintf (msg, size, "%s is not a port (0-65535)", value);
                return -1;
            }
            return 0;
        case CM_CFG_BOOL:
            if (s_parse_bool (value, &flag)) {
                snprintf (msg, size, "'%s' is not yes or no", value);
                return -1;
            }
            return 0;
        case CM_CFG_ENUM: {
            size_t len = strlen (value);
            for (const char *c = k->choices; c && *c;) {
                const char *bar = strchr (c, '|');
                size_t clen = bar ? (size_t) (bar - c) : strlen (c);
                if (clen == len && strncmp (c, value, len) == 0)
                    return 0;
                c = bar ? bar + 1 : c + clen;
            }
            snprintf (msg, size, "'%s' is not one of %s", value, k->choices);
            return -1;
        }
        case CM_CFG_HOSTPORT:
            if (*value
                && cm_config_split_hostport (value, host, sizeof host, &port,
                                             0)) {
                snprintf (msg, size, "'%s' is not host:port", value);
                return -1;
            }
            return 0;
        case CM_CFG_ENDPOINTS: {
            char *copy = strdup (value);
            char *save = NULL;
            int rc = 0;
            int count = 0;
            for (char *ep = strtok_r (copy, ",", &save); ep;
                 ep = strtok_r (NULL, ",", &save)) {
                while (*ep == ' ')
                    ep++;
                count++;
                if (strncmp (ep, "tcp://", 6) && strncmp (ep, "ipc://", 6)
                    && strncmp (ep, "inproc://", 9)) {
                    snprintf (msg, size,
                              "'%s' is not a ZeroMQ endpoint "
                              "(tcp://, ipc:// or inproc://)",
                              ep);
                    rc = -1;
                    break;
                }
            }
            free (copy);
            if (rc == 0 && count == 0) {
                snprintf (msg, size, "an endpoint is required");
                rc = -1;
            }
            return rc;
        }
        case CM_CFG_PORTRANGE: {
            long low, high;
            const char *dash = strchr (value, '-');
            char left[32];
            if (!dash || (size_t) (dash - value) >= sizeof left) {
                snprintf (msg, size, "'%s' is not a range low-high", value);
                return -1;
            }
            memcpy (left, value, (size_t) (dash - value));
            left[dash - value] = 0;
            if (s_parse_long (left, &low) || s_parse_long (dash + 1, &high)
                || low < 1024 || high > 65535 || low > high) {
                snprintf (msg, size,
                          "'%s' is not a port range (1024-65535, low-high)",
                          value);
                return -1;
            }
            return 0;
        }
    }
    return 0;
}

static char *
s_qualified (const char *section, const char *key)
{
    size_t size = strlen (section) + strlen (key) + 2;
    char *name = (char *) zmalloc (size);
    snprintf (name, size, "%s.%s", section, key);
    return name;
}

static void
s_set_error (cm_config_t *self, int line, const char *section,
             const char *key, const char *what)
{
    if (self->error)
        return;
    char buf[1024];
    snprintf (buf, sizeof buf, "%s:%d: [%s] %s: %s", self->path, line,
              section, key, what);
    self->error = strdup (buf);
}

//  libinih callback: one key = value. Returns 1 to continue.
static int
s_on_entry (void *user, const char *section, const char *key,
            const char *value)
{
    cm_config_t *self = (cm_config_t *) user;
    int line = self->line;
    if (!key)
        return 1;
    const cm_cfg_key_t *k = s_find_key (section, key);
    char *name = s_qualified (section, key);
    if (!k) {
        if (!zhashx_lookup (self->warned, name)) {
            zhashx_insert (self->warned, name, "");
            CM_LOG (CM_LOG_WARN, "config", "%s:%d: [%s] %s: %s (ignored)",
                    self->path, line, section, key,
                    s_section_known (section) ? "unknown key"
                                              : "unknown section");
        }
        free (name);
        return 1;
    }
    char msg[512];
    if (s_validate (k, value, msg, sizeof msg)) {
        s_set_error (self, line, section, key, msg);
        free (name);
        return 1;
    }
    if (k->type == CM_CFG_MAP) {
        zhashx_t *map = (zhashx_t *) zhashx_lookup (self->maps, section);
        if (!map) {
            map = s_string_hash ();
            zhashx_insert (self->maps, section, map);
        }
        if (zhashx_lookup (map, key))
            CM_LOG (CM_LOG_WARN, "config", "%s:%d: [%s] %s: defined twice, "
                    "the last one counts", self->path, line, section, key);
        zhashx_update (map, key, (void *) value);
    }
    else {
        zhashx_update (self->values, name, (void *) value);
        zhashx_update (self->lines, name, (void *) (intptr_t) line);
    }
    free (name);
    return 1;
}

//  Fill in defaults for keys the file did not set.
static void
s_apply_defaults (cm_config_t *self)
{
    for (const cm_cfg_key_t *k = cm_config_keys; k->section; k++) {
        if (k->type == CM_CFG_MAP)
            continue;
        char *name = s_qualified (k->section, k->key);
        if (!zhashx_lookup (self->values, name))
            zhashx_insert (self->values, name, (void *) k->def);
        free (name);
    }
}

static cm_config_t *
s_finish (cm_config_t *self, int rc, char **error_p)
{
    char buf[1024];
    if (!self->error && rc > 0) {
        snprintf (buf, sizeof buf, "%s:%d: syntax error (expected "
                  "'key = value' or '[section]')", self->path, rc);
        self->error = strdup (buf);
    }
    if (self->error) {
        if (error_p)
            *error_p = strdup (self->error);
        cm_config_destroy (&self);
        return NULL;
    }
    s_apply_defaults (self);
    return self;
}

//  Line source for ini_parse_stream: hands libinih one chunk at a time and
//  counts lines, so errors can name them. A chunk may be part of a line
//  longer than libinih's buffer; only a chunk ending in newline ends it.
typedef struct {
    cm_config_t *config;    //  whose line counter we advance (borrowed)
    FILE *file;             //  file source, or NULL (borrowed)
    const char *text;       //  string source cursor (borrowed)
    int newlines;           //  complete lines handed out so far
} s_reader_t;

static char *
s_read_chunk (char *buf, int size, void *stream)
{
    s_reader_t *reader = (s_reader_t *) stream;
    if (reader->file) {
        if (!fgets (buf, size, reader->file))
            return NULL;
    }
    else {
        if (!*reader->text)
            return NULL;
        const char *end = strchr (reader->text, '\n');
        size_t len = end ? (size_t) (end - reader->text) + 1
                         : strlen (reader->text);
        if (len > (size_t) size - 1)
            len = (size_t) size - 1;
        memcpy (buf, reader->text, len);
        buf[len] = 0;
        reader->text += len;
    }
    reader->config->line = reader->newlines + 1;
    size_t len = strlen (buf);
    if (len && buf[len - 1] == '\n')
        reader->newlines++;
    return buf;
}

cm_config_t *
cm_config_load (const char *path, char **error_p)
{
    assert (path);
    cm_config_t *self = s_new (path);
    FILE *file = fopen (path, "r");
    if (!file) {
        char buf[1024];
        snprintf (buf, sizeof buf, "%s: cannot open: %s", path,
                  strerror (errno));
        if (error_p)
            *error_p = strdup (buf);
        cm_config_destroy (&self);
        return NULL;
    }
    s_reader_t reader = {self, file, NULL, 0};
    int rc = ini_parse_stream (s_read_chunk, &reader, s_on_entry, self);
    fclose (file);
    return s_finish (self, rc, error_p);
}

cm_config_t *
cm_config_load_string (const char *text, const char *name, char **error_p)
{
    assert (text);
    cm_config_t *self = s_new (name ? name : "(string)");
    s_reader_t reader = {self, NULL, text, 0};
    int rc = ini_parse_stream (s_read_chunk, &reader, s_on_entry, self);
    return s_finish (self, rc, error_p);
}

const char *
cm_config_path (cm_config_t *self)
{
    assert (self);
    return self->path;
}

const char *
cm_config_str (cm_config_t *self, const char *section, const char *key)
{
    assert (self);
    assert (s_find_key (section, key));
    char *name = s_qualified (section, key);
    const char *value = (const char *) zhashx_lookup (self->values, name);
    free (name);
    assert (value);
    return value;
}

long
cm_config_int (cm_config_t *self, const char *section, const char *key)
{
    long value = 0;
    int rc = s_parse_long (cm_config_str (self, section, key), &value);
    assert (rc == 0);       //  validated at load time
    (void) rc;
    return value;
}

bool
cm_config_bool (cm_config_t *self, const char *section, const char *key)
{
    bool value = false;
    int rc = s_parse_bool (cm_config_str (self, section, key), &value);
    assert (rc == 0);       //  validated at load time
    (void) rc;
    return value;
}

int
cm_config_line (cm_config_t *self, const char *section, const char *key)
{
    assert (self);
    char *name = s_qualified (section, key);
    int line = (int) (intptr_t) zhashx_lookup (self->lines, name);
    free (name);
    return line;
}

zhashx_t *
cm_config_map (cm_config_t *self, const char *section)
{
    assert (self);
    zhashx_t *map = (zhashx_t *) zhashx_lookup (self->maps, section);
    if (!map) {
        map = s_string_hash ();
        zhashx_insert (self->maps, section, map);
    }
    return map;
}

void
cm_config_where (cm_config_t *self, const char *section, const char *key,
                 char *buf, size_t size)
{
    assert (self);
    snprintf (buf, size, "%s:%d: [%s] %s", self->path,
              cm_config_line (self, section, key), section, key);
}

void
cm_config_dump (cm_config_t *self, FILE *out)
{
    assert (self);
    const char *section = "";
    for (const cm_cfg_key_t *k = cm_config_keys; k->section; k++) {
        if (strcmp (k->section, section)) {
            section = k->section;
            fprintf (out, "%s[%s]\n", k == cm_config_keys ? "" : "\n",
                     section);
        }
        if (k->type == CM_CFG_MAP) {
            zhashx_t *map = cm_config_map (self, k->section);
            zlistx_t *keys = zhashx_keys (map);
            zlistx_set_comparator (keys, (zlistx_comparator_fn *) strcmp);
            zlistx_sort (keys);
            for (const char *key = (const char *) zlistx_first (keys); key;
                 key = (const char *) zlistx_next (keys))
                fprintf (out, "%s = %s\n", key,
                         strcmp (k->section, "extensions") == 0
                             ? "********"
                             : (const char *) zhashx_lookup (map, key));
            zlistx_destroy (&keys);
        }
        else
            fprintf (out, "%s = %s\n", k->key,
                     cm_config_str (self, k->section, k->key));
    }
}

static const char *
s_type_doc (const cm_cfg_key_t *k, char *buf, size_t size)
{
    switch (k->type) {
        case CM_CFG_STRING: return "text";
        case CM_CFG_INT:
            snprintf (buf, size, "integer %ld-%ld", k->min, k->max);
            return buf;
        case CM_CFG_PORT: return "port 0-65535";
        case CM_CFG_BOOL: return "yes/no";
        case CM_CFG_ENUM: {
            //  Markdown tables need '|' escaped.
            size_t len = (size_t) snprintf (buf, size, "one of ");
            for (const char *c = k->choices; *c && len + 3 < size; c++) {
                if (*c == '|')
                    buf[len++] = '\\';
                buf[len++] = *c;
            }
            buf[len] = 0;
            return buf;
        }
        case CM_CFG_HOSTPORT: return "host:port";
        case CM_CFG_ENDPOINTS: return "ZeroMQ endpoint(s)";
        case CM_CFG_PORTRANGE: return "port range low-high";
        case CM_CFG_MAP: return "key = value entries";
    }
    return "";
}

void
cm_config_print_doc (FILE *out)
{
    fprintf (out,
             "# Configuration reference\n\n"
             "All daemons read one INI file given with `-c FILE` "
             "(`etc/sipserver.conf` is the shipped default). Each daemon "
             "reads `[general]`, `[ipc]` and its own section. Comments start "
             "with `;` or `#` at the beginning of a line, and with ` ;` "
             "after a value.\n\n"
             "Unknown keys are logged as warnings and ignored. An invalid "
             "value stops the daemon at start-up with exit code 2 and one "
             "line naming file, line and key, e.g.\n\n"
             "    etc/x.conf:12: [callbackd] port: 70000 is not a port "
             "(0-65535)\n\n"
             "`<daemon> -c FILE --dump-config` prints the effective "
             "configuration (defaults filled in, passwords masked).\n\n"
             "This page is generated from the key table in "
             "`common/cm_config_keys.c` by `make docs`.\n");
    const char *section = "";
    char buf[256];
    for (const cm_cfg_key_t *k = cm_config_keys; k->section; k++) {
        if (strcmp (k->section, section)) {
            section = k->section;
            fprintf (out, "\n## [%s]\n\n| key | type | default | meaning |\n"
                          "| --- | --- | --- | --- |\n",
                     section);
        }
        fprintf (out, "| `%s` | %s | `%s` | %s |\n", k->key,
                 s_type_doc (k, buf, sizeof buf), k->def ? k->def : "",
                 k->help);
    }
}
