//  cm_config — the suite's one INI file (DESIGN §3), parsed with libinih.
//
//  Every key is declared once in a table (cm_config_keys.c) with its type,
//  default, range and help text. The same table parses and validates the
//  file, fills in defaults, prints --dump-config and generates
//  docs/config.md. Free-form sections ([extensions]) are maps.
//  Errors name file, line and key:
//      etc/x.conf:12: [callbackd] port: 70000 is not a port (0-65535)
//  Unknown keys and sections are logged as warnings, once, at load time.

#ifndef CM_CONFIG_H_INCLUDED
#define CM_CONFIG_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct _cm_config_t cm_config_t;

typedef enum {
    CM_CFG_STRING,          //  any text
    CM_CFG_INT,             //  decimal integer within [min, max]
    CM_CFG_PORT,            //  0..65535
    CM_CFG_BOOL,            //  yes/no, true/false, on/off, 1/0
    CM_CFG_ENUM,            //  one of the '|'-separated choices
    CM_CFG_HOSTPORT,        //  host:port or [v6]:port
    CM_CFG_ENDPOINTS,       //  comma-separated ZeroMQ endpoints
    CM_CFG_PORTRANGE,       //  low-high, 1024 <= low <= high <= 65535
    CM_CFG_MAP              //  free-form section: every key is a value
} cm_cfg_type_t;

//  One declared key. A CM_CFG_MAP entry has key "*".
typedef struct {
    const char *section;    //  section name
    const char *key;        //  key name, or "*" for a map section
    cm_cfg_type_t type;     //  value type
    const char *def;        //  default value as written in the file
    long min;               //  CM_CFG_INT lower bound
    long max;               //  CM_CFG_INT upper bound
    const char *choices;    //  CM_CFG_ENUM: "a|b|c"
    const char *help;       //  one line for --help and docs/config.md
} cm_cfg_key_t;

//  The declared keys, terminated by an entry with section NULL.
extern const cm_cfg_key_t cm_config_keys[];

//  Load and validate a file. Returns NULL on error and sets *error_p to one
//  line naming file, line and key (caller frees it with free()).
//  Caller owns return value and must destroy it when done.
cm_config_t *
    cm_config_load (const char *path, char **error_p);

//  Load from a string instead of a file; name is used in messages.
//  Same ownership rules as cm_config_load.
cm_config_t *
    cm_config_load_string (const char *text, const char *name,
                           char **error_p);

//  Destroy the config. NULL-safe; sets *self_p to NULL.
void
    cm_config_destroy (cm_config_t **self_p);

//  Path the config was loaded from.
const char *
    cm_config_path (cm_config_t *self);

//  Value of a declared key (the file's or the default). Asking for an
//  undeclared key is a programmer error (asserted).
const char *
    cm_config_str (cm_config_t *self, const char *section, const char *key);

long
    cm_config_int (cm_config_t *self, const char *section, const char *key);

bool
    cm_config_bool (cm_config_t *self, const char *section, const char *key);

//  Line of the key in the file, 0 when it took its default.
int
    cm_config_line (cm_config_t *self, const char *section, const char *key);

//  Key/value map of a CM_CFG_MAP section (values are char *). Borrowed;
//  never NULL (empty when the section is absent).
zhashx_t *
    cm_config_map (cm_config_t *self, const char *section);

//  Format "file:line: [section] key" into buf, for errors a daemon finds
//  after loading (an address it cannot bind).
void
    cm_config_where (cm_config_t *self, const char *section, const char *key,
                     char *buf, size_t size);

//  Print the effective configuration as INI.
void
    cm_config_dump (cm_config_t *self, FILE *out);

//  Print the key table as Markdown (docs/config.md).
void
    cm_config_print_doc (FILE *out);

//  Parse "host:port", "[v6]:port" or "host" (port_default used). On success
//  writes the host into host (size bytes) and the port into *port_p and
//  returns 0; -1 on bad syntax or port.
int
    cm_config_split_hostport (const char *text, char *host, size_t size,
                              int *port_p, int port_default);

#endif
