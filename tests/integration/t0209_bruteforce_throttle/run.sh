#!/usr/bin/env bash
# Brute-force protection: after auth_fail_limit failures from one address within the
# window, that address gets 403 without a challenge (even with the right password, for
# any extension) until auth_block_time has passed; the block is logged once.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
auth_fail_limit = 3
auth_fail_window = 60
auth_block_time = 15
INI
start_daemon sipd

for i in 1 2 3; do
    reg_run guess$i 100 guess-$i
    check "guess $i: 401 then 403" [ "$(reg_codes guess$i)" = "401 403" ]
done
reg_run right 100 secret100
check "blocked: the right password gets 403 at once" [ "$(reg_codes right)" = 403 ]
reg_run other 101 secret101
check "blocked for every extension" [ "$(reg_codes other)" = 403 ]
check "status: 100 offline" ext_state_is 100 offline
check "block logged once" [ "$(grep -c 'blocked for 15 s after 3 failed' "$T/sipd.log")" = 1 ]
check "unblocked within 20 s (logged with the refused count)" wait_for 20 grep -q 'src=127.0.0.1 unblocked; 2 requests refused' "$T/sipd.log"
reg_run after 100 secret100
check "after the block: 401 then 200" [ "$(reg_codes after)" = "401 200" ]
check "status: 100 idle" ext_state_is 100 idle
check "sipd exits 0" stop_daemon sipd
tst_pass
