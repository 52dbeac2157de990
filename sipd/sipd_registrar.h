//  sipd_registrar — the REGISTER handler (RFC 3261 §10.3) with digest
//  authentication (sipd_auth), brute-force throttling (sipd_throttle) and
//  the location service (sipd_location), which it owns.
//
//  sipd_registrar_handle turns one REGISTER into its final response:
//      403  source throttled; wrong credentials; unknown user; To user not
//           the authenticated user
//      401  no or stale credentials (WWW-Authenticate, SHA-256 and MD5)
//      400  bad Contact, Expires, '*' misuse, malformed Authorization
//      423  an expiry shorter than [sipd] min_expires (Min-Expires header)
//      500  out-of-order CSeq for an existing binding
//      200  all current bindings with their remaining expiry, and Date
//  Expiry comes from the contact's expires parameter, else the Expires
//  header, else [sipd] default_expires, and is shortened to max_expires.
//
//  The registrar also registers a one-second timer on the loop that
//  expires bindings, writes the location file and ages the auth and
//  throttle tables, and can answer the "status" control request.

#ifndef SIPD_REGISTRAR_H_INCLUDED
#define SIPD_REGISTRAR_H_INCLUDED

#include "cm_config.h"
#include "cm_service.h"
#include "sipd_auth.h"
#include "sipd_events.h"
#include "sipd_location.h"
#include "sipd_source.h"
#include "sipd_throttle.h"

#include <sys/time.h>
#include <osip2/osip.h>
#include <czmq.h>

typedef struct _sipd_registrar_t sipd_registrar_t;

//  Create from the configuration ([sipd] realm, *_expires, nonce_lifetime,
//  auth_fail_*; [extensions]; [general] data_dir: bindings persist in
//  data_dir/spool/registrations.json, the directory is created). loop
//  (borrowed, may be NULL in tests) gets the one-second timer; with a
//  loop the file is written by a background thread (without one, by
//  the tick itself). events
//  (borrowed, may be NULL) receives "reg" and "ext.status" events.
//  Returns NULL on failure (logged). Caller owns return value and must
//  destroy it when done.
sipd_registrar_t *
    sipd_registrar_new (cm_config_t *config, zloop_t *loop,
                        sipd_events_t *events);

//  Destroy: cancels the timer, writes pending bindings. NULL-safe,
//  idempotent; sets *self_p to NULL.
void
    sipd_registrar_destroy (sipd_registrar_t **self_p);

//  Handle one REGISTER received from source. Returns the final response
//  (never NULL for a request that has Via, From, To, Call-ID and CSeq;
//  NULL otherwise or when request is not a REGISTER).
//  Caller owns return value and must free it with osip_message_free.
osip_message_t *
    sipd_registrar_handle (sipd_registrar_t *self,
                           const osip_message_t *request,
                           const sipd_source_t *source);

//  The timer's work, for callers without a loop (tests): expire bindings,
//  write the file, age the tables.
void
    sipd_registrar_tick (sipd_registrar_t *self);

//  The location service (borrowed): routing lookups and call state.
sipd_location_t *
    sipd_registrar_location (sipd_registrar_t *self);

//  The digest authenticator (borrowed): the B2BUA challenges INVITEs with
//  407 using it.
sipd_auth_t *
    sipd_registrar_auth (sipd_registrar_t *self);

//  The throttle (borrowed): the B2BUA reports failed INVITE
//  authentications to it.
sipd_throttle_t *
    sipd_registrar_throttle (sipd_registrar_t *self);

//  Handler for the "status" control request; arg is the registrar.
//  Register it with cm_service_on (service, "status",
//  sipd_registrar_on_status, registrar). Optional request fields:
//  "number" (one extension), "offset" and "limit" (paging, default 0 and
//  SIPD_LOCATION_STATUS_MAX). Replies "status" with the body of
//  sipd_location_status.
int
    sipd_registrar_on_status (cm_service_t *service, zframe_t *routing_id,
                              cm_msg_t *request, void *arg);

//  Replace the time source of auth, throttle and location (tests).
void
    sipd_registrar_set_clock (sipd_registrar_t *self, sipd_clock_fn *fn,
                              void *arg);

#endif
