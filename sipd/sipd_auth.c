//  sipd_auth — HTTP digest authentication for SIP (RFC 7616, RFC 8760).
//
//  A nonce is self-validating: hex(time) hex(random) hex(SipHash-2-4-128
//  of both under the process secret; a keyed PRF made for short inputs,
//  ~800 instructions where HMAC-SHA-256 took ~6,000). We therefore keep no
//  state per challenge; the only state is the table of nonces that have
//  been used successfully, with the highest nonce count seen, so that a
//  replayed or non-increasing nc is refused (RFC 7616 §3.4 "nc").
//
//  Verification order matters for security. The response digest is
//  checked first, against the claimed user's password. Only a correct
//  digest can lead to "stale" (an expired nonce, a nonce of an earlier
//  process, or a replay): the client proved it knows the password, so a
//  fresh challenge lets it retry without asking its user. A wrong digest is
//  always a failure, whatever the nonce, and is counted by the caller's
//  throttle. Digests are compared with CRYPTO_memcmp.

#include "sipd_auth.h"
#include "cm_log.h"
#include "sipd_random.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SECRET_SIZE 16          //  bytes of the per-process MAC key
#define NONCE_TIME_HEX 10       //  hex digits of the creation time
#define NONCE_RAND_HEX 16       //  hex digits of randomness
#define NONCE_MAC_HEX 32        //  hex digits of the MAC (128 bits)
#define NONCE_LEN (NONCE_TIME_HEX + NONCE_RAND_HEX + NONCE_MAC_HEX)
#define MAX_TRACKED 262144      //  bound of the used-nonce table (power of 2)
#define MIN_SLOTS 1024          //  smallest used-nonce table
#define HEX_MAX 65              //  SHA-256 hex plus NUL
#define RING 1024               //  expiry buckets, one a second (a bucket
                                //  serves every RING-th second)
#define RAND_POOL 256           //  random bytes drawn at once

typedef enum { S_MD5 = 0, S_SHA256 = 1 } s_algo_t;

//  One extension's precomputed HA1 values, binary (10,000 extensions
//  should cost well under a megabyte).
typedef struct {
    const char *number;         //  extension number (in the auth's pool)
    unsigned char md5[16];      //  MD5(user:realm:password)
    unsigned char sha256[32];   //  SHA-256(...), valid when has_sha256
    bool has_sha256;            //  false for an md5:HA1 password
} s_user_t;

//  One successfully used nonce: a slot of an open-addressing table keyed
//  by 64 bits of the nonce's MAC (random to an attacker, and only nonces
//  whose MAC verified get here). 16 bytes a nonce instead of ~150 with a
//  string-keyed hash, which matters at 10,000 registrations per lifetime.
typedef struct {
    uint64_t key;               //  0: empty slot
    uint32_t last_nc;           //  highest nc accepted (0: used without qop)
    uint32_t expires;           //  when the entry can be forgotten, seconds
                                //  after the table's epoch
} s_used_t;

//  Keys of used[] that expire in one second (or in a later one that is
//  the same modulo RING).
typedef struct {
    uint64_t *keys;                 //  owned
    uint32_t count;
    uint32_t cap;
} s_bucket_t;

struct _sipd_auth_t {
    char *realm;                    //  digest realm (owned)
    s_algo_t offer[2];              //  algorithms offered, preferred first
    int offers;                     //  how many of offer[] are used
    zlist_t *md5_agents;            //  User-Agent prefixes offered MD5 only
    int lifetime;                   //  nonce lifetime, seconds
    unsigned char secret[SECRET_SIZE];  //  MAC key, random per process
    s_user_t *users;                //  sorted by number (owned): one
                                    //  block, no hash item per extension
    size_t user_count;              //  entries in users
    char *numbers;                  //  the numbers, NUL-separated (owned)
    s_used_t *used;                 //  used-nonce slots (owned)
    size_t slots;                   //  size of used[], a power of 2
    size_t tracked;                 //  slots in use
    int64_t epoch;                  //  time origin of s_used_t.expires
    int64_t floor;                  //  nonces created before are stale
                                    //  (their entries were forgotten)
    size_t max_slots;               //  bound of used[] (MAX_TRACKED)
    s_bucket_t ring[RING];          //  keys of used[] by expiry second
                                    //  (second % RING)
    int64_t expired_to;             //  seconds up to this were expired
    EVP_MD *md[2];                  //  MD5 and SHA-256, fetched once
    EVP_MD_CTX *ctx;                //  digest context, reused
    EVP_MAC *mac;                   //  SipHash, fetched once
    EVP_MAC_CTX *mac_ctx;           //  keyed with secret, reused
    unsigned char pool[RAND_POOL];  //  random bytes for nonces
    size_t pool_left;               //  unused bytes at the end of pool
    sipd_clock_fn *clock;           //  time source
    void *clock_arg;                //  its argument (borrowed)
};

