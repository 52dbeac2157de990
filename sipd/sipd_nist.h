//  sipd_nist — non-INVITE server transactions (RFC 3261 §17.2.2), kept
//  lean because REGISTER and OPTIONS are most of sipd's traffic.
//
//  libosip2's NIST keeps both parsed messages for timer J (32 s over UDP)
//  and matches requests by a linear search over every live transaction,
//  which does not survive thousands of REGISTERs a second. This table
//  matches by a hash of the RFC 3261 §17.2.3 key (branch, sent-by,
//  method; the RFC 2543 fields when the branch lacks the magic cookie),
//  keeps the request only until the final response is sent and then only
//  the bytes of that response, for absorbing retransmissions:
//    Trying      (no response yet)  retransmission discarded
//    Proceeding  (1xx sent)         the last 1xx is resent
//    Completed   (final sent)       the final response is resent, until
//                                   timer J (64*T1 UDP, 0 TCP) expires
//  Entries are named by ids the caller assigns (the server's txn_ids).

#ifndef SIPD_NIST_H_INCLUDED
#define SIPD_NIST_H_INCLUDED

#include "sipd_source.h"

#include <sys/time.h>
#include <osip2/osip.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sipd_nist_t sipd_nist_t;

//  Timer J for unreliable transports: 64 * T1 (RFC 3261 §17.2.2).
#define SIPD_NIST_LINGER_MS 32000

//  Create an empty table. Caller owns return value and must destroy it.
sipd_nist_t *
    sipd_nist_new (void);

//  Destroy with every entry. NULL-safe; sets *self_p to NULL.
void
    sipd_nist_destroy (sipd_nist_t **self_p);

//  The matching key of a request (RFC 3261 §17.2.3), or NULL when it has
//  no top Via. ACK never matches a non-INVITE transaction: NULL too.
//  Caller frees the string with free ().
char *
    sipd_nist_key (const osip_message_t *request);

//  The id of the live transaction with this key, or 0.
int
    sipd_nist_find (sipd_nist_t *self, const char *key);

//  Add a transaction: id (> 0, unused), its key (copied), the request
//  (takes ownership of *request_p), where it came from and where its
//  responses go. Returns 0, or -1 when the key or id is taken (the
//  request is freed then too).
int
    sipd_nist_add (sipd_nist_t *self, int id, const char *key,
                   osip_message_t **request_p, const sipd_source_t *source,
                   const sipd_source_t *dest);

//  True when the transaction exists and has not sent its final response.
bool
    sipd_nist_is_open (sipd_nist_t *self, int id);

//  True when a transaction with this id exists (open or completed).
bool
    sipd_nist_exists (sipd_nist_t *self, int id);

//  The request of an open transaction, or NULL. Borrowed: valid until the
//  next sipd_nist_expire (it survives the final response until then, so
//  a handler may still read it after answering).
const osip_message_t *
    sipd_nist_request (sipd_nist_t *self, int id);

//  Where the request came from / where responses go, or NULL. Borrowed.
const sipd_source_t *
    sipd_nist_source (sipd_nist_t *self, int id);

const sipd_source_t *
    sipd_nist_dest (sipd_nist_t *self, int id);

//  The last response sent (bytes, borrowed), for a retransmission of the
//  request; NULL in Trying. *len_p gets its length.
const char *
    sipd_nist_last (sipd_nist_t *self, int id, size_t *len_p);

//  Record a response sent in transaction id (data copied). A final
//  response completes it: the request is released at the next expire
//  and the entry lingers linger_ms (0: gone at the next expire).
//  Returns 0, or -1 when the transaction is unknown or completed.
int
    sipd_nist_record (sipd_nist_t *self, int id, const char *data,
                      size_t len, bool final, int64_t now_ms, int linger_ms);

//  Release requests of completed transactions and drop those whose
//  linger time is over. Call from the loop's timer.
void
    sipd_nist_expire (sipd_nist_t *self, int64_t now_ms);

//  Number of entries.
size_t
    sipd_nist_size (sipd_nist_t *self);

#endif
