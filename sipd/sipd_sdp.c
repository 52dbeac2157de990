//  sipd_sdp — SDP rewriting for one B2BUA leg (see sipd_sdp.h).
//
//  Parsing is libosip2's sdp_message_parse; the output is written here
//  from the parsed structure, because the description we send is a
//  filtered subset (a handful of lines) and building it as text is far
//  clearer than editing libosip2's lists in place. Every value copied from
//  the input is checked to be a single token (no spaces, no CR/LF) before
//  it is written, so a hostile body cannot smuggle lines into the output.

#include "sipd_sdp.h"
#include "sipd_random.h"

#include <czmq.h>
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>

struct _sipd_sdp_t {
    char local_ip[64];              //  address written in o=
    unsigned long long sess_id;     //  o= session id, fixed for the leg
    unsigned long long version;     //  o= version of the last output
    char *last;                     //  owned: last output without o=
};

//  Output buffer with bounded appends.
typedef struct {
    char data[SIPD_SDP_MAX];        //  text so far
    size_t len;                     //  bytes used
    bool overflow;                  //  an append did not fit
} s_buf_t;

//  Append the strings (up to a NULL) to buf, keeping it NUL-terminated.
//  Plain copies: the output is a handful of short lines, and printf-style
//  formatting cost more than the rest of the rewrite.
static void
    s_cat (s_buf_t *buf, ...) __attribute__ ((sentinel));

static void
s_cat (s_buf_t *buf, ...)
{
    va_list args;
    va_start (args, buf);
    const char *piece;
    while (!buf->overflow && (piece = va_arg (args, const char *))) {
        size_t n = strlen (piece);
        if (n >= sizeof buf->data - buf->len)
            buf->overflow = true;
        else {
            memcpy (buf->data + buf->len, piece, n + 1);
            buf->len += n;
        }
    }
    va_end (args);
}

sipd_sdp_t *
sipd_sdp_new (const char *local_ip)
{
    sipd_sdp_t *self = (sipd_sdp_t *) zmalloc (sizeof *self);
    snprintf (self->local_ip, sizeof self->local_ip, "%s",
              local_ip && *local_ip ? local_ip : "127.0.0.1");
    //  A random session id (RFC 4566 §5.2 suggests an NTP timestamp; any
    //  unique number will do): 56 random bits.
    unsigned char bytes[7];
    sipd_random_bytes (bytes, sizeof bytes);
    for (size_t i = 0; i < sizeof bytes; i++)
        self->sess_id = (self->sess_id << 8) | bytes[i];
    if (self->sess_id == 0)
        self->sess_id = 1;
    return self;
}

void
sipd_sdp_destroy (sipd_sdp_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sipd_sdp_t *self = *self_p;
        free (self->last);
        free (self);
        *self_p = NULL;
    }
}

//  A token we may copy into the output: non-empty, printable, no spaces.
static bool
s_token (const char *s)
{
    if (!s || !*s || strlen (s) > 255)
        return false;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p <= ' ' || *p >= 127)
            return false;
    return true;
}

//  A decimal number within [min, max].
static bool
s_number (const char *s, long min, long max, long *value_p)
{
    if (!s || !*s || strlen (s) > 9)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit ((unsigned char) *p))
            return false;
    long v = atol (s);
    if (v < min || v > max)
        return false;
    if (value_p)
        *value_p = v;
    return true;
}

//  The rtpmap value of payload type pt in a media, or NULL.
static const char *
s_rtpmap (sdp_media_t *med, const char *pt)
{
    size_t ptlen = strlen (pt);
    for (int i = 0; i < osip_list_size (&med->a_attributes); i++) {
        sdp_attribute_t *a = osip_list_get (&med->a_attributes, i);
        if (a->a_att_field && strcasecmp (a->a_att_field, "rtpmap") == 0
            && a->a_att_value && strncmp (a->a_att_value, pt, ptlen) == 0
            && a->a_att_value[ptlen] == ' ')
            return a->a_att_value + ptlen + 1;
    }
    return NULL;
}

