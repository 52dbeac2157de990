//  sipd_cause — SIP <-> Q.850 mapping, Reason header codec and the
//  call_tag table. See sipd_cause.h; the tables are repeated for users in
//  docs/cdr.md (keep both in step).

#include "sipd_cause.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

//  ---------------------------------------------------------------------
//  Tables

typedef struct {
    int status;     //  SIP final status
    int cause;      //  Q.850 cause
} s_sip_map_t;

//  RFC 3398 §7.2.6.1 (SIP response received -> cause in REL), with the
//  DESIGN §6 choices 408 -> 18, 488 -> 65, 606 -> 58 and 487 -> 16.
static const s_sip_map_t s_sip_to_q850[] = {
    {400, 41},  {401, 21},  {402, 21},  {403, 21},  {404, 1},   {405, 63},
    {406, 79},  {407, 21},  {408, 18},  {410, 22},  {413, 127}, {414, 127},
    {415, 79},  {416, 127}, {420, 127}, {421, 127}, {423, 127}, {480, 18},
    {481, 41},  {482, 25},  {483, 25},  {484, 28},  {485, 1},   {486, 17},
    {487, 16},  {488, 65},  {500, 41},  {501, 79},  {502, 38},  {503, 41},
    {504, 102}, {505, 127}, {513, 127}, {600, 17},  {603, 21},  {604, 1},
    {606, 58},  {0, 0}};

//  RFC 3398 §8.2.6.1 (cause received -> SIP response sent).
static const s_sip_map_t s_q850_to_sip[] = {
    {404, 1},   {404, 2},   {404, 3},   {480, 16},  {486, 17},  {408, 18},
    {480, 19},  {480, 20},  {403, 21},  {410, 22},  {410, 23},  {404, 26},
    {502, 27},  {484, 28},  {501, 29},  {480, 31},  {503, 34},  {503, 38},
    {503, 41},  {503, 42},  {503, 47},  {403, 55},  {403, 57},  {503, 58},
    {488, 65},  {488, 70},  {501, 79},  {403, 87},  {503, 88},  {504, 102},
    {500, 111}, {500, 127}, {0, 0}};

typedef struct {
    int cause;          //  Q.850 value
    const char *text;   //  short name (ITU-T Q.850 Table 1)
} s_cause_text_t;

static const s_cause_text_t s_texts[] = {
    {1, "Unallocated number"},
    {2, "No route to transit network"},
    {3, "No route to destination"},
    {6, "Channel unacceptable"},
    {16, "Normal call clearing"},
    {17, "User busy"},
    {18, "No user responding"},
    {19, "No answer from user"},
    {20, "Subscriber absent"},
    {21, "Call rejected"},
    {22, "Number changed"},
    {23, "Redirection to new destination"},
    {25, "Exchange routing error"},
    {26, "Non-selected user clearing"},
    {27, "Destination out of order"},
    {28, "Invalid number format"},
    {29, "Facility rejected"},
    {31, "Normal, unspecified"},
    {34, "No circuit/channel available"},
    {38, "Network out of order"},
    {41, "Temporary failure"},
    {42, "Switching equipment congestion"},
    {44, "Requested circuit/channel not available"},
    {47, "Resource unavailable"},
    {50, "Requested facility not subscribed"},
    {55, "Incoming calls barred within CUG"},
    {57, "Bearer capability not authorized"},
    {58, "Bearer capability not presently available"},
    {63, "Service or option not available"},
    {65, "Bearer capability not implemented"},
    {69, "Requested facility not implemented"},
    {70, "Only restricted digital information bearer capability"},
    {79, "Service or option not implemented"},
    {87, "User not member of CUG"},
    {88, "Incompatible destination"},
    {95, "Invalid message"},
    {96, "Mandatory information element is missing"},
    {97, "Message type non-existent or not implemented"},
    {99, "Information element non-existent or not implemented"},
    {100, "Invalid information element contents"},
    {101, "Message not compatible with call state"},
    {102, "Recovery on timer expiry"},
    {111, "Protocol error"},
    {127, "Interworking"},
    {0, NULL}};

typedef struct {
    int tag;                            //  call_tag value
    const char *name;                   //  stable short name
    cm_cdr_released_by_t released_by;   //  who released
    int cause;                          //  default Q.850 cause
    int sip_code;                       //  status to the caller, 0 relayed
    const char *description;            //  one line for docs and tools
} s_tag_t;