static int64_t
s_now (sipd_auth_t *self)
{
    return self->clock (self->clock_arg);
}

//  Hash the pieces (NULL-terminated list) joined by ':' with the
//  algorithm into lowercase hex (out: HEX_MAX bytes), without building
//  the joined string.
static void
s_hash (sipd_auth_t *self, s_algo_t algo, const char *const *pieces,
        char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = EVP_DigestInit_ex (self->ctx, self->md[algo], NULL);
    for (int i = 0; ok && pieces[i]; i++)
        ok = (i == 0 || EVP_DigestUpdate (self->ctx, ":", 1))
             && EVP_DigestUpdate (self->ctx, pieces[i], strlen (pieces[i]));
    if (!ok || EVP_DigestFinal_ex (self->ctx, md, &len) != 1)
        len = 0;    //  cannot happen with built-in digests; yields ""
    sipd_random_hex_of (md, len, out);
}

static bool
s_is_hex (const char *text, size_t len)
{
    if (strlen (text) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit ((unsigned char) text[i]))
            return false;
    return true;
}

//  Binary digest of text with the algorithm into out (16 or 32 bytes).
static void
s_digest (sipd_auth_t *self, s_algo_t algo, const char *text,
          unsigned char *out)
{
    unsigned int len = 0;
    if (EVP_Digest (text, strlen (text), out, &len, self->md[algo], NULL)
        != 1)
        memset (out, 0, algo == S_MD5 ? 16 : 32);   //  cannot happen
}

//  Compute the HA1 values of one extension. Returns -1 on a bad md5: entry.
static int
s_user_init (sipd_auth_t *self, s_user_t *user, const char *number,
             const char *realm, const char *password)
{
    memset (user, 0, sizeof *user);
    if (strncasecmp (password, "md5:", 4) == 0) {
        if (!s_is_hex (password + 4, 32))
            return -1;
        for (int i = 0; i < 16; i++) {
            char byte[3] = {password[4 + 2 * i], password[5 + 2 * i], 0};
            user->md5[i] = (unsigned char) strtoul (byte, NULL, 16);
        }
        return 0;
    }
    char *a1 = zsys_sprintf ("%s:%s:%s", number, realm, password);
    s_digest (self, S_MD5, a1, user->md5);
    s_digest (self, S_SHA256, a1, user->sha256);
    user->has_sha256 = true;
    //  a1 holds the password: wipe before freeing
    OPENSSL_cleanse (a1, strlen (a1));
    zstr_free (&a1);
    return 0;
}

//  Parse [sipd] digest_algorithms ("MD5,SHA-256" in any order, at least
//  one, no repeats). Returns -1 on a bad list.
static int
s_parse_algorithms (sipd_auth_t *self, const char *text)
{
    char *copy = strdup (text);
    char *save = NULL;
    int rc = 0;
    self->offers = 0;
    for (char *item = strtok_r (copy, ", ", &save); item && rc == 0;
         item = strtok_r (NULL, ", ", &save)) {
        s_algo_t algo = S_MD5;
        if (strcasecmp (item, "SHA-256") == 0)
            algo = S_SHA256;
        else if (strcasecmp (item, "MD5") != 0)
            rc = -1;
        for (int i = 0; rc == 0 && i < self->offers; i++)
            if (self->offer[i] == algo)
                rc = -1;
        if (rc == 0)
            self->offer[self->offers++] = algo;
    }
    free (copy);
    return rc == 0 && self->offers > 0 ? 0 : -1;
}

//  Is algo one we offer?
static bool
s_offered (sipd_auth_t *self, s_algo_t algo)
{
    for (int i = 0; i < self->offers; i++)
        if (self->offer[i] == algo)
            return true;
    return false;
}

static int
s_user_cmp (const void *a, const void *b)
{
    return strcmp (((const s_user_t *) a)->number,
                   ((const s_user_t *) b)->number);
}

static int
s_user_key_cmp (const void *key, const void *user)
{
    return strcmp ((const char *) key, ((const s_user_t *) user)->number);
}

//  The extension's HA1 values, or NULL for an unknown number.
static s_user_t *
s_user_find (sipd_auth_t *self, const char *number)
{
    return (s_user_t *) bsearch (number, self->users, self->user_count,
                                 sizeof (s_user_t), s_user_key_cmp);
}

