#!/usr/bin/env bash
# A real call through sipd: linphonec as 100 calls linphonec as 101 over tcp (auto-answer), ~3 s of
# audio both ways, the caller hangs up; RTP counts, tones, sipd status and the CDR are checked
# (tests/lib/phones.sh: phones_call_scenario).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/phones.sh"
tst_init
phones_need linphonec
# baresip 1.0.0 (libre 1.x) aborts authentication with ENOSYS when any challenge is not MD5
# ("Register: Function not implemented"), so offer MD5 only (/tmp/h6-findings.md F1).
tst_config <<'INI'
[sipd]
digest_algorithms = MD5
INI
start_daemon sipd
phones_call_scenario linphonec linphonec tcp
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
tst_pass
