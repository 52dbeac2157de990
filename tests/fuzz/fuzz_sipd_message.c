//  fuzz_sipd_message — libFuzzer target for sipd's message entry point:
//  the bytes a transport hands up go through sipd_check_message (parse,
//  salvage, validation), and whatever it returns is used the way the
//  server uses it: an answer is built and serialized for every verdict
//  > 0, the message is serialized when valid. ASan+UBSan catch the rest.

#include "../../sipd/sipd_check.h"
#include "../../sipd/sipd_msg.h"

#include <stdint.h>
#include <stdlib.h>

static void
s_quiet (const char *file, int line, osip_trace_level_t level,
         const char *fmt, va_list ap)
{
    (void) file, (void) line, (void) level, (void) fmt, (void) ap;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    parser_init ();
    osip_trace_initialize_func (OSIP_INFO4, s_quiet);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  a small limit too, so the 513 path is reached with small inputs
    sipd_check_policy_t policy = {
        .max_message = size % 7 == 0 ? 512 : 65536,
        .allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER",
        .supported = "path"};
    osip_message_t *msg = NULL;
    sipd_check_result_t result;
    int code = sipd_check_message ((const char *) data, size, &policy, &msg,
                                   &result);
    if (code < 0 && msg)
        abort ();   //  a drop never comes with a message
    if (code > 0) {
        if (!msg)
            abort ();
        osip_message_t *response
            = sipd_msg_response_new (msg, code, result.reason);
        if (response) {
            if (result.hname[0])
                sipd_msg_add_header (response, result.hname, result.hvalue);
            size_t len = 0;
            char *text = sipd_msg_serialize (response, &len);
            osip_free (text);
            osip_message_free (response);
        }
    }
    if (code == 0 && msg) {
        sipd_msg_header (msg, "Require");
        if (MSG_IS_REQUEST (msg)) {
            osip_message_t *response = sipd_msg_response_new (msg, 200, NULL);
            osip_message_free (response);
        }
        size_t len = 0;
        char *text = sipd_msg_serialize (msg, &len);
        osip_free (text);
    }
    osip_message_free (msg);
    return 0;
}
