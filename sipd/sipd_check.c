//  sipd_check — parse and validate received SIP messages. See
//  sipd_check.h for the overall approach.
//
//  The order of checks follows RFC 3261 §8.2 (a UAS examines method,
//  headers, extensions and content, in that order) with the transport
//  checks of §18.3 (size, Content-Length) and the syntax checks RFC 4475
//  expects first: a request that cannot even be read gets 400 naming the
//  header that broke, a wrong version 505, a message too large 513.

#include "sipd_check.h"

#include <czmq.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LINES 512           //  header lines examined at most
#define MAX_LINE 8192           //  longer lines are cut for salvage tests

//  The raw message split into lines (continuations unfolded).
typedef struct {
    char *start;                //  start line (owned)
    char *lines[MAX_LINES];     //  header lines (owned)
    int count;                  //  lines in use
    size_t body_len;            //  bytes after the blank line
    bool has_blank;             //  the header block is complete
} s_split_t;

static void
s_result (sipd_check_result_t *result, int code, const char *reason)
{
    result->code = code;
    //  snprintf "%s" without its cost (twice per message)
    size_t len = strlen (reason);
    if (len >= sizeof result->reason)
        len = sizeof result->reason - 1;
    memcpy (result->reason, reason, len);
    result->reason[len] = 0;
    result->hname[0] = 0;
    result->hvalue[0] = 0;
}

bool
sipd_check_is_token (const char *text, size_t len)
{
    //  RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*"
    //  / "_" / "+" / "`" / "'" / "~")
    if (!text || len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        if (!isalnum (c) && !strchr ("-.!%*_+`'~", c))
            return false;
    }
    return true;
}

//  Copy n bytes; control characters (NUL included, HT excepted) become
//  '?' so the copy is a C string libosip2 can read (RFC 4475 §3.1.1.3:
//  quoted strings may carry them; they matter to no answer).
static char *
s_strndup (const char *s, size_t n)
{
    char *copy = malloc (n + 1);
    assert (copy);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        copy[i] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char) c;
    }
    copy[n] = 0;
    return copy;
}

static void
s_split_free (s_split_t *split)
{
    free (split->start);
    for (int i = 0; i < split->count; i++)
        free (split->lines[i]);
}

//  Split data into start line, unfolded header lines and body length.
static void
s_split (const char *data, size_t size, s_split_t *split)
{
    memset (split, 0, sizeof *split);
    const char *p = data;
    const char *end = data + size;
    bool first = true;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            break;  //  a cut line is not a line
        size_t len = (size_t) (eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            if (!first) {
                split->has_blank = true;
                split->body_len = (size_t) (end - eol - 1);
                return;
            }
        }
        else if (first) {
            split->start = s_strndup (p, len);
            first = false;
        }
        else if ((*p == ' ' || *p == '\t') && split->count > 0) {
            //  continuation (LWS): append to the previous line
            char *prev = split->lines[split->count - 1];
            size_t prev_len = strlen (prev);
            if (prev_len + len + 2 < MAX_LINE) {
                char *joined = malloc (prev_len + len + 2);
                assert (joined);
                memcpy (joined, prev, prev_len);
                joined[prev_len] = ' ';
                memcpy (joined + prev_len + 1, p, len);
                joined[prev_len + 1 + len] = 0;
                free (prev);
                split->lines[split->count - 1] = joined;
            }
        }
        else if (split->count < MAX_LINES)
            split->lines[split->count++]
                = s_strndup (p, len < MAX_LINE ? len : MAX_LINE);
        p = eol + 1;
    }
}

//  True when c reads as '?' in a line copied by s_strndup.
static inline bool
s_is_mapped (unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f || c == '?';
}

