//  cm_config_keys — every configuration key of the suite, in one table.
//
//  DESIGN §3 fixes the names marked (contract) there; this table is the
//  single source for parsing, validation, --dump-config and docs/config.md.
//  Keep etc/sipserver.conf in step with it.

#include "cm_config.h"

#include <limits.h>

#define NOLIMIT 0, 0, NULL

const cm_cfg_key_t cm_config_keys[] = {
    {"general", "data_dir", CM_CFG_STRING, "var", NOLIMIT,
     "Directory holding cdr/, recordings/ and spool/ (relative paths are "
     "relative to the working directory)"},
    {"general", "log_level", CM_CFG_ENUM, "info", 0, 0,
     "error|warn|info|debug", "Lowest level written to stderr"},

    {"ipc", "sipd", CM_CFG_ENDPOINTS, "tcp://127.0.0.1:7101", NOLIMIT,
     "sipd control socket (originate, status, ping)"},
    {"ipc", "mediad", CM_CFG_ENDPOINTS, "tcp://127.0.0.1:7102", NOLIMIT,
     "mediad control socket(s), comma-separated; a mediad instance binds "
     "the first entry"},
    {"ipc", "cdrd", CM_CFG_ENDPOINTS, "tcp://127.0.0.1:7103", NOLIMIT,
     "cdrd socket: CDR ingest and queries"},
    {"ipc", "events", CM_CFG_ENDPOINTS, "tcp://127.0.0.1:7104", NOLIMIT,
     "sipd PUB socket for registration and call events"},
    {"ipc", "callbackd", CM_CFG_ENDPOINTS, "tcp://127.0.0.1:7105", NOLIMIT,
     "callbackd control socket (ping, status)"},
    {"ipc", "webd", CM_CFG_ENDPOINTS, "tcp://127.0.0.1:7106", NOLIMIT,
     "webd control socket (ping)"},

    {"sipd", "listen", CM_CFG_HOSTPORT, "127.0.0.1:5060", NOLIMIT,
     "SIP address, UDP and TCP on the same address (IPv6 as [::1]:5060)"},
    {"sipd", "realm", CM_CFG_STRING, "sipserver", NOLIMIT,
     "Digest authentication realm"},
    {"sipd", "outgoing_prefix", CM_CFG_STRING, "9", NOLIMIT,
     "Dialled prefix+digits go to the trunk with the prefix stripped"},
    {"sipd", "trunk", CM_CFG_HOSTPORT, "127.0.0.1:5070", NOLIMIT,
     "Trunk (provider) address; empty: no trunk, prefixed calls get 404"},
    {"sipd", "no_answer_timeout", CM_CFG_INT, "30", 1, 3600, NULL,
     "Seconds a call may ring before it is cancelled (480 to the caller)"},
    {"sipd", "record_calls", CM_CFG_BOOL, "no", NOLIMIT,
     "Anchor media through mediad and record every call"},
    {"sipd", "min_expires", CM_CFG_INT, "60", 1, 86400, NULL,
     "Shortest registration accepted; shorter requests get 423"},
    {"sipd", "max_expires", CM_CFG_INT, "3600", 1, 604800, NULL,
     "Longest registration granted; longer requests are shortened"},
    {"sipd", "default_expires", CM_CFG_INT, "3600", 1, 604800, NULL,
     "Registration lifetime when the phone asks for none"},
    {"sipd", "nonce_lifetime", CM_CFG_INT, "300", 10, 86400, NULL,
     "Seconds a digest nonce stays valid; older ones get stale=true"},
    {"sipd", "digest_algorithms", CM_CFG_STRING, "MD5,SHA-256", NOLIMIT,
     "Digest algorithms offered in 401/407, most preferred first (MD5, "
     "SHA-256; many phones use only the first one they are offered)"},
    {"sipd", "md5_only_user_agents", CM_CFG_STRING, "baresip", NOLIMIT,
     "Comma-separated User-Agent prefixes offered only MD5 (baresip 1.x "
     "rejects a challenge that also offers SHA-256); empty: none"},
    {"sipd", "auth_fail_limit", CM_CFG_INT, "10", 1, 100000, NULL,
     "Failed authentications from one address before it is throttled"},
    {"sipd", "auth_fail_window", CM_CFG_INT, "60", 1, 86400, NULL,
     "Seconds over which failed authentications are counted"},
    {"sipd", "auth_block_time", CM_CFG_INT, "60", 1, 86400, NULL,
     "Seconds a throttled address is answered 403 without checking"},
    {"sipd", "call_waiting", CM_CFG_BOOL, "no", NOLIMIT,
     "Ring an extension that is already in a call instead of 486"},
    {"sipd", "call_keepalive", CM_CFG_INT, "0", 0, 86400, NULL,
     "Seconds between in-dialog OPTIONS sipd sends to both parties of an "
     "established call; no answer or 481 ends the call; 0: off"},
    {"sipd", "max_message_size", CM_CFG_INT, "65536", 1024, 65536, NULL,
     "Largest SIP message in bytes; larger ones get 513"},
    {"sipd", "tcp_max_connections", CM_CFG_INT, "1024", 1, 100000, NULL,
     "Open SIP TCP connections at most; more are refused"},
    {"sipd", "tcp_idle_timeout", CM_CFG_INT, "900", 10, 86400, NULL,
     "Seconds without traffic before a SIP TCP connection is closed"},

    {"trunk", "username", CM_CFG_STRING, "", NOLIMIT,
     "Account at the SIP provider; empty: the trunk needs no "
     "authentication"},
    {"trunk", "password", CM_CFG_STRING, "", NOLIMIT,
     "Password at the SIP provider"},
    {"trunk", "domain", CM_CFG_STRING, "", NOLIMIT,
     "Provider domain for From/To/Request-URI; empty: the trunk host"},
    {"trunk", "register", CM_CFG_BOOL, "no", NOLIMIT,
     "Register to the provider with the credentials above"},
    {"trunk", "register_expires", CM_CFG_INT, "600", 60, 86400, NULL,
     "Lifetime asked for the trunk registration"},

    {"extensions", "*", CM_CFG_MAP, "", NOLIMIT,
     "`number = password` (or `md5:HA1` with HA1 = "
     "MD5(number:realm:password))"},

    {"mediad", "address", CM_CFG_STRING, "127.0.0.1", NOLIMIT,
     "Address RTP is received on and announced in SDP"},
    {"mediad", "rtp_ports", CM_CFG_PORTRANGE, "20000-29999", NOLIMIT,
     "UDP ports for RTP (even) and RTCP (odd)"},

    {"callbackd", "port", CM_CFG_PORT, "5080", NOLIMIT,
     "UDP port of the call-back service; 0 switches it off"},
    {"callbackd", "app_server", CM_CFG_STRING, "127.0.0.1", NOLIMIT,
     "Comma-separated addresses/CIDRs allowed to request call-backs; "
     "empty: anyone (warned)"},

    {"cdrd", "backend", CM_CFG_ENUM, "sqlite", 0, 0,
     "sqlite|postgresql|mariadb", "CDR database"},
    {"cdrd", "dsn", CM_CFG_STRING, "var/cdr.sqlite", NOLIMIT,
     "SQLite path, postgresql://… or mariadb://user:pass@host:port/db"},
    {"cdrd", "csv", CM_CFG_BOOL, "yes", NOLIMIT,
     "Also write data_dir/cdr/YYYYMMDD.csv"},

    {"webd", "listen", CM_CFG_HOSTPORT, "127.0.0.1:8080", NOLIMIT,
     "HTTP console and JSON API address"},
    {"webd", "smtp_url", CM_CFG_STRING, "smtp://127.0.0.1:2525", NOLIMIT,
     "SMTP server for activation mail"},
    {"webd", "mail_from", CM_CFG_STRING, "noreply@example.com", NOLIMIT,
     "Sender of activation mail"},
    {"webd", "public_url", CM_CFG_STRING, "http://127.0.0.1:8080", NOLIMIT,
     "Base URL used in activation links"},
    {"webd", "free_email_domains", CM_CFG_STRING,
     "data/free-email-domains.txt", NOLIMIT,
     "File listing free e-mail domains refused at sign-up"},

    {NULL, NULL, CM_CFG_STRING, NULL, NOLIMIT, NULL}};
