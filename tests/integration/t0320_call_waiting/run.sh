#!/bin/bash
# t0320_call_waiting — with [sipd] call_waiting = yes, a second call to an extension that is
# already talking rings it anyway: 101 (one SIPp answering two calls) talks with 100 when
# 102 calls and is answered too; two ANSWERED CDRs.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
need sipp python3
tst_init
tst_config <<'INI'
[sipd]
call_waiting = yes
INI
start_daemon sipd
calls_ports
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer.xml" -m 2 -p "$UAS_PORT"
sipp_bg first -sf "$SC/uac_call.xml" $(caller_args 101) -d 6000 "127.0.0.1:$SIP_PORT"
check "first call is up" wait_for 5 call_state_is confirmed
check "101 is busy" ext_is 101 busy
sipp_run second -sf "$SC/uac_call.xml" $(caller_args 101 secret102 102 "$UAC2_PORT") -d 300 \
    || { sipp_dump second; fail "second call was not answered despite call_waiting"; }
sipp_wait first || { sipp_dump first; fail "first call failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "two CDRs written" cdr_wait 2
cdr_check -n 0 disposition=ANSWERED src=102 dst=101 call_tag=101
cdr_check -n 1 disposition=ANSWERED src=100 dst=101 call_tag=101
check "101 idle after both calls" wait_for 3 ext_is 101 idle
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
