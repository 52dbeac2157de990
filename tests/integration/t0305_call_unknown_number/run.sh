#!/bin/bash
# t0305_call_unknown_number — call to a number that is neither an extension nor trunk-prefixed: 404 with Reason cause 1; CDR FAILED, cause 1, call_tag 301
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_run caller -sf "$(sc_uac_fail 404 Reason: "Q.850;cause=1")" $(caller_args 555) \
    || { sipp_dump caller; fail "caller did not get 404"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=FAILED src=100 dst=555 dialed=555 sip_code=404 cause=1 \
    call_tag=301 released_by=system fci~"^callTag=301;cause=1"

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
