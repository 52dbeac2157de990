#!/usr/bin/env bash
# Registrations survive a sipd restart: bindings are written to data_dir/spool/
# registrations.json and reloaded; one that expired while sipd was down is dropped.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
min_expires = 2
INI
start_daemon sipd

REG_EXPIRES="Expires: 600" reg_run a 100 secret100 && port_a=$REG_PORT
REG_TRANSPORT=t1 REG_EXPIRES="Expires: 600" reg_run b 101 secret101
REG_EXPIRES="Expires: 5" reg_run c 102 secret102
c_end=$(( ${EPOCHREALTIME/./} / 1000 + 5000 ))   # when 102's binding runs out (ms)
check "three registered" [ "$(reg_code a) $(reg_code b) $(reg_code c)" = "200 200 200" ]
file=$DATA_DIR/spool/registrations.json
has_three() { [ -f "$file" ] && [ "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["bindings"]))' "$file")" = 3 ]; }
check "registrations.json written (coalesced, fsync'd by a background thread: within 10 s even on a loaded machine)" wait_for 10 has_three
check "sipd exits 0" stop_daemon sipd
check "no temporary file left" [ ! -e "$file.tmp" ]
# 102's binding (5 s) runs out while sipd is down: restart 1 s after its end.
for ((i = 0; i < 100 && ${EPOCHREALTIME/./} / 1000 < c_end + 1000; i++)); do sleep 0.1; done
start_daemon sipd
check "restored bindings logged" grep -q 'restored 2 bindings' "$T/sipd.log"
check "status after restart: 100 idle" ext_state_is 100 idle
check "status after restart: 101 idle" ext_state_is 101 idle
check "status after restart: 102 offline (expired meanwhile)" ext_state_is 102 offline
check "100 keeps its contact" [ "$(ext_field 100 'e["contacts"][0]["uri"]')" = "sip:100@127.0.0.1:$port_a" ]
check "100 keeps its user agent" [ "$(ext_field 100 'e["contacts"][0]["user_agent"]')" = SIPp-registrar-test ]
check "101 keeps transport tcp" [ "$(ext_field 101 'e["contacts"][0]["transport"]')" = tcp ]
exp=$(ext_field 100 'e["contacts"][0]["expires_in"]')
check "100's expiry kept counting ($exp)" [ "$exp" -gt 540 -a "$exp" -lt 600 ]
check "sipd exits 0 again" stop_daemon sipd
tst_pass
