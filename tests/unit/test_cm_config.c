//  Unit tests for cm_config: loading, validation errors naming file, line
//  and key, defaults, maps, unknown keys, host:port parsing.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cm_config.h"
#include "cm_log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Load text; expect failure; return the error (caller frees).
static char *
s_error_of (const char *text)
{
    char *error = NULL;
    cm_config_t *config = cm_config_load_string (text, "t.conf", &error);
    assert_null (config);
    assert_non_null (error);
    return error;
}

static void
test_missing_file (void **state)
{
    char *error = NULL;
    cm_config_t *config = cm_config_load ("/nonexistent/x.conf", &error);
    assert_null (config);
    assert_string_equal (error, "/nonexistent/x.conf: cannot open: "
                                "No such file or directory");
    free (error);
}

static void
test_defaults (void **state)
{
    char *error = NULL;
    cm_config_t *config = cm_config_load_string ("", "t.conf", &error);
    assert_non_null (config);
    assert_null (error);
    assert_string_equal (cm_config_str (config, "general", "data_dir"), "var");
    assert_int_equal (cm_config_int (config, "callbackd", "port"), 5080);
    assert_int_equal (cm_config_int (config, "sipd", "no_answer_timeout"), 30);
    assert_false (cm_config_bool (config, "sipd", "record_calls"));
    assert_string_equal (cm_config_str (config, "cdrd", "backend"), "sqlite");
    assert_int_equal (cm_config_line (config, "callbackd", "port"), 0);
    assert_int_equal (zhashx_size (cm_config_map (config, "extensions")), 0);
    cm_config_destroy (&config);
    assert_null (config);
    cm_config_destroy (&config);    //  idempotent
}

static void
test_values_and_lines (void **state)
{
    const char *text = "; comment\n"
                       "[general]\n"
                       "log_level = debug   ; inline comment\n"
                       "[callbackd]\n"
                       "port = 0\n"
                       "[sipd]\n"
                       "record_calls = yes\n"
                       "listen = [::1]:5070\n"
                       "trunk =\n"
                       "[extensions]\n"
                       "100 = secret100\n"
                       "101 = md5:0123456789abcdef0123456789abcdef\n";
    char *error = NULL;
    cm_config_t *config = cm_config_load_string (text, "t.conf", &error);
    assert_non_null (config);
    assert_string_equal (cm_config_str (config, "general", "log_level"),
                         "debug");
    assert_int_equal (cm_config_int (config, "callbackd", "port"), 0);
    assert_int_equal (cm_config_line (config, "callbackd", "port"), 5);
    assert_true (cm_config_bool (config, "sipd", "record_calls"));
    assert_string_equal (cm_config_str (config, "sipd", "trunk"), "");
    zhashx_t *ext = cm_config_map (config, "extensions");
    assert_int_equal (zhashx_size (ext), 2);
    assert_string_equal ((char *) zhashx_lookup (ext, "100"), "secret100");
    char where[256];
    cm_config_where (config, "sipd", "listen", where, sizeof where);
    assert_string_equal (where, "t.conf:8: [sipd] listen");
    cm_config_destroy (&config);
}

static void
test_out_of_range (void **state)
{
    char *error = s_error_of ("[general]\ndata_dir = x\n\n"
                              "[callbackd]\nport = 70000\n");
    assert_string_equal (error,
                         "t.conf:5: [callbackd] port: 70000 is not a port "
                         "(0-65535)");
    free (error);
    error = s_error_of ("[sipd]\nno_answer_timeout = 0\n");
    assert_string_equal (error, "t.conf:2: [sipd] no_answer_timeout: 0 is "
                                "out of range (1-3600)");
    free (error);
}

