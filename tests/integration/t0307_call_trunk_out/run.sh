#!/bin/bash
# t0307_call_trunk_out — 9 + number reaches the trunk (a SIPp UAS on [sipd] trunk) with the prefix stripped and the extension as From user; CDR outbound, dst without prefix, dialed with it
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_bg trunk -sf "$SC/uas_trunk.xml" -s 5551234 -key caller 100 -p "$TRUNK_PORT"
sipp_run caller -sf "$SC/uac_call.xml" $(caller_args 95551234) -d 500 \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait trunk || { sipp_dump trunk; fail "trunk did not see the expected INVITE"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=5551234 dialed=95551234 \
    direction=outbound sip_code=200 cause=16 call_tag=101 released_by=caller

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
