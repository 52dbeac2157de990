#!/usr/bin/env bash
# Unsuccessful calls with real phones through sipd: offline extension (480), unknown number
# (404), caller cancels while ringing (487), no answer (480 after no_answer_timeout, CANCEL to
# the callee), busy callee (486 with Reason cause 17). Each gives the CDR the issue asks for.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need baresip linphonec
tst_config <<'INI'
[sipd]
no_answer_timeout = 3
INI
start_daemon cdrd
start_daemon sipd

bs_start a 100 secret100 udp 440
PHONE_ANSWER=manual bs_start b 101 secret101 udp 1000   # rings, never answers
lp_start c 102 secret102 udp 1000                       # auto-answers
for p in a b c; do phone_wait_registered "$p" 10 || phones_fail "phone $p did not register"; done
tst_log "ok - 100 (baresip), 101 (baresip, manual answer), 102 (linphonec) registered"

# expect_cdr SRC DIALED KEY=VALUE... — within 5 s, the last CDR SRC -> DIALED has these
# fields (VALUE may be a|b for either). Polls, since an earlier CDR of the same pair exists.
cdr_matches() {
    local kv v
    for kv in "${@:3}"; do
        v=$(cdr_field "$CDR" "${kv%%=*}")
        [[ "|${kv#*=}|" == *"|$v|"* ]] || { MISMATCH="${kv%%=*} is '$v', want ${kv#*=}"; return 1; }
    done
}
expect_cdr() {
    local i
    MISMATCH="no CDR"
    for ((i = 0; i < 50; i++)); do
        CDR=$(cdr_find "$1" "$2" dialed) && cdr_matches "$@" && break
        sleep 0.1
    done
    [ "$i" -lt 50 ] || phones_fail "CDR $1 -> $2: $MISMATCH"
    tst_log "ok - CDR $1 -> $2 ($(cdr_source)): $(grep -E '^(disposition|sip_code|cause|call_tag|released_by)=' <<<"$CDR" | tr '\n' ' ')"
}

# 1. Offline extension: 103 has no binding.
phone_dial a 103
phone_wait a 10 'session closed: 480 ' || phones_fail "call to offline 103: no 480"
expect_cdr 100 103 sip_code=480 'cause=18|19|20' released_by=system 'disposition=FAILED|NO ANSWER'

# 2. Unknown number (not an extension, no trunk prefix).
phone_dial a 555
phone_wait a 10 'session closed: 404 ' || phones_fail "call to unknown 555: no 404"
expect_cdr 100 555 sip_code=404 cause=1 disposition=FAILED

# 3. Caller cancels while 101 rings: 487 to the caller, CANCEL reaches the callee.
phone_dial a 101
phone_wait_incoming b 10 || phones_fail "101 does not ring"
phone_wait a 5 'SIP Progress: 18[03]' || phones_fail "caller got no 180/183"
sleep 1
phone_hangup a
wait_for 5 eval '[ "$(bs_trace b | grep -c "^in CANCEL ")" -ge 1 ]' || phones_fail "CANCEL not relayed to 101"
wait_for 5 eval '[ "$(bs_trace a | grep -c "^in SIP/2.0 487 ")" -ge 1 ]' || phones_fail "caller got no 487"
expect_cdr 100 101 disposition=CANCELLED sip_code=487 'cause=16|31' released_by=caller billsec=0

# 4. No answer: after no_answer_timeout (3 s) sipd cancels 101 and answers 480.
phone_dial a 101
phone_wait_incoming b 10 2 || phones_fail "101 does not ring the second time"
phone_wait a 10 'session closed: 480 ' 2 || phones_fail "no 480 after the no-answer timeout"
wait_for 5 eval '[ "$(bs_trace b | grep -c "^in CANCEL ")" -ge 2 ]' || phones_fail "no CANCEL to 101 on timeout"
expect_cdr 100 101 'disposition=NO ANSWER' sip_code=480 'cause=18|19' released_by=system billsec=0
v=$(cdr_field "$CDR" duration)
[ "${v:-0}" -ge 2 ] && [ "${v:-0}" -le 6 ] || phones_fail "no-answer CDR duration '$v', want about 3"

# 5. Busy: 100 talks to 102; 101 calls 102 and gets 486 with Reason cause 17.
phone_dial a 102
phone_wait_established c 10 || phones_fail "100 -> 102 not established"
sipd_wait_state 102 busy 3 || phones_fail "102 not busy in status"
phone_dial b 102
phone_wait b 10 'session closed: 486 ' || phones_fail "101 -> busy 102: no 486"
grep -aq 'Reason: Q.850;cause=17' "${PHONE_DIR[b]}/out.log" || phones_fail "486 to 101 lacks Reason: Q.850;cause=17"
[ "$(phone_count c 'Receiving new incoming call')" = 1 ] || phones_fail "busy 102 was offered a second call"
expect_cdr 101 102 disposition=BUSY sip_code=486 cause=17
phone_hangup a
phone_wait_ended c 10 || phones_fail "100 -> 102 did not end"
expect_cdr 100 102 disposition=ANSWERED sip_code=200 cause=16 released_by=caller

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
