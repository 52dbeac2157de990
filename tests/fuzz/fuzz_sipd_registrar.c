//  fuzz_sipd_registrar — libFuzzer target for the registrar: the bytes go
//  through sipd_check_message like on the wire; a valid REGISTER is handed
//  to sipd_registrar_handle twice: as it is (throttle, challenge, any
//  Authorization the input carries), and again with a correct digest
//  Authorization for its To user added, so Contact, Expires, '*' and the
//  location code are reached too. Every response is serialized; every
//  1,000 inputs the timer work runs (expiry, the file write). ASan+UBSan
//  catch the rest.
//
//  Extensions 100-103 (password "pw"); data in a temporary directory that
//  is removed at exit.

#include "../../sipd/sipd_check.h"
#include "../../sipd/sipd_msg.h"
#include "../../sipd/sipd_registrar.h"
#include "../unit/digest_client.h"
#include "cm_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

//  The registrar lives across inputs, like in sipd (fuzzer state, not
//  daemon code: STYLE §6 is about the daemons).
static struct {
    cm_config_t *config;
    sipd_registrar_t *registrar;
    char dir[64];
    unsigned runs;
} s_fuzz;

static void
s_quiet (const char *file, int line, osip_trace_level_t level,
         const char *fmt, va_list ap)
{
    (void) file, (void) line, (void) level, (void) fmt, (void) ap;
}

static void
s_cleanup (void)
{
    sipd_registrar_destroy (&s_fuzz.registrar);     //  writes the file
    cm_config_destroy (&s_fuzz.config);
    char path[128];
    snprintf (path, sizeof path, "%s/spool/registrations.json", s_fuzz.dir);
    (void) remove (path);
    snprintf (path, sizeof path, "%s/spool", s_fuzz.dir);
    (void) rmdir (path);
    (void) rmdir (s_fuzz.dir);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    parser_init ();
    osip_trace_initialize_func (OSIP_INFO4, s_quiet);
    cm_log_init ("fuzz", CM_LOG_ERROR);
    snprintf (s_fuzz.dir, sizeof s_fuzz.dir, "/tmp/fuzz_sipd_registrar.XXXXXX");
    if (!mkdtemp (s_fuzz.dir))
        abort ();
    char *text = zsys_sprintf ("[general]\ndata_dir = %s\n"
                               "[sipd]\nauth_fail_limit = 1000\n"
                               "[extensions]\n100 = pw\n101 = pw\n102 = pw\n"
                               "103 = md5:0123456789abcdef0123456789abcdef\n",
                               s_fuzz.dir);
    char *error = NULL;
    s_fuzz.config = cm_config_load_string (text, "fuzz.conf", &error);
    zstr_free (&text);
    if (!s_fuzz.config)
        abort ();
    s_fuzz.registrar = sipd_registrar_new (s_fuzz.config, NULL, NULL);
    if (!s_fuzz.registrar)
        abort ();
    atexit (s_cleanup);
    return 0;
}

static void
s_handle (osip_message_t *request, const sipd_source_t *source)
{
    osip_message_t *response
        = sipd_registrar_handle (s_fuzz.registrar, request, source);
    if (response) {
        size_t len = 0;
        char *text = sipd_msg_serialize (response, &len);
        osip_free (text);
        osip_message_free (response);
    }
}

//  Add a correct Authorization for the To user (password "pw"), answering
//  a challenge from the registrar itself.
static void
s_authorize (osip_message_t *request)
{
    if (!request->to || !request->to->url || !request->to->url->username
        || !request->req_uri)
        return;
    osip_message_t *challenge = sipd_msg_response_new (request, 401, NULL);
    if (!challenge)
        return;
    sipd_auth_t *auth = sipd_registrar_auth (s_fuzz.registrar);
    char *uri = NULL;
    if (sipd_auth_challenge (auth, challenge, NULL, false) == 0
        && osip_uri_to_str (request->req_uri, &uri) == 0) {
        const char *text = dc_challenge (
            challenge, "WWW-Authenticate",
            s_fuzz.runs % 2 ? "SHA-256" : "MD5");
        char *value = text ? dc_authorization (
                                 text, request->to->url->username, "pw",
                                 "REGISTER", uri, 1 + s_fuzz.runs % 3, "cn")
                           : NULL;
        if (value)
            (void) osip_message_set_authorization (request, value);
        free (value);
    }
    osip_free (uri);
    osip_message_free (challenge);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sipd_check_policy_t policy = {
        .max_message = 65536,
        .allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER",
        .supported = ""};
    osip_message_t *msg = NULL;
    sipd_check_result_t result;
    int code = sipd_check_message ((const char *) data, size, &policy, &msg,
                                   &result);
    sipd_source_t source = {.transport = size % 2 ? SIPD_TRANSPORT_TCP
                                                  : SIPD_TRANSPORT_UDP,
                            .ip = "127.0.0.1",
                            .port = 5000 + (int) (size % 100),
                            .conn_id = (int) (size % 2)};
    if (code == 0 && msg && MSG_IS_REQUEST (msg)) {
        s_handle (msg, &source);
        //  authorization headers of the input are dropped by the
        //  authenticated pass only if ours comes first: osip keeps order,
        //  and sipd_auth uses the first one for our realm
        if (osip_list_size (&msg->authorizations) == 0) {
            s_authorize (msg);
            s_handle (msg, &source);
        }
    }
    osip_message_free (msg);
    if (++s_fuzz.runs % 1000 == 0)
        sipd_registrar_tick (s_fuzz.registrar);
    return 0;
}