//  Fetch the digests and the MAC once (EVP_md5 () fetches again on every
//  use) and key the MAC. Returns 0, -1 on failure.
static int
s_crypto_init (sipd_auth_t *self)
{
    self->md[S_MD5] = EVP_MD_fetch (NULL, "MD5", NULL);
    self->md[S_SHA256] = EVP_MD_fetch (NULL, "SHA256", NULL);
    self->ctx = EVP_MD_CTX_new ();
    self->mac = EVP_MAC_fetch (NULL, "SIPHASH", NULL);
    self->mac_ctx = self->mac ? EVP_MAC_CTX_new (self->mac) : NULL;
    if (!self->md[S_MD5] || !self->md[S_SHA256] || !self->ctx
        || !self->mac_ctx)
        return -1;
    size_t size = NONCE_MAC_HEX / 2;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_size_t (OSSL_MAC_PARAM_SIZE, &size),
        OSSL_PARAM_construct_end ()};
    return EVP_MAC_init (self->mac_ctx, self->secret, SECRET_SIZE, params)
               ? 0
               : -1;
}

sipd_auth_t *
sipd_auth_new (cm_config_t *config)
{
    assert (config);
    sipd_auth_t *self = (sipd_auth_t *) zmalloc (sizeof (sipd_auth_t));
    self->realm = strdup (cm_config_str (config, "sipd", "realm"));
    self->lifetime = (int) cm_config_int (config, "sipd", "nonce_lifetime");
    self->clock = sipd_clock_wall;
    const char *algorithms = cm_config_str (config, "sipd",
                                            "digest_algorithms");
    if (s_parse_algorithms (self, algorithms) != 0) {
        CM_LOG (CM_LOG_ERROR, "auth",
                "[sipd] digest_algorithms: '%s' is not a list of MD5 and "
                "SHA-256", algorithms);
        free (self->realm);
        free (self);
        return NULL;
    }
    self->md5_agents = zlist_new ();
    zlist_autofree (self->md5_agents);
    char *agents = strdup (
        cm_config_str (config, "sipd", "md5_only_user_agents"));
    char *save = NULL;
    for (char *item = strtok_r (agents, ",", &save); item;
         item = strtok_r (NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        size_t len = strlen (item);
        while (len && item[len - 1] == ' ')
            item[--len] = '\0';
        if (len)
            zlist_append (self->md5_agents, item);
    }
    free (agents);
    self->max_slots = MAX_TRACKED;
    self->slots = MIN_SLOTS;
    self->used = (s_used_t *) zmalloc (self->slots * sizeof (s_used_t));
    if (RAND_bytes (self->secret, SECRET_SIZE) != 1) {
        CM_LOG (CM_LOG_ERROR, "auth", "cannot draw a random nonce secret");
        sipd_auth_destroy (&self);
        return NULL;
    }
    if (s_crypto_init (self) != 0) {
        CM_LOG (CM_LOG_ERROR, "auth", "OpenSSL lacks MD5 or SHA-256");
        sipd_auth_destroy (&self);
        return NULL;
    }
    self->expired_to = s_now (self);
    zhashx_t *map = cm_config_map (config, "extensions");
    size_t pool = 1;
    for (void *item = zhashx_first (map); item; item = zhashx_next (map))
        pool += strlen ((const char *) zhashx_cursor (map)) + 1;
    self->users = (s_user_t *) zmalloc ((zhashx_size (map) + 1)
                                        * sizeof (s_user_t));
    self->numbers = (char *) zmalloc (pool);
    char *cursor = self->numbers;
    for (const char *password = (const char *) zhashx_first (map); password;
         password = (const char *) zhashx_next (map)) {
        const char *number = (const char *) zhashx_cursor (map);
        s_user_t *user = &self->users[self->user_count];
        if (s_user_init (self, user, number, self->realm, password) != 0) {
            CM_LOG (CM_LOG_ERROR, "auth",
                    "extension %s: md5: password is not 32 hex digits",
                    CM_PII (number));
            sipd_auth_destroy (&self);
            return NULL;
        }
        size_t len = strlen (number) + 1;
        user->number = memcpy (cursor, number, len);
        cursor += len;
        self->user_count++;
    }
    qsort (self->users, self->user_count, sizeof (s_user_t), s_user_cmp);
    return self;
}

void
sipd_auth_destroy (sipd_auth_t **self_p)
{
    assert (self_p);
    sipd_auth_t *self = *self_p;
    if (!self)
        return;
    OPENSSL_cleanse (self->secret, SECRET_SIZE);
    if (self->users)
        OPENSSL_cleanse (self->users, self->user_count * sizeof (s_user_t));
    free (self->users);
    free (self->numbers);
    free (self->used);
    for (int i = 0; i < RING; i++)
        free (self->ring[i].keys);
    EVP_MD_CTX_free (self->ctx);
    EVP_MAC_CTX_free (self->mac_ctx);
    EVP_MAC_free (self->mac);
    EVP_MD_free (self->md[S_MD5]);
    EVP_MD_free (self->md[S_SHA256]);
    OPENSSL_cleanse (self->pool, sizeof self->pool);
    zlist_destroy (&self->md5_agents);
    free (self->realm);
    free (self);
    *self_p = NULL;
}

//  MAC of the nonce's time and random parts, as NONCE_MAC_HEX hex digits.
static void
s_nonce_mac (sipd_auth_t *self, const char *prefix, size_t len, char *out)
{
    //  a NULL key restarts the MAC with the key set in s_crypto_init
    unsigned char md[NONCE_MAC_HEX / 2];
    size_t md_len = 0;
    bool ok = EVP_MAC_init (self->mac_ctx, NULL, 0, NULL)
              && EVP_MAC_update (self->mac_ctx, (const unsigned char *) prefix,
                                 len)
              && EVP_MAC_final (self->mac_ctx, md, &md_len, sizeof md)
              && md_len == sizeof md;
    if (!ok)
        memset (md, 0, sizeof md);  //  cannot happen; nonce then invalid
    sipd_random_hex_of (md, NONCE_MAC_HEX / 2, out);
}

static void
s_nonce_new (sipd_auth_t *self, char *out)
{
    unsigned char random[NONCE_RAND_HEX / 2];
    if (self->pool_left < sizeof random) {
        //  one draw for many nonces: RAND_bytes costs as much as a MAC
        if (RAND_bytes (self->pool, sizeof self->pool) != 1)
            memset (self->pool, 0, sizeof self->pool);  //  still unique
                                                        //  by time+MAC
        self->pool_left = sizeof self->pool;
    }
    self->pool_left -= sizeof random;
    memcpy (random, self->pool + self->pool_left, sizeof random);
    OPENSSL_cleanse (self->pool + self->pool_left, sizeof random);
    snprintf (out, NONCE_TIME_HEX + 1, "%010llx",
              (unsigned long long) s_now (self));
    sipd_random_hex_of (random, sizeof random, out + NONCE_TIME_HEX);
    s_nonce_mac (self, out, NONCE_TIME_HEX + NONCE_RAND_HEX,
                 out + NONCE_TIME_HEX + NONCE_RAND_HEX);
}

//  Check a nonce we issued: returns its creation time, or -1 when it is
//  not ours (other process, forged, garbled).
static int64_t
s_nonce_time (sipd_auth_t *self, const char *nonce)
{
    if (!s_is_hex (nonce, NONCE_LEN))
        return -1;
    char mac[NONCE_MAC_HEX + 1];
    s_nonce_mac (self, nonce, NONCE_TIME_HEX + NONCE_RAND_HEX, mac);
    if (CRYPTO_memcmp (mac, nonce + NONCE_TIME_HEX + NONCE_RAND_HEX,
                       NONCE_MAC_HEX)
        != 0)
        return -1;
    char stamp[NONCE_TIME_HEX + 1];
    memcpy (stamp, nonce, NONCE_TIME_HEX);
    stamp[NONCE_TIME_HEX] = '\0';
    return (int64_t) strtoll (stamp, NULL, 16);
}

//  Add the challenge headers; md5_only restricts the offer to MD5.
static int
s_challenge (sipd_auth_t *self, osip_message_t *response, const char *user,
             bool stale, bool md5_only)
{
    int code = osip_message_get_status_code (response);
    if (code != 401 && code != 407)
        return -1;
    const char *name = code == 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
    if (user) {
        s_user_t *entry = s_user_find (self, user);
        md5_only = md5_only || (entry && !entry->has_sha256);
    }
    //  RFC 8760 §2.4: one header per algorithm, most preferred first.
    //  An MD5 HA1 can only answer MD5, whatever the configuration says.
    static const char *names[] = {"MD5", "SHA-256"};
    s_algo_t offer[2] = {S_MD5, S_MD5};
    int offers = 0;
    for (int i = 0; i < self->offers; i++)
        if (!md5_only || self->offer[i] == S_MD5)
            offer[offers++] = self->offer[i];
    if (offers == 0)
        offers = 1;     //  offer[0] is MD5
    //  One nonce for all the challenges of the response (a client
    //  answers one of them; the nonce counts are per nonce whatever the
    //  algorithm): one MAC per challenge response instead of one per header.
    char nonce[NONCE_LEN + 1];
    s_nonce_new (self, nonce);
    for (int i = 0; i < offers; i++) {
        //  on the stack unless the realm is unusually long
        char buffer[512];
        char *heap = NULL;
#define S_CHALLENGE_FORMAT                                                  \
    "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s"
        int len = snprintf (buffer, sizeof buffer, S_CHALLENGE_FORMAT,
                            self->realm, nonce, names[offer[i]],
                            stale ? ", stale=true" : "");
        if (len < 0 || (size_t) len >= sizeof buffer)
            heap = zsys_sprintf (S_CHALLENGE_FORMAT, self->realm, nonce,
                                 names[offer[i]],
                                 stale ? ", stale=true" : "");
        int rc = osip_message_set_header (response, name,
                                          heap ? heap : buffer);
        zstr_free (&heap);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
sipd_auth_challenge (sipd_auth_t *self, osip_message_t *response,
                     const char *user, bool stale)
{
    assert (self);
    assert (response);
    return s_challenge (self, response, user, stale, false);
}

//  Does the request's User-Agent start with one of md5_only_user_agents?
static bool
s_md5_agent (sipd_auth_t *self, const osip_message_t *request)
{
    const char *agent = NULL;
    for (int i = 0; request && i < osip_list_size (&request->headers); i++) {
        osip_header_t *header
            = (osip_header_t *) osip_list_get (&request->headers, i);
        if (header && header->hname && header->hvalue
            && strcasecmp (header->hname, "User-Agent") == 0) {
            agent = header->hvalue;
            break;
        }
    }
    for (const char *prefix = (const char *) zlist_first (self->md5_agents);
         agent && prefix; prefix = (const char *) zlist_next (self->md5_agents))
        if (strncasecmp (agent, prefix, strlen (prefix)) == 0)
            return true;
    return false;
}

int
sipd_auth_challenge_request (sipd_auth_t *self, osip_message_t *response,
                             const osip_message_t *request, const char *user,
                             bool stale)
{
    assert (self);
    assert (response);
    return s_challenge (self, response, user, stale,
                        s_md5_agent (self, request));
}

//  The fields of one credentials header, dequoted; the strings live in
//  stack (or heap when they do not fit), not one allocation each.
typedef struct {
    char *username, *realm, *nonce, *uri, *response;
    char *algorithm, *cnonce, *qop, *nc;
    char *heap;                 //  the strings when stack is too small
    char stack[1024];
} s_creds_t;

static void
s_creds_free (s_creds_t *creds)
{
    free (creds->heap);
    creds->heap = NULL;
}

//  Is the quoted parameter value (osip keeps the quotes) equal to text
//  once dequoted?
static bool
s_dequoted_equal (const char *value, const char *text)
{
    if (!value)
        return false;
    char buffer[256];
    char *copy = strlen (value) < sizeof buffer
                     ? strcpy (buffer, value)
                     : strdup (value);
    osip_dequote (copy);
    bool equal = strcmp (copy, text) == 0;
    if (copy != buffer)
        free (copy);
    return equal;
}

//  Find the credentials for our realm (Authorization and
//  Proxy-Authorization share osip's type). Returns 0 when found.
static int
s_creds_find (sipd_auth_t *self, const osip_message_t *request, bool proxy,
              s_creds_t *creds)
{
    const osip_list_t *list
        = proxy ? &request->proxy_authorizations : &request->authorizations;
    for (int i = 0; i < osip_list_size (list); i++) {
        osip_authorization_t *auth
            = (osip_authorization_t *) osip_list_get (list, i);
        if (!auth || !auth->auth_type
            || strcasecmp (auth->auth_type, "Digest") != 0
            || !s_dequoted_equal (auth->realm, self->realm))
            continue;
        const char *values[] = {auth->username, auth->realm, auth->nonce,
                                auth->uri, auth->response, auth->algorithm,
                                auth->cnonce, auth->message_qop,
                                auth->nonce_count};
        char **fields[] = {&creds->username, &creds->realm, &creds->nonce,
                           &creds->uri, &creds->response, &creds->algorithm,
                           &creds->cnonce, &creds->qop, &creds->nc};
        size_t total = 0;
        for (size_t f = 0; f < sizeof values / sizeof values[0]; f++)
            total += values[f] ? strlen (values[f]) + 1 : 0;
        char *cursor = creds->stack;
        if (total > sizeof creds->stack)
            cursor = creds->heap = (char *) zmalloc (total);
        for (size_t f = 0; f < sizeof values / sizeof values[0]; f++) {
            if (!values[f])
                continue;
            size_t len = strlen (values[f]) + 1;
            *fields[f] = memcpy (cursor, values[f], len);
            osip_dequote (*fields[f]);
            cursor += len;
        }
        return 0;
    }
    return -1;
}

//  Does the digest-uri name the request's target (RFC 7616 §3.4.6)?
static bool
s_uri_matches (const osip_message_t *request, const char *text)
{
    osip_uri_t *uri = NULL;
    const osip_uri_t *req = request->req_uri;
    if (!req || osip_uri_init (&uri) != 0)
        return false;
    bool match = false;
    if (osip_uri_parse (uri, text) == 0) {
        match = uri->scheme && req->scheme
                && strcasecmp (uri->scheme, req->scheme) == 0 && uri->host
                && req->host && strcasecmp (uri->host, req->host) == 0;
        const char *u1 = uri->username ? uri->username : "";
        const char *u2 = req->username ? req->username : "";
        const char *p1 = uri->port ? uri->port : "";
        const char *p2 = req->port ? req->port : "";
        match = match && strcmp (u1, u2) == 0 && strcmp (p1, p2) == 0;
    }
    osip_uri_free (uri);
    return match;
}

//  Expected response digest (RFC 7616 §3.4.1). out: HEX_MAX bytes.
static void
s_expected (sipd_auth_t *self, s_algo_t algo, const char *ha1,
            const char *method, const s_creds_t *creds, char *out)
{
    char ha2[HEX_MAX];
    const char *a2[] = {method, creds->uri, NULL};
    s_hash (self, algo, a2, ha2);
    const char *with_qop[] = {ha1, creds->nonce, creds->nc, creds->cnonce,
                              creds->qop, ha2, NULL};
    const char *without[] = {ha1, creds->nonce, ha2, NULL};
    s_hash (self, algo, creds->qop ? with_qop : without, out);
}

//  Constant-time comparison of the client's hex digest with ours.
static bool
s_digest_equal (const char *expected, const char *given)
{
    size_t len = strlen (expected);
    if (len == 0 || strlen (given) != len)
        return false;
    char lower[HEX_MAX];
    for (size_t i = 0; i < len; i++)
        lower[i] = (char) tolower ((unsigned char) given[i]);
    return CRYPTO_memcmp (expected, lower, len) == 0;
}

//  The ring bucket of a second.
static size_t
s_ring_index (int64_t second)
{
    return (size_t) (((second % RING) + RING) % RING);
}

//  Home slot of a key in a table of mask + 1 slots.
static size_t
s_home (uint64_t key, size_t mask)
{
    return (size_t) (key ^ (key >> 29)) & mask;
}

//  The slot for key: the one holding it, or the empty one where it goes.
static s_used_t *
s_slot (s_used_t *slots, size_t count, uint64_t key)
{
    size_t i = s_home (key, count - 1);
    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & (count - 1);  //  linear probing; never full (<= 1/2)
    return &slots[i];
}

//  Empty slot i, moving later entries of the same probe run back so that
//  every entry stays reachable from its home slot (Knuth 6.4 algorithm R).
static void
s_delete_at (s_used_t *slots, size_t mask, size_t i)
{
    size_t j = i;
    slots[i].key = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (!slots[j].key)
            return;
        size_t k = s_home (slots[j].key, mask);
        //  leave entry j where it is when its home lies cyclically in
        //  (i, j]: it is still reachable
        bool reachable = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (reachable)
            continue;
        slots[i] = slots[j];
        slots[j].key = 0;
        i = j;
    }
}

//  Rebuild the table into slots entries, dropping entries expired at now
//  (now < 0: keep all).
static void
s_rehash (sipd_auth_t *self, size_t slots, int64_t now)
{
    s_used_t *fresh = (s_used_t *) zmalloc (slots * sizeof (s_used_t));
    size_t tracked = 0;
    for (size_t i = 0; i < self->slots; i++) {
        s_used_t *old = &self->used[i];
        if (!old->key || (now >= 0 && self->epoch + old->expires <= now))
            continue;
        *s_slot (fresh, slots, old->key) = *old;
        tracked++;
    }
    free (self->used);
    self->used = fresh;
    self->slots = slots;
    self->tracked = tracked;
}

//  64 bits of the nonce's MAC part, never 0.
static uint64_t
s_nonce_key (const char *nonce)
{
    char hex[17];
    memcpy (hex, nonce + NONCE_TIME_HEX + NONCE_RAND_HEX, 16);
    hex[16] = '\0';
    return (uint64_t) strtoull (hex, NULL, 16) | 1;
}

static void
    s_expire_bucket (sipd_auth_t *self, s_bucket_t *bucket, int64_t now);

//  Forget the entries of nonces created before floor; such nonces are
//  refused as stale from now on, so a forgotten one cannot be replayed.
static void
s_raise_floor (sipd_auth_t *self, int64_t floor)
{
    if (floor <= self->floor)
        return;
    self->floor = floor;
    //  created < floor  <=>  epoch + expires <= floor + lifetime
    size_t mask = self->slots - 1;
    for (size_t i = 0; i < self->slots; i++)
        while (self->used[i].key
               && self->epoch + self->used[i].expires
                      <= floor + self->lifetime) {
            s_delete_at (self->used, mask, i);
            self->tracked--;
        }
    //  and drop their keys from the expiry buckets, so these hold no more
    //  keys than the table however many nonces are forgotten this way
    for (int i = 0; i < RING; i++)
        s_expire_bucket (self, &self->ring[i], INT64_MIN);
}

//  The table is at its bound with live nonces (more successful
//  authentications within one nonce lifetime than it holds): rather than
//  refusing every new nonce until old ones expire, which stopped all
//  registrations for minutes, forget the oldest ones (older than half the
//  lifetime, then a quarter...) but never the nonce being used (created).
//  Their clients get stale=true on their next use and retry with a fresh
//  nonce, without asking their users. True when there is room now.
static bool
s_make_room (sipd_auth_t *self, int64_t created)
{
    int64_t now = s_now (self);
    for (int64_t age = self->lifetime / 2;
         self->tracked + 1 > self->slots / 2; age /= 2) {
        int64_t floor = now - age < created ? now - age : created;
        s_raise_floor (self, floor);
        if (age == 0)
            break;
    }
    return self->tracked + 1 <= self->slots / 2;
}

//  Record a use of a valid, live nonce. Returns false on a replay (nc not
//  higher than before, or a second use without qop) or a full table.
static bool
s_nonce_use (sipd_auth_t *self, const char *nonce, uint32_t nc,
             int64_t created)
{
    uint64_t key = s_nonce_key (nonce);
    s_used_t *used = s_slot (self->used, self->slots, key);
    if (used->key) {
        if (nc == 0 || nc <= used->last_nc)
            return false;
        used->last_nc = nc;
        return true;
    }
    if (self->tracked + 1 > self->slots / 2) {
        //  drop expired entries first, grow only if still half full
        sipd_auth_expire (self);
        if (self->tracked + 1 > self->slots / 2) {
            if (self->slots < self->max_slots)
                s_rehash (self, self->slots * 2, -1);
            else if (!s_make_room (self, created))
                return false;   //  client gets a stale challenge, retries
        }
        used = s_slot (self->used, self->slots, key);
    }
    if (self->tracked == 0)
        self->epoch = created;
    int64_t expires = created + self->lifetime + 1 - self->epoch;
    used->key = key;
    used->last_nc = nc;
    used->expires = expires > 0 ? (uint32_t) expires : 0;
    self->tracked++;
    //  file the key under its expiry second for sipd_auth_expire
    int64_t when = self->epoch + used->expires;
    if (when <= self->expired_to)
        when = self->expired_to + 1;
    s_bucket_t *bucket = &self->ring[s_ring_index (when)];
    if (bucket->count == bucket->cap) {
        bucket->cap = bucket->cap ? bucket->cap * 2 : 16;
        bucket->keys = (uint64_t *) realloc (bucket->keys,
                                             bucket->cap * sizeof (uint64_t));
        assert (bucket->keys);  //  allocation failure aborts (STYLE §4)
    }
    bucket->keys[bucket->count++] = key;
    return true;
}

//  Validate the syntax of the fields; returns false on a malformed header.
static bool
s_creds_valid (const osip_message_t *request, const s_creds_t *creds)
{
    if (!creds->username || !*creds->username || !creds->nonce
        || !creds->uri || !creds->response)
        return false;
    if (creds->qop && (!creds->cnonce || !creds->nc
                       || !s_is_hex (creds->nc, 8)))
        return false;
    return s_uri_matches (request, creds->uri);
}

sipd_auth_result_t
sipd_auth_verify (sipd_auth_t *self, const osip_message_t *request,
                  bool proxy, char *user, size_t size)
{
    assert (self);
    assert (request);
    if (user && size)
        user[0] = '\0';
    s_creds_t creds = {0};
    if (!request->sip_method || s_creds_find (self, request, proxy, &creds))
        return SIPD_AUTH_MISSING;

    sipd_auth_result_t result = SIPD_AUTH_FAILED;
    if (!s_creds_valid (request, &creds)) {
        result = SIPD_AUTH_MALFORMED;
        goto out;
    }
    if (user && size)
        snprintf (user, size, "%s", creds.username);
    s_user_t *entry = s_user_find (self, creds.username);
    s_algo_t algo = S_MD5;
    if (creds.algorithm && strcasecmp (creds.algorithm, "SHA-256") == 0)
        algo = S_SHA256;
    else if (creds.algorithm && strcasecmp (creds.algorithm, "MD5") != 0)
        goto out;   //  an algorithm we never offered (-sess, SHA-512-256)
    if (creds.qop && strcasecmp (creds.qop, "auth") != 0)
        goto out;   //  auth-int was never offered
    if (!entry)
        goto out;
    //  MD5 is also accepted where it is the only thing we could offer:
    //  an MD5 HA1, or a User-Agent of md5_only_user_agents.
    bool md5_only = !entry->has_sha256 || s_md5_agent (self, request);
    if (!s_offered (self, algo) && !(algo == S_MD5 && md5_only))
        goto out;   //  not offered by the configuration
    char ha1[HEX_MAX];
    if (algo == S_MD5)
        sipd_random_hex_of (entry->md5, sizeof entry->md5, ha1);
    else
        sipd_random_hex_of (entry->sha256, sizeof entry->sha256, ha1);
    if (algo == S_SHA256 && !entry->has_sha256)
        ha1[0] = '\0';
    char expected[HEX_MAX];
    s_expected (self, algo, ha1, request->sip_method, &creds, expected);
    bool equal = *ha1 && s_digest_equal (expected, creds.response);
    OPENSSL_cleanse (ha1, sizeof ha1);  //  password-equivalent
    if (!equal)
        goto out;

    //  The client knows the password; now the nonce must be fresh.
    result = SIPD_AUTH_STALE;
    int64_t created = s_nonce_time (self, creds.nonce);
    int64_t now = s_now (self);
    if (created < 0 || created < self->floor || created > now + 1
        || now - created > self->lifetime)
        goto out;
    uint32_t nc = creds.qop ? (uint32_t) strtoul (creds.nc, NULL, 16) : 0;
    if (creds.qop && nc == 0)
        goto out;
    if (!s_nonce_use (self, creds.nonce, nc, created)) {
        CM_LOG (CM_LOG_INFO, "auth", "user=%s replayed nonce count refused",
                CM_PII (creds.username));
        goto out;
    }
    result = SIPD_AUTH_OK;
    CM_LOG (CM_LOG_DEBUG, "auth", "user=%s authenticated algorithm=%s",
            CM_PII (creds.username), algo == S_MD5 ? "MD5" : "SHA-256");
out:
    s_creds_free (&creds);
    return result;
}

bool
sipd_auth_has_user (sipd_auth_t *self, const char *number)
{
    assert (self);
    return number && s_user_find (self, number) != NULL;
}

//  Drop the entries of bucket that have expired by now; keep the keys
//  of entries that expire later (a later round of the ring).
static void
s_expire_bucket (sipd_auth_t *self, s_bucket_t *bucket, int64_t now)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < bucket->count; i++) {
        uint64_t key = bucket->keys[i];
        s_used_t *used = s_slot (self->used, self->slots, key);
        if (!used->key)
            continue;   //  forgotten already (s_raise_floor, s_rehash)
        if (self->epoch + used->expires <= now) {
            s_delete_at (self->used, self->slots - 1,
                         (size_t) (used - self->used));
            self->tracked--;
        }
        else
            bucket->keys[kept++] = key;
    }
    bucket->count = kept;
    if (kept == 0) {
        free (bucket->keys);
        bucket->keys = NULL;
        bucket->cap = 0;
    }
}

