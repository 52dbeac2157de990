#!/usr/bin/env bash
# A wrong password gets 403 after the challenge, and so does an unknown extension and
# 101's credentials used for 100; none of them creates a binding.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config </dev/null
start_daemon sipd

reg_run a 100 not-the-password
check "wrong password: 401 then 403" [ "$(reg_codes a)" = "401 403" ]
reg_run b 555 whatever
check "unknown extension: 401 then 403 (no hint that 555 does not exist)" [ "$(reg_codes b)" = "401 403" ]
REG_SCENARIO=$(dirname "$0")/register-as.xml reg_run c 100 secret101 -key auth_user 101
check "101's credentials for 100: 401 then 403" [ "$(reg_codes c)" = "401 403" ]
check "status: 100 offline" ext_state_is 100 offline
check "status: 101 offline" ext_state_is 101 offline
check "auth failures are logged without the password" grep -q 'authentication failed user=100' "$T/sipd.log"
check "no password in the log" bash -c "! grep -q -e not-the-password -e secret10 '$T/sipd.log'"
check "sipd exits 0" stop_daemon sipd
tst_pass