static const s_tag_t s_tags[] = {
    {SIPD_CAUSE_TAG_CALLER_BYE, "caller-bye", CM_CDR_CALLER, 16, 0,
     "caller hung up (BYE) after answer"},
    {SIPD_CAUSE_TAG_CALLER_CANCEL, "caller-cancel", CM_CDR_CALLER, 16, 487,
     "caller cancelled (CANCEL) before answer"},
    {SIPD_CAUSE_TAG_CALLER_TIMEOUT, "caller-timeout", CM_CDR_SYSTEM, 102, 0,
     "caller leg transaction timed out (no ACK, BYE unanswered)"},
    {SIPD_CAUSE_TAG_CALLER_MEDIA_TIMEOUT, "caller-media-timeout",
     CM_CDR_SYSTEM, 102, 0, "no RTP from the caller"},
    {SIPD_CAUSE_TAG_CALLER_AUTH_FAILED, "caller-auth-failed", CM_CDR_SYSTEM,
     21, 403, "caller failed INVITE digest authentication"},
    {SIPD_CAUSE_TAG_CALLEE_BYE, "callee-bye", CM_CDR_CALLEE, 16, 0,
     "callee hung up (BYE) after answer"},
    {SIPD_CAUSE_TAG_CALLEE_REJECT, "callee-reject", CM_CDR_CALLEE, 0, 0,
     "callee (or trunk) rejected with a 4xx/5xx/6xx final response"},
    {SIPD_CAUSE_TAG_CALLEE_BUSY, "callee-busy", CM_CDR_CALLEE, 17, 0,
     "callee answered busy (486/600)"},
    {SIPD_CAUSE_TAG_NO_ANSWER, "no-answer", CM_CDR_SYSTEM, 19, 480,
     "no answer within no_answer_timeout; callee cancelled"},
    {SIPD_CAUSE_TAG_CALLEE_TIMEOUT, "callee-timeout", CM_CDR_SYSTEM, 18, 408,
     "callee leg transaction timed out (INVITE unanswered, BYE lost)"},
    {SIPD_CAUSE_TAG_CALLEE_MEDIA_TIMEOUT, "callee-media-timeout",
     CM_CDR_SYSTEM, 102, 0, "no RTP from the callee"},
    {SIPD_CAUSE_TAG_NO_ROUTE, "no-route", CM_CDR_SYSTEM, 1, 404,
     "dialled number matches no extension or route"},
    {SIPD_CAUSE_TAG_OFFLINE, "offline", CM_CDR_SYSTEM, 20, 480,
     "extension has no registered contact"},
    {SIPD_CAUSE_TAG_LOCAL_BUSY, "local-busy", CM_CDR_SYSTEM, 17, 486,
     "extension already in a call (no call waiting)"},
    {SIPD_CAUSE_TAG_SHUTDOWN, "shutdown", CM_CDR_SYSTEM, 41, 503,
     "sipd shut down while the call was up"},
    {SIPD_CAUSE_TAG_CONGESTION, "congestion", CM_CDR_SYSTEM, 42, 503,
     "call or resource limit reached"},
    {SIPD_CAUSE_TAG_MEDIA_FAILURE, "media-failure", CM_CDR_SYSTEM, 47, 503,
     "no mediad could anchor the call"},
    {SIPD_CAUSE_TAG_BAD_REQUEST, "bad-request", CM_CDR_SYSTEM, 65, 488,
     "INVITE or SDP unusable (no common codec)"},
    {SIPD_CAUSE_TAG_CALLBACK_CANCEL, "callback-cancel", CM_CDR_SYSTEM, 16,
     487, "application server cancelled the call-back"},
    {SIPD_CAUSE_TAG_NO_TRUNK, "no-trunk", CM_CDR_SYSTEM, 3, 404,
     "outgoing prefix dialled but no trunk configured"},
    {SIPD_CAUSE_TAG_TRUNK_FAILURE, "trunk-failure", CM_CDR_SYSTEM, 38, 503,
     "trunk unreachable or not responding"},
    {SIPD_CAUSE_TAG_TRUNK_AUTH_FAILED, "trunk-auth-failed", CM_CDR_SYSTEM,
     21, 403, "provider's digest challenge could not be answered"},
    {0, NULL, CM_CDR_SYSTEM, 0, 0, NULL}};

static const s_tag_t *
s_tag (int tag)
{
    for (const s_tag_t *t = s_tags; t->name; t++)
        if (t->tag == tag)
            return t;
    return NULL;
}

//  ---------------------------------------------------------------------
//  SIP <-> Q.850