void
sipd_auth_expire (sipd_auth_t *self)
{
    assert (self);
    //  Only the buckets of the seconds since the last call are visited:
    //  the cost follows the nonces that expire, not the table size.
    int64_t now = s_now (self);
    if (now < self->expired_to)
        self->expired_to = now - 1;     //  the clock went back
    int64_t from = self->expired_to + 1;
    if (now - from >= RING)
        from = now - RING + 1;  //  a jump: every bucket once
    for (int64_t second = from; second <= now; second++)
        s_expire_bucket (self, &self->ring[s_ring_index (second)], now);
    if (now > self->expired_to)
        self->expired_to = now;
    //  Shrink when an eighth full at most (growth leaves it a quarter
    //  full: the gap keeps the table from resizing back and forth).
    size_t slots = self->slots;
    while (slots > MIN_SLOTS && self->tracked * 8 < slots)
        slots /= 2;
    if (slots != self->slots)
        s_rehash (self, slots, now);
}

size_t
sipd_auth_tracked (sipd_auth_t *self)
{
    assert (self);
    return self->tracked;
}

void
sipd_auth_set_max_tracked (sipd_auth_t *self, size_t slots)
{
    assert (self);
    if (slots >= MIN_SLOTS && (slots & (slots - 1)) == 0)
        self->max_slots = slots;
}

void
sipd_auth_set_clock (sipd_auth_t *self, sipd_clock_fn *fn, void *arg)
{
    assert (self);
    self->clock = fn ? fn : sipd_clock_wall;
    self->clock_arg = fn ? arg : NULL;
    self->expired_to = s_now (self) - 1;
}