//  True when a header line is a Contact whose URI has a '?' outside <>
//  (RFC 4475 §3.1.2.8: ambiguous). line is len bytes, raw or copied.
static bool
s_contact_ambiguous (const char *line, size_t len)
{
    if (len == 0 || !strchr ("cCmM", *line) || *line == 0)
        return false;   //  neither "Contact" nor "m"
    const char *colon = memchr (line, ':', len);
    if (!colon)
        return false;
    size_t name = (size_t) (colon - line);
    while (name > 0 && (line[name - 1] == ' ' || line[name - 1] == '\t'))
        name--;
    bool contact = (name == 7 && strncasecmp (line, "contact", 7) == 0)
                   || (name == 1 && (*line == 'm' || *line == 'M'));
    if (!contact)
        return false;
    size_t rest = len - (size_t) (colon - line);
    if (memchr (colon, '<', rest))
        return false;
    for (size_t i = 0; i < rest; i++)
        if (s_is_mapped ((unsigned char) colon[i]))
            return true;
    return false;
}

//  What s_split would tell about the message, read in place without a
//  copy per line: the start line (copied, control characters replaced),
//  the body length, and whether a Contact line is ambiguous. Only for
//  plain header blocks (no folded line, none as long as MAX_LINE, at most
//  MAX_LINES): returns false for the others, which s_split handles.
typedef struct {
    char start[512];            //  start line ("" with has_start false)
    bool has_start;             //  a start line was found
    size_t body_len;            //  bytes after the blank line
    bool contact_bad;           //  a Contact line has '?' outside <>
} s_scan_t;

static bool
s_scan (const char *data, size_t size, s_scan_t *scan)
{
    scan->start[0] = 0;
    scan->has_start = false;
    scan->body_len = 0;
    scan->contact_bad = false;
    const char *p = data;
    const char *end = data + size;
    int count = 0;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            break;
        size_t len = (size_t) (eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            if (scan->has_start) {
                scan->body_len = (size_t) (end - eol - 1);
                return true;
            }
        }
        else if (!scan->has_start) {
            if (len >= sizeof scan->start)
                return false;
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) p[i];
                scan->start[i] = s_is_mapped (c) ? '?' : (char) c;
            }
            scan->start[len] = 0;
            scan->has_start = true;
        }
        else if (*p == ' ' || *p == '\t' || len >= MAX_LINE
                 || ++count > MAX_LINES)
            return false;
        else if (!scan->contact_bad && s_contact_ambiguous (p, len))
            scan->contact_bad = true;
        p = eol + 1;
    }
    return true;
}

