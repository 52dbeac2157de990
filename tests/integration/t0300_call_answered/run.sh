#!/bin/bash
# t0300 — answered call 100 -> 101 through sipd: 407 challenge, 180, 200
# with SDP rewritten (ptime 20, sipd's o=), ACK, BYE from the caller; then
# the CDR in sipd's journal.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null

sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_answer.xml" -p "$UAS_PORT"
sipp_run caller -sf "$SC/uac_call.xml" -s 101 -au 100 -ap secret100 \
    -key caller 100 -auth_uri "101@127.0.0.1:$SIP_PORT" -d 1000 -p "$UAC_PORT" || { sipp_dump caller; fail "caller scenario failed"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "one CDR written" cdr_wait 1
cdr_check disposition=ANSWERED src=100 dst=101 dialed=101 direction=internal \
    sip_code=200 cause=16 call_tag=101 released_by=caller \
    fci~'^callTag=101;cause=16' 'answer_time~^20..-..-..T' 'billsec~^[12]$'
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
