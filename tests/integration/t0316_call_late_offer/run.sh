#!/bin/bash
# t0316_call_late_offer — INVITE without SDP (late offer): the callee's offer reaches the caller in the 200 (rewritten, opus dropped), the caller's answer reaches the callee in the ACK (rewritten); CDR ANSWERED
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_late_offer.xml" -p "$UAS_PORT"
sipp_run caller -sf "$SC/uac_late_offer.xml" $(caller_args 101) -d 500 \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee did not get the answer in the ACK"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 call_tag=101
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