//  Name of a header line, canonical for the five a response needs:
//  returns "via", "from", "to", "call-id", "cseq" or NULL for others.
static const char *
s_routing_name (const char *line)
{
    const char *colon = strchr (line, ':');
    if (!colon)
        return NULL;
    size_t len = (size_t) (colon - line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    static const struct {
        const char *name;
        const char *compact;
    } names[] = {{"via", "v"}, {"from", "f"}, {"to", "t"},
                 {"call-id", "i"}, {"cseq", NULL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen (names[i].name) == len
            && strncasecmp (line, names[i].name, len) == 0)
            return names[i].name;
        if (names[i].compact && len == 1
            && tolower ((unsigned char) line[0]) == names[i].compact[0])
            return names[i].name;
    }
    return NULL;
}

#define MULTIPART_HEADER "X-Sipd-Multipart-Type"

//  When the header line p..eol is a Content-Type (or "c") whose value
//  starts with "multipart", its colon; else NULL.
static const char *
s_multipart_colon (const char *p, const char *eol)
{
    //  only "Content-Type" and "c" are looked at
    const char *colon = *p == 'c' || *p == 'C'
                            ? memchr (p, ':', (size_t) (eol - p))
                            : NULL;
    if (!colon)
        return NULL;
    size_t name = (size_t) (colon - p);
    while (name > 0 && (p[name - 1] == ' ' || p[name - 1] == '\t'))
        name--;
    bool type = (name == 12 && strncasecmp (p, "content-type", 12) == 0)
                || (name == 1 && (*p == 'c' || *p == 'C'));
    const char *v = colon + 1;
    while (v < eol && (*v == ' ' || *v == '\t'))
        v++;
    return type && eol - v >= 9 && strncasecmp (v, "multipart", 9) == 0
               ? colon
               : NULL;
}

//  libosip2 5.3 leaks memory when a multipart body has a broken part
//  (osip_body_parse_mime, osip_body_set_contenttype), which a peer could
//  repeat at will. So every multipart Content-Type header is renamed
//  before parsing (the first is restored after): the body stays one
//  opaque part. Returns a new text (caller frees) or NULL when there is
//  no multipart Content-Type.
static char *
s_hide_multipart (const char *text, size_t len, size_t *new_len_p)
{
    const char *end = text + len;
    size_t extra = strlen (MULTIPART_HEADER);
    //  skip the start line
    const char *eol = memchr (text, '\n', len);
    if (!eol)
        return NULL;
    const char *headers = eol + 1;
    //  pass 1: how many; pass 2: copy with their names replaced
    size_t count = 0;
    char *copy = NULL;
    char *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const char *p = headers;
        const char *copied = text;   //  text before this is in copy
        while (p < end && *p != '\r' && *p != '\n') {
            eol = memchr (p, '\n', (size_t) (end - p));
            if (!eol)
                eol = end;
            const char *colon = s_multipart_colon (p, eol);
            if (colon && pass == 0)
                count++;
            else if (colon) {
                memcpy (out, copied, (size_t) (p - copied));
                out += p - copied;
                memcpy (out, MULTIPART_HEADER, extra);
                out += extra;
                copied = colon;
            }
            p = eol + 1;
        }
        if (pass == 0) {
            if (count == 0)
                return NULL;
            copy = malloc (len + count * extra + 1);
            assert (copy);
            out = copy;
        }
        else {
            memcpy (out, copied, (size_t) (end - copied));
            out += end - copied;
            *out = 0;
        }
    }
    *new_len_p = (size_t) (out - copy);
    return copy;
}

//  Parse text as a message. Returns it or NULL.
static osip_message_t *
s_parse (const char *text, size_t len)
{
    size_t hidden_len = 0;
    char *hidden = s_hide_multipart (text, len, &hidden_len);
    if (hidden) {
        osip_message_t *msg = NULL;
        if (osip_message_init (&msg) != 0) {
            free (hidden);
            return NULL;
        }
        int rc = osip_message_parse (msg, hidden, hidden_len);
        //  without a Content-Type libosip2 drops the body: attach it as
        //  one opaque part, then put the Content-Type back as a header
        const char *blank = strstr (hidden, "\r\n\r\n");
        size_t body_len = 0;
        if (rc == 0 && blank && msg->content_length
            && msg->content_length->value)
            body_len = strtoul (msg->content_length->value, NULL, 10);
        if (blank && body_len > hidden_len - (size_t) (blank + 4 - hidden))
            body_len = hidden_len - (size_t) (blank + 4 - hidden);
        if (rc == 0 && body_len > 0)
            rc = osip_message_set_body (msg, blank + 4, body_len);
        free (hidden);
        osip_header_t *header = NULL;
        int pos = rc == 0 ? osip_message_header_get_byname (
                      msg, MULTIPART_HEADER, 0, &header)
                          : -1;
        if (pos >= 0 && header && header->hvalue && !msg->content_type
            && osip_message_set_content_type (msg, header->hvalue) == 0) {
            osip_list_remove (&msg->headers, pos);
            osip_header_free (header);
            osip_message_force_update (msg);
            return msg;
        }
        osip_message_free (msg);
        return NULL;
    }
    osip_message_t *msg = NULL;
    if (osip_message_init (&msg) != 0)
        return NULL;
    if (osip_message_parse (msg, text, len) != 0) {
        osip_message_free (msg);
        return NULL;
    }
    return msg;
}

