#!/bin/bash
# t0308_call_hold — hold and resume: the caller re-INVITEs with sendonly then sendrecv, both relayed to the callee with rewritten SDP and answered; the call goes on and ends with BYE; CDR ANSWERED
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_hold.xml" -p "$UAS_PORT"
sipp_run caller -sf "$SC/uac_hold.xml" $(caller_args 101) \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee did not see hold and resume"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 cause=16 \
    call_tag=101 released_by=caller

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
