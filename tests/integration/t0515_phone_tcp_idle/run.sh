#!/usr/bin/env bash
# A phone registered over TCP must stay reachable while its binding is valid, even when the
# connection carries no traffic for longer than [sipd] tcp_idle_timeout. baresip registers
# over TCP with a Contact naming its connection's local port (like a phone behind NAT: only
# that flow reaches it) and asks for 3600 s; after 12 s of silence (tcp_idle_timeout = 10)
# 100 calls it. linphonec, which re-registers when its connection drops, is the control.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need baresip linphonec
tst_config <<'INI'
[sipd]
tcp_idle_timeout = 10
INI
start_daemon cdrd
start_daemon sipd
PHONE_REGINT=3600
bs_start a 100 secret100 udp 440
bs_start b 101 secret101 tcp 1000
lp_start c 102 secret102 tcp 1000
for p in a b c; do phone_wait_registered "$p" 10 || phones_fail "phone $p did not register"; done
IFS='|' read -r _ _ _ _ exp <<<"$(sipd_ext 101)"
tst_log "101 (baresip/tcp) registered for ${exp} s; waiting 12 s without SIP traffic"
sleep 12

# Control: linphonec notices a closed connection and registers again, so it is reachable.
phone_dial a 102
phone_wait_established c 10 || phones_fail "linphonec 102 (tcp) unreachable after the idle period"
phone_hangup a
phone_wait_ended c 10 || phones_fail "call to 102 did not end"
tst_log "ok - linphonec 102 over TCP reachable after the idle period"

# The subject: baresip did not register again (its binding is still valid for ~3600 s).
phone_dial a 101
if ! phone_wait_established b 10; then
    grep -E 'tcp conn=.*(idle|connect|refused)' "$T/sipd.log" | tail -n 4 >&2
    phones_fail "baresip 101 registered over TCP (binding valid) is unreachable after its idle connection was closed"
fi
sleep 2     # a call of a few seconds, as in the other call tests
phone_hangup a
phone_wait_ended b 10 || phones_fail "call to 101 did not end"
tst_log "ok - baresip 101 over TCP reachable after 12 s idle"

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