//  True when one header line parses in a minimal request.
static bool
s_line_parses (const char *line)
{
    char *text = zsys_sprintf ("OPTIONS sip:x SIP/2.0\r\n%s\r\n\r\n", line);
    osip_message_t *msg = s_parse (text, strlen (text));
    zstr_free (&text);
    bool ok = msg != NULL;
    osip_message_free (msg);
    return ok;
}

//  Build a request good enough to answer from: a sane start line with the
//  original method, the parseable Vias (the top one must be), and From,
//  To, Call-ID, CSeq or placeholders for those that are missing or bad.
//  Returns NULL when the top Via is unusable.
static osip_message_t *
s_salvage (const s_split_t *split, const char *method)
{
    zchunk_t *buf = zchunk_new (NULL, 1024);
    zchunk_extend (buf, method, strlen (method));
    zchunk_extend (buf, " sip:invalid SIP/2.0\r\n", 22);
    bool seen_via = false, via_broken = false;
    const char *wanted[] = {"from", "to", "call-id", "cseq"};
    bool have[4] = {false, false, false, false};
    for (int i = 0; i < split->count; i++) {
        const char *name = s_routing_name (split->lines[i]);
        if (!name)
            continue;
        if (strcmp (name, "via") == 0) {
            if (via_broken)
                continue;
            if (!s_line_parses (split->lines[i])) {
                via_broken = true;
                continue;
            }
            seen_via = true;
        }
        else {
            int k = 0;
            while (k < 4 && strcmp (wanted[k], name) != 0)
                k++;
            if (k == 4 || have[k] || !s_line_parses (split->lines[i]))
                continue;
            have[k] = true;
        }
        zchunk_extend (buf, split->lines[i], strlen (split->lines[i]));
        zchunk_extend (buf, "\r\n", 2);
    }
    //  the top Via must be readable, else nothing can be routed back
    bool top_ok = false;
    for (int i = 0; i < split->count; i++)
        if (s_routing_name (split->lines[i])
            && strcmp (s_routing_name (split->lines[i]), "via") == 0) {
            top_ok = s_line_parses (split->lines[i]);
            break;
        }
    if (!seen_via || !top_ok) {
        zchunk_destroy (&buf);
        return NULL;
    }
    char placeholder[128];
    if (!have[0])
        zchunk_extend (buf, "From: <sip:invalid@invalid>;tag=0\r\n", 35);
    if (!have[1])
        zchunk_extend (buf, "To: <sip:invalid@invalid>\r\n", 27);
    if (!have[2])
        zchunk_extend (buf, "Call-ID: invalid\r\n", 18);
    if (!have[3]) {
        snprintf (placeholder, sizeof placeholder, "CSeq: 0 %s\r\n", method);
        zchunk_extend (buf, placeholder, strlen (placeholder));
    }
    zchunk_extend (buf, "\r\n", 2);
    osip_message_t *msg = s_parse ((char *) zchunk_data (buf),
                                   zchunk_size (buf));
    zchunk_destroy (&buf);
    return msg;
}

