#!/usr/bin/env bash
# Several contacts per extension: three phones (different Call-IDs and ports, one over
# TCP) register as 101; each 200 lists all current bindings; status shows three contacts.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config </dev/null
start_daemon sipd

REG_EXPIRES="Expires: 600" reg_run a 101 secret101
REG_EXPIRES="Expires: 900" reg_run b 101 secret101
REG_TRANSPORT=t1 REG_EXPIRES="Expires: 1200" reg_run c 101 secret101
check "third registration answered 200" [ "$(reg_code c)" = 200 ]
check "200 lists three bindings" [ "$(reg_last c | grep -c '^Contact:')" = 3 ]
# expires_near E — the 200 lists a binding whose expires is within E-10..E (time passes
# between the three registrations on a loaded machine)
expires_near() {
    reg_last c | tr -d '\r' | sed -n 's/^Contact: <[^>]*>;expires=\([0-9]*\).*/\1/p' \
        | awk -v e="$1" '$1 <= e && $1 >= e - 10 {found = 1} END {exit !found}'
}
for e in 600 900 1200; do
    check "200 lists a binding with expires near $e" expires_near $e
done
check "status: three contacts" [ "$(ext_field 101 'len(e["contacts"])')" = 3 ]
check "status: transports" [ "$(ext_field 101 '",".join(sorted(c["transport"] for c in e["contacts"]))')" = "tcp,udp,udp" ]
check "status: latest expiry first" [ "$(ext_field 101 'e["contacts"][0]["transport"]')" = tcp ]
check "sipd exits 0" stop_daemon sipd
tst_pass
