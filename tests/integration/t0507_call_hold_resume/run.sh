#!/usr/bin/env bash
# Hold and resume with real phones through sipd's B2BUA: linphonec (100) calls baresip (101);
# the caller pauses and resumes (re-INVITE a=sendonly, then sendrecv, relayed to the callee),
# then the callee holds and resumes (re-INVITE from the callee relayed to the caller); audio
# flows again after each resume; the caller hangs up; the CDR is one ANSWERED call.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
phones_start baresip linphonec

lp_start caller 100 secret100 udp 440
bs_start callee 101 secret101 udp 1000
phone_wait_registered caller 10 || phones_fail "linphonec 100 did not register"
phone_wait_registered callee 10 || phones_fail "baresip 101 did not register"
phone_dial caller 101
phone_wait_established caller 10 || phones_fail "caller: call not established"
phone_wait_established callee 10 || phones_fail "callee: call not established"
tst_log "ok - call 100 -> 101 established"
sleep 1

# trace_has N PATTERN — the callee's SIP trace (bs_trace) has >= N lines matching PATTERN.
trace_has() { [ "$(bs_trace callee | grep -Ec -- "$2")" -ge "$1" ]; }

# 1. The caller pauses: sipd relays a re-INVITE with a=sendonly, baresip answers recvonly.
phone_cmd caller "pause"
phone_wait caller 5 'Call 1 with .* is now paused' || phones_fail "caller: pause not confirmed"
wait_for 3 trace_has 1 '^in INVITE .* sendonly$' || phones_fail "callee got no re-INVITE with a=sendonly"
wait_for 3 trace_has 1 '^out SIP/2.0 200 .* recvonly$' || phones_fail "callee did not answer recvonly"
sipd_wait_state 100 busy 2 && sipd_wait_state 101 busy 2 || phones_fail "status not busy while on hold"
tst_log "ok - caller hold: re-INVITE sendonly relayed, callee answered recvonly, both still busy"
sleep 1.5

# 2. The caller resumes: a second re-INVITE without sendonly, media established again.
phone_cmd caller "resume"
phone_wait caller 5 'Media streams established with .* for call 1' 2 || phones_fail "caller: no media after resume"
wait_for 3 trace_has 3 '^in INVITE ' || phones_fail "callee got no resume re-INVITE"
[ "$(bs_trace callee | grep -E '^in INVITE ' | sed -n 3p | awk '{print $NF}')" != sendonly ] \
    || phones_fail "resume re-INVITE still sendonly"
wait_for 3 trace_has 2 '^out SIP/2.0 200 .* sendrecv$' || phones_fail "callee did not answer sendrecv on resume"
tst_log "ok - caller resume: re-INVITE relayed, callee answered sendrecv"
sleep 1

# 3. The callee holds: its re-INVITE (sendonly) goes through sipd to the caller.
phone_cmd callee "/hold"
phone_wait caller 5 'Call 1 has been paused by' || phones_fail "caller did not see the callee's hold"
wait_for 3 trace_has 1 '^in SIP/2.0 200 .* (recvonly|inactive)$' \
    || phones_fail "callee's hold re-INVITE: no 200 recvonly/inactive from sipd"
tst_log "ok - callee hold: re-INVITE relayed to the caller, answered"
sleep 1.5

# 4. The callee resumes.
phone_cmd callee "/resume"
phone_wait caller 5 'Media streams established with .* for call 1' 3 || phones_fail "caller: no media after the callee resumed"
wait_for 3 trace_has 2 '^out INVITE sip:' || phones_fail "callee sent no resume re-INVITE"
wait_for 3 trace_has 2 '^in SIP/2.0 200 ' || phones_fail "callee's resume re-INVITE not answered"
tst_log "ok - callee resume: re-INVITE relayed, answered"
sleep 2

phone_hangup caller
phone_wait_ended caller 10 || phones_fail "caller: call did not end"
phone_wait_ended callee 10 || phones_fail "callee: BYE from sipd did not end the call"
# Every RTP packet one phone sent must have reached the other (media flows phone to phone,
# so a wrong address in a relayed re-INVITE SDP shows up as missing packets), allowing 25
# packets (0.5 s) in flight at hang-up.
declare -A TX RX
for who in caller callee; do
    phone_wait_rtp "$who" 5 || phones_fail "$who: no RTP statistics"
    read -r TX[$who] RX[$who] < <(phone_rtp "$who")
    tst_log "$who: RTP sent ${TX[$who]} received ${RX[$who]}"
done
for pair in caller:callee callee:caller; do
    a=${pair%%:*} b=${pair#*:}
    [ "${RX[$b]}" -ge 100 ] && [ "${RX[$b]}" -ge $((TX[$a] - 25)) ] \
        || phones_fail "$a sent ${TX[$a]} RTP packets but $b received only ${RX[$b]}"
done
# linphonec records again after a resume: the last second of what the caller heard is the
# callee's tone (baresip's sndfile recording stops at the first hold, so not the callee's).
read -r f rms < <(phone_tone caller 1) || phones_fail "caller: no recording"
tst_log "caller heard ${f} Hz (RMS $rms) in the last second"
[ "${f:-0}" -ge 900 ] && [ "${f:-0}" -le 1100 ] && awk -v r="$rms" 'BEGIN { exit !(r > 0.1) }' \
    || phones_fail "caller: no far-end tone after the last resume (${f} Hz, RMS $rms)"
read -r f rms < <(phone_tone callee) || phones_fail "callee: no recording"
[ "${f:-0}" -ge 380 ] && [ "${f:-0}" -le 500 ] || phones_fail "callee heard ${f} Hz, not 440 Hz"
tst_log "ok - audio both ways after the last resume"

cdr=$(cdr_wait 100 101 5) || phones_fail "no CDR for 100 -> 101"
tst_log "CDR from $(cdr_source): $(tr '\n' ' ' <<<"$cdr")"
[ "$(grep -c '^uniqueid=' <<<"$cdr")" = 1 ] || phones_fail "CDR parse"
n=$(cdr_count 100 101)
[ "$n" = 1 ] || phones_fail "hold/resume produced $n CDRs for 100 -> 101, want 1"
for kv in disposition=ANSWERED sip_code=200 cause=16 released_by=caller; do
    [ "$(cdr_field "$cdr" "${kv%%=*}")" = "${kv#*=}" ] || phones_fail "CDR ${kv%%=*} is not ${kv#*=}"
done
[ "$(cdr_field "$cdr" billsec)" -ge 6 ] || phones_fail "CDR billsec $(cdr_field "$cdr" billsec) < 6"
tst_log "ok - one CDR: ANSWERED, billsec $(cdr_field "$cdr" billsec), cause 16, released_by caller"

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
