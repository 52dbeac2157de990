#!/bin/bash
# t0317_call_shutdown — SIGTERM to sipd during an established call: sipd sends BYE with
# Reason: Q.850;cause=41 to both phones, writes the CDR (call_tag 304, released_by system)
# and exits 0.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
sipp_bg caller -sf "$SC/uac_call_callee_bye.xml" $(caller_args 101) "127.0.0.1:$SIP_PORT"
check "the call is up" wait_for 5 call_state_is confirmed
stop_daemon sipd || fail "sipd did not exit cleanly"
sipp_wait caller || { sipp_dump caller; fail "caller got no BYE"; }
sipp_wait callee || { sipp_dump callee; fail "callee got no BYE"; }
check "the BYE carried cause 41" sipp_saw caller "^Reason: Q.850;cause=41"
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 cause=41 \
    call_tag=304 released_by=system
tst_pass