//  Read the start line. Sets *is_response; for a request fills method
//  (size bytes) and returns 0 or the error to answer (400, 505, 416).
static int
s_start_line (const char *line, bool *is_response, char *method,
              size_t size, sipd_check_result_t *result)
{
    *is_response = false;
    snprintf (method, size, "OPTIONS");
    if (!line) {
        s_result (result, 400, "Missing Request-Line");
        return 400;
    }
    if (strncmp (line, "SIP/", 4) == 0) {
        *is_response = true;
        return 0;
    }
    //  Method SP Request-URI SP SIP-Version, single spaces (RFC 3261 §7.1)
    const char *sp1 = strchr (line, ' ');
    const char *sp2 = sp1 ? strchr (sp1 + 1, ' ') : NULL;
    if (sp1 && sipd_check_is_token (line, (size_t) (sp1 - line))
        && (size_t) (sp1 - line) < size) {
        memcpy (method, line, (size_t) (sp1 - line));
        method[sp1 - line] = 0;
    }
    if (!sp1 || !sp2 || strchr (sp2 + 1, ' ') || strchr (line, '\t')
        || sp2 == sp1 + 1) {
        s_result (result, 400, "Bad Request-Line");
        return 400;
    }
    if (!sipd_check_is_token (line, (size_t) (sp1 - line))) {
        s_result (result, 400, "Bad Method");
        return 400;
    }
    const char *version = sp2 + 1;
    unsigned major = 0, minor = 0;
    int used = 0;
    if (strcmp (version, "SIP/2.0") == 0)
        major = 2;      //  the usual case, without sscanf
    else if (strncasecmp (version, "SIP/", 4) != 0
        || sscanf (version + 4, "%3u.%3u%n", &major, &minor, &used) != 2
        || version[4 + used] != 0 || !isdigit ((unsigned char) version[4])) {
        s_result (result, 400, "Bad SIP Version");
        return 400;
    }
    if (major != 2 || minor != 0) {
        s_result (result, 505, "Version Not Supported");
        return 505;
    }
    //  Request-URI: scheme ":" ...; no brackets (RFC 3261 §25.1)
    const char *uri = sp1 + 1;
    size_t uri_len = (size_t) (sp2 - uri);
    const char *colon = memchr (uri, ':', uri_len);
    bool scheme_ok = colon && colon > uri && isalpha ((unsigned char) *uri);
    for (const char *c = uri; scheme_ok && c < colon; c++)
        if (!isalnum ((unsigned char) *c) && !strchr ("+-.", *c))
            scheme_ok = false;
    if (!scheme_ok || memchr (uri, '<', uri_len) || memchr (uri, '>', uri_len)) {
        s_result (result, 400, "Bad Request-URI");
        return 400;
    }
    size_t scheme_len = (size_t) (colon - uri);
    if (!((scheme_len == 3 && strncasecmp (uri, "sip", 3) == 0)
          || (scheme_len == 4 && strncasecmp (uri, "sips", 4) == 0)
          || (scheme_len == 3 && strncasecmp (uri, "tel", 3) == 0))) {
        s_result (result, 416, "Unsupported URI Scheme");
        return 416;
    }
    return 0;
}

//  Decimal digits only, at most max_digits, value <= max. Returns the
//  value or -1.
static long long
s_number (const char *text, int max_digits, long long max)
{
    if (!text)
        return -1;
    while (*text == ' ' || *text == '\t')
        text++;
    long long value = 0;
    int digits = 0;
    for (; isdigit ((unsigned char) *text); text++, digits++) {
        if (digits >= max_digits)
            return -1;
        value = value * 10 + (*text - '0');
    }
    while (*text == ' ' || *text == '\t')
        text++;
    if (digits == 0 || *text != 0 || value > max)
        return -1;
    return value;
}

//  True when every option tag of every Require header is in supported;
//  otherwise writes the unsupported ones into list.
static bool
s_requires_ok (const osip_message_t *msg, const char *supported, char *list,
               size_t size)
{
    list[0] = 0;
    for (int i = 0; i < osip_list_size (&msg->headers); i++) {
        osip_header_t *header = osip_list_get (&msg->headers, i);
        if (!header || !header->hname || !header->hvalue
            || strcasecmp (header->hname, "require") != 0)
            continue;
        char *copy = strdup (header->hvalue);
        char *save = NULL;
        for (char *tag = strtok_r (copy, ", \t", &save); tag;
             tag = strtok_r (NULL, ", \t", &save)) {
            bool known = false;
            if (supported && *supported) {
                char *sup = strdup (supported);
                char *save2 = NULL;
                for (char *s = strtok_r (sup, ", \t", &save2); s && !known;
                     s = strtok_r (NULL, ", \t", &save2))
                    known = strcasecmp (s, tag) == 0;
                free (sup);
            }
            if (!known && strlen (list) + strlen (tag) + 3 < size) {
                if (*list)
                    strcat (list, ", ");
                strcat (list, tag);
            }
        }
        free (copy);
    }
    return list[0] == 0;
}