//  The fmtp parameters of payload type pt, or NULL.
static const char *
s_fmtp (sdp_media_t *med, const char *pt)
{
    size_t ptlen = strlen (pt);
    for (int i = 0; i < osip_list_size (&med->a_attributes); i++) {
        sdp_attribute_t *a = osip_list_get (&med->a_attributes, i);
        if (a->a_att_field && strcasecmp (a->a_att_field, "fmtp") == 0
            && a->a_att_value && strncmp (a->a_att_value, pt, ptlen) == 0
            && a->a_att_value[ptlen] == ' ')
            return a->a_att_value + ptlen + 1;
    }
    return NULL;
}

//  Which supported codec payload type pt is: "PCMU", "PCMA",
//  "telephone-event", or NULL for anything else.
static const char *
s_codec (sdp_media_t *med, const char *pt)
{
    long n;
    if (!s_number (pt, 0, 127, &n))
        return NULL;
    const char *map = s_rtpmap (med, pt);
    if (!map) {
        //  Static payload types need no rtpmap (RFC 3551 table 4).
        if (n == 0)
            return "PCMU";
        if (n == 8)
            return "PCMA";
        return NULL;
    }
    if (strcasecmp (map, "PCMU/8000") == 0
        || strcasecmp (map, "PCMU/8000/1") == 0)
        return "PCMU";
    if (strcasecmp (map, "PCMA/8000") == 0
        || strcasecmp (map, "PCMA/8000/1") == 0)
        return "PCMA";
    if (n >= 96 && strcasecmp (map, "telephone-event/8000") == 0)
        return "telephone-event";
    return NULL;
}

//  Write one connection line if it is well-formed; -1 if it is not.
static int
s_put_connection (s_buf_t *buf, sdp_connection_t *c)
{
    if (!c)
        return 0;
    if (!c->c_nettype || strcmp (c->c_nettype, "IN") != 0
        || !c->c_addrtype
        || (strcmp (c->c_addrtype, "IP4") && strcmp (c->c_addrtype, "IP6"))
        || !s_token (c->c_addr))
        return -1;
    s_cat (buf, "c=IN ", c->c_addrtype, " ", c->c_addr, "\r\n", NULL);
    return 0;
}

//  The direction attribute among attrs, or NULL.
static const char *
s_direction (osip_list_t *attrs)
{
    static const char *const names[]
        = {"sendrecv", "sendonly", "recvonly", "inactive"};
    for (int i = 0; i < osip_list_size (attrs); i++) {
        sdp_attribute_t *a = osip_list_get (attrs, i);
        for (size_t k = 0; a->a_att_field && k < 4; k++)
            if (strcasecmp (a->a_att_field, names[k]) == 0)
                return names[k];
    }
    return NULL;
}

//  Write a rejected stream: same media and proto, port 0, one format.
static void
s_put_rejected (s_buf_t *buf, sdp_media_t *med)
{
    const char *fmt = osip_list_get (&med->m_payloads, 0);
    s_cat (buf, "m=", med->m_media, " 0 ", med->m_proto, " ",
           s_token (fmt) ? fmt : "0", "\r\n", NULL);
}

