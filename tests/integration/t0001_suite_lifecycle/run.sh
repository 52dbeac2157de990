#!/usr/bin/env bash
# Start all five daemons from a temporary config on loopback, ping each over
# ZeroMQ, stop each with SIGTERM and require exit 0 within 2 s.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config </dev/null

DAEMONS="cdrd mediad sipd callbackd webd"
for d in $DAEMONS; do
    start_daemon "$d"
done
for d in $DAEMONS; do
    reply=$(ipc "$d" ping) || fail "$d: no pong"
    check "$d answers pong with its name" grep -q "^pong .*\"name\":\"$d\"" <<<"$reply"
    check "$d pong carries version and uptime" grep -q '"version":"[0-9.]*".*"uptime_ms":[0-9]*' <<<"$reply"
    check "$d rejects an unknown request" bash -c "! ipc_out=\$('$BIN/sipctl' '$(ipc_endpoint "$d")' no.such.verb); [[ \$ipc_out == error* ]]"
done

# A malformed frame must not take a daemon down: raw 3-frame garbage.
$PY - "$IPC_SIPD" <<'PY' || skip "python3-zmq missing"
import sys
try:
    import zmq
except ImportError:
    sys.exit(77)
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
s.send_multipart([b"ping", b"{not json", b"x"])
s.send_multipart([b"ping", b"\xff" * 300000])
s.send_multipart([b""])
PY
check "sipd survives malformed IPC frames" wait_ping sipd 3

for d in $DAEMONS; do
    start=$(date +%s%N)
    stop_daemon "$d"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    check "$d exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0
    check "$d stops within 2 s (took ${ms} ms)" test "$ms" -lt 2000
    check "$d logged a clean stop" grep -q 'msg="stopping"' "$T/$d.log"
done
tst_pass
