//  sipd_call — the record of one call attempt (see sipd_call.h).

#include "sipd_call.h"

#include "sipd_cause.h"
#include "sipd_random.h"

#include <czmq.h>
#include <string.h>

struct _sipd_call_t {
    char uniqueid[40];          //  CDR uniqueid (UUID)
    char src[64];               //  caller number
    char dst[64];               //  number after analysis
    char dialed[64];            //  number as dialled
    sipd_direction_t direction; //  CDR direction
    int64_t start_ms;           //  INVITE received
    int64_t answer_ms;          //  200 sent to the caller, 0 if not
    bool released;              //  release recorded
    int tag;                    //  call_tag
    int sip_code;               //  status to the caller
    int reason_cause;           //  cause of a Reason header
    int best_code;              //  best failure among callee legs
    bool best_no_response;      //  best_code is a timeout/transport error
    char best_reason[128];      //  its Reason header value
    char best_phrase[64];       //  its reason phrase
};

//  Copy text into a fixed buffer; oversized or line-breaking text is
//  dropped (it would only be garbage in a header or a CDR).
static void
s_copy (char *dst, size_t size, const char *src)
{
    dst[0] = 0;
    if (src && strlen (src) < size && !strpbrk (src, "\r\n"))
        strcpy (dst, src);
}

//  A random (version 4) UUID in canonical form: 36 characters and the
//  terminating NUL.
static void
s_uuid (char *out)
{
    unsigned char b[16];
    sipd_random_bytes (b, sizeof b);
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = 0;
}

sipd_call_t *
sipd_call_new (const char *src, const char *dialed)
{
    sipd_call_t *self = (sipd_call_t *) zmalloc (sizeof *self);
    s_uuid (self->uniqueid);
    s_copy (self->src, sizeof self->src, src);
    s_copy (self->dialed, sizeof self->dialed, dialed);
    s_copy (self->dst, sizeof self->dst, dialed);
    self->direction = SIPD_DIR_INTERNAL;
    self->start_ms = cm_cdr_now ();
    return self;
}

void
sipd_call_destroy (sipd_call_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
sipd_call_uniqueid (sipd_call_t *self)
{
    assert (self);
    return self->uniqueid;
}

const char *
sipd_call_src (sipd_call_t *self)
{
    assert (self);
    return self->src;
}

const char *
sipd_call_dst (sipd_call_t *self)
{
    assert (self);
    return self->dst;
}

const char *
sipd_call_dialed (sipd_call_t *self)
{
    assert (self);
    return self->dialed;
}

sipd_direction_t
sipd_call_direction (sipd_call_t *self)
{
    assert (self);
    return self->direction;
}

void
sipd_call_set_route (sipd_call_t *self, const char *dst,
                     sipd_direction_t direction)
{
    assert (self);
    s_copy (self->dst, sizeof self->dst, dst);
    self->direction = direction;
}

void
sipd_call_set_answered (sipd_call_t *self)
{
    assert (self);
    if (!self->answer_ms)
        self->answer_ms = cm_cdr_now ();
}

bool
sipd_call_is_answered (sipd_call_t *self)
{
    assert (self);
    return self->answer_ms != 0;
}

bool
sipd_call_release (sipd_call_t *self, int tag, int sip_code,
                   int reason_cause)
{
    assert (self);
    if (self->released)
        return false;
    self->released = true;
    self->tag = tag;
    self->sip_code = sip_code;
    self->reason_cause = reason_cause;
    return true;
}

bool
sipd_call_is_released (sipd_call_t *self)
{
    assert (self);
    return self->released;
}

int
sipd_call_tag (sipd_call_t *self)
{
    assert (self);
    return self->tag;
}

int
sipd_call_sip_code (sipd_call_t *self)
{
    assert (self);
    return self->sip_code;
}

//  Priority of a final failure for the caller's answer.
static int
s_rank (int code)
{
    if (code >= 600)
        return 5;
    if (code == 486)
        return 4;
    if (code >= 400 && code < 500 && code != 408 && code != 487)
        return 3;
    if (code >= 500)
        return 2;
    return 1;
}

void
sipd_call_fork_failed (sipd_call_t *self, int code, bool responded,
                       const char *reason, const char *phrase)
{
    assert (self);
    bool better = !self->best_code
                  || (responded && self->best_no_response)
                  || (responded && !self->best_no_response
                      && s_rank (code) > s_rank (self->best_code));
    if (!better)
        return;
    self->best_code = code;
    self->best_no_response = !responded;
    s_copy (self->best_reason, sizeof self->best_reason,
            responded ? reason : NULL);
    s_copy (self->best_phrase, sizeof self->best_phrase,
            responded ? phrase : NULL);
}

void
sipd_call_failure (sipd_call_t *self, bool to_extension, int *tag_p,
                   int *code_p, int *cause_p, const char **phrase_p,
                   const char **reason_p)
{
    assert (self);
    int code = self->best_code ? self->best_code : 480;
    int sent = code;
    int tag;
    if (self->best_no_response || !self->best_code) {
        //  Nobody answered at all: the trunk is down (503), or the phone
        //  is unreachable (480).
        tag = to_extension ? SIPD_CAUSE_TAG_CALLEE_TIMEOUT
                           : SIPD_CAUSE_TAG_TRUNK_FAILURE;
        sent = to_extension ? 480 : 503;
    }
    else if (code == 486 || code == 600)
        tag = SIPD_CAUSE_TAG_CALLEE_BUSY;
    else
        tag = SIPD_CAUSE_TAG_CALLEE_REJECT;
    if (sent < 400)
        sent = 480;     //  sipd does not redirect callers
    *tag_p = tag;
    *code_p = sent;
    *cause_p = sipd_cause_reason_parse (self->best_reason, NULL, 0);
    *phrase_p = sent == code && self->best_phrase[0] ? self->best_phrase
                                                     : NULL;
    *reason_p = self->best_reason[0] ? self->best_reason : NULL;
}

cm_cdr_t *
sipd_call_cdr (sipd_call_t *self)
{
    assert (self);
    cm_cdr_t *cdr = cm_cdr_new (self->uniqueid);
    assert (cdr);       //  a canonical UUID is a valid uniqueid
    int64_t now = cm_cdr_now ();
    cm_cdr_set_start_time (cdr, self->start_ms);
    if (self->answer_ms)
        cm_cdr_set_answer_time (cdr, self->answer_ms);
    cm_cdr_set_end_time (cdr, now < self->start_ms ? self->start_ms : now);
    cm_cdr_set_src (cdr, self->src);
    cm_cdr_set_dst (cdr, self->dst);
    cm_cdr_set_dialed (cdr, self->dialed);
    cm_cdr_set_direction (cdr, (cm_cdr_direction_t) self->direction);
    bool answered = self->answer_ms != 0;
    int tag = self->released ? self->tag : SIPD_CAUSE_TAG_SHUTDOWN;
    int code = answered ? 200 : self->sip_code;
    //  An impossible status (0 when unanswered) falls back to the tag's.
    if (sipd_cause_apply (cdr, tag, code, self->reason_cause, answered) != 0)
        sipd_cause_apply (cdr, tag, 0, self->reason_cause, answered);
    if (self->best_code && !answered) {
        char code_text[16];
        snprintf (code_text, sizeof code_text, "%d", self->best_code);
        cm_cdr_fci_add (cdr, "calleeCode", code_text);
    }
    return cdr;
}
