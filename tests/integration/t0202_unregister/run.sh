#!/usr/bin/env bash
# Unregistration: Expires: 0 removes one binding (the other stays), "Contact: *" with
# Expires: 0 removes all; "*" without Expires: 0 is a 400.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config </dev/null
start_daemon sipd

reg_run a 100 secret100 && port_a=$REG_PORT
reg_run b 100 secret100 && port_b=$REG_PORT
check "two bindings" [ "$(ext_field 100 'len(e["contacts"])')" = 2 ]

REG_EXPIRES="Expires: 0" REG_CONTACT="<sip:100@127.0.0.1:$port_a>" reg_run c 100 secret100
check "Expires: 0 answered 200" [ "$(reg_code c)" = 200 ]
check "200 lists only the remaining binding" [ "$(reg_last c | grep -c '^Contact:')" = 1 ]
check "remaining binding is b's" grep -q "^Contact: <sip:100@127.0.0.1:$port_b>;expires=" <(reg_last c)
check "status: one contact left" [ "$(ext_field 100 'len(e["contacts"])')" = 1 ]
check "status: still idle" ext_state_is 100 idle

REG_EXPIRES="Expires: 60" REG_CONTACT="*" reg_run d 100 secret100
check "'*' without Expires: 0 is 400" [ "$(reg_code d)" = 400 ]
check "status: still one contact" [ "$(ext_field 100 'len(e["contacts"])')" = 1 ]

REG_EXPIRES="Expires: 0" REG_CONTACT="*" reg_run e 100 secret100
check "'*' with Expires: 0 answered 200" [ "$(reg_code e)" = 200 ]
check "200 lists no binding" [ "$(reg_last e | grep -c '^Contact:')" = 0 ]
check "status: 100 offline" ext_state_is 100 offline
check "sipd exits 0" stop_daemon sipd
tst_pass
