#!/usr/bin/env bash
# Registration over TCP: challenge and 200 on the same connection; status shows the
# tcp transport; unregistering over TCP works too.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config </dev/null
start_daemon sipd

port=$(tst_ports 1)
REG_TRANSPORT=t1 REG_CONTACT="<sip:102@127.0.0.1:$port;transport=tcp>" reg_run a 102 secret102 \
    || fail "SIPp over TCP failed: $(tail -3 "$T/a.out")"
check "answers over TCP: 401 then 200" [ "$(reg_codes a)" = "401 200" ]
check "messages went over TCP" grep -q '^TCP message received' "$T/a.msg"
check "200 lists the tcp contact" grep -q ";transport=tcp>;expires=3600" <(reg_last a)
check "status: 102 idle" ext_state_is 102 idle
check "status: transport tcp" [ "$(ext_field 102 'e["contacts"][0]["transport"]')" = tcp ]
REG_TRANSPORT=t1 REG_EXPIRES="Expires: 0" REG_CONTACT="<sip:102@127.0.0.1:$port;transport=tcp>" reg_run b 102 secret102
check "unregister over TCP: 200" [ "$(reg_code b)" = 200 ]
check "status: 102 offline" ext_state_is 102 offline
check "sipd exits 0" stop_daemon sipd
tst_pass
