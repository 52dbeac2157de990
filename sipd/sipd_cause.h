//  sipd_cause — release causes: SIP status <-> Q.850 cause, the Reason
//  header (RFC 3326), and the call_tag number space of the CDR.
//
//  Stateless functions over const tables; no object to create.
//
//  SIP -> Q.850 follows RFC 3398 §7.2.6.1 / RFC 4497 §8.4.4 with the
//  choices fixed by DESIGN §6 (408 -> 18, 488 -> 65, 606 -> 58). A 480
//  received from the callee maps to 18 "no user responding" (the RFC 3398
//  table); when sipd itself answers 480 it uses a more precise cause: 19
//  "no answer from user" after the no-answer timeout, 20 "subscriber
//  absent" for an extension with no registered contact. A call cancelled
//  by the caller has cause 16 "normal call clearing" (the caller simply
//  hung up; 31 is not used) and released_by caller. docs/cdr.md has the
//  full tables.
//
//  call_tag says where the call was released and by whom. The hundreds
//  digit is the location: 1xx caller leg, 2xx callee leg, 3xx sipd itself
//  (dial plan, policy, shutdown), 4xx the trunk. Values are public and
//  stable: never renumber, only add.

#ifndef SIPD_CAUSE_H_INCLUDED
#define SIPD_CAUSE_H_INCLUDED

#include "cm_cdr.h"

#include <stdbool.h>
#include <stddef.h>

//  Q.850 cause values used by sipd (ITU-T Q.850 Table 1).
typedef enum {
    SIPD_CAUSE_NONE = 0,                    //  no cause known
    SIPD_CAUSE_UNALLOCATED_NUMBER = 1,
    SIPD_CAUSE_NO_ROUTE_DESTINATION = 3,
    SIPD_CAUSE_NORMAL_CLEARING = 16,
    SIPD_CAUSE_USER_BUSY = 17,
    SIPD_CAUSE_NO_USER_RESPONSE = 18,
    SIPD_CAUSE_NO_ANSWER = 19,
    SIPD_CAUSE_SUBSCRIBER_ABSENT = 20,
    SIPD_CAUSE_CALL_REJECTED = 21,
    SIPD_CAUSE_NUMBER_CHANGED = 22,
    SIPD_CAUSE_REDIRECTION = 23,
    SIPD_CAUSE_EXCHANGE_ROUTING_ERROR = 25,
    SIPD_CAUSE_DESTINATION_OUT_OF_ORDER = 27,
    SIPD_CAUSE_INVALID_NUMBER_FORMAT = 28,
    SIPD_CAUSE_FACILITY_REJECTED = 29,
    SIPD_CAUSE_NORMAL_UNSPECIFIED = 31,
    SIPD_CAUSE_NO_CIRCUIT_AVAILABLE = 34,
    SIPD_CAUSE_NETWORK_OUT_OF_ORDER = 38,
    SIPD_CAUSE_TEMPORARY_FAILURE = 41,
    SIPD_CAUSE_SWITCHING_CONGESTION = 42,
    SIPD_CAUSE_RESOURCE_UNAVAILABLE = 47,
    SIPD_CAUSE_BEARER_NOT_AVAILABLE = 58,
    SIPD_CAUSE_SERVICE_UNAVAILABLE = 63,
    SIPD_CAUSE_BEARER_NOT_IMPLEMENTED = 65,
    SIPD_CAUSE_SERVICE_NOT_IMPLEMENTED = 79,
    SIPD_CAUSE_INCOMPATIBLE_DESTINATION = 88,
    SIPD_CAUSE_RECOVERY_ON_TIMER = 102,
    SIPD_CAUSE_PROTOCOL_ERROR = 111,
    SIPD_CAUSE_INTERWORKING = 127
} sipd_cause_q850_t;

//  call_tag values (the CDR column; docs/cdr.md). Stable: only add.
typedef enum {
    SIPD_CAUSE_TAG_NONE = 0,                //  not set (a bug if seen)

    //  1xx — caller leg
    SIPD_CAUSE_TAG_CALLER_BYE = 101,        //  caller BYE after answer
    SIPD_CAUSE_TAG_CALLER_CANCEL = 102,     //  caller CANCEL before answer
    SIPD_CAUSE_TAG_CALLER_TIMEOUT = 103,    //  caller leg transaction
                                            //  timeout (no ACK, BYE lost)
    SIPD_CAUSE_TAG_CALLER_MEDIA_TIMEOUT = 104, //  no RTP from the caller
    SIPD_CAUSE_TAG_CALLER_AUTH_FAILED = 105,   //  INVITE digest failed

    //  2xx — callee leg
    SIPD_CAUSE_TAG_CALLEE_BYE = 201,        //  callee BYE after answer
    SIPD_CAUSE_TAG_CALLEE_REJECT = 202,     //  callee final 4xx/5xx/6xx
    SIPD_CAUSE_TAG_CALLEE_BUSY = 203,       //  callee answered 486/600
    SIPD_CAUSE_TAG_NO_ANSWER = 204,         //  no_answer_timeout expired
    SIPD_CAUSE_TAG_CALLEE_TIMEOUT = 205,    //  callee leg transaction
                                            //  timeout (INVITE or BYE)
    SIPD_CAUSE_TAG_CALLEE_MEDIA_TIMEOUT = 206, //  no RTP from the callee

    //  3xx — sipd (dial plan, policy, system)
    SIPD_CAUSE_TAG_NO_ROUTE = 301,          //  unknown number (404)
    SIPD_CAUSE_TAG_OFFLINE = 302,           //  extension not registered
    SIPD_CAUSE_TAG_LOCAL_BUSY = 303,        //  extension already in a call
    SIPD_CAUSE_TAG_SHUTDOWN = 304,          //  sipd shutting down
    SIPD_CAUSE_TAG_CONGESTION = 305,        //  call or resource limit
    SIPD_CAUSE_TAG_MEDIA_FAILURE = 306,     //  mediad unavailable
    SIPD_CAUSE_TAG_BAD_REQUEST = 307,       //  unusable INVITE/SDP (488)
    SIPD_CAUSE_TAG_CALLBACK_CANCEL = 308,   //  app server cancelled a
                                            //  call-back

    //  4xx — trunk
    SIPD_CAUSE_TAG_NO_TRUNK = 401,          //  prefix dialled, no trunk
    SIPD_CAUSE_TAG_TRUNK_FAILURE = 402,     //  trunk unreachable / timeout
    SIPD_CAUSE_TAG_TRUNK_AUTH_FAILED = 403  //  provider challenge failed
} sipd_cause_tag_t;