int
sipd_cause_from_sip (int status)
{
    if (status < 200 || status > 699)
        return 0;
    for (const s_sip_map_t *m = s_sip_to_q850; m->status; m++)
        if (m->status == status)
            return m->cause;
    if (status < 300)
        return SIPD_CAUSE_NORMAL_CLEARING;
    if (status < 400)
        return SIPD_CAUSE_REDIRECTION;
    if (status < 500)
        return SIPD_CAUSE_INTERWORKING;
    if (status < 600)
        return SIPD_CAUSE_TEMPORARY_FAILURE;
    return SIPD_CAUSE_INTERWORKING;
}

int
sipd_cause_to_sip (int cause)
{
    if (cause < 1 || cause > 127)
        return 500;
    for (const s_sip_map_t *m = s_q850_to_sip; m->status; m++)
        if (m->cause == cause)
            return m->status;
    if (cause <= 31)
        return 480;
    if (cause <= 47)
        return 503;
    return 500;
}

const char *
sipd_cause_text (int cause)
{
    for (const s_cause_text_t *t = s_texts; t->text; t++)
        if (t->cause == cause)
            return t->text;
    return "Unknown cause";
}

//  ---------------------------------------------------------------------
//  Reason header (RFC 3326 §2):
//      Reason            = "Reason" HCOLON reason-value *(COMMA reason-value)
//      reason-value      = protocol *(SEMI reason-params)
//      protocol          = "SIP" / "Q.850" / token
//      reason-params     = protocol-cause / reason-text / reason-extension
//      protocol-cause    = "cause" EQUAL cause
//      cause             = 1*DIGIT
//      reason-text       = "text" EQUAL quoted-string
//      reason-extension  = generic-param
//  The scanner below walks the value once; any syntax error makes the
//  whole header count as absent.

typedef struct {
    const char *p;      //  current position
} s_scan_t;