//  True when method is listed in allow ("A, B, C").
static bool
s_allowed (const char *allow, const char *method)
{
    if (!allow)
        return false;
    size_t len = strlen (method);
    const char *p = allow;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        if ((size_t) (end - p) == len && strncmp (p, method, len) == 0)
            return true;
        p = end;
    }
    return false;
}

//  s_contact_ambiguous over the lines of a split message.
static bool
s_split_contact_bad (const s_split_t *split)
{
    for (int i = 0; i < split->count; i++)
        if (s_contact_ambiguous (split->lines[i], strlen (split->lines[i])))
            return true;
    return false;
}

//  Checks on a parsed request (RFC 3261 §8.2). Returns 0 or sets result.
static int
s_check_request (const osip_message_t *msg, size_t body_len,
                 bool contact_bad, const sipd_check_policy_t *policy,
                 sipd_check_result_t *result)
{
    const char *method = msg->sip_method;
    if (osip_list_size (&msg->vias) < 1) {
        s_result (result, -1, "no Via");
        return -1;
    }
    const char *missing = !msg->from      ? "Missing From Header"
                          : !msg->to      ? "Missing To Header"
                          : !msg->call_id ? "Missing Call-ID Header"
                          : !msg->cseq    ? "Missing CSeq Header"
                                          : NULL;
    if (missing) {
        s_result (result, 400, missing);
        return 400;
    }
    if (!msg->cseq->method || !msg->cseq->number
        || s_number (msg->cseq->number, 10, 2147483647LL) < 0) {
        s_result (result, 400, "Bad CSeq Header");
        return 400;
    }
    if (strcmp (msg->cseq->method, method) != 0) {
        s_result (result, 400, "CSeq Method Mismatch");
        return 400;
    }
    const char *max_forwards = NULL;
    const char *expires = NULL;
    const char *date = NULL;
    for (int i = 0; i < osip_list_size (&msg->headers); i++) {
        osip_header_t *header = osip_list_get (&msg->headers, i);
        if (!header || !header->hname)
            continue;
        if (strcasecmp (header->hname, "max-forwards") == 0 && !max_forwards)
            max_forwards = header->hvalue ? header->hvalue : "";
        else if (strcasecmp (header->hname, "expires") == 0 && !expires)
            expires = header->hvalue ? header->hvalue : "";
        else if (strcasecmp (header->hname, "date") == 0 && !date)
            date = header->hvalue ? header->hvalue : "";
    }
    long long hops = max_forwards ? s_number (max_forwards, 10, 255) : 70;
    if (hops < 0) {
        s_result (result, 400, "Bad Max-Forwards Header");
        return 400;
    }
    if (expires && s_number (expires, 10, 4294967295LL) < 0) {
        s_result (result, 400, "Bad Expires Header");
        return 400;
    }
    if (date) {
        size_t len = strlen (date);
        if (len < 4 || strcmp (date + len - 3, "GMT") != 0) {
            s_result (result, 400, "Bad Date Header");
            return 400;
        }
    }
    long long length = 0;
    if (msg->content_length) {
        length = s_number (msg->content_length->value, 10, 4294967295LL);
        if (length < 0) {
            s_result (result, 400, "Bad Content-Length Header");
            return 400;
        }
    }
    //  RFC 3261 §18.3: a body shorter than Content-Length is an error
    if ((size_t) length > body_len) {
        s_result (result, 400, "Content-Length Larger Than Body");
        return 400;
    }
    //  escaped headers are not allowed in a Request-URI (RFC 4475 §3.1.2.6)
    if (msg->req_uri && osip_list_size (&msg->req_uri->url_headers) > 0) {
        s_result (result, 400, "Bad Request-URI");
        return 400;
    }
    //  a Contact URI with '?' outside <> is ambiguous (RFC 4475 §3.1.2.8)
    if (contact_bad) {
        s_result (result, 400, "Bad Contact Header");
        return 400;
    }
    bool ack_or_cancel
        = strcmp (method, "ACK") == 0 || strcmp (method, "CANCEL") == 0;
    if (!ack_or_cancel && !s_allowed (policy->allow, method)) {
        s_result (result, 405, "Method Not Allowed");
        snprintf (result->hname, sizeof result->hname, "Allow");
        snprintf (result->hvalue, sizeof result->hvalue, "%s",
                  policy->allow ? policy->allow : "");
        return 405;
    }
    if (hops == 0 && strcmp (method, "OPTIONS") != 0) {
        s_result (result, 483, "Too Many Hops");
        return 483;
    }
    char unsupported[256];
    if (!ack_or_cancel
        && !s_requires_ok (msg, policy->supported, unsupported,
                           sizeof unsupported)) {
        s_result (result, 420, "Bad Extension");
        snprintf (result->hname, sizeof result->hname, "Unsupported");
        snprintf (result->hvalue, sizeof result->hvalue, "%s", unsupported);
        return 420;
    }
    if (strcmp (method, "INVITE") == 0 && length > 0) {
        const osip_content_type_t *type = msg->content_type;
        if (!type || !type->type || !type->subtype) {
            s_result (result, 400, "Missing Content-Type Header");
            return 400;
        }
        bool sdp = strcasecmp (type->type, "application") == 0
                   && strcasecmp (type->subtype, "sdp") == 0;
        bool multipart = strcasecmp (type->type, "multipart") == 0;
        if (!sdp && !multipart) {
            s_result (result, 415, "Unsupported Media Type");
            snprintf (result->hname, sizeof result->hname, "Accept");
            snprintf (result->hvalue, sizeof result->hvalue,
                      "application/sdp");
            return 415;
        }
    }
    return 0;
}

