#!/bin/bash
# t0318_call_no_ack — the caller never ACKs sipd's 200: sipd retransmits the 200 (T1
# doubling to 4 s) and after 64*T1 (32 s) ends the call with BYE to both sides carrying
# Reason: Q.850;cause=102; CDR ANSWERED, call_tag 103 (caller leg timeout). Takes ~35 s.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
SIPP_TIMEOUT=45
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
sipp_run caller -sf "$SC/uac_no_ack.xml" $(caller_args 101) \
    || { sipp_dump caller; fail "caller got no BYE after the unacknowledged 200"; }
sipp_wait callee 10 || { sipp_dump callee; fail "callee got no BYE"; }
n=$(grep -c '^SIP/2.0 200 OK' "$T/sipp-caller.msg")
check "sipd retransmitted its 200 ($n copies seen)" test "$n" -ge 6
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 cause=102 \
    call_tag=103 released_by=system
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
