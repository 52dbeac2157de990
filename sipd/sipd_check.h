//  sipd_check — the validation step between the wire and the transaction
//  layer. Turns received bytes into a libosip2 message and decides, per
//  RFC 3261 §8.2 and §18.3 and the RFC 4475 torture categories, whether
//  the message may go on, must be answered with an error, or dropped.
//
//  libosip2's parser is all or nothing and both too strict (it refuses
//  some legal method tokens and URI schemes) and too lenient (it accepts
//  a wrong CSeq method, a bad SIP version, negative or huge numbers).
//  So sipd_check reads the start line itself, and when the parser refuses
//  a message it "salvages" the headers a response needs (Via, From, To,
//  Call-ID, CSeq) so the error can still be answered, naming the header
//  that failed. A message whose top Via cannot be parsed cannot be
//  answered (RFC 3261 §18.2.2) and is dropped.

#ifndef SIPD_CHECK_H_INCLUDED
#define SIPD_CHECK_H_INCLUDED

#include <sys/time.h>
#include <osip2/osip.h>
#include <stdbool.h>
#include <stddef.h>

//  What to do with a received message.
typedef struct {
    int code;               //  0 go on; 100..699 answer with it; -1 drop
    char reason[96];        //  reason phrase for the answer (or drop cause)
    char hname[24];         //  extra header for the answer ("" none):
    char hvalue[256];       //  Allow (405), Unsupported (420), Accept...
} sipd_check_result_t;

//  What the server accepts.
typedef struct {
    size_t max_message;     //  larger messages get 513
    const char *allow;      //  methods handled, "INVITE, ACK, ..." (405)
    const char *supported;  //  option tags supported, comma-separated
} sipd_check_policy_t;

//  Parse and validate size bytes of data. Returns the result code (also
//  in result->code) and sets *msg_p:
//    0     *msg_p is the valid request or response;
//    > 0   *msg_p is a request (maybe rebuilt from the salvaged headers)
//          good enough to build the answer with sipd_msg_response_new;
//    -1    *msg_p is NULL: nothing can or should be answered.
//  Caller owns *msg_p and frees it with osip_message_free.
//  parser_init () must have been called once (osip_init does it).
int
    sipd_check_message (const char *data, size_t size,
                        const sipd_check_policy_t *policy,
                        osip_message_t **msg_p, sipd_check_result_t *result);

//  True when method is an RFC 3261 token (the Method production).
bool
    sipd_check_is_token (const char *text, size_t len);

#endif