//  Checks on a parsed response: just enough to match it to a client
//  transaction. Returns 0 or -1 (drop).
static int
s_check_response (const osip_message_t *msg, sipd_check_result_t *result)
{
    int code = osip_message_get_status_code (msg);
    if (code < 100 || code > 699 || osip_list_size (&msg->vias) < 1
        || !msg->cseq || !msg->cseq->method || !msg->call_id || !msg->from
        || !msg->to || s_number (msg->cseq->number, 10, 2147483647LL) < 0) {
        s_result (result, -1, "unusable response");
        return -1;
    }
    return 0;
}

//  Name the first header line libosip2 refuses, into result's reason.
static void
s_name_culprit (const s_split_t *split, sipd_check_result_t *result)
{
    //  single-valued headers given twice (RFC 3261 §7.3.1)
    static const char *single[][3] = {
        {"From", "from", "f"}, {"To", "to", "t"}, {"Call-ID", "call-id", "i"},
        {"CSeq", "cseq", NULL}, {"Content-Length", "content-length", "l"},
        {"Max-Forwards", "max-forwards", NULL},
        {"Content-Type", "content-type", "c"}};
    for (size_t k = 0; k < sizeof single / sizeof single[0]; k++) {
        int seen = 0;
        long long length = -1;
        for (int i = 0; i < split->count; i++) {
            const char *line = split->lines[i];
            const char *colon = strchr (line, ':');
            if (!colon)
                continue;
            size_t len = (size_t) (colon - line);
            while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
            if ((len == strlen (single[k][1])
                 && strncasecmp (line, single[k][1], len) == 0)
                || (single[k][2] && len == 1
                    && tolower ((unsigned char) *line) == single[k][2][0])) {
                seen++;
                if (k == 4)
                    length = s_number (colon + 1, 10, 4294967295LL);
            }
        }
        if (seen > 1) {
            char reason[96];
            snprintf (reason, sizeof reason, "Multiple %s Headers",
                      single[k][0]);
            s_result (result, 400, reason);
            return;
        }
        if (k == 4 && seen == 1 && length >= 0
            && (size_t) length > split->body_len) {
            s_result (result, 400, "Content-Length Larger Than Body");
            return;
        }
    }
    for (int i = 0; i < split->count; i++) {
        const char *line = split->lines[i];
        if (s_line_parses (line))
            continue;
        const char *colon = strchr (line, ':');
        size_t len = colon ? (size_t) (colon - line) : 0;
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (len == 0 || len > 40 || !sipd_check_is_token (line, len)) {
            s_result (result, 400, "Malformed Header Line");
            return;
        }
        char reason[96];
        snprintf (reason, sizeof reason, "Bad %.*s Header", (int) len, line);
        s_result (result, 400, reason);
        return;
    }
    s_result (result, 400, "Malformed Message");
}

