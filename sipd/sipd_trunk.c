//  sipd_trunk — the provider account (see sipd_trunk.h).
//
//  Registration runs as a small state machine on the server's loop:
//  REGISTER -> 401/407 -> REGISTER with credentials -> 200, then a timer
//  at 80 % of the granted lifetime starts the next round. A failure (no
//  answer, a second challenge after credentials, 403) is logged and
//  retried after RETRY_MS.

#include "sipd_trunk.h"

#include "cm_log.h"
#include "sipd_leg.h"
#include "sipd_msg.h"

#include <czmq.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#define RETRY_MS 30000

struct _sipd_trunk_t {
    sipd_server_t *server;      //  borrowed: sends REGISTER
    zloop_t *loop;              //  borrowed: refresh timer
    char domain[160];           //  URI host part toward the provider
    char username[64];          //  [trunk] username
    char password[128];         //  [trunk] password (never logged)
    bool do_register;           //  [trunk] register
    int expires;                //  [trunk] register_expires
    sipd_source_t dest;         //  the trunk address
    sipd_leg_t *reg;            //  owned: REGISTER "dialog" (Call-ID,
                                //  CSeq), NULL when not registering
    int timer;                  //  refresh/retry timer, 0 if none
    bool challenged;            //  last REGISTER carried credentials
    const char *state;          //  see sipd_trunk_state
    unsigned nc;                //  nonce count for our cnonce
};

static void s_register (sipd_trunk_t *self, const char *auth_name,
                        const char *auth_value);

sipd_trunk_t *
sipd_trunk_new (sipd_server_t *server, sipd_dialplan_t *dialplan)
{
    assert (server);
    assert (dialplan);
    cm_config_t *config = sipd_server_config (server);
    sipd_trunk_t *self = (sipd_trunk_t *) zmalloc (sizeof *self);
    self->server = server;
    self->loop = sipd_server_loop (server);
    self->state = "off";
    const char *ip = sipd_dialplan_trunk_ip (dialplan);
    int port = sipd_dialplan_trunk_port (dialplan);
    const char *domain = cm_config_str (config, "trunk", "domain");
    if (domain && *domain)
        snprintf (self->domain, sizeof self->domain, "%s", domain);
    else if (strchr (ip, ':'))
        snprintf (self->domain, sizeof self->domain, "[%s]:%d", ip, port);
    else
        snprintf (self->domain, sizeof self->domain, "%s:%d", ip, port);
    snprintf (self->username, sizeof self->username, "%s",
              cm_config_str (config, "trunk", "username"));
    snprintf (self->password, sizeof self->password, "%s",
              cm_config_str (config, "trunk", "password"));
    self->do_register = cm_config_bool (config, "trunk", "register");
    self->expires = (int) cm_config_int (config, "trunk", "register_expires");
    self->dest.transport = SIPD_TRANSPORT_UDP;
    snprintf (self->dest.ip, sizeof self->dest.ip, "%s", ip);
    self->dest.port = port;
    if (self->do_register && self->username[0])
        s_register (self, NULL, NULL);
    return self;
}

void
sipd_trunk_destroy (sipd_trunk_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sipd_trunk_t *self = *self_p;
        if (self->timer > 0)
            zloop_timer_end (self->loop, self->timer);
        sipd_leg_destroy (&self->reg);
        free (self);
        *self_p = NULL;
    }
}

const char *
sipd_trunk_domain (sipd_trunk_t *self)
{
    assert (self);
    return self->domain;
}

const char *
sipd_trunk_from_user (sipd_trunk_t *self, const char *src)
{
    assert (self);
    return src ? src : "";
}

const char *
sipd_trunk_username (sipd_trunk_t *self)
{
    assert (self);
    return self->username;
}

bool
sipd_trunk_has_credentials (sipd_trunk_t *self)
{
    assert (self);
    return self->username[0] != 0;
}

const char *
sipd_trunk_state (sipd_trunk_t *self)
{
    assert (self);
    return self->state;
}

