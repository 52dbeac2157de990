//  sipd_dialplan — number analysis (see sipd_dialplan.h).
//
//  The plan is deliberately small and fixed by DESIGN §3: extensions by
//  exact number, the trunk by prefix, nothing else. Numbers are checked
//  for sane characters so that nothing odd reaches a From or
//  Request-URI we build.

#include "sipd_dialplan.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "cm_config.h"
#include "cm_log.h"

struct _sipd_dialplan_t {
    char **numbers;             //  extension numbers, sorted (owned
                                //  array; the strings live in pool)
    size_t count;               //  entries in numbers
    char *pool;                 //  the numbers, NUL-separated (owned)
    char prefix[16];            //  outgoing_prefix, may be empty
    bool has_trunk;             //  a trunk is configured
    char trunk_ip[64];          //  trunk numeric address
    int trunk_port;             //  trunk port
};

//  Resolve host into a numeric address (start-up only; may block).
static int
s_resolve (const char *host, char *ip, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo (host, NULL, &hints, &res) != 0 || !res)
        return -1;
    int rc = getnameinfo (res->ai_addr, res->ai_addrlen, ip, (socklen_t) size,
                          NULL, 0, NI_NUMERICHOST);
    freeaddrinfo (res);
    return rc == 0 ? 0 : -1;
}

static int
s_strcmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
s_key_cmp (const void *key, const void *item)
{
    return strcmp ((const char *) key, *(char *const *) item);
}

static bool
s_is_extension (sipd_dialplan_t *self, const char *number)
{
    return bsearch (number, self->numbers, self->count, sizeof (char *),
                    s_key_cmp)
           != NULL;
}

sipd_dialplan_t *
sipd_dialplan_new (zhashx_t *extensions, const char *outgoing_prefix,
                   const char *trunk)
{
    sipd_dialplan_t *self = (sipd_dialplan_t *) zmalloc (sizeof *self);
    //  A sorted array rather than a hash: 10,000 extensions cost ~14
    //  bytes each instead of ~90 (hash item and key copy).
    size_t total = extensions ? zhashx_size (extensions) : 0;
    size_t pool = 1;
    if (extensions)
        for (void *v = zhashx_first (extensions); v;
             v = zhashx_next (extensions))
            pool += strlen ((const char *) zhashx_cursor (extensions)) + 1;
    self->numbers = (char **) zmalloc ((total + 1) * sizeof (char *));
    self->pool = (char *) zmalloc (pool);
    char *cursor = self->pool;
    if (extensions)
        for (void *v = zhashx_first (extensions); v;
             v = zhashx_next (extensions)) {
            const char *number = (const char *) zhashx_cursor (extensions);
            size_t len = strlen (number) + 1;
            self->numbers[self->count++] = memcpy (cursor, number, len);
            cursor += len;
        }
    qsort (self->numbers, self->count, sizeof (char *), s_strcmp);
    if (outgoing_prefix && strlen (outgoing_prefix) < sizeof self->prefix)
        strcpy (self->prefix, outgoing_prefix);
    else if (outgoing_prefix) {
        CM_LOG (CM_LOG_ERROR, "dialplan", "outgoing_prefix too long");
        sipd_dialplan_destroy (&self);
        return NULL;
    }
    if (trunk && *trunk) {
        char host[256];
        if (cm_config_split_hostport (trunk, host, sizeof host,
                                      &self->trunk_port, 5060)
            || s_resolve (host, self->trunk_ip, sizeof self->trunk_ip)) {
            CM_LOG (CM_LOG_ERROR, "dialplan", "cannot resolve trunk %s",
                    trunk);
            sipd_dialplan_destroy (&self);
            return NULL;
        }
        self->has_trunk = true;
    }
    return self;
}

void
sipd_dialplan_destroy (sipd_dialplan_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sipd_dialplan_t *self = *self_p;
        free (self->numbers);
        free (self->pool);
        free (self);
        *self_p = NULL;
    }
}

//  Dial digits: 0-9, '*', '#', and '+' only at the start.
static bool
s_is_digits (const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        if ((*p >= '0' && *p <= '9') || *p == '*' || *p == '#')
            continue;
        if (*p == '+' && p == s)
            continue;
        return false;
    }
    return true;
}

sipd_route_kind_t
sipd_dialplan_route (sipd_dialplan_t *self, const char *dialed,
                     bool from_trunk, sipd_route_t *route)
{
    assert (self);
    assert (route);
    memset (route, 0, sizeof *route);
    route->kind = SIPD_ROUTE_NONE;
    route->direction = from_trunk ? SIPD_DIR_INBOUND : SIPD_DIR_INTERNAL;
    if (!dialed || !*dialed || strlen (dialed) >= sizeof route->number)
        return SIPD_ROUTE_NONE;
    if (s_is_extension (self, dialed)) {
        route->kind = SIPD_ROUTE_EXTENSION;
        strcpy (route->number, dialed);
        return route->kind;
    }
    size_t plen = strlen (self->prefix);
    if (!from_trunk && self->has_trunk && plen > 0
        && strncmp (dialed, self->prefix, plen) == 0
        && s_is_digits (dialed + plen)) {
        route->kind = SIPD_ROUTE_TRUNK;
        route->direction = SIPD_DIR_OUTBOUND;
        strcpy (route->number, dialed + plen);
        return route->kind;
    }
    //  No route: dst is the number as dialled (printable part only).
    if (s_is_digits (dialed))
        strcpy (route->number, dialed);
    return SIPD_ROUTE_NONE;
}

bool
sipd_dialplan_is_extension (sipd_dialplan_t *self, const char *number)
{
    assert (self);
    return number && s_is_extension (self, number);
}

bool
sipd_dialplan_has_trunk (sipd_dialplan_t *self)
{
    assert (self);
    return self->has_trunk;
}

bool
sipd_dialplan_is_trunk_source (sipd_dialplan_t *self, const char *ip,
                               int port)
{
    assert (self);
    if (!self->has_trunk || !ip)
        return false;
    //  Normalise both sides through inet_pton so that "::1" equals
    //  "0:0::1" and v4-mapped forms do not slip through as different.
    unsigned char a[16], b[16];
    int fam = strchr (ip, ':') ? AF_INET6 : AF_INET;
    int tfam = strchr (self->trunk_ip, ':') ? AF_INET6 : AF_INET;
    if (fam != tfam || inet_pton (fam, ip, a) != 1
        || inet_pton (tfam, self->trunk_ip, b) != 1)
        return false;
    size_t n = fam == AF_INET ? 4 : 16;
    return memcmp (a, b, n) == 0 && port == self->trunk_port;
}

const char *
sipd_dialplan_trunk_ip (sipd_dialplan_t *self)
{
    assert (self);
    return self->trunk_ip;
}

int
sipd_dialplan_trunk_port (sipd_dialplan_t *self)
{
    assert (self);
    return self->trunk_port;
}

const char *
sipd_direction_name (sipd_direction_t direction)
{
    switch (direction) {
    case SIPD_DIR_INTERNAL:
        return "internal";
    case SIPD_DIR_OUTBOUND:
        return "outbound";
    case SIPD_DIR_INBOUND:
        return "inbound";
    case SIPD_DIR_CALLBACK:
        return "callback";
    }
    return "internal";
}
