//  digest_client — a minimal SIP digest client for the registrar unit
//  tests (test_sipd_auth, test_sipd_registrar): builds REGISTER requests
//  and answers challenges. Test-only; header-only so no test binary links
//  another test's code. Independent of sipd_auth's internals.

#ifndef DIGEST_CLIENT_H_INCLUDED
#define DIGEST_CLIENT_H_INCLUDED

#include <sys/time.h>
#include <osip2/osip.h>
#include <openssl/evp.h>
#include <czmq.h>
#include <string.h>
#include <strings.h>

//  Parse text into a message; NULL on a parse error.
static inline osip_message_t *
dc_parse (const char *text)
{
    osip_message_t *msg = NULL;
    if (osip_message_init (&msg) != 0)
        return NULL;
    if (osip_message_parse (msg, text, strlen (text)) != 0) {
        osip_message_free (msg);
        return NULL;
    }
    return msg;
}

//  Serialize and parse again, as the message would travel on the wire.
static inline osip_message_t *
dc_wire (osip_message_t *msg)
{
    char *text = NULL;
    size_t len = 0;
    osip_message_force_update (msg);
    if (osip_message_to_str (msg, &text, &len) != 0)
        return NULL;
    osip_message_t *copy = dc_parse (text);
    osip_free (text);
    return copy;
}

static inline void
dc_hash (const char *algo, const char *text, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const EVP_MD *type
        = strcasecmp (algo, "SHA-256") == 0 ? EVP_sha256 () : EVP_md5 ();
    EVP_Digest (text, strlen (text), md, &len, type, NULL);
    for (unsigned i = 0; i < len; i++)
        sprintf (out + 2 * i, "%02x", md[i]);
}

//  Copy the value of a digest parameter (unquoted) from a challenge.
static inline int
dc_param (const char *header, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf (key, sizeof key, "%s=", name);
    const char *at = header;
    while ((at = strstr (at, key))) {
        if (at == header || at[-1] == ' ' || at[-1] == ',')
            break;
        at++;
    }
    if (!at)
        return -1;
    at += strlen (key);
    bool quoted = *at == '"';
    if (quoted)
        at++;
    size_t len = strcspn (at, quoted ? "\"" : ", ");
    if (len >= size)
        return -1;
    memcpy (out, at, len);
    out[len] = '\0';
    return 0;
}

//  The text of the response's challenge header (WWW- or Proxy-
//  Authenticate) offering algo, or NULL. Borrowed.
static inline const char *
dc_challenge (osip_message_t *response, const char *name, const char *algo)
{
    for (int i = 0; i < osip_list_size (&response->headers); i++) {
        osip_header_t *h = (osip_header_t *) osip_list_get (&response->headers,
                                                           i);
        char value[64];
        if (strcasecmp (h->hname, name) == 0
            && dc_param (h->hvalue, "algorithm", value, sizeof value) == 0
            && strcasecmp (value, algo) == 0)
            return h->hvalue;
    }
    //  osip parses WWW-Authenticate into its own list
    osip_list_t *list = strcasecmp (name, "WWW-Authenticate") == 0
                            ? &response->www_authenticates
                            : &response->proxy_authenticates;
    for (int i = 0; i < osip_list_size (list); i++) {
        osip_www_authenticate_t *w
            = (osip_www_authenticate_t *) osip_list_get (list, i);
        if (w->algorithm && strcasecmp (w->algorithm, algo) == 0) {
            static __thread char text[1024];
            snprintf (text, sizeof text,
                      "Digest realm=%s, nonce=%s, algorithm=%s, qop=%s%s%s",
                      w->realm, w->nonce, w->algorithm,
                      w->qop_options ? w->qop_options : "\"\"",
                      w->stale ? ", stale=" : "", w->stale ? w->stale : "");
            return text;
        }
    }
    return NULL;
}

//  Build an Authorization value answering a challenge with password.
//  Caller frees with free().
static inline char *
dc_authorization (const char *challenge, const char *user,
                  const char *password, const char *method, const char *uri,
                  unsigned nc, const char *cnonce)
{
    char realm[128], nonce[256], algo[32] = "MD5";
    if (dc_param (challenge, "realm", realm, sizeof realm)
        || dc_param (challenge, "nonce", nonce, sizeof nonce))
        return NULL;
    dc_param (challenge, "algorithm", algo, sizeof algo);
    char ha1[65], ha2[65], response[65], text[1024];
    snprintf (text, sizeof text, "%s:%s:%s", user, realm, password);
    dc_hash (algo, text, ha1);
    snprintf (text, sizeof text, "%s:%s", method, uri);
    dc_hash (algo, text, ha2);
    snprintf (text, sizeof text, "%s:%s:%08x:%s:auth:%s", ha1, nonce, nc,
              cnonce, ha2);
    dc_hash (algo, text, response);
    return zsys_sprintf (
        "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
        "response=\"%s\", algorithm=%s, cnonce=\"%s\", qop=auth, nc=%08x",
        user, realm, nonce, uri, response, algo, cnonce, nc);
}

//  A REGISTER for user from 127.0.0.1, with extra header lines (each
//  ending in \r\n, may be ""). Caller frees with osip_message_free.
static inline osip_message_t *
dc_register (const char *user, const char *call_id, unsigned cseq,
             const char *extra)
{
    char *text = zsys_sprintf (
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK%u%s\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:%s@127.0.0.1>;tag=ft%u\r\n"
        "To: <sip:%s@127.0.0.1>\r\n"
        "Call-ID: %s\r\n"
        "CSeq: %u REGISTER\r\n"
        "%s"
        "Content-Length: 0\r\n\r\n",
        cseq, call_id, user, cseq, user, call_id, cseq, extra);
    osip_message_t *msg = dc_parse (text);
    zstr_free (&text);
    return msg;
}

#endif