//  Hex digest of text with md.
static void
s_hash (const EVP_MD *md, const char *text, char *out)
{
    unsigned char bin[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest (text, strlen (text), bin, &len, md, NULL);
    for (unsigned int i = 0; i < len; i++)
        sprintf (out + 2 * i, "%02x", bin[i]);
    out[2 * len] = 0;
}

int
sipd_trunk_digest (const char *algorithm, const char *user,
                   const char *realm, const char *password,
                   const char *method, const char *uri, const char *nonce,
                   const char *qop, const char *nc, const char *cnonce,
                   char *out, size_t size)
{
    const EVP_MD *md = NULL;
    if (!algorithm || !*algorithm || strcasecmp (algorithm, "MD5") == 0)
        md = EVP_md5 ();
    else if (strcasecmp (algorithm, "SHA-256") == 0)
        md = EVP_sha256 ();
    if (!md || size < 65)
        return -1;
    char ha1[65], ha2[65];
    char *text = zsys_sprintf ("%s:%s:%s", user, realm, password);
    s_hash (md, text, ha1);
    zstr_free (&text);
    text = zsys_sprintf ("%s:%s", method, uri);
    s_hash (md, text, ha2);
    zstr_free (&text);
    if (qop)
        text = zsys_sprintf ("%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop,
                             ha2);
    else
        text = zsys_sprintf ("%s:%s:%s", ha1, nonce, ha2);
    s_hash (md, text, out);
    zstr_free (&text);
    return 0;
}

//  Copy a possibly quoted parameter value without its quotes.
static void
s_unquote (const char *in, char *out, size_t size)
{
    out[0] = 0;
    if (!in)
        return;
    size_t len = strlen (in);
    if (len >= 2 && in[0] == '"' && in[len - 1] == '"') {
        in++;
        len -= 2;
    }
    if (len >= size)
        len = size - 1;
    memcpy (out, in, len);
    out[len] = 0;
}

int
sipd_trunk_authorize (sipd_trunk_t *self, const osip_message_t *response,
                      const char *method, const char *uri, char *name,
                      size_t name_size, char *value, size_t value_size)
{
    assert (self);
    if (!response || !self->username[0] || !method || !uri)
        return -1;
    int code = osip_message_get_status_code (response);
    const osip_list_t *list = code == 407 ? &response->proxy_authenticates
                                          : &response->www_authenticates;
    //  Prefer SHA-256, then MD5 (RFC 8760 §2.4).
    osip_www_authenticate_t *pick = NULL;
    int best = 0;
    for (int i = 0; i < osip_list_size (list); i++) {
        osip_www_authenticate_t *ch = osip_list_get (list, i);
        if (!ch->auth_type || strcasecmp (ch->auth_type, "Digest") != 0
            || !ch->nonce || !ch->realm)
            continue;
        char alg[32];
        s_unquote (ch->algorithm, alg, sizeof alg);
        int score = !alg[0] || strcasecmp (alg, "MD5") == 0         ? 1
                    : strcasecmp (alg, "SHA-256") == 0 ? 2
                                                       : 0;
        if (score > best) {
            best = score;
            pick = ch;
        }
    }
    if (!pick)
        return -1;
    char realm[128], nonce[256], opaque[256], alg[32], qops[64];
    s_unquote (pick->realm, realm, sizeof realm);
    s_unquote (pick->nonce, nonce, sizeof nonce);
    s_unquote (pick->opaque, opaque, sizeof opaque);
    s_unquote (pick->algorithm, alg, sizeof alg);
    s_unquote (pick->qop_options, qops, sizeof qops);
    bool qop = strstr (qops, "auth") != NULL;
    char cnonce[24], nc[12], digest[65];
    snprintf (cnonce, sizeof cnonce, "%08x%08x",
              (unsigned) osip_build_random_number (),
              (unsigned) osip_build_random_number ());
    snprintf (nc, sizeof nc, "%08x", ++self->nc);
    if (sipd_trunk_digest (alg[0] ? alg : "MD5", self->username, realm,
                           self->password, method, uri, nonce,
                           qop ? "auth" : NULL, nc, cnonce, digest,
                           sizeof digest)
        != 0)
        return -1;
    snprintf (name, name_size, "%s",
              code == 407 ? "Proxy-Authorization" : "Authorization");
    int n = snprintf (value, value_size,
                      "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
                      "uri=\"%s\", response=\"%s\", algorithm=%s",
                      self->username, realm, nonce, uri, digest,
                      alg[0] ? alg : "MD5");
    if (qop && n > 0 && (size_t) n < value_size)
        n += snprintf (value + n, value_size - (size_t) n,
                       ", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce);
    if (opaque[0] && n > 0 && (size_t) n < value_size)
        n += snprintf (value + n, value_size - (size_t) n, ", opaque=\"%s\"",
                       opaque);
    return n > 0 && (size_t) n < value_size ? 0 : -1;
}

//  --------------------------------------------------------------------
//  Registration

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    sipd_trunk_t *self = (sipd_trunk_t *) arg;
    self->timer = 0;
    s_register (self, NULL, NULL);
    return 0;
}

static void
s_schedule (sipd_trunk_t *self, int delay_ms)
{
    if (self->timer > 0)
        zloop_timer_end (self->loop, self->timer);
    self->timer = zloop_timer (self->loop, (size_t) delay_ms, 1, s_on_timer,
                               self);
}

static void
s_on_register_response (void *arg, int txn_id, const osip_message_t *response,
                        int code)
{
    sipd_trunk_t *self = (sipd_trunk_t *) arg;
    if (code < 200)
        return;
    if ((code == 401 || code == 407) && !self->challenged) {
        char name[32], value[1024], uri[200];
        snprintf (uri, sizeof uri, "sip:%s", self->domain);
        if (sipd_trunk_authorize (self, response, "REGISTER", uri, name,
                                  sizeof name, value, sizeof value)
            == 0) {
            s_register (self, name, value);
            return;
        }
    }
    if (code >= 200 && code < 300) {
        int granted = self->expires;
        osip_header_t *exp = NULL;
        if (response && osip_message_get_expires (response, 0, &exp) >= 0
            && exp && exp->hvalue && atoi (exp->hvalue) > 0)
            granted = atoi (exp->hvalue);
        osip_contact_t *contact
            = response ? osip_list_get (&response->contacts, 0) : NULL;
        osip_generic_param_t *param = NULL;
        if (contact && osip_contact_param_get_byname (contact, "expires",
                                                      &param)
                           >= 0
            && param && param->gvalue && atoi (param->gvalue) > 0)
            granted = atoi (param->gvalue);
        self->state = "registered";
        CM_LOG (CM_LOG_INFO, "trunk", "registered to %s for %d s",
                self->domain, granted);
        s_schedule (self, granted * 800);
        return;
    }
    self->state = "failed";
    CM_LOG (CM_LOG_WARN, "trunk", "registration to %s failed: %d",
            self->domain, code);
    s_schedule (self, RETRY_MS);
}

static void
s_register (sipd_trunk_t *self, const char *auth_name, const char *auth_value)
{
    char aor[256], target[200];
    snprintf (aor, sizeof aor, "sip:%s@%s", self->username, self->domain);
    snprintf (target, sizeof target, "sip:%s", self->domain);
    if (!self->reg)
        self->reg = sipd_leg_new_uac (target, aor, NULL, aor, &self->dest,
                                      sipd_server_host (self->server));
    if (!self->reg) {
        self->state = "failed";
        return;
    }
    const char *host = sipd_server_host (self->server);
    bool v6 = strchr (host, ':') != NULL;
    char contact[200];
    snprintf (contact, sizeof contact, "<sip:%s@%s%s%s:%d>", self->username,
              v6 ? "[" : "", host, v6 ? "]" : "",
              sipd_server_port (self->server));
    osip_message_t *reg
        = sipd_leg_request (self->reg, "REGISTER", contact, NULL, NULL);
    if (!reg)
        return;
    char expires[16];
    snprintf (expires, sizeof expires, "%d", self->expires);
    osip_message_set_expires (reg, expires);
    if (auth_name && auth_value)
        osip_message_set_header (reg, auth_name, auth_value);
    self->challenged = auth_name != NULL;
    self->state = "registering";
    if (sipd_server_send_request (self->server, &reg, &self->dest,
                                  s_on_register_response, self)
        < 0) {
        self->state = "failed";
        s_schedule (self, RETRY_MS);
    }
}
