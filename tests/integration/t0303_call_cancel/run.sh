#!/bin/bash
# t0303_call_cancel — caller cancels while the callee rings: 200 to CANCEL, 487 to the INVITE, the callee is cancelled; CDR CANCELLED, cause 16, call_tag 102, released_by caller
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_ring_cancel.xml" -p "$UAS_PORT"
sipp_run caller -sf "$SC/uac_cancel.xml" $(caller_args 101) \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee was not cancelled"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=CANCELLED src=100 dst=101 sip_code=487 cause=16 \
    call_tag=102 released_by=caller answer_time=

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
