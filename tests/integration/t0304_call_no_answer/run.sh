#!/bin/bash
# t0304_call_no_answer — callee rings past no_answer_timeout (2 s): sipd cancels the callee and answers 480 to the caller; CDR NO ANSWER, cause 19, call_tag 204
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
need sipp python3
tst_init
tst_config <<'INI'
[sipd]
no_answer_timeout = 2
INI
start_daemon sipd
calls_ports

sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_ring_cancel.xml" -p "$UAS_PORT"
start=$(date +%s)
sipp_run caller -sf "$(sc_uac_fail 480 Reason: "cause=19")" $(caller_args 101) \
    || { sipp_dump caller; fail "caller did not get 480"; }
took=$(( $(date +%s) - start ))
check "480 came after the timeout ($took s)" test "$took" -ge 2 -a "$took" -le 6
sipp_wait callee || { sipp_dump callee; fail "callee was not cancelled"; }
check "one CDR written" cdr_wait 1
cdr_check "disposition=NO ANSWER" src=100 dst=101 sip_code=480 cause=19 \
    call_tag=204 released_by=system "duration~^[2-5]$"

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
