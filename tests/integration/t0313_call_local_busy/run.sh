#!/bin/bash
# t0313_call_local_busy — 101 is in a call with 100 when 102 calls it: sipd answers 486 itself (cause 17, call_tag 303) without ringing 101; sipd status shows 100 and 101 busy during the call and idle after; two CDRs
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
check "101 idle before" ext_is 101 idle
sipp_bg callee -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
# the first call lasts 8 s: the second caller (SIPp start-up, auth) must reach sipd while
# it is up, also on a loaded machine (with 3 s it ended 0.1 s before the second INVITE)
sipp_bg caller -sf "$SC/uac_call.xml" $(caller_args 101) -d 8000 "127.0.0.1:$SIP_PORT"
check "101 busy during the call" wait_for 3 ext_is 101 busy
check "100 busy during the call" ext_is 100 busy
sipp_run second -sf "$(sc_uac_fail 486 Reason: "Q.850;cause=17")" \
    $(caller_args 101 secret102 102 "$UAC2_PORT") \
    || { sipp_dump second; fail "second caller did not get 486"; }
sipp_wait caller || { sipp_dump caller; fail "first call failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "two CDRs written" cdr_wait 2
cdr_check -n 0 disposition=BUSY src=102 dst=101 sip_code=486 cause=17 \
    call_tag=303 released_by=system
cdr_check -n 1 disposition=ANSWERED src=100 dst=101 call_tag=101
check "101 idle after" wait_for 3 ext_is 101 idle
check "100 back to offline (it never registered)" ext_is 100 offline

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
