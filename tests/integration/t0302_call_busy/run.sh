#!/bin/bash
# t0302_call_busy — busy callee answers 486 with Reason: Q.850;cause=17: the caller receives 486 with the same Reason, CDR BUSY, cause 17, released_by callee
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_busy.xml" -p "$UAS_PORT"
sipp_run caller -sf "$(sc_uac_fail 486 Reason: "Q.850;cause=17;text=\"User busy\"")" \
    $(caller_args 101) || { sipp_dump caller; fail "caller did not get 486 with the Reason"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=BUSY src=100 dst=101 sip_code=486 cause=17 call_tag=203 \
    released_by=callee fci~"^callTag=203;cause=17" answer_time= billsec=0

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
