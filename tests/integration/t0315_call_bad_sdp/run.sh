#!/bin/bash
# t0315_call_bad_sdp — an INVITE whose SDP offers no supported codec (only an unknown dynamic payload type) is refused with 488 after authentication, the callee is not rung; CDR FAILED, sip_code 488, call_tag 307
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
sipp_run caller -sf "$(sc_uac_fail 488 Reason: "Q.850;cause=" 96)" $(caller_args 101) \
    || { sipp_dump caller; fail "caller did not get 488"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=FAILED src=100 dst=101 sip_code=488 call_tag=307 \
    released_by=system answer_time=
check "101 stayed idle" ext_is 101 idle
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
