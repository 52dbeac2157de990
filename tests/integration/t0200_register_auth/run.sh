#!/usr/bin/env bash
# SIPp registers 100 with digest auth over UDP: 401 with MD5 and SHA-256 challenges
# (qop=auth), then 200 with the binding, its expiry and a Date; status shows 100 idle.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
max_expires = 1800
INI
start_daemon sipd

reg_run a 100 secret100 || fail "SIPp registration failed: $(tail -3 "$T/a.out")"
check "answers are 401 then 200" [ "$(reg_codes a)" = "401 200" ]
challenge=$(reg_answers a | awk 'BEGIN{RS="\n=====\n"} NR==1')
check "401 offers MD5 first" grep -Eq '^WWW-Authenticate: Digest realm="sipserver", nonce="[0-9a-f]+", algorithm=MD5, qop="auth"' <<<"$challenge"
check "401 offers SHA-256" grep -q 'algorithm=SHA-256' <<<"$challenge"
ok=$(reg_last a)
tst_log "$ok"
# Expires: 3600 asked, max_expires 1800 granted
check "200 lists the binding with its expiry" grep -Eq "^Contact: <sip:100@127.0.0.1:$REG_PORT>;expires=1800" <<<"$ok"
check "200 has a Date header" grep -Eq '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT' <<<"$ok"

check "status: 100 idle" ext_state_is 100 idle
check "status: user agent" [ "$(ext_field 100 'e["contacts"][0]["user_agent"]')" = SIPp-registrar-test ]
check "status: transport udp" [ "$(ext_field 100 'e["contacts"][0]["transport"]')" = udp ]
check "status: received address" [ "$(ext_field 100 'e["contacts"][0]["received"]')" = "127.0.0.1:$REG_PORT" ]
exp=$(ext_field 100 'e["contacts"][0]["expires_in"]')
check "status: expires_in $exp within 1790..1800" [ "$exp" -ge 1790 -a "$exp" -le 1800 ]
check "status: 101 offline" ext_state_is 101 offline
one=$(ipc sipd status '{"number":"100"}')
check "status for one number lists only it" grep -q '^status {"extensions":\[{"number":"100","state":"idle",.*\],"total":1,"offset":0' <<<"$one"
page=$(ipc sipd status '{"offset":1,"limit":2}')
check "status paging: 101 and 102 of 4" grep -q '^status {"extensions":\[{"number":"101",.*{"number":"102",.*\],"total":4,"offset":1' <<<"$page"
check "sipd exits 0" stop_daemon sipd
tst_pass
