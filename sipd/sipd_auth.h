//  sipd_auth — HTTP digest authentication for SIP (RFC 7616, RFC 8760,
//  RFC 3261 §22): MD5 and SHA-256 with qop=auth.
//
//  Nonces carry their creation time and are signed with SipHash-2-4 under
//  a random per-process secret, so no per-challenge state is kept. A nonce
//  older than [sipd] nonce_lifetime, or one signed by an earlier process,
//  is answered with a fresh challenge carrying stale=true when (and only
//  when) the response digest proves the client knows the password. Nonce
//  counts (nc) must increase per nonce; a replayed nc is treated as stale.
//  The table of used nonces is bounded and purged as nonces expire.
//
//  Passwords come from [extensions]: plain text, or md5:HA1 (HA1 =
//  MD5(user:realm:password)); SHA-256 is impossible with an MD5 HA1, so
//  only MD5 is offered for such users. Digests are compared in constant
//  time; credentials are never logged.

#ifndef SIPD_AUTH_H_INCLUDED
#define SIPD_AUTH_H_INCLUDED

#include "cm_config.h"
#include "sipd_clock.h"

#include <sys/time.h>
#include <osip2/osip.h>
#include <stdbool.h>

typedef struct _sipd_auth_t sipd_auth_t;

//  Outcome of sipd_auth_verify.
typedef enum {
    SIPD_AUTH_OK = 0,           //  credentials valid; user names the caller
    SIPD_AUTH_MISSING = 1,      //  no credentials for our realm: challenge
    SIPD_AUTH_STALE = 2,        //  right password, old/unknown/replayed
                                //  nonce: challenge with stale=true
    SIPD_AUTH_MALFORMED = 3,    //  unusable header (missing fields, uri
                                //  not matching the request): answer 400
    SIPD_AUTH_FAILED = 4,       //  wrong password, unknown user or an
                                //  algorithm/qop we did not offer: 403,
                                //  counts as a failure for sipd_throttle
} sipd_auth_result_t;

//  Create from the configuration: [sipd] realm, nonce_lifetime,
//  digest_algorithms and md5_only_user_agents, and the [extensions] passwords (copied). Draws a
//  random secret from OpenSSL. Returns NULL if digest_algorithms or a
//  password entry is unusable (logged).
//  Caller owns return value and must destroy it when done.
sipd_auth_t *
    sipd_auth_new (cm_config_t *config);

//  Destroy. NULL-safe, idempotent; sets *self_p to NULL.
void
    sipd_auth_destroy (sipd_auth_t **self_p);

//  Add the challenge to a 401 or 407 response: one WWW-Authenticate (401)
//  or Proxy-Authenticate (407) header per algorithm of [sipd]
//  digest_algorithms (default MD5 then SHA-256: many phones, SIPp
//  included, answer only the first header and know only MD5), each with
//  qop="auth" and the same fresh nonce (nonce counts are tracked per
//  nonce, so answering it with two algorithms is a replay), plus
//  stale=true when stale. user (may be
//  NULL) limits the offer to MD5 when that user's password is stored as an
//  MD5 HA1. Returns 0, or -1 if response is not 401/407.
int
    sipd_auth_challenge (sipd_auth_t *self, osip_message_t *response,
                         const char *user, bool stale);

//  Same as sipd_auth_challenge for a response to request, honouring
//  [sipd] md5_only_user_agents: when the request's User-Agent starts with
//  one of those prefixes (default "baresip": libre 1.x refuses a whole
//  401/407 that carries any SHA-256 challenge), only MD5 is offered, even
//  when digest_algorithms leaves MD5 out (and sipd_auth_verify then
//  accepts MD5 from those agents). Prefer this one.
int
    sipd_auth_challenge_request (sipd_auth_t *self, osip_message_t *response,
                                 const osip_message_t *request,
                                 const char *user, bool stale);

//  Check the request's Authorization (proxy false) or Proxy-Authorization
//  (proxy true) header for our realm. On SIPD_AUTH_OK, SIPD_AUTH_STALE and
//  SIPD_AUTH_FAILED the claimed user name is copied into user (size
//  bytes, may be NULL); otherwise user is set to "".
sipd_auth_result_t
    sipd_auth_verify (sipd_auth_t *self, const osip_message_t *request,
                      bool proxy, char *user, size_t size);

//  True when number is a configured extension.
bool
    sipd_auth_has_user (sipd_auth_t *self, const char *number);

//  Drop expired entries of the used-nonce table. Call about once a second
//  (sipd_registrar does).
void
    sipd_auth_expire (sipd_auth_t *self);

//  Number of nonces currently tracked (for tests and pong counters).
size_t
    sipd_auth_tracked (sipd_auth_t *self);

//  Bound of the used-nonce table in slots, a power of 2 not below 1024
//  (tests; default 262144, i.e. 131072 live nonces). Other values are
//  ignored.
void
    sipd_auth_set_max_tracked (sipd_auth_t *self, size_t slots);

//  Replace the time source (tests). fn NULL restores time (NULL).
void
    sipd_auth_set_clock (sipd_auth_t *self, sipd_clock_fn *fn, void *arg);

#endif
