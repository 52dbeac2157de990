#!/usr/bin/env bash
# Real phones over IPv6 loopback: sipd listens on [::1]; baresip (100) calls linphonec (101)
# over UDP; registration, call, audio both ways (c=IN IP6 ::1), hang-up and CDR as in t0502.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need baresip linphonec
$PY -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null \
    || skip "no IPv6 loopback (::1) on this host"
tst_config </dev/null
sed -i "s/^listen = .*/listen = [::1]:$SIP_PORT/" "$CONF"
PHONE_IP=::1
start_daemon cdrd
start_daemon sipd
phones_call_scenario baresip linphonec udp
c=$(grep -a '^c=IN ' "${PHONE_DIR[caller]}/out.log" | sort -u | tr '\r\n' '  ')
[[ $c == *"c=IN IP6 ::1"* && $c != *"IP4"* ]] || fail "SDP connection lines in the caller's trace: $c (want IP6 ::1 only)"
tst_log "ok - SDP on the IPv6 call: $c"
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
