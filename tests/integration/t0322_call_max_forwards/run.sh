#!/bin/bash
# t0322 — the callee's INVITE carries the caller's Max-Forwards minus one
# (70 -> 69, 2 -> 1), so two PBXs routing a number to each other cannot
# loop forever; a caller's Max-Forwards: 0 gets 483 and rings nobody.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
calls_start </dev/null
sipp_register 101 "$UAS_PORT"

# scenarios for caller Max-Forwards N and callee expecting N-1
scenarios() {
    sed "s/Max-Forwards: 70/Max-Forwards: $1/" "$SC/uac_call.xml" > "$T/uac_mf$1.xml"
    $PY - "$SC/uas_answer.xml" "$T/uas_mf$1.xml" "$2" <<'PY'
import sys
src, dst, want = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src).read()
check = ('<ereg regexp="^[ ]*%s[ ]*$" search_in="hdr" header="Max-Forwards:" '
         'check_it="true" assign_to="dummy"/>\n      ' % want)
marker = '<ereg regexp="a=ptime:20"'
assert marker in text
open(dst, "w").write(text.replace(marker, check + marker, 1))
PY
}

for mf in 70 2; do
    scenarios "$mf" $((mf - 1))
    sipp_bg "callee$mf" -sf "$T/uas_mf$mf.xml" -p "$UAS_PORT"
    sipp_run "caller$mf" -sf "$T/uac_mf$mf.xml" -s 101 -au 100 -ap secret100 \
        -key caller 100 -auth_uri "101@127.0.0.1:$SIP_PORT" -d 300 -p "$UAC_PORT" \
        || { sipp_dump "caller$mf"; fail "call with Max-Forwards $mf failed"; }
    sipp_wait "callee$mf" \
        || { sipp_dump "callee$mf"; fail "callee did not get Max-Forwards $((mf - 1)) (caller sent $mf)"; }
    tst_log "Max-Forwards $mf -> $((mf - 1)) at the callee"
done
check "two answered CDRs" cdr_wait 2

# Max-Forwards: 0 toward an extension: 483, and 101 is never rung
# (a callee scenario expecting the INVITE would time out; none runs).
$PY - "$SIP_PORT" > "$T/mf0.out" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
lport = s.getsockname()[1]
msg = ("INVITE sip:101@127.0.0.1:%d SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-mf0-1;rport\r\n"
       "Max-Forwards: 0\r\n"
       "From: <sip:100@127.0.0.1>;tag=mf0\r\n"
       "To: <sip:101@127.0.0.1>\r\n"
       "Call-ID: mf0-%d@127.0.0.1\r\n"
       "CSeq: 1 INVITE\r\n"
       "Contact: <sip:100@127.0.0.1:%d>\r\n"
       "Content-Length: 0\r\n\r\n") % (port, lport, lport, lport)
s.settimeout(3)
s.sendto(msg.encode(), ("127.0.0.1", port))
data, _ = s.recvfrom(65535)
print(data.split(b"\r\n", 1)[0].decode())
PY
check "Max-Forwards 0 answered 483" grep -q '^SIP/2.0 483' "$T/mf0.out"
check "sipd still answers" wait_ping sipd 2
stop_daemon sipd || fail "sipd did not exit cleanly"
tst_pass
