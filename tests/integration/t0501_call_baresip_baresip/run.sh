#!/usr/bin/env bash
# A real call through sipd: baresip as 100 calls baresip as 101 over udp (auto-answer), ~3 s of
# audio both ways, the caller hangs up; RTP counts, tones, sipd status and the CDR are checked
# (tests/lib/phones.sh: phones_call_scenario).
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
phones_start baresip
phones_call_scenario baresip baresip udp
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
