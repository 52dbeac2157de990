#!/usr/bin/env bash
# Several contacts per extension: three phones (different Call-IDs and ports, one over
# TCP) register as 101; each 200 lists all current bindings; status shows three contacts.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/registrar.sh"
tst_init
need sipp
tst_config </dev/null
start_daemon sipd

REG_EXPIRES="Expires: 600" reg_run a 101 secret101
REG_EXPIRES="Expires: 900" reg_run b 101 secret101
REG_TRANSPORT=t1 REG_EXPIRES="Expires: 1200" reg_run c 101 secret101
check "third registration answered 200" [ "$(reg_code c)" = 200 ]
check "200 lists three bindings" [ "$(reg_last c | grep -c '^Contact:')" = 3 ]
for e in 600 900 1200; do
    check "200 lists a binding with expires=$e (or one less)" grep -Eq "^Contact: <[^>]+>;expires=($e|$((e - 1)))\$" <(reg_last c | tr -d '\r')
done
check "status: three contacts" [ "$(ext_field 101 'len(e["contacts"])')" = 3 ]
check "status: transports" [ "$(ext_field 101 '",".join(sorted(c["transport"] for c in e["contacts"]))')" = "tcp,udp,udp" ]
check "status: latest expiry first" [ "$(ext_field 101 'e["contacts"][0]["transport"]')" = tcp ]
check "sipd exits 0" stop_daemon sipd
tst_pass
