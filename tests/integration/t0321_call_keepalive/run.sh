#!/bin/bash
# t0321_call_keepalive — [sipd] call_keepalive = 1: sipd sends in-dialog OPTIONS to both
# parties of an established call every second; the callee answers the first with 200 and
# the second with 481 (it lost the call), so sipd ends the call: BYE to the caller with
# Reason: Q.850;cause=102; CDR ANSWERED, call_tag 205, cause 102.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
need sipp python3
tst_init
tst_config <<'INI'
[sipd]
call_keepalive = 1
INI
start_daemon sipd
calls_ports
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_keepalive.xml" -p "$UAS_PORT"
# -aa: the caller (SIPp) answers the keep-alive OPTIONS with 200 by itself.
sipp_run caller -aa -sf "$SC/uac_call_callee_bye.xml" $(caller_args 101) \
    || { sipp_dump caller; fail "caller got no BYE after the callee's 481"; }
sipp_wait callee || { sipp_dump callee; fail "callee saw no keep-alive OPTIONS"; }
check "the caller was kept alive too" sipp_saw caller "^OPTIONS sip:100@"
check "the BYE carried cause 102" sipp_saw caller "^Reason: Q.850;cause=102"
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 cause=102 \
    call_tag=205 released_by=system
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
