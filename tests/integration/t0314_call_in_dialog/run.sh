#!/bin/bash
# t0314_call_in_dialog — session timer headers relayed both ways (RFC 4028), INFO with a DTMF body relayed, in-dialog OPTIONS answered, UPDATE with SDP relayed rewritten; the calls control request lists the live call
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_indialog.xml" -p "$UAS_PORT"
sipp_bg caller -sf "$SC/uac_indialog.xml" $(caller_args 101) -d 1500 "127.0.0.1:$SIP_PORT"
check "calls lists the live call" wait_for 5 live_calls_is 1
sipp_wait caller || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 call_tag=101
check "no call left" wait_for 5 live_calls_is 0

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
