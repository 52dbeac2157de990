#!/usr/bin/env bash
# RFC 4733 DTMF between real phones through sipd: media flows phone to phone, so sipd's SDP
# must keep each caller's telephone-event payload type (linphone offers 96, baresip 101).
# linphonec prints the digits baresip sends, in both call directions.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
phones_start baresip linphonec

lp_start lp 100 secret100 udp 440
bs_start bs 101 secret101 udp 1000
phone_wait_registered lp 10 || phones_fail "linphonec 100 did not register"
phone_wait_registered bs 10 || phones_fail "baresip 101 did not register"

# te_pts NAME — telephone-event payload types in baresip's SIP trace, in order.
te_pts() {
    grep -aoE 'a=rtpmap:[0-9]+ telephone-event' "${PHONE_DIR[$1]}/out.log" \
        | sed -E 's/a=rtpmap:([0-9]+).*/\1/' | tr '\n' ' '
}

# send_digits NAME DIGITS — key the digits into the phone, 0.4 s apart.
send_digits() {
    local i
    for ((i = 0; i < ${#2}; i++)); do
        phone_cmd "$1" "${2:i:1}"
        sleep 0.4
    done
}

# 1. linphonec calls baresip: baresip must see PT 96 offered (linphone's) and keys 7 and 3.
phone_dial lp 101
phone_wait_established lp 10 && phone_wait_established bs 10 || phones_fail "lp -> bs not established"
sleep 0.5
send_digits bs 73
phone_wait lp 5 'Receiving tone 7 from' && phone_wait lp 5 'Receiving tone 3 from' \
    || phones_fail "linphonec did not receive baresip's DTMF 7 and 3 (lp -> bs call)"
pts=$(te_pts bs)
tst_log "lp -> bs: telephone-event PTs in baresip's trace: $pts"
[[ $pts == "96 96 "* ]] || phones_fail "offer to baresip / its answer: telephone-event PT not linphone's 96 ($pts)"
phone_hangup lp
phone_wait_ended bs 10 || phones_fail "lp -> bs did not end"
tst_log "ok - linphonec -> baresip: PT 96 kept, DTMF 7 3 received by linphonec"

# 2. baresip calls linphonec: linphone must be offered baresip's PT 101.
phone_dial bs 100
phone_wait_established bs 10 && phone_wait_established lp 10 2 || phones_fail "bs -> lp not established"
sleep 0.5
send_digits bs 19
phone_wait lp 5 'Receiving tone 1 from' && phone_wait lp 5 'Receiving tone 9 from' \
    || phones_fail "linphonec did not receive baresip's DTMF 1 and 9 (bs -> lp call)"
grep -aq 'a=rtpmap:101 telephone-event' "${PHONE_DIR[lp]}/linphonec.log" \
    || phones_fail "offer to linphonec did not keep baresip's telephone-event PT 101"
phone_hangup bs
phone_wait_ended lp 10 2 || phones_fail "bs -> lp did not end"
tst_log "ok - baresip -> linphonec: PT 101 kept, DTMF 1 9 received by linphonec"

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