//  Write one media section. Returns 1 when it is an active audio stream,
//  0 when it was written rejected (port 0), -1 on malformed input.
static int
s_put_media (s_buf_t *buf, sdp_media_t *med, char *error, size_t size)
{
    long port;
    if (!s_token (med->m_media) || !s_token (med->m_proto)
        || !s_number (med->m_port, 0, 65535, &port)) {
        snprintf (error, size, "malformed m= line");
        return -1;
    }
    bool rtp = strcmp (med->m_proto, "RTP/AVP") == 0
               || strcmp (med->m_proto, "RTP/AVPF") == 0;
    if (strcmp (med->m_media, "audio") != 0 || !rtp || port == 0) {
        s_put_rejected (buf, med);
        return 0;
    }
    //  Supported payload types, in the peer's order, each once (a
    //  repeated payload type in m= would otherwise be repeated here).
    const char *kept[16];
    size_t nkept = 0;
    bool has_voice = false;
    for (int i = 0; i < osip_list_size (&med->m_payloads)
                    && nkept < sizeof kept / sizeof kept[0];
         i++) {
        const char *pt = osip_list_get (&med->m_payloads, i);
        const char *codec = s_codec (med, pt);
        bool seen = false;
        for (size_t k = 0; codec && k < nkept; k++)
            seen = seen || strcmp (kept[k], pt) == 0;
        if (!codec || seen)
            continue;
        if (strcmp (codec, "telephone-event") != 0)
            has_voice = true;
        kept[nkept++] = pt;
    }
    if (!has_voice) {
        s_put_rejected (buf, med);
        return 0;
    }
    char port_text[16];
    snprintf (port_text, sizeof port_text, "%ld", port);
    s_cat (buf, "m=audio ", port_text, " ", med->m_proto, NULL);
    for (size_t k = 0; k < nkept; k++)
        s_cat (buf, " ", kept[k], NULL);
    s_cat (buf, "\r\n", NULL);
    for (int i = 0; i < osip_list_size (&med->c_connections); i++)
        if (s_put_connection (buf, osip_list_get (&med->c_connections, i))) {
            snprintf (error, size, "malformed c= line");
            return -1;
        }
    for (size_t k = 0; k < nkept; k++) {
        const char *codec = s_codec (med, kept[k]);
        s_cat (buf, "a=rtpmap:", kept[k], " ", codec, "/8000\r\n", NULL);
        const char *fmtp = s_fmtp (med, kept[k]);
        if (fmtp && strcmp (codec, "telephone-event") == 0 && s_token (fmtp))
            s_cat (buf, "a=fmtp:", kept[k], " ", fmtp, "\r\n", NULL);
    }
    s_cat (buf, "a=ptime:20\r\n", NULL);
    for (int i = 0; i < osip_list_size (&med->a_attributes); i++) {
        sdp_attribute_t *a = osip_list_get (&med->a_attributes, i);
        if (!a->a_att_field)
            continue;
        if (strcasecmp (a->a_att_field, "rtcp-mux") == 0)
            s_cat (buf, "a=rtcp-mux\r\n", NULL);
        else if (strcasecmp (a->a_att_field, "rtcp") == 0 && a->a_att_value
                 && strlen (a->a_att_value) < 100
                 && !strpbrk (a->a_att_value, "\r\n"))
            s_cat (buf, "a=rtcp:", a->a_att_value, "\r\n", NULL);
    }
    const char *dir = s_direction (&med->a_attributes);
    if (dir)
        s_cat (buf, "a=", dir, "\r\n", NULL);
    return 1;
}

//  Parse body into a libosip2 SDP message; NULL with a reason on error.
static sdp_message_t *
s_parse (const char *body, size_t len, char *error, size_t size)
{
    if (!body || len == 0) {
        snprintf (error, size, "empty SDP");
        return NULL;
    }
    if (len >= SIPD_SDP_MAX) {
        snprintf (error, size, "SDP too large (%zu bytes)", len);
        return NULL;
    }
    if (memchr (body, 0, len)) {
        snprintf (error, size, "NUL byte in SDP");
        return NULL;
    }
    //  Two NULs, not one: libosip2 5.3's m= parser, when the proto is the
    //  last token of an LF-terminated last line ("m=audio 0 RTP/AVP\n"),
    //  resumes with strchr one byte past the terminating NUL.
    char *text = zmalloc (len + 2);
    memcpy (text, body, len);
    sdp_message_t *sdp = NULL;
    if (sdp_message_init (&sdp) != 0) {
        free (text);
        snprintf (error, size, "out of memory");
        return NULL;
    }
    int rc = sdp_message_parse (sdp, text);
    free (text);
    if (rc != 0 || !sdp->v_version || strcmp (sdp->v_version, "0") != 0) {
        sdp_message_free (sdp);
        snprintf (error, size, "malformed SDP");
        return NULL;
    }
    return sdp;
}

