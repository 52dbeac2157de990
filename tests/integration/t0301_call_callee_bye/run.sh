#!/bin/bash
# t0301_call_callee_bye — answered call 100 -> 101 where the callee hangs up: the callee's BYE carries Reason: Q.850;cause=31, the caller's BYE carries the same, CDR ANSWERED, cause 31, call_tag 201, released_by callee
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer_bye.xml" -d 1000 -p "$UAS_PORT"
sipp_run caller -sf "$SC/uac_call_callee_bye.xml" $(caller_args 101) \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "the caller got the callee's Reason" sipp_saw caller '^Reason: Q.850;cause=31'
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 cause=31 \
    call_tag=201 released_by=callee fci~"^callTag=201;cause=31" "billsec~^[12]$"

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
