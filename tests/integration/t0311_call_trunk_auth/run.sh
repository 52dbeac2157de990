#!/bin/bash
# t0311_call_trunk_auth — [trunk] account: sipd registers to the provider answering its 401 (digest verified by SIPp), and answers the provider's 407 on an outbound INVITE; the call completes; a call from the provider to the account's Contact with the number in To reaches extension 101
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
need sipp python3
tst_init
tst_config <<'INI'
[trunk]
username = trunkuser
password = trunkpass
register = yes
register_expires = 600
INI
# The provider registrar must listen before sipd starts registering.
calls_ports
sipp_bg provider-reg -sf "$SC/uas_trunk_register.xml" -p "$TRUNK_PORT"
start_daemon sipd
sipp_wait provider-reg 10 || { sipp_dump provider-reg; fail "trunk registration not seen or wrong credentials"; }
check "sipd logs the trunk registration" wait_for 5 grep -q "registered to 127.0.0.1:$TRUNK_PORT for 600 s" "$T/sipd.log"
sipp_bg trunk -sf "$SC/uas_trunk_auth.xml" -p "$TRUNK_PORT"
sipp_run caller -sf "$SC/uac_call.xml" $(caller_args 95551234) -d 500 \
    || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait trunk || { sipp_dump trunk; fail "trunk did not get valid credentials"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=5551234 direction=outbound \
    sip_code=200 call_tag=101
# The provider calls in to the registered account (Request-URI
# sip:trunkuser@sipd, the number in To): it reaches extension 101.
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
sipp_run provider-in -sf "$SC/uac_trunk_in_contact.xml" -s 101 -d 300 -p "$TRUNK_PORT" \
    || { sipp_dump provider-in; fail "inbound call to the trunk account failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "two CDRs written" cdr_wait 2
cdr_check -n 1 disposition=ANSWERED src=0301234567 dst=101 dialed=101 \
    direction=inbound

check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
