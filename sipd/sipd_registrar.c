//  sipd_registrar — processes REGISTER requests (RFC 3261 §10.3) with
//  digest authentication and brute-force throttling (see
//  sipd_registrar.h).
//
//  The request is checked completely before anything changes: every
//  Contact and expiry is validated and every binding's Call-ID/CSeq order
//  is checked first, then the bindings are applied together, so a request
//  that fails leaves the location untouched (RFC 3261 §10.3 step 7: "the
//  update MUST be aborted and the request fails").
//
//  Unknown users and wrong passwords get the same answer (403), and
//  requests without credentials are challenged whatever the To user, so
//  the registrar does not reveal which extensions exist.

#include "sipd_registrar.h"
#include "cm_log.h"
#include "sipd_msg.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_REQUEST_CONTACTS 16     //  Contact entries accepted in one REGISTER
#define EXPIRES_MAX 4294967295LL    //  RFC 3261 §20.19: 2^32-1 seconds
#define URI_MAX 1024                //  longest contact URI stored
#define USER_AGENT_MAX 256          //  User-Agent kept per binding, bytes

struct _sipd_registrar_t {
    sipd_auth_t *auth;              //  digest authenticator (owned)
    sipd_throttle_t *throttle;      //  failed-auth throttle (owned)
    sipd_location_t *location;      //  bindings (owned)
    zloop_t *loop;                  //  loop holding our timer (borrowed)
    int timer_id;                   //  one-second timer, or -1
    int min_expires;                //  [sipd] min_expires
    int max_expires;                //  [sipd] max_expires
    int default_expires;            //  [sipd] default_expires
    sipd_clock_fn *clock;           //  time source
    void *clock_arg;                //  its argument (borrowed)
    int64_t date_time;              //  second that date stands for
    char date[40];                  //  Date header value of date_time
};

//  One Contact of the request after validation.
typedef struct {
    sipd_contact_t contact;         //  binding to apply (strings below)
    char *uri;                      //  contact URI (owned)
    char *instance;                 //  dequoted +sip.instance (owned)
    long long expires;              //  granted seconds, 0 = remove
} s_request_contact_t;

static int64_t
s_time (void *arg)
{
    (void) arg;
    return (int64_t) time (NULL);
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    sipd_registrar_tick ((sipd_registrar_t *) arg);
    return 0;
}

sipd_registrar_t *
sipd_registrar_new (cm_config_t *config, zloop_t *loop, sipd_events_t *events)
{
    assert (config);
    char *spool = zsys_sprintf (
        "%s/spool", cm_config_str (config, "general", "data_dir"));
    if (zsys_dir_create ("%s", spool) != 0) {
        CM_LOG (CM_LOG_ERROR, "registrar", "cannot create %s: %s", spool,
                strerror (errno));
        zstr_free (&spool);
        return NULL;
    }
    sipd_auth_t *auth = sipd_auth_new (config);
    if (!auth) {
        zstr_free (&spool);
        return NULL;
    }
    sipd_registrar_t *self
        = (sipd_registrar_t *) zmalloc (sizeof (sipd_registrar_t));
    self->auth = auth;
    self->throttle = sipd_throttle_new (
        (int) cm_config_int (config, "sipd", "auth_fail_limit"),
        (int) cm_config_int (config, "sipd", "auth_fail_window"),
        (int) cm_config_int (config, "sipd", "auth_block_time"));
    self->location = sipd_location_new (cm_config_map (config, "extensions"),
                                        spool, events);
    zstr_free (&spool);
    (void) sipd_location_load (self->location);     //  logs what it did
    //  In the daemon the file is written by a thread, not the loop.
    if (loop)
        (void) sipd_location_write_in_background (self->location, true);
    self->min_expires = (int) cm_config_int (config, "sipd", "min_expires");
    self->max_expires = (int) cm_config_int (config, "sipd", "max_expires");
    self->default_expires
        = (int) cm_config_int (config, "sipd", "default_expires");
    if (self->max_expires < self->min_expires)
        self->max_expires = self->min_expires;
    if (self->default_expires > self->max_expires)
        self->default_expires = self->max_expires;
    if (self->default_expires < self->min_expires)
        self->default_expires = self->min_expires;
    self->clock = s_time;
    self->loop = loop;
    self->timer_id = loop ? zloop_timer (loop, 1000, 0, s_on_timer, self) : -1;
    return self;
}

