//  sipd_leg — one dialog in which sipd is a user agent (RFC 3261 §12):
//  the caller's leg (sipd is the UAS of the caller's INVITE) or a callee
//  leg (sipd sent the INVITE). A B2BUA call is one caller leg and one or
//  more callee legs (parallel forks).
//
//  The leg keeps the dialog state (Call-ID, local and remote tags and
//  URIs, remote target, route set, CSeq numbers) and the address where
//  requests for the peer go (the source of its REGISTER or INVITE, not
//  the Contact host: phones behind NAT), and builds the requests sipd
//  sends in the dialog. It does no I/O.

#ifndef SIPD_LEG_H_INCLUDED
#define SIPD_LEG_H_INCLUDED

#include "sipd_sdp.h"
#include "sipd_source.h"

#include <sys/time.h>
#include <osip2/osip.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _sipd_leg_t sipd_leg_t;

//  Create the caller's leg from its initial INVITE (borrowed) received
//  from source: Call-ID, remote (From) and local (To) parties, remote
//  target (Contact), route set (Record-Route), remote CSeq; a fresh local
//  tag. local_ip is sipd's address (for the leg's SDP origin). Returns
//  NULL if the INVITE lacks From tag, To, Call-ID, CSeq or Contact.
//  Caller owns return value and must destroy it when done.
sipd_leg_t *
    sipd_leg_new_uas (const osip_message_t *invite,
                      const sipd_source_t *source, const char *local_ip);

//  Create a callee leg: requests go to target (Request-URI), From is
//  "display" <from_uri> with a fresh tag, To is <to_uri>, a fresh Call-ID
//  @local_ip, requests are sent to dest. display may be NULL. Returns NULL
//  on an unparsable URI.
//  Caller owns return value and must destroy it when done.
sipd_leg_t *
    sipd_leg_new_uac (const char *target, const char *from_uri,
                      const char *display, const char *to_uri,
                      const sipd_source_t *dest, const char *local_ip);

//  Destroy. NULL-safe; sets *self_p to NULL.
void
    sipd_leg_destroy (sipd_leg_t **self_p);

//  Build a request in the dialog (or the initial INVITE of a callee leg):
//  Request-URI = remote target, From/To with tags, Call-ID, Route set,
//  CSeq = next local number (ACK and CANCEL: see sipd_leg_ack), Contact
//  (contact, may be NULL), body with content_type when body is not NULL.
//  Returns NULL on failure. Caller owns the message (osip_message_free),
//  or hands it to sipd_server_send_request.
osip_message_t *
    sipd_leg_request (sipd_leg_t *self, const char *method,
                      const char *contact, const char *content_type,
                      const char *body);

//  Build the ACK for a 2xx to the INVITE with CSeq number cseq (RFC 3261
//  §13.2.2.4), with an optional SDP body. Caller owns the message.
osip_message_t *
    sipd_leg_ack (sipd_leg_t *self, uint32_t cseq, const char *sdp);

//  Callee leg: learn the dialog from a response to its INVITE: the remote
//  tag (To tag), the remote target (Contact) and the route set (reversed
//  Record-Route), for 2xx and 1xx with a tag (RFC 3261 §12.1.2). A 2xx
//  fixes them; later calls change only the remote target. Returns 0, -1
//  when the response has no To tag.
int
    sipd_leg_update_from_response (sipd_leg_t *self,
                                   const osip_message_t *response);

//  An in-dialog request arrived from the peer: check and record its CSeq
//  (RFC 3261 §12.2.2). Returns 0, -1 when the CSeq is lower than the last
//  one (answer 500). A Contact in the request becomes the remote target
//  (target refresh, RFC 3261 §12.2.2).
int
    sipd_leg_check_request (sipd_leg_t *self,
                            const osip_message_t *request);

//  Accessors (borrowed strings).
const char *
    sipd_leg_call_id (sipd_leg_t *self);

const char *
    sipd_leg_local_tag (sipd_leg_t *self);

//  Remote tag, "" until known.
const char *
    sipd_leg_remote_tag (sipd_leg_t *self);

//  User part of the remote party (From of the caller's INVITE, To of a
//  callee leg), "" when none.
const char *
    sipd_leg_remote_user (sipd_leg_t *self);

const sipd_source_t *
    sipd_leg_dest (sipd_leg_t *self);

//  CSeq number of the last request built with sipd_leg_request.
uint32_t
    sipd_leg_local_cseq (sipd_leg_t *self);

//  The leg's SDP state (what sipd sends on this leg). Borrowed.
sipd_sdp_t *
    sipd_leg_sdp (sipd_leg_t *self);

//  Set the To tag of response (a response sipd sends on the caller's
//  leg) to the leg's local tag, so 18x and 2xx share one dialog.
//  Returns 0 or -1.
int
    sipd_leg_tag_response (sipd_leg_t *self, osip_message_t *response);

//  Set a body on msg: replaces any body, sets Content-Type and a matching
//  Content-Length. body NULL removes the body (Content-Length 0).
//  Returns 0 or -1.
int
    sipd_leg_set_body (osip_message_t *msg, const char *content_type,
                       const char *body);

//  The message's first body as a string (borrowed), or NULL; its length
//  in *len_p.
const char *
    sipd_leg_body (const osip_message_t *msg, size_t *len_p);

#endif
