//  sipd_b2bua_end — how calls end: the release record, BYE from either
//  side, CANCEL from the caller, failure responses, the end of the call
//  and its CDR (part of sipd_b2bua, see sipd_b2bua_private.h).

#ifndef SIPD_B2BUA_END_H_INCLUDED
#define SIPD_B2BUA_END_H_INCLUDED

#include "sipd_b2bua_private.h"

//  Record how the call was released; the first record wins.
void
    sipd_b2bua_release (call_t *call, int tag, int sip_code,
                        int reason_cause);

//  Build the CDR of rec and hand it to the sink (or log it).
void
    sipd_b2bua_emit_cdr (sipd_b2bua_t *self, sipd_call_t *rec);

//  Send BYE on a leg, with an optional Reason. Fire and forget.
void
    sipd_b2bua_send_bye (sipd_b2bua_t *self, call_t *call, sipd_leg_t *leg,
                         const char *reason);

//  The call is over: write the CDR, free the extensions, cancel what is
//  still ringing, and remove the call now or once the forks are done.
//  Does nothing for a call already ENDED.
void
    sipd_b2bua_call_end (sipd_b2bua_t *self, call_t *call);

//  Release a call that has not been answered: final response code to the
//  caller with reason (NULL: one made from reason_cause, tag or code),
//  then end.
void
    sipd_b2bua_fail (sipd_b2bua_t *self, call_t *call, int tag, int code,
                     const char *phrase, const char *reason,
                     int reason_cause);

//  Request handler (sipd_server) for BYE.
int
    sipd_b2bua_on_bye (void *arg, int txn_id, osip_message_t *request,
                       const sipd_source_t *source);

//  Request handler (sipd_server) for CANCEL.
int
    sipd_b2bua_on_cancel (void *arg, int txn_id, osip_message_t *request,
                          const sipd_source_t *source);

#endif
