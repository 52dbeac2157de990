#!/bin/bash
# t0312_call_forking — 101 registered from two contacts: sipd forks the INVITE to both in parallel, the first 200 wins and the other contact is cancelled; one ANSWERED CDR
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
sipp_register 101 "$UAS2_PORT"
sipp_bg answers -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
sipp_bg rings -sf "$SC/uas_ring_cancel.xml" -p "$UAS2_PORT"
sipp_run caller -sf "$SC/uac_call.xml" $(caller_args 101) -d 500 \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait answers || { sipp_dump answers; fail "answering contact failed"; }
sipp_wait rings || { sipp_dump rings; fail "the other contact was not cancelled"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 call_tag=101

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