static void
test_wrong_type (void **state)
{
    char *error = s_error_of ("[sipd]\nno_answer_timeout = soon\n");
    assert_string_equal (error, "t.conf:2: [sipd] no_answer_timeout: 'soon' "
                                "is not a number");
    free (error);
    error = s_error_of ("[sipd]\nrecord_calls = maybe\n");
    assert_string_equal (error, "t.conf:2: [sipd] record_calls: 'maybe' is "
                                "not yes or no");
    free (error);
    error = s_error_of ("[cdrd]\nbackend = oracle\n");
    assert_string_equal (error, "t.conf:2: [cdrd] backend: 'oracle' is not "
                                "one of sqlite|postgresql|mariadb");
    free (error);
    error = s_error_of ("[sipd]\nlisten = 1.2.3.4:http\n");
    assert_string_equal (error, "t.conf:2: [sipd] listen: '1.2.3.4:http' is "
                                "not host:port");
    free (error);
    error = s_error_of ("[ipc]\nsipd = 127.0.0.1:7101\n");
    assert_non_null (strstr (error, "is not a ZeroMQ endpoint"));
    free (error);
    error = s_error_of ("[mediad]\nrtp_ports = 30000-20000\n");
    assert_non_null (strstr (error, "[mediad] rtp_ports: '30000-20000' is "
                                    "not a port range"));
    free (error);
}

static void
test_syntax_error (void **state)
{
    char *error = s_error_of ("[general]\nlog_level = info\nthis is junk\n");
    assert_string_equal (error, "t.conf:3: syntax error (expected "
                                "'key = value' or '[section]')");
    free (error);
    error = s_error_of ("[general\n");
    assert_string_equal (error, "t.conf:1: syntax error (expected "
                                "'key = value' or '[section]')");
    free (error);
}

static void
test_unknown_key_is_warning (void **state)
{
    char *error = NULL;
    cm_config_t *config = cm_config_load_string (
        "[sipd]\nfrobnicate = 1\nfrobnicate = 2\n[nosuch]\na = b\n", "t.conf",
        &error);
    assert_non_null (config);       //  warned, not fatal
    assert_null (error);
    cm_config_destroy (&config);
}

static void
test_file_roundtrip (void **state)
{
    char path[] = "/tmp/test_cm_config.XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *text = "[sipd]\nrealm = office\n[callbackd]\nport = -1\n";
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    char *error = NULL;
    assert_null (cm_config_load (path, &error));
    char expect[256];
    snprintf (expect, sizeof expect,
              "%s:4: [callbackd] port: -1 is not a port (0-65535)", path);
    assert_string_equal (error, expect);
    free (error);
    unlink (path);
}

static void
test_split_hostport (void **state)
{
    char host[64];
    int port = 0;
    assert_int_equal (cm_config_split_hostport ("127.0.0.1:5060", host,
                                                sizeof host, &port, 1), 0);
    assert_string_equal (host, "127.0.0.1");
    assert_int_equal (port, 5060);
    assert_int_equal (cm_config_split_hostport ("[::1]:5070", host,
                                                sizeof host, &port, 1), 0);
    assert_string_equal (host, "::1");
    assert_int_equal (port, 5070);
    assert_int_equal (cm_config_split_hostport ("example.org", host,
                                                sizeof host, &port, 5060), 0);
    assert_int_equal (port, 5060);
    assert_int_equal (cm_config_split_hostport ("::1", host, sizeof host,
                                                &port, 1), -1);
    assert_int_equal (cm_config_split_hostport ("h:0", host, sizeof host,
                                                &port, 1), -1);
    assert_int_equal (cm_config_split_hostport (":5060", host, sizeof host,
                                                &port, 1), -1);
    assert_int_equal (cm_config_split_hostport ("[::1", host, sizeof host,
                                                &port, 1), -1);
}

int
main (void)
{
    cm_log_init ("test", CM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_missing_file),
        cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_values_and_lines),
        cmocka_unit_test (test_out_of_range),
        cmocka_unit_test (test_wrong_type),
        cmocka_unit_test (test_syntax_error),
        cmocka_unit_test (test_unknown_key_is_warning),
        cmocka_unit_test (test_file_roundtrip),
        cmocka_unit_test (test_split_hostport),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
