#!/usr/bin/env bash
# Registration events on [ipc] events: a subscriber sees "reg" (registered, then
# unregistered) and "ext.status" (idle, then offline) for 100, in the cm_msg envelope.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
$PY -c 'import zmq' 2>/dev/null || skip "python3-zmq not installed"
tst_config </dev/null
start_daemon sipd

$PY "$(dirname "$0")/sub.py" "$IPC_EVENTS" 20 >"$T/events.log" 2>&1 &
tst_track $!
wait_for 5 grep -q '^ready' "$T/events.log" || fail "subscriber did not start"
# sipd builds only events somebody subscribed to: register 103 until the subscriber sees
# its event, so the subscription has surely reached sipd (a fixed 0.5 s may not suffice
# on a loaded machine); 103's events are left out below.
for ((i = 0; i < 10; i++)); do
    REG_EXPIRES="Expires: 600" reg_run warm$i 103 secret103
    wait_for 1 grep -q '"number":"103"' "$T/events.log" && break
done
grep -q '"number":"103"' "$T/events.log" || fail "no event reached the subscriber"

REG_EXPIRES="Expires: 600" reg_run a 100 secret100 && port=$REG_PORT
check "registered" [ "$(reg_code a)" = 200 ]
REG_EXPIRES="Expires: 0" REG_CONTACT="<sip:100@127.0.0.1:$port>" reg_run b 100 secret100
check "unregistered" [ "$(reg_code b)" = 200 ]
check "offline event received" wait_for 5 grep -q '^ext.status .*"state":"offline"' "$T/events.log"
cat "$T/events.log" >&2

events=$($PY - "$T/events.log" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    kind, _, body = line.strip().partition(" ")
    if kind in ("reg", "ext.status"):
        b = json.loads(body)
        if b.get("number") == "103":
            continue
        assert b["v"] == 1 and b["number"] == "100", b
        out.append(kind + ":" + b.get("event", b.get("state", "?")))
print(" ".join(out))
PY
)
check "events in order: $events" [ "$events" = "reg:registered ext.status:idle reg:unregistered ext.status:offline" ]
check "unregistered event has expires_in 0" grep -q "^reg .*\"event\":\"unregistered\".*\"expires_in\":0," "$T/events.log"
check "reg event carries the contact" grep -q "^reg .*\"uri\":\"sip:100@127.0.0.1:$port\".*\"expires_in\":600" "$T/events.log"
check "sipd exits 0" stop_daemon sipd
tst_pass