void
sipd_registrar_destroy (sipd_registrar_t **self_p)
{
    assert (self_p);
    sipd_registrar_t *self = *self_p;
    if (!self)
        return;
    if (self->loop && self->timer_id >= 0)
        zloop_timer_end (self->loop, self->timer_id);
    sipd_location_destroy (&self->location);
    sipd_throttle_destroy (&self->throttle);
    sipd_auth_destroy (&self->auth);
    free (self);
    *self_p = NULL;
}

//  A response with a reason, or NULL when the request cannot be answered.
static osip_message_t *
s_reply (const osip_message_t *request, int code, const char *reason)
{
    return sipd_msg_response_new (request, code, reason);
}

//  Parse a delta-seconds value (RFC 3261 §25.1): digits only; values
//  beyond 2^32-1 are capped. Returns -1 on bad syntax.
static long long
s_delta_seconds (const char *text)
{
    if (!text)
        return -1;
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strspn (text, "0123456789");
    const char *rest = text + len;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (len == 0 || *rest)
        return -1;
    if (len > 10)
        return EXPIRES_MAX;
    long long value = strtoll (text, NULL, 10);
    return value > EXPIRES_MAX ? EXPIRES_MAX : value;
}

//  Value of a Contact header parameter, or NULL (borrowed).
static const char *
s_contact_param (osip_contact_t *contact, const char *name)
{
    osip_generic_param_t *param = NULL;
    if (osip_contact_param_get_byname (contact, (char *) name, &param) != 0
        || !param)
        return NULL;
    return param->gvalue ? param->gvalue : "";
}

static void
s_contacts_free (s_request_contact_t *contacts, int count)
{
    for (int i = 0; i < count; i++) {
        osip_free (contacts[i].uri);
        free (contacts[i].instance);
    }
}

//  The request's context while it is processed.
typedef struct {
    const osip_message_t *request;  //  the REGISTER (borrowed)
    const sipd_source_t *source;    //  where it came from (borrowed)
    char *call_id;                  //  Call-ID text (owned, osip)
    uint32_t cseq;                  //  CSeq number
    const char *user;               //  To user = authenticated user
    bool star;                      //  "Contact: *"
    char user_agent[USER_AGENT_MAX];    //  User-Agent, truncated
    bool has_user_agent;            //  the request has a User-Agent
    int count;                      //  validated contacts
    s_request_contact_t contacts[MAX_REQUEST_CONTACTS];
} s_ctx_t;

//  Validate one Contact; fills out. Returns 0, or the status code to
//  answer with and the reason in *reason_p.
static int
s_contact_parse (sipd_registrar_t *self, s_ctx_t *ctx,
                 osip_contact_t *contact, long long header_expires,
                 s_request_contact_t *out, const char **reason_p)
{
    *reason_p = "Bad Contact";
    if (!contact || !contact->url)
        return 400;
    if (osip_uri_to_str (contact->url, &out->uri) != 0 || !out->uri)
        return 400;
    //  Bindings live for hours: keep their size bounded.
    *reason_p = "Contact Too Long";
    if (strlen (out->uri) > URI_MAX)
        return 400;
    long long expires = header_expires;
    const char *param = s_contact_param (contact, "expires");
    if (param) {
        expires = s_delta_seconds (param);
        if (expires < 0) {
            *reason_p = "Bad Contact expires";
            return 400;
        }
    }
    if (expires < 0)
        expires = self->default_expires;
    if (expires > 0 && expires < self->min_expires) {
        *reason_p = "Interval Too Brief";
        return 423;
    }
    if (expires > self->max_expires)
        expires = self->max_expires;
    out->expires = expires;
    const char *instance = s_contact_param (contact, "+sip.instance");
    if (instance && *instance) {
        out->instance = strdup (instance);
        osip_dequote (out->instance);
    }
    const char *reg_id = s_contact_param (contact, "reg-id");
    long long rid = reg_id ? s_delta_seconds (reg_id) : 0;
    out->contact = (sipd_contact_t){
        .uri = out->uri, .instance = out->instance,
        .reg_id = rid > 0 && rid < 65536 ? (int) rid : 0,
        .call_id = ctx->call_id, .cseq = ctx->cseq,
        .expires = self->clock (self->clock_arg) + expires,
        .user_agent = ctx->has_user_agent ? ctx->user_agent : NULL};
    if (ctx->source)
        out->contact.source = *ctx->source;
    return 0;
}

