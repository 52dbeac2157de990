#!/usr/bin/env bash
# SIP over TCP: Content-Length framing (pipelined, split, bodies), CRLF
# keep-alives, connection reuse, 400-and-close without Content-Length,
# idle connection cleanup and the connection limit.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config <<'INI'
[sipd]
tcp_idle_timeout = 10
tcp_max_connections = 5
INI
F="$PY $(cd "$(dirname "$0")" && pwd)/framing.py"
start_daemon sipd

expect() {  # expect CASE "expected lines"
    local out
    out=$($F "$SIP_PORT" "$1" 2>&1 | tr '\n' '|')
    check "tcp $1 (want: $2, got: $out)" test "$out" = "$2"
}
expect pipelined "200 OK|200 OK|200 OK|"
expect split "200 OK|"
expect keepalive "PONG|PONG|200 OK|"
expect reuse "200 OK|200 OK|200 OK|"
expect nolength "400 Missing or Bad Content-Length|CLOSED|"
expect limit "EXTRA-CLOSED|200 OK|200 OK|200 OK|200 OK|200 OK|"
expect idle "200 OK|CLOSED|"
check "idle close was logged" grep -q "idle, closing" "$T/sipd.log"
check "connection limit was logged" grep -q "connection limit (5) reached" "$T/sipd.log"
check "sipd still answers ping" wait_ping sipd 2
stop_daemon sipd
check "sipd exits 0" test $? -eq 0
tst_pass
