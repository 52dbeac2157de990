#!/usr/bin/env bash
# Bindings expire on time: with min_expires = 2, a registration for 3 s shows idle, then
# offline within a few seconds; the expiry is published as an event.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
min_expires = 2
INI
start_daemon sipd

REG_EXPIRES="Expires: 3" reg_run a 100 secret100
check "registered for 3 s" grep -q "^Contact: <sip:100@127.0.0.1:$REG_PORT>;expires=3" <(reg_last a)
check "status: idle" ext_state_is 100 idle
exp=$(ext_field 100 'e["contacts"][0]["expires_in"]')
check "status: expires_in $exp <= 3" [ "$exp" -le 3 ]
check "status: offline within 6 s" wait_for 6 ext_state_is 100 offline
check "expiry logged" grep -q 'ext=100 contact=.* expired' "$T/sipd.log"
check "sipd exits 0" stop_daemon sipd
tst_pass
