//  sipd_trunk — sipd's account at the SIP provider ([sipd] trunk and the
//  [trunk] section): the domain used in From/To/Request-URI of outbound
//  calls, digest answers to the provider's 401/407 challenges (RFC 7616
//  client side, MD5 and SHA-256, qop=auth or none), and, with
//  [trunk] register = yes, a registration to the provider that is
//  refreshed before it expires and retried after failures.

#ifndef SIPD_TRUNK_H_INCLUDED
#define SIPD_TRUNK_H_INCLUDED

#include "sipd_dialplan.h"
#include "sipd_server.h"

#include <sys/time.h>
#include <osip2/osip.h>
#include <stdbool.h>

typedef struct _sipd_trunk_t sipd_trunk_t;

//  Create from the server's config; dialplan (borrowed) gives the trunk
//  address. Starts registering when [trunk] register = yes and a username
//  is set. Caller owns return value and must destroy it when done.
sipd_trunk_t *
    sipd_trunk_new (sipd_server_t *server, sipd_dialplan_t *dialplan);

//  Destroy; stops the refresh timer (no un-REGISTER is sent).
//  NULL-safe; sets *self_p to NULL.
void
    sipd_trunk_destroy (sipd_trunk_t **self_p);

//  Host part for URIs toward the provider: [trunk] domain, else the
//  trunk's host:port. Borrowed.
const char *
    sipd_trunk_domain (sipd_trunk_t *self);

//  User part of From for a call by extension src: the extension (the
//  provider maps it), so src itself. Borrowed.
const char *
    sipd_trunk_from_user (sipd_trunk_t *self, const char *src);

//  [trunk] username ("" when none). Borrowed.
const char *
    sipd_trunk_username (sipd_trunk_t *self);

//  True when [trunk] username is set.
bool
    sipd_trunk_has_credentials (sipd_trunk_t *self);

//  Answer the digest challenge in response (401 WWW-Authenticate or 407
//  Proxy-Authenticate) to a request of method for uri: writes the header
//  name ("Authorization" or "Proxy-Authorization") into name and its value
//  into value. Returns 0, or -1 when there is no usable challenge or no
//  credentials.
int
    sipd_trunk_authorize (sipd_trunk_t *self, const osip_message_t *response,
                          const char *method, const char *uri, char *name,
                          size_t name_size, char *value, size_t value_size);

//  Compute a digest response (RFC 7616 §3.4.1) into out (hex, at least 65
//  bytes) with algorithm "MD5" or "SHA-256"; qop "auth" or NULL. Returns
//  0, or -1 on an unknown algorithm. Exposed for unit tests.
int
    sipd_trunk_digest (const char *algorithm, const char *user,
                       const char *realm, const char *password,
                       const char *method, const char *uri,
                       const char *nonce, const char *qop, const char *nc,
                       const char *cnonce, char *out, size_t size);

//  "registered", "registering", "failed" or "off".
const char *
    sipd_trunk_state (sipd_trunk_t *self);

#endif