int
sipd_check_message (const char *data, size_t size,
                    const sipd_check_policy_t *policy,
                    osip_message_t **msg_p, sipd_check_result_t *result)
{
    assert (policy);
    assert (msg_p);
    assert (result);
    *msg_p = NULL;
    s_result (result, 0, "");
    if (!data || size == 0) {
        s_result (result, -1, "empty");
        return -1;
    }
    //  Most messages are plain: read them in place. The rest (folded or
    //  very long lines) and the error paths get the full split.
    s_scan_t scan;
    s_split_t split;
    bool have_split = !s_scan (data, size, &scan);
    if (have_split)
        s_split (data, size, &split);
    bool is_response = false;
    char method[64];
    sipd_check_result_t line_result;
    s_result (&line_result, 0, "");
    const char *start = have_split ? split.start
                        : scan.has_start ? scan.start : NULL;
    int line_code = s_start_line (start, &is_response, method,
                                  sizeof method, &line_result);
    //  osip_message_parse copies exactly size bytes: no NUL needed here
    osip_message_t *msg = s_parse (data, size);

    if (is_response) {
        if (!msg || s_check_response (msg, result) != 0) {
            osip_message_free (msg);
            s_result (result, -1, "unusable response");
        }
        else
            *msg_p = msg;
        if (have_split)
            s_split_free (&split);
        return result->code;
    }
    bool needs_salvage = false;
    if (size > policy->max_message) {
        s_result (result, 513, "Message Too Large");
        needs_salvage = !msg;
    }
    else if (line_code != 0) {
        *result = line_result;
        needs_salvage = !msg;
    }
    else if (!msg) {
        //  libosip2 refuses some legal syntax (RFC 4475 §3.1.1.4): an
        //  unknown method is 405 whatever else the parser disliked
        if (strcmp (method, "ACK") != 0 && strcmp (method, "CANCEL") != 0
            && !s_allowed (policy->allow, method)) {
            s_result (result, 405, "Method Not Allowed");
            snprintf (result->hname, sizeof result->hname, "Allow");
            snprintf (result->hvalue, sizeof result->hvalue, "%s",
                      policy->allow ? policy->allow : "");
        }
        else {
            if (!have_split)
                s_split (data, size, &split);
            have_split = true;
            s_name_culprit (&split, result);
        }
        needs_salvage = true;
    }
    else if (s_check_request (msg, have_split ? split.body_len : scan.body_len,
                              have_split ? s_split_contact_bad (&split)
                                         : scan.contact_bad,
                              policy, result) == 400
             && strncmp (result->reason, "Missing", 7) == 0)
        needs_salvage = true;
    //  ACK gets no response (RFC 3261 §17.2.1): any fault means drop
    if (result->code != 0 && strcmp (method, "ACK") == 0) {
        osip_message_free (msg);
        msg = NULL;
        s_result (result, -1, "invalid ACK");
    }
    else if (result->code > 0 && (needs_salvage || !msg)) {
        osip_message_free (msg);
        if (!have_split)
            s_split (data, size, &split);
        have_split = true;
        msg = s_salvage (&split, method);   //  NULL: drop
        if (!msg)
            s_result (result, -1, "no usable Via");
    }
    if (have_split)
        s_split_free (&split);
    if (result->code < 0) {
        osip_message_free (msg);
        msg = NULL;
    }
    *msg_p = msg;
    return result->code;
}