//  Validate all Contacts (RFC 3261 §10.3 steps 6 and 7). Returns 0 or a
//  status code with its reason in *reason_p.
static int
s_contacts_parse (sipd_registrar_t *self, s_ctx_t *ctx,
                  const char **reason_p)
{
    const osip_message_t *request = ctx->request;
    const char *header = sipd_msg_header (request, "Expires");
    long long header_expires = header ? s_delta_seconds (header) : -1;
    *reason_p = "Bad Expires";
    if (header && header_expires < 0)
        return 400;
    int total = osip_list_size (&request->contacts);
    *reason_p = "Too Many Contacts";
    if (total > MAX_REQUEST_CONTACTS)
        return 400;
    for (int i = 0; i < total; i++) {
        osip_contact_t *contact
            = (osip_contact_t *) osip_list_get (&request->contacts, i);
        if (contact && !contact->url && contact->displayname
            && strcmp (contact->displayname, "*") == 0) {
            ctx->star = true;
            continue;
        }
        int code = s_contact_parse (self, ctx, contact, header_expires,
                                    &ctx->contacts[ctx->count], reason_p);
        ctx->count++;   //  its strings are freed even on failure
        if (code)
            return code;
    }
    *reason_p = "Invalid Contact *";
    if (ctx->star && (total != 1 || header_expires != 0))
        return 400;
    *reason_p = "Out-of-order CSeq";
    if (ctx->star) {
        //  §10.3 step 6: a binding of this Call-ID with a CSeq not lower
        //  than the request's aborts the removal.
        sipd_contact_t bindings[SIPD_LOCATION_MAX_CONTACTS];
        int count = sipd_location_contacts (self->location, ctx->user,
                                            bindings,
                                            SIPD_LOCATION_MAX_CONTACTS);
        for (int i = 0; i < count; i++)
            if (strcmp (bindings[i].call_id, ctx->call_id) == 0
                && ctx->cseq <= bindings[i].cseq)
                return 500;
    }
    for (int i = 0; i < ctx->count; i++)
        if (sipd_location_check (self->location, ctx->user,
                                 &ctx->contacts[i].contact)
            == SIPD_LOCATION_OUT_OF_ORDER)
            return 500;
    return 0;
}

