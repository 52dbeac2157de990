//  sipd_b2bua_private — what the parts of sipd_b2bua share: constants,
//  the call, the B2BUA's state, and the registry and message helpers
//  defined in sipd_b2bua.c. Only sipd_b2bua*.c include it; the rest of
//  sipd uses sipd_b2bua.h.
//
//  The B2BUA is one class in several files, one concept each:
//
//    sipd_b2bua.c         call registry (calls, dialogs, transactions),
//                         extension call state, message helpers, life
//                         cycle and the public API;
//    sipd_b2bua_invite.c  a new call: authentication, number analysis,
//                         the forks' INVITEs;
//    sipd_b2bua_fork.c    the forks' responses relayed to the caller (the
//                         first 2xx wins), every client response's entry;
//    sipd_b2bua_dialog.c  in-dialog requests relayed between the legs,
//                         the caller's ACK, session keep-alive;
//    sipd_b2bua_end.c     release: BYE, CANCEL, failure responses, the
//                         end of a call and its CDR;
//    sipd_b2bua_timer.c   call timers from a deadline queue.
//
//  A call moves through these states:
//
//    ROUTING    the caller's INVITE was accepted, forks are being sent;
//    EARLY      at least one fork is alive, no 2xx yet (the caller has had
//               100 and maybe 180/183);
//    ANSWERED   a fork answered 2xx, sipd sent 200 to the caller and waits
//               for the caller's ACK;
//    CONFIRMED  both dialogs are established; in-dialog requests relay;
//    ENDED      released: the CDR is written, BYEs/CANCELs are on their
//               way; the call lingers until its forks have finished so a
//               late 2xx can still be ACKed and hung up.
//
//  Release is recorded once in the call's record (sipd_call: the first
//  release wins): a call_tag saying where and by whom, the SIP status sent
//  to the caller and the cause of a Reason: Q.850 header, if any. The CDR
//  is built from the record the moment the call enters ENDED.
//
//  Lookup tables map to the call's uniqueid: dialogs ("Call-ID tag" of
//  the leg's local tag; for the caller's leg also "Call-ID remote-tag" to
//  spot INVITE retransmissions after the 2xx), transactions (txn_id) and
//  timers (timer_id). sipd_call (record, release, CDR), sipd_leg (dialog)
//  and sipd_sdp (bodies) carry the parts that stand alone.

#ifndef SIPD_B2BUA_PRIVATE_H_INCLUDED
#define SIPD_B2BUA_PRIVATE_H_INCLUDED

#include "sipd_b2bua.h"

#include "sipd_auth.h"
#include "sipd_call.h"
#include "sipd_dialplan.h"
#include "sipd_leg.h"
#include "sipd_location.h"
#include "sipd_throttle.h"
#include "sipd_timerq.h"
#include "sipd_trunk.h"

#define MAX_FORKS 8             //  parallel forks per call
#define MAX_RELAYS 8            //  in-dialog transactions relayed at once
#define T1_MS 500               //  RFC 3261 T1
#define LINGER_MS 40000         //  how long an ENDED call waits for forks
#define TICK_MS 20              //  call timer granularity
#define S_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

typedef enum {
    CALL_ROUTING = 0,
    CALL_EARLY,
    CALL_ANSWERED,
    CALL_CONFIRMED,
    CALL_ENDED
} call_state_t;

//  One callee leg.
typedef struct {
    sipd_leg_t *leg;            //  owned: the dialog
    int txn;                    //  INVITE client txn, 0 once final
    int final;                  //  final status, 0 while pending
    uint32_t invite_cseq;       //  CSeq of the INVITE (for the ACK)
    bool acked;                 //  2xx ACKed
    bool auth_tried;            //  trunk credentials already sent
    bool cancelled;             //  CANCEL sent
} fork_t;

//  An in-dialog request relayed from one leg to the other.
typedef struct {
    int server_txn;             //  where the request came from
    int client_txn;             //  our request on the other leg
    bool from_caller;           //  came from the caller's leg
    bool is_invite;             //  re-INVITE (ACK the 2xx ourselves)
} relay_t;

typedef struct {
    sipd_call_t *rec;           //  owned: identity, release, CDR
    const char *id;             //  its uniqueid (registry key), borrowed
    char target[160];           //  trunk Request-URI (digest uri)
    bool to_extension;          //  callee is an extension (else trunk)
    call_state_t state;         //  see above
    sipd_leg_t *caller;         //  owned: the caller's leg
    int caller_txn;             //  caller's INVITE server txn, 0 after final
                                //  (its request is the caller's INVITE)
    osip_message_t *ok;         //  owned: the 200 sent to the caller
    bool late_offer;            //  caller's INVITE had no SDP
    fork_t forks[MAX_FORKS];    //  callee legs
    int nforks;                 //  forks used
    int winner;                 //  index of the answering fork, -1
    relay_t relays[MAX_RELAYS]; //  in-dialog relays in progress
    int timer_answer;           //  no-answer timer, 0 if none
    int timer_ack;              //  2xx retransmission / ACK wait
    int timer_linger;           //  ENDED: forced removal
    int timer_keepalive;        //  CONFIRMED: next in-dialog OPTIONS
    int ka_txn[2];              //  keep-alive OPTIONS in flight: caller,
                                //  callee (0 when none)
    int ack_wait_ms;            //  current 2xx retransmission interval
    int ack_waited_ms;          //  time spent waiting for the ACK
    bool callee_counted;        //  callee extension's call count taken
} call_t;