//  Build the description after o=, into buf. Returns 0 or -1 (error set).
static int
s_build_body (s_buf_t *buf, sdp_message_t *sdp, char *error, size_t size)
{
    s_cat (buf, "s=sipserver\r\n", NULL);
    if (s_put_connection (buf, sdp->c_connection)) {
        snprintf (error, size, "malformed c= line");
        return -1;
    }
    s_cat (buf, "t=0 0\r\n", NULL);
    const char *dir = s_direction (&sdp->a_attributes);
    if (dir)
        s_cat (buf, "a=", dir, "\r\n", NULL);
    int active = 0;
    int count = osip_list_size (&sdp->m_medias);
    if (count == 0) {
        snprintf (error, size, "SDP without media");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        sdp_media_t *med = osip_list_get (&sdp->m_medias, i);
        int rc = s_put_media (buf, med, error, size);
        if (rc < 0)
            return -1;
        //  An active stream needs a connection address somewhere.
        if (rc == 1 && !sdp->c_connection
            && osip_list_size (&med->c_connections) == 0) {
            snprintf (error, size, "audio stream without c= line");
            return -1;
        }
        active += rc;
    }
    if (active == 0) {
        snprintf (error, size, "no supported audio codec (PCMU, PCMA)");
        return -1;
    }
    if (buf->overflow) {
        snprintf (error, size, "SDP too large");
        return -1;
    }
    return 0;
}

char *
sipd_sdp_rewrite (sipd_sdp_t *self, const char *body, size_t len,
                  char *error, size_t error_size)
{
    assert (self);
    assert (error);
    error[0] = 0;
    sdp_message_t *sdp = s_parse (body, len, error, error_size);
    if (!sdp)
        return NULL;
    //  Not zeroed: s_cat keeps the text NUL-terminated.
    s_buf_t *buf = (s_buf_t *) malloc (sizeof *buf);
    if (!buf) {
        sdp_message_free (sdp);
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    buf->data[0] = 0;
    buf->len = 0;
    buf->overflow = false;
    char *result = NULL;
    if (s_build_body (buf, sdp, error, error_size) == 0) {
        //  New version only when the description changed (RFC 3264 §8).
        if (!self->last || strcmp (self->last, buf->data) != 0) {
            self->version++;
            free (self->last);
            self->last = strdup (buf->data);
        }
        size_t size = buf->len + 256;
        result = (char *) zmalloc (size);
        snprintf (result, size, "v=0\r\no=sipd %llu %llu IN %s %s\r\n%s",
                  self->sess_id, self->version,
                  strchr (self->local_ip, ':') ? "IP6" : "IP4",
                  self->local_ip, buf->data);
    }
    free (buf);
    sdp_message_free (sdp);
    return result;
}

unsigned long long
sipd_sdp_version (sipd_sdp_t *self)
{
    assert (self);
    return self->version;
}

bool
sipd_sdp_is_hold (const char *body, size_t len)
{
    char error[128];
    sdp_message_t *sdp = s_parse (body, len, error, sizeof error);
    if (!sdp)
        return false;
    bool hold = false;
    const char *session_dir = s_direction (&sdp->a_attributes);
    for (int i = 0; i < osip_list_size (&sdp->m_medias); i++) {
        sdp_media_t *med = osip_list_get (&sdp->m_medias, i);
        if (!med->m_media || strcmp (med->m_media, "audio") != 0
            || !med->m_port || strcmp (med->m_port, "0") == 0)
            continue;
        const char *dir = s_direction (&med->a_attributes);
        if (!dir)
            dir = session_dir;
        sdp_connection_t *c = osip_list_get (&med->c_connections, 0);
        if (!c)
            c = sdp->c_connection;
        hold = (dir && (strcmp (dir, "sendonly") == 0
                        || strcmp (dir, "inactive") == 0))
               || (c && c->c_addr && strcmp (c->c_addr, "0.0.0.0") == 0);
        break;
    }
    sdp_message_free (sdp);
    return hold;
}
