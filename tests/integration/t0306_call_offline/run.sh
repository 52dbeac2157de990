#!/bin/bash
# t0306_call_offline — call to a configured extension without registration: 480 with Reason cause 20; CDR FAILED, cause 20, call_tag 302
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_run caller -sf "$(sc_uac_fail 480 Reason: "Q.850;cause=20")" $(caller_args 102) \
    || { sipp_dump caller; fail "caller did not get 480"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=FAILED src=100 dst=102 sip_code=480 cause=20 \
    call_tag=302 released_by=system

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
