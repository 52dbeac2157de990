#!/bin/bash
# t0310_call_trunk_in — a call from the trunk address to extension 101 is accepted without a challenge and reaches the registered callee; CDR direction inbound, src the outside number
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
sipp_run trunk -sf "$SC/uac_trunk_in.xml" -s 101 -d 500 -p "$TRUNK_PORT" \
    || { sipp_dump trunk; fail "inbound call from the trunk failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=0301234567 dst=101 dialed=101 \
    direction=inbound sip_code=200 cause=16 call_tag=101 released_by=caller

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
