//  sipd_location — the location service (RFC 3261 §10): bindings of
//  contact addresses to extensions, their expiry, extension status, and
//  persistence across restarts.
//
//  Each extension holds up to SIPD_LOCATION_MAX_CONTACTS bindings. A
//  binding is identified by its +sip.instance (RFC 5626) when it has one,
//  else by its contact URI. It remembers where the REGISTER came from
//  (sipd_source_t: send requests for that contact there, over the same
//  TCP connection), the user agent, and the Call-ID/CSeq used to order
//  updates (RFC 3261 §10.3 step 7).
//
//  Bindings expire on time (sipd_location_tick, called once a second).
//  Changes are written to <spool>/registrations.json through a temporary
//  file, fsync and rename (sipd_regfile), coalesced (at most one write a
//  second, every five seconds beyond 2,000 bindings). With
//  sipd_location_write_in_background the tick only copies the bindings
//  into a snapshot and a zactor writes it, so the loop never waits for
//  the disk; sipd_location_load reloads the file and drops what expired
//  meanwhile.
//
//  The extension state is offline (no binding), idle, ringing or busy (the
//  last two are set by the B2BUA with sipd_location_set_call_state).
//  Changes are published through sipd_events as "reg" and "ext.status".

#ifndef SIPD_LOCATION_H_INCLUDED
#define SIPD_LOCATION_H_INCLUDED

#include "sipd_clock.h"
#include "sipd_events.h"
#include "sipd_source.h"

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _sipd_location_t sipd_location_t;

#define SIPD_LOCATION_MAX_CONTACTS 10       //  bindings per extension

//  Call state of an extension, set by the B2BUA.
typedef enum {
    SIPD_CALL_STATE_IDLE = 0,       //  no call
    SIPD_CALL_STATE_RINGING = 1,    //  being alerted
    SIPD_CALL_STATE_BUSY = 2        //  in a call
} sipd_call_state_t;

//  One binding, as given to sipd_location_bind and as returned by
//  sipd_location_contacts. Strings are borrowed: on input they are copied;
//  on output they stay valid until the next change to the location
//  (bind, unbind, tick), so use them at once or copy them.
typedef struct {
    const char *uri;            //  contact URI (the part inside <>)
    const char *instance;       //  +sip.instance value, or NULL
    int reg_id;                 //  reg-id (RFC 5626), 0 when absent
    const char *call_id;        //  Call-ID of the REGISTER
    uint32_t cseq;              //  CSeq number of the REGISTER
    int64_t expires;            //  absolute expiry, seconds since epoch
    const char *user_agent;     //  User-Agent of the REGISTER, or NULL
    sipd_source_t source;       //  where the REGISTER came from
} sipd_contact_t;

//  Outcome of sipd_location_check for one contact.
typedef enum {
    SIPD_LOCATION_NEW = 0,          //  no such binding yet
    SIPD_LOCATION_UPDATE = 1,       //  existing binding, update allowed
    SIPD_LOCATION_OUT_OF_ORDER = 2  //  same Call-ID, CSeq not higher
} sipd_location_check_t;

//  Create. numbers: the configured extensions (keys are used; borrowed,
//  read only here). spool_dir: where registrations.json lives, NULL for no
//  persistence. events: publisher (borrowed, may be NULL). Starts empty:
//  call sipd_location_load to restore the file.
//  Caller owns return value and must destroy it when done.
sipd_location_t *
    sipd_location_new (zhashx_t *numbers, const char *spool_dir,
                       sipd_events_t *events);

//  Restore the bindings of registrations.json, dropping those expired by
//  now (per the clock) or naming extensions no longer configured. A
//  missing file is fine; a corrupt one is logged and ignored. Publishes no
//  events. Returns the number of bindings restored.
int
    sipd_location_load (sipd_location_t *self);

//  Destroy, writing pending changes first. NULL-safe; sets *self_p NULL.
void
    sipd_location_destroy (sipd_location_t **self_p);

//  Replace the time source (tests). fn NULL restores time (NULL).
void
    sipd_location_set_clock (sipd_location_t *self, sipd_clock_fn *fn,
                             void *arg);

//  True when number is a configured extension.
bool
    sipd_location_has_extension (sipd_location_t *self, const char *number);

//  May contact (matched by instance or uri) be updated with this
//  call_id/cseq? See sipd_location_check_t.
sipd_location_check_t
    sipd_location_check (sipd_location_t *self, const char *number,
                         const sipd_contact_t *contact);

//  Insert or update a binding (expires in the future). When the extension
//  already holds SIPD_LOCATION_MAX_CONTACTS other bindings, the one that
//  expires first is replaced. Returns 0, -1 on an unknown extension or
//  missing uri/call_id.
int
    sipd_location_bind (sipd_location_t *self, const char *number,
                        const sipd_contact_t *contact);

//  Remove the binding matching contact (instance or uri). Returns 0 when
//  one was removed, -1 when none matched.
int
    sipd_location_unbind (sipd_location_t *self, const char *number,
                          const sipd_contact_t *contact);

//  Remove every binding of number except those with call_id whose CSeq
//  is not lower than cseq (RFC 3261 §10.3 step 6, "*"). Returns the number
//  removed.
int
    sipd_location_unbind_all (sipd_location_t *self, const char *number,
                              const char *call_id, uint32_t cseq);

//  Copy up to max current bindings of number into contacts (strings
//  borrowed, see sipd_contact_t), soonest expiry last. Returns the count.
int
    sipd_location_contacts (sipd_location_t *self, const char *number,
                            sipd_contact_t *contacts, int max);

//  Set the call state of an extension (B2BUA). Publishes ext.status when
//  the resulting state changes. Returns -1 on an unknown extension.
int
    sipd_location_set_call_state (sipd_location_t *self, const char *number,
                                  sipd_call_state_t state);

//  "offline", "idle", "ringing" or "busy"; NULL for an unknown extension.
const char *
    sipd_location_state (sipd_location_t *self, const char *number);

//  Status of the configured extensions, for the "status" control request:
//  {"extensions":[{"number":"100","state":"idle","contacts":[{"uri":...,
//  "user_agent":...,"expires_in":N,"transport":"udp","received":
//  "ip:port"}]}],"total":N,"offset":0}, sorted by number (numerically).
//  number (may be NULL) selects one extension (an unknown one gives an
//  empty list); otherwise extensions offset .. offset+limit-1 are listed
//  (limit is capped at SIPD_LOCATION_STATUS_MAX, which keeps the reply
//  under the IPC body limit). Caller owns the returned object.
#define SIPD_LOCATION_STATUS_MAX 500
json_t *
    sipd_location_status (sipd_location_t *self, const char *number,
                          size_t offset, size_t limit);

//  Once a second: expire bindings whose time has come (publishing "reg"
//  expired events) and write the file when something changed since the
//  last write. Returns the number of bindings expired.
int
    sipd_location_tick (sipd_location_t *self);

//  Write pending changes now (also done by tick and destroy), waiting
//  for the file to be written (and for a background write in flight
//  first). Returns 0, -1 on a write error (logged; the next tick retries).
int
    sipd_location_flush (sipd_location_t *self);

//  Write the file from a background thread (true; the daemon does this)
//  or in the calling thread (false, the default: tick then returns with
//  the file written). Returns 0, -1 when the thread cannot start (logged;
//  writes stay in the calling thread).
int
    sipd_location_write_in_background (sipd_location_t *self,
                                       bool background);

//  Total number of bindings.
size_t
    sipd_location_size (sipd_location_t *self);

#endif
