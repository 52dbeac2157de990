#!/usr/bin/env bash
# SHA-256 digest with a real client: sipd offers only SHA-256 (RFC 7616/8760); linphonec
# answers the 401 (REGISTER) and 407 (INVITE) challenges with algorithm=SHA-256, registers
# and completes a call (phones_call_scenario: audio, status, CDR).
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need linphonec
tst_config <<'INI'
[sipd]
digest_algorithms = SHA-256
INI
start_daemon cdrd
start_daemon sipd
phones_call_scenario linphonec linphonec udp

# What the phones sent (linphonec's debug log has every SIP message).
auth=$(grep -a -h -E '^(Proxy-)?Authorization: ' "$T"/phone-*/linphonec.log)
tst_log "credentials sent: $(grep -o 'algorithm=[A-Za-z0-9-]*' <<<"$auth" | sort | uniq -c | tr '\n' ' ')"
[ "$(grep -c '^Authorization: .*algorithm=SHA-256' <<<"$auth")" -ge 2 ] \
    || fail "no REGISTER credentials with algorithm=SHA-256 from the two phones"
grep -q '^Proxy-Authorization: .*algorithm=SHA-256' <<<"$auth" \
    || fail "no INVITE credentials (Proxy-Authorization) with algorithm=SHA-256"
! grep -q 'algorithm=MD5' <<<"$auth" || fail "a phone answered with MD5 although only SHA-256 was offered"
tst_log "ok - REGISTER and INVITE authenticated with SHA-256"
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
