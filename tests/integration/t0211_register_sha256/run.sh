#!/usr/bin/env bash
# SHA-256 digest with a real phone: with digest_algorithms = SHA-256 only, linphonec
# registers as 101 using SHA-256; baresip (md5_only_user_agents) still registers as 100
# with MD5; sipd logs the algorithm each used.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
phones_need baresip linphonec
tst_config <<'INI'
[sipd]
digest_algorithms = SHA-256
INI
start_daemon sipd

lp_start b 101 secret101 udp
bs_start a 100 secret100 udp
phone_wait_registered b 20 || phones_fail "linphonec 101 did not register with SHA-256"
phone_wait_registered a 20 || phones_fail "baresip 100 did not register (MD5 for its User-Agent)"
check "status: 101 idle" wait_for 5 ext_state_is 101 idle
check "status: 100 idle" wait_for 5 ext_state_is 100 idle
check "101 authenticated with SHA-256" grep -q 'user=101 authenticated algorithm=SHA-256' "$T/sipd.log"
check "100 authenticated with MD5" grep -q 'user=100 authenticated algorithm=MD5' "$T/sipd.log"
check "no authentication failure" bash -c "! grep -q 'authentication failed' '$T/sipd.log'"
phones_stop_all
check "sipd exits 0" stop_daemon sipd
tst_pass