static void
s_lws (s_scan_t *s)
{
    while (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n')
        s->p++;
}

//  RFC 3261 token characters, plus ':' '[' ']' for host-valued params.
static bool
s_token_char (char c)
{
    return isalnum ((unsigned char) c) || strchr ("-.!%*_+`'~:[]", c);
}

//  Read a token into buf (truncated to size); returns its length (0 if
//  none).
static size_t
s_token (s_scan_t *s, char *buf, size_t size)
{
    size_t n = 0;
    while (*s->p && s_token_char (*s->p)) {
        if (n + 1 < size)
            buf[n] = *s->p;
        n++;
        s->p++;
    }
    if (size)
        buf[n < size ? n : size - 1] = '\0';
    return n;
}

//  Read a quoted-string (RFC 3261 §25.1) into buf without the quotes and
//  with \-escapes resolved. Returns 0, or -1 when unterminated.
static int
s_quoted (s_scan_t *s, char *buf, size_t size)
{
    assert (*s->p == '"');
    s->p++;
    size_t n = 0;
    while (*s->p && *s->p != '"') {
        char c = *s->p++;
        if (c == '\\') {
            if (!*s->p)
                return -1;
            c = *s->p++;
        }
        if (n + 1 < size)
            buf[n++] = c;
    }
    if (*s->p != '"')
        return -1;
    s->p++;
    if (size)
        buf[n] = '\0';
    return 0;
}

//  Parse "1*DIGIT" as a cause 1..127; -1 otherwise.
static int
s_cause_value (const char *text)
{
    size_t n = strlen (text);
    if (n == 0 || n > 3 || strspn (text, "0123456789") != n)
        return -1;
    int cause = 0;
    for (size_t i = 0; i < n; i++)
        cause = cause * 10 + (text[i] - '0');
    return cause >= 1 && cause <= 127 ? cause : -1;
}

int
sipd_cause_reason_parse (const char *value, char *text, size_t size)
{
    if (text && size)
        text[0] = '\0';
    if (!value)
        return 0;
    s_scan_t scan = {value};
    s_scan_t *s = &scan;
    int found = 0;
    char found_text[128] = "";
    while (true) {
        char protocol[16], name[16], param[128];
        s_lws (s);
        if (s_token (s, protocol, sizeof protocol) == 0)
            return 0;
        bool q850 = strcasecmp (protocol, "Q.850") == 0;
        int cause = -1;
        bool cause_seen = false;
        char reason_text[128] = "";
        s_lws (s);
        while (*s->p == ';') {
            s->p++;
            s_lws (s);
            if (s_token (s, name, sizeof name) == 0)
                return 0;
            s_lws (s);
            param[0] = '\0';
            bool quoted = false;
            if (*s->p == '=') {
                s->p++;
                s_lws (s);
                if (*s->p == '"') {
                    if (s_quoted (s, param, sizeof param) != 0)
                        return 0;
                    quoted = true;
                }
                else if (s_token (s, param, sizeof param) == 0)
                    return 0;
                s_lws (s);
            }
            if (strcasecmp (name, "cause") == 0) {
                if (cause_seen)
                    return 0;   //  two causes in one value: malformed
                cause_seen = true;
                cause = quoted ? -1 : s_cause_value (param);
            }
            else if (strcasecmp (name, "text") == 0)
                snprintf (reason_text, sizeof reason_text, "%s", param);
        }
        if (q850 && cause > 0 && !found) {
            found = cause;
            snprintf (found_text, sizeof found_text, "%s", reason_text);
        }
        if (*s->p == '\0')
            break;
        if (*s->p != ',')
            return 0;
        s->p++;
    }
    if (found && text && size)
        snprintf (text, size, "%s", found_text);
    return found;
}

char *
sipd_cause_reason_format (int cause, char *buf, size_t size)
{
    assert (buf);
    snprintf (buf, size, "Q.850;cause=%d;text=\"%s\"", cause,
              sipd_cause_text (cause));
    return buf;
}

//  ---------------------------------------------------------------------
//  call_tag table

bool
sipd_cause_tag_known (int tag)
{
    return s_tag (tag) != NULL;
}

const char *
sipd_cause_tag_name (int tag)
{
    const s_tag_t *t = s_tag (tag);
    return t ? t->name : "unknown";
}

const char *
sipd_cause_tag_description (int tag)
{
    const s_tag_t *t = s_tag (tag);
    return t ? t->description : "unknown call tag";
}

cm_cdr_released_by_t
sipd_cause_tag_released_by (int tag)
{
    const s_tag_t *t = s_tag (tag);
    return t ? t->released_by : CM_CDR_SYSTEM;
}

int
sipd_cause_tag_cause (int tag)
{
    const s_tag_t *t = s_tag (tag);
    return t ? t->cause : 0;
}

int
sipd_cause_tag_sip_code (int tag)
{
    const s_tag_t *t = s_tag (tag);
    return t ? t->sip_code : 0;
}

//  ---------------------------------------------------------------------
//  Filling the CDR

static cm_cdr_disposition_t
s_disposition (int tag, int sip_code, int cause, bool answered)
{
    if (answered)
        return CM_CDR_ANSWERED;
    if (tag == SIPD_CAUSE_TAG_CALLER_CANCEL
        || tag == SIPD_CAUSE_TAG_CALLBACK_CANCEL)
        return CM_CDR_CANCELLED;
    if (tag == SIPD_CAUSE_TAG_NO_ANSWER)
        return CM_CDR_NO_ANSWER;
    if (tag == SIPD_CAUSE_TAG_CALLEE_BUSY || tag == SIPD_CAUSE_TAG_LOCAL_BUSY
        || sip_code == 486 || sip_code == 600
        || cause == SIPD_CAUSE_USER_BUSY)
        return CM_CDR_BUSY;
    return CM_CDR_FAILED;
}

int
sipd_cause_apply (cm_cdr_t *cdr, int tag, int sip_code, int reason_cause,
                  bool answered)
{
    assert (cdr);
    const s_tag_t *t = s_tag (tag);
    if (!t)
        return -1;
    if (sip_code == 0)
        sip_code = answered ? 200 : t->sip_code;
    if (sip_code < 100 || sip_code > 699
        || (answered && (sip_code < 200 || sip_code > 299)))
        return -1;
    int cause;
    if (reason_cause >= 1 && reason_cause <= 127)
        cause = reason_cause;
    else if (tag == SIPD_CAUSE_TAG_CALLEE_REJECT
             || tag == SIPD_CAUSE_TAG_CALLEE_BUSY)
        cause = sipd_cause_from_sip (sip_code);
    else
        cause = t->cause;
    int rc = cm_cdr_set_sip_code (cdr, sip_code);
    rc |= cm_cdr_set_cause (cdr, cause);
    rc |= cm_cdr_set_call_tag (cdr, tag);
    assert (rc == 0);
    cm_cdr_set_released_by (cdr, t->released_by);
    cm_cdr_set_disposition (cdr, s_disposition (tag, sip_code, cause,
                                                 answered));
    return 0;
}