//  ---------------------------------------------------------------------
//  SIP <-> Q.850

//  Q.850 cause for a SIP final status received (RFC 3398 §7.2.6.1 with
//  the DESIGN choices above). 2xx -> 16, 487 -> 16, unlisted 3xx -> 23,
//  4xx -> 127, 5xx -> 41, 6xx -> 127. Returns 0 for 1xx and values
//  outside 100..699.
int
    sipd_cause_from_sip (int status);

//  SIP status to send for a Q.850 cause (RFC 3398 §8.2.6.1). Unlisted
//  causes use the class defaults: 1-31 -> 480, 32-47 -> 503, 48-127 ->
//  500 (16 and 31 -> 480). Returns 500 for values outside 1..127.
int
    sipd_cause_to_sip (int cause);

//  Short English text of a cause ("User busy"), for Reason text and
//  logs. Never NULL ("Unknown cause" when not in Q.850 Table 1).
const char *
    sipd_cause_text (int cause);

//  ---------------------------------------------------------------------
//  Reason header (RFC 3326)

//  Find a Q.850 cause in a Reason header value, e.g.
//      Q.850;cause=17;text="User busy"
//      SIP ;cause=200 ;text="Call completed elsewhere", Q.850 ;cause=16
//  Protocol and parameter names are case-insensitive; white space around
//  ';' ',' '=' is allowed; quoted strings may hold ',' ';' and \-escapes.
//  The first Q.850 reason-value with a well-formed cause 1..127 wins. On
//  success returns the cause and, when text is not NULL, copies its
//  unquoted text (or "") into text (size bytes, truncated). Returns 0 when
//  value is NULL, holds no Q.850 cause, or is malformed; never crashes.
int
    sipd_cause_reason_parse (const char *value, char *text, size_t size);

//  Write the Reason header value for a cause:
//      Q.850;cause=17;text="User busy"
//  into buf (size bytes, 128 is always enough). Returns buf.
char *
    sipd_cause_reason_format (int cause, char *buf, size_t size);

//  ---------------------------------------------------------------------
//  call_tag table

//  True when tag is one of the values above (NONE excluded).
bool
    sipd_cause_tag_known (int tag);

//  Short stable name ("caller-bye"), or "unknown".
const char *
    sipd_cause_tag_name (int tag);

//  One-line description, or "unknown call tag".
const char *
    sipd_cause_tag_description (int tag);

//  Who released the call for this tag (system for unknown tags).
cm_cdr_released_by_t
    sipd_cause_tag_released_by (int tag);

//  The tag's default Q.850 cause (used when no Reason header and no SIP
//  status decides it). 0 for NONE/unknown, and for CALLEE_REJECT whose
//  cause always comes from the status.
int
    sipd_cause_tag_cause (int tag);

//  The SIP status sipd answers the caller with for this tag when the call
//  was not answered (404 for NO_ROUTE, 480 for OFFLINE, ...); 0 for tags
//  that relay the callee's status or happen after answer.
int
    sipd_cause_tag_sip_code (int tag);

//  ---------------------------------------------------------------------
//  Filling the CDR

//  Set call_tag, sip_code, cause, released_by, disposition and fci of cdr
//  from how the call ended:
//    tag          where/who released (sipd_cause_tag_t)
//    sip_code     final status sent to the caller (200 when answered);
//                 0 means the tag's default
//    reason_cause cause from a Reason: Q.850 header of the callee's final
//                 response or BYE (sipd_cause_reason_parse), 0 if none
//    answered     true when the call reached 200 OK
//  Cause = reason_cause if set, else the SIP mapping for CALLEE_REJECT
//  and CALLEE_BUSY, else the tag's default. Disposition: ANSWERED when
//  answered; otherwise BUSY for 486/600 and busy tags, CANCELLED for a
//  caller CANCEL, NO ANSWER for the no-answer timeout, else FAILED.
//  Returns 0, or -1 on an unknown tag or a sip_code outside 100..699
//  (cdr unchanged).
int
    sipd_cause_apply (cm_cdr_t *cdr, int tag, int sip_code,
                      int reason_cause, bool answered);

#endif