//  RFC 1123 date for the Date header (RFC 3261 §20.17), locale-free.
static void
s_http_date (int64_t now, char *buf, size_t size)
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed",
                                 "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t) now;
    struct tm tm;
    gmtime_r (&t, &tm);
    snprintf (buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
              days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
              tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

//  The 200 OK listing every current binding of the user (§10.3 step 8).
static osip_message_t *
s_ok (sipd_registrar_t *self, s_ctx_t *ctx)
{
    osip_message_t *response = s_reply (ctx->request, 200, NULL);
    if (!response)
        return NULL;
    int64_t now = self->clock (self->clock_arg);
    sipd_contact_t bindings[SIPD_LOCATION_MAX_CONTACTS];
    int count = sipd_location_contacts (self->location, ctx->user, bindings,
                                        SIPD_LOCATION_MAX_CONTACTS);
    for (int i = 0; i < count; i++) {
        //  URI_MAX bounds the URI; the instance is the one we stored
        char value[URI_MAX + 512];
        int len = snprintf (value, sizeof value, "<%s>;expires=%lld",
                            bindings[i].uri,
                            (long long) (bindings[i].expires - now));
        //  RFC 5626 §6: echo the instance and reg-id of the binding
        if (bindings[i].instance && len > 0 && (size_t) len < sizeof value)
            len += snprintf (value + len, sizeof value - (size_t) len,
                             ";+sip.instance=\"%s\"", bindings[i].instance);
        if (bindings[i].instance && bindings[i].reg_id && len > 0
            && (size_t) len < sizeof value)
            len += snprintf (value + len, sizeof value - (size_t) len,
                             ";reg-id=%d", bindings[i].reg_id);
        char *heap = NULL;  //  an instance too long for the buffer
        if ((len < 0 || (size_t) len >= sizeof value) && bindings[i].reg_id)
            heap = zsys_sprintf (
                "<%s>;expires=%lld;+sip.instance=\"%s\";reg-id=%d",
                bindings[i].uri, (long long) (bindings[i].expires - now),
                bindings[i].instance, bindings[i].reg_id);
        else if (len < 0 || (size_t) len >= sizeof value)
            heap = zsys_sprintf ("<%s>;expires=%lld;+sip.instance=\"%s\"",
                                 bindings[i].uri,
                                 (long long) (bindings[i].expires - now),
                                 bindings[i].instance);
        if (osip_message_set_contact (response, heap ? heap : value) != 0)
            CM_LOG_CALL (CM_LOG_WARN, "registrar", ctx->call_id,
                         "cannot list contact %s in 200",
                         CM_PII (bindings[i].uri));
        zstr_free (&heap);
    }
    //  one Date text a second, not one gmtime and snprintf per response
    if (now != self->date_time) {
        s_http_date (now, self->date, sizeof self->date);
        self->date_time = now;
    }
    (void) sipd_msg_add_header (response, "Date", self->date);  //  optional
    return response;
}

//  Apply the validated request to the location (§10.3 step 7).
static void
s_apply (sipd_registrar_t *self, s_ctx_t *ctx)
{
    if (ctx->star) {
        int removed = sipd_location_unbind_all (self->location, ctx->user,
                                                ctx->call_id, ctx->cseq);
        CM_LOG_CALL (CM_LOG_INFO, "registrar", ctx->call_id,
                     "ext=%s removed all %d bindings", CM_PII (ctx->user),
                     removed);
        return;
    }
    for (int i = 0; i < ctx->count; i++) {
        s_request_contact_t *rc = &ctx->contacts[i];
        if (rc->expires == 0)
            (void) sipd_location_unbind (self->location, ctx->user,
                                         &rc->contact);  //  may be absent
        else if (sipd_location_bind (self->location, ctx->user, &rc->contact)
                 != 0)
            CM_LOG_CALL (CM_LOG_WARN, "registrar", ctx->call_id,
                         "ext=%s cannot bind %s", CM_PII (ctx->user),
                         CM_PII (rc->uri));
    }
}

//  Authenticate; returns NULL when the request may proceed (user copied
//  into user), else the response to send.
static osip_message_t *
s_authenticate (sipd_registrar_t *self, s_ctx_t *ctx, char *user,
                size_t size)
{
    const osip_message_t *request = ctx->request;
    const char *ip = ctx->source ? ctx->source->ip : NULL;
    const char *to_user = request->to->url ? request->to->url->username
                                           : NULL;
    if (ip && sipd_throttle_is_blocked (self->throttle, ip))
        return s_reply (request, 403, "Forbidden");
    sipd_auth_result_t result
        = sipd_auth_verify (self->auth, request, false, user, size);
    if (result == SIPD_AUTH_MISSING || result == SIPD_AUTH_STALE) {
        osip_message_t *response = s_reply (request, 401, NULL);
        if (response
            && sipd_auth_challenge_request (self->auth, response, request,
                                            *user ? user : to_user,
                                            result == SIPD_AUTH_STALE)
                   != 0) {
            osip_message_free (response);
            response = s_reply (request, 500, NULL);
        }
        return response;
    }
    if (result == SIPD_AUTH_MALFORMED)
        return s_reply (request, 400, "Malformed Authorization");
    if (result == SIPD_AUTH_FAILED) {
        CM_LOG_CALL (CM_LOG_INFO, "registrar", ctx->call_id,
                     "authentication failed user=%s src=%s", CM_PII (user),
                     ip ? ip : "-");
        if (ip)
            (void) sipd_throttle_failure (self->throttle, ip);  //  logs
        return s_reply (request, 403, "Forbidden");
    }
    if (ip)
        sipd_throttle_success (self->throttle, ip);
    if (!to_user || strcmp (to_user, user) != 0
        || !sipd_location_has_extension (self->location, user))
        return s_reply (request, 403, "To does not match credentials");
    return NULL;
}

osip_message_t *
sipd_registrar_handle (sipd_registrar_t *self, const osip_message_t *request,
                       const sipd_source_t *source)
{
    assert (self);
    if (!request || !MSG_IS_REGISTER (request) || !request->to
        || !request->call_id || !request->cseq || !request->cseq->number)
        return NULL;
    //  on the stack: a heap block of this size per REGISTER cost more
    //  than the rest of the handler's own work
    s_ctx_t ctx_block = {.request = request, .source = source};
    s_ctx_t *ctx = &ctx_block;
    if (osip_call_id_to_str (request->call_id, &ctx->call_id) != 0)
        return NULL;
    long long cseq = s_delta_seconds (request->cseq->number);
    ctx->cseq = cseq > 0 ? (uint32_t) cseq : 0;
    const char *agent = sipd_msg_header (request, "User-Agent");
    if (agent) {
        snprintf (ctx->user_agent, sizeof ctx->user_agent, "%s", agent);
        ctx->has_user_agent = true;
    }

    char user[64] = "";
    osip_message_t *response = s_authenticate (self, ctx, user, sizeof user);
    if (response)
        goto out;
    ctx->user = user;
    const char *reason = NULL;
    int code = s_contacts_parse (self, ctx, &reason);
    if (code) {
        response = s_reply (request, code, reason);
        if (response && code == 423) {
            char min[16];
            snprintf (min, sizeof min, "%d", self->min_expires);
            (void) sipd_msg_add_header (response, "Min-Expires", min);
        }
        CM_LOG_CALL (CM_LOG_INFO, "registrar", ctx->call_id,
                     "ext=%s REGISTER refused: %d %s", CM_PII (ctx->user), code,
                     reason);
        goto out;
    }
    s_apply (self, ctx);
    response = s_ok (self, ctx);
out:
    s_contacts_free (ctx->contacts, ctx->count);
    osip_free (ctx->call_id);
    return response;
}

void
sipd_registrar_tick (sipd_registrar_t *self)
{
    assert (self);
    (void) sipd_location_tick (self->location);     //  logs its own work
    sipd_auth_expire (self->auth);
    sipd_throttle_expire (self->throttle);
}

sipd_location_t *
sipd_registrar_location (sipd_registrar_t *self)
{
    assert (self);
    return self->location;
}

sipd_auth_t *
sipd_registrar_auth (sipd_registrar_t *self)
{
    assert (self);
    return self->auth;
}

sipd_throttle_t *
sipd_registrar_throttle (sipd_registrar_t *self)
{
    assert (self);
    return self->throttle;
}

int
sipd_registrar_on_status (cm_service_t *service, zframe_t *routing_id,
                          cm_msg_t *request, void *arg)
{
    sipd_registrar_t *self = (sipd_registrar_t *) arg;
    assert (self);
    json_int_t offset = cm_msg_get_int (request, "offset", 0);
    json_int_t limit
        = cm_msg_get_int (request, "limit", SIPD_LOCATION_STATUS_MAX);
    json_t *body = sipd_location_status (
        self->location, cm_msg_get_str (request, "number"),
        offset > 0 ? (size_t) offset : 0, limit > 0 ? (size_t) limit : 0);
    cm_msg_t *reply = cm_msg_reply (request, "status", &body);
    (void) cm_service_reply (service, routing_id, &reply);  //  logged
    return 0;
}

void
sipd_registrar_set_clock (sipd_registrar_t *self, sipd_clock_fn *fn,
                          void *arg)
{
    assert (self);
    self->clock = fn ? fn : s_time;
    self->clock_arg = fn ? arg : NULL;
    sipd_auth_set_clock (self->auth, fn, arg);
    sipd_throttle_set_clock (self->throttle, fn, arg);
    sipd_location_set_clock (self->location, fn, arg);
}