struct _sipd_b2bua_t {
    sipd_server_t *server;      //  borrowed: SIP core
    sipd_location_t *location;  //  borrowed: contacts and call state
    sipd_auth_t *auth;          //  borrowed: INVITE digest
    sipd_throttle_t *throttle;  //  borrowed: failed auth counter
    sipd_dialplan_t *dialplan;  //  owned: number analysis
    sipd_trunk_t *trunk;        //  owned: trunk account (may be NULL)
    zloop_t *loop;              //  borrowed: timers
    zhashx_t *calls;            //  uniqueid -> call_t (owned)
    zhashx_t *dialogs;          //  "callid tag" -> uniqueid
    zhashx_t *txns;             //  txn_id -> uniqueid
    zhashx_t *timers;           //  call timer id -> uniqueid
    sipd_timerq_t *timerq;      //  call timer ids by deadline (owned)
    int next_timer;             //  last call timer id handed out
    int tick_id;                //  zloop timer for the queue, 0 if none
    int64_t tick_at;            //  when it fires (zclock_mono)
    zhashx_t *busy;             //  extension -> number of its calls
    int no_answer_ms;           //  [sipd] no_answer_timeout
    int keepalive_ms;           //  [sipd] call_keepalive, 0: off
    bool call_waiting;          //  [sipd] call_waiting
    char prefix[16];            //  [sipd] outgoing_prefix
    char host[64];              //  our address (Contact, From, SDP o=)
    int port;                   //  our port
    sipd_cdr_fn *cdr_fn;        //  CDR sink
    void *cdr_arg;              //  its argument
};

//  --------------------------------------------------------------------
//  Registry and helpers (sipd_b2bua.c)

//  The caller's INVITE: the request of its server transaction, which
//  lives until the final response (no copy per call). NULL after it.
const osip_message_t *
    sipd_b2bua_caller_invite (sipd_b2bua_t *self, call_t *call);

//  The callee leg of an answered call, or NULL.
sipd_leg_t *
    sipd_b2bua_callee (call_t *call);

//  Free a call (not yet in the registry) and its legs. NULL-safe; sets
//  *call_p to NULL.
void
    sipd_b2bua_call_free (call_t **call_p);

//  Map key to uniqueid in one of the string-keyed maps (dialogs).
void
    sipd_b2bua_map_set (zhashx_t *map, const char *key, const char *uniqueid);

//  The call whose uniqueid map holds under key, or NULL.
call_t *
    sipd_b2bua_call_by_key (sipd_b2bua_t *self, zhashx_t *map,
                            const char *key);

//  Integer keys (txn ids, timer ids) stored in the pointer itself.
void *
    sipd_b2bua_int_key (int n);

//  Map transaction txn to call.
void
    sipd_b2bua_txn_add (sipd_b2bua_t *self, call_t *call, int txn);

//  Forget transaction txn.
void
    sipd_b2bua_txn_del (sipd_b2bua_t *self, int txn);

//  The call of transaction txn, or NULL.
call_t *
    sipd_b2bua_call_by_txn (sipd_b2bua_t *self, int txn);

//  The dialogs map key "Call-ID tag" into key (size bytes).
void
    sipd_b2bua_dialog_key (char *key, size_t size, const char *call_id,
                           const char *tag);

//  Map leg's dialog (Call-ID, local tag) to call.
void
    sipd_b2bua_dialog_add (sipd_b2bua_t *self, call_t *call, sipd_leg_t *leg);

//  Remove a call and everything that points to it.
void
    sipd_b2bua_call_remove (sipd_b2bua_t *self, call_t *call);

//  Set extension number's call state (nothing if it is no extension).
void
    sipd_b2bua_ext_state (sipd_b2bua_t *self, const char *number,
                          sipd_call_state_t st);

//  Number of live calls of extension number.
int
    sipd_b2bua_ext_calls (sipd_b2bua_t *self, const char *number);

//  Add delta to the live calls of number; at 0 it is idle again.
void
    sipd_b2bua_ext_count (sipd_b2bua_t *self, const char *number, int delta);

//  Our Contact for a leg whose peer is reached over transport.
void
    sipd_b2bua_contact (sipd_b2bua_t *self, const sipd_source_t *dest,
                        char *buf, size_t size);

//  Copy the session-timer and related headers from src to dst.
void
    sipd_b2bua_copy_timer_headers (osip_message_t *dst,
                                   const osip_message_t *src);

//  The SDP body of msg rewritten for leg into a new string (caller
//  frees), NULL when msg has no SDP. *bad_p is set when there was a body
//  that could not be used.
char *
    sipd_b2bua_sdp_for (sipd_leg_t *leg, const osip_message_t *msg,
                        bool *bad_p, const char *call_id);

//  Respond on the caller's INVITE transaction with code, our To tag,
//  optional SDP, Contact for 18x/2xx and an optional Reason; session
//  timer headers are copied from from (may be NULL). A final response
//  ends the transaction (a 2xx is kept for retransmissions).
int
    sipd_b2bua_respond_caller (sipd_b2bua_t *self, call_t *call, int code,
                               const char *phrase, const char *sdp,
                               const char *reason, const osip_message_t *from);

#endif
