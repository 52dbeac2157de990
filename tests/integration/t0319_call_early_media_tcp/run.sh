#!/bin/bash
# t0319_call_early_media_tcp — a call over TCP on both legs (SIPp -t t1): the callee
# registers over TCP, sipd reaches it over TCP, its 183 with SDP (early media) is relayed
# to the caller with the SDP rewritten, then 200, ACK, BYE; CDR ANSWERED.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
timeout -k 2 15 $(sipp_cmd reg101 -t t1 -sf "$SC/register.xml" -s 101 -au 101 \
    -ap secret101 -p "$UAS_PORT" "127.0.0.1:$SIP_PORT") >/dev/null 2>&1 \
    || fail "SIPp could not register 101 over TCP"
check "101 registered over TCP" sh -c "'$BIN/sipctl' -t 2000 $IPC_SIPD status | grep -q '\"transport\": *\"tcp\"'"
sipp_bg callee -t t1 -sf "$SC/uas_early_media.xml" -p "$UAS_PORT"
tcp_listening() { ss -Hltn "sport = :$1" | grep -q .; }
check "the callee listens on TCP" wait_for 5 tcp_listening "$UAS_PORT"
sipp_run caller -t t1 -sf "$SC/uac_early_media.xml" $(caller_args 101) -d 500 \
    || { sipp_dump caller; fail "caller scenario failed (no 183 with SDP?)"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 sip_code=200 call_tag=101
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
