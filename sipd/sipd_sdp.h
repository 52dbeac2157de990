//  sipd_sdp — SDP rewriting for one B2BUA leg (RFC 4566, RFC 3264).
//
//  Each call leg has its own sipd_sdp_t: the session description sipd
//  sends on that leg. An SDP body that arrives on the other leg is parsed
//  with libosip2 (sdp_message_parse) and rewritten for this leg:
//    - o= is sipd's own: a session id fixed for the leg and a version that
//      increases exactly when the description sent on the leg changes
//      (RFC 3264 §8; an unchanged session refresh keeps the version);
//    - s= is "sipserver", t= is "0 0";
//    - each audio stream keeps only the codecs sipd supports: PCMU (0),
//      PCMA (8) and telephone-event with the peer's dynamic payload type
//      (baresip uses 101, linphone 96), in the peer's order, with
//      a=ptime:20 (DESIGN §7);
//    - c= and m= addresses and ports are the phone's (media flows phone to
//      phone until mediad anchors it), and so are the direction attributes
//      (sendrecv, sendonly, recvonly, inactive: hold and resume), a=rtcp and
//      a=rtcp-mux;
//    - other streams (video, SRTP, audio without a supported codec) are
//      kept in place with port 0, so that offer and answer keep the same
//      m= lines (RFC 3264 §6);
//    - ICE, crypto, bandwidth and other attributes are dropped.
//  Bad SDP never crashes: it is an error with a reason, and the SIP side
//  answers 488 Not Acceptable Here.

#ifndef SIPD_SDP_H_INCLUDED
#define SIPD_SDP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct _sipd_sdp_t sipd_sdp_t;

//  Largest SDP body accepted or produced.
#define SIPD_SDP_MAX 8192

//  Create the SDP state of one leg. local_ip is sipd's address written in
//  o= (IPv6 when it contains ':').
//  Caller owns return value and must destroy it when done.
sipd_sdp_t *
    sipd_sdp_new (const char *local_ip);

//  Destroy. NULL-safe; sets *self_p to NULL.
void
    sipd_sdp_destroy (sipd_sdp_t **self_p);

//  Rewrite body (len bytes, need not be NUL-terminated) received from the
//  other leg into the description to send on this leg. Returns a
//  NUL-terminated string the caller frees with free(), or NULL with a
//  one-line reason in error (error_size bytes) when the SDP is malformed,
//  too large, or offers no supported audio codec.
char *
    sipd_sdp_rewrite (sipd_sdp_t *self, const char *body, size_t len,
                      char *error, size_t error_size);

//  Session version of the last description produced (0 before any).
unsigned long long
    sipd_sdp_version (sipd_sdp_t *self);

//  True when body puts the first active audio stream on hold
//  (sendonly, inactive, or connection address 0.0.0.0). False on bad SDP.
bool
    sipd_sdp_is_hold (const char *body, size_t len);

#endif
