#!/usr/bin/env bash
# Registrations survive a sipd restart (issue 3): baresip 100 and linphonec 101 register over
# UDP; sipd is stopped and started again; without the phones registering again, status still
# lists both idle with their user agents, and 100 calls 101 with audio both ways and a CDR.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
phones_start baresip linphonec

bs_start caller 100 secret100 udp 440
lp_start callee 101 secret101 udp 1000
phone_wait_registered caller 10 || phones_fail "baresip 100 did not register"
phone_wait_registered callee 10 || phones_fail "linphonec 101 did not register"
sipd_wait_state 100 idle 5 && sipd_wait_state 101 idle 5 || phones_fail "not idle after registering"
# regs — REGISTER requests both phones have sent so far (baresip -s trace, linphonec log).
regs() {
    echo $(( $(grep -ac '^REGISTER sip:' "${PHONE_DIR[caller]}/out.log") \
             + $(grep -ac '^REGISTER sip:' "${PHONE_DIR[callee]}/linphonec.log") ))
}
regs_before=$(regs)
tst_log "ok - 100 and 101 registered ($regs_before REGISTER requests)"

stop_daemon sipd || fail "sipd exit code $? on the first SIGTERM"
check "sipd saved the bindings under data_dir/spool" bash -c "ls '$DATA_DIR/spool' | grep -q ."
start_daemon sipd
for n in 100 101; do
    sipd_wait_state "$n" idle 5 || phones_fail "after the restart, $n is not idle"
done
IFS='|' read -r _ ua _ _ _ <<<"$(sipd_ext 100)"
[[ $ua == baresip* ]] || phones_fail "after the restart, 100's user agent is '$ua'"
IFS='|' read -r _ ua _ _ _ <<<"$(sipd_ext 101)"
[[ ${ua,,} == *linphone* ]] || phones_fail "after the restart, 101's user agent is '$ua'"
[ "$(regs)" = "$regs_before" ] || phones_fail "a phone registered again during the restart: not a test of persistence"
tst_log "ok - after the restart sipd lists 100 and 101 idle with their user agents (no new REGISTER)"

phone_dial caller 101
phone_wait_established caller 10 || phones_fail "caller: call not established after the restart"
phone_wait_established callee 10 || phones_fail "callee: call not established after the restart"
sleep 2
phone_hangup caller
phone_wait_ended callee 10 || phones_fail "callee: call did not end"
for who in caller callee; do
    phone_wait_rtp "$who" 5 || phones_fail "$who: no RTP statistics"
    read -r tx rx < <(phone_rtp "$who")
    tst_log "$who: RTP sent $tx received $rx"
    [ "$rx" -ge 60 ] || phones_fail "$who received only $rx RTP packets in ~2 s"
done
cdr=$(cdr_wait 100 101 5) || phones_fail "no CDR for the call after the restart"
[ "$(cdr_field "$cdr" disposition)" = ANSWERED ] || phones_fail "CDR disposition $(cdr_field "$cdr" disposition)"
tst_log "ok - call after the restart: established, audio both ways, CDR ANSWERED"

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
