#!/bin/bash
# t0309_call_auth_failure — INVITE with a wrong password: 407 then 403; the callee never rings; CDR FAILED, sip_code 403, call_tag 105
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_register 101 "$UAS_PORT"
sipp_run caller -sf "$(sc_uac_fail 403 Call-ID: ".")" $(caller_args 101 wrongpass) \
    || { sipp_dump caller; fail "caller did not get 403"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=FAILED src=100 dst=101 sip_code=403 call_tag=105 answer_time=
check "callee was not called" test -z "$(grep -l "INVITE sip:101-sipp" "$T"/sipd.log 2>/dev/null)"

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
