#!/usr/bin/env bash
# sipd -c FILE exits 2 with one clear line naming the config key when it
# cannot bind the SIP address (UDP or TCP taken, address not local, not
# numeric).
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config </dev/null

# expect_exit2 WHAT PATTERN — run sipd, want exit 2 and one matching line
expect_exit2() {
    local what=$1 pattern=$2 out rc
    out=$(timeout 10 "$BIN/sipd" -c "$CONF" 2>&1 >/dev/null)
    rc=$?
    out=$(grep -v 'lvl=' <<<"$out")
    check "$what: exit 2 (got $rc)" test "$rc" -eq 2
    check "$what: one line (got: $out)" test "$(printf '%s\n' "$out" | wc -l)" -eq 1
    check "$what: names the key and reason (got: $out)" grep -qE "$pattern" <<<"$out"
}

hold() {  # hold PROTO PORT — keep a socket bound in the background (returns once bound)
    rm -f "$T/hold.ready"
    $PY - "$1" "$2" "$T/hold.ready" <<'PYEOF' &
import socket, sys, time
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", int(sys.argv[2])))
if kind == socket.SOCK_STREAM:
    s.listen(1)
open(sys.argv[3], "w").close()
time.sleep(30)
PYEOF
    HOLD=$!
    tst_track "$HOLD"
    wait_for 30 test -e "$T/hold.ready" \
        || fail "could not hold $1 port $2 (helper: $(ps -o stat=,etime=,args= -p "$HOLD" 2>&1 || echo gone))"
}

hold udp "$SIP_PORT"
expect_exit2 "UDP port taken" "^sipd: .*sipserver.conf:[0-9]+: \[sipd\] listen: cannot bind UDP 127.0.0.1 port $SIP_PORT: Address already in use$"
kill "$HOLD"; wait "$HOLD" 2>/dev/null

hold tcp "$SIP_PORT"
expect_exit2 "TCP port taken" "\[sipd\] listen: cannot bind TCP 127.0.0.1 port $SIP_PORT: Address already in use$"
kill "$HOLD"; wait "$HOLD" 2>/dev/null

sed -i "s/^listen = .*/listen = 192.0.2.1:$SIP_PORT/" "$CONF"
expect_exit2 "address not local" "\[sipd\] listen: cannot bind UDP 192.0.2.1 port $SIP_PORT: Cannot assign requested address$"

sed -i "s/^listen = .*/listen = localhost:$SIP_PORT/" "$CONF"
expect_exit2 "host name" "\[sipd\] listen: localhost is not a numeric IPv4 or IPv6 address$"

# and with the port free again it starts
sed -i "s/^listen = .*/listen = 127.0.0.1:$SIP_PORT/" "$CONF"
start_daemon sipd
stop_daemon sipd
check "sipd starts and stops cleanly once the port is free" test $? -eq 0
tst_pass
