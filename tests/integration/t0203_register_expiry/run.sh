#!/usr/bin/env bash
# Bindings expire on time: with min_expires = 2, a registration for 8 s shows idle, then
# offline soon after it ends (8 s leaves room for a loaded CI machine); the expiry is published as an event.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
min_expires = 2
INI
start_daemon sipd

REG_EXPIRES="Expires: 8" reg_run a 100 secret100
check "registered for 8 s" grep -q "^Contact: <sip:100@127.0.0.1:$REG_PORT>;expires=8" <(reg_last a)
check "status: idle" ext_state_is 100 idle
exp=$(ext_field 100 'e["contacts"][0]["expires_in"]')
check "status: expires_in '$exp' is 1..8" [ "${exp:-0}" -ge 1 ] && [ "${exp:-0}" -le 8 ]
check "status: offline within 12 s" wait_for 12 ext_state_is 100 offline
check "expiry logged" grep -q 'ext=100 contact=.* expired' "$T/sipd.log"
check "sipd exits 0" stop_daemon sipd
tst_pass
