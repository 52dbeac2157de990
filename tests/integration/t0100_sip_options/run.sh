#!/usr/bin/env bash
# OPTIONS answered 200 with Allow, Accept and Supported over UDP, TCP and
# IPv6; unknown method 405 with Allow; a retransmitted request is answered
# from its transaction (same To tag), not handled twice.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config </dev/null
SIPC="$PY $TOOLS/sipclient.py"

cat > "$T/options.sip" <<'SIP'
OPTIONS sip:100@127.0.0.1 SIP/2.0
Via: SIP/2.0/$TRANSPORT $LOCAL_IP:$LOCAL_PORT;rport;branch=$BRANCH
Max-Forwards: 70
To: <sip:100@127.0.0.1>
From: <sip:200@127.0.0.1>;tag=$TAG
Call-ID: $CALLID
CSeq: 1 OPTIONS
Content-Length: 0

SIP
sed -e 's/^OPTIONS sip/FROBNICATE sip/' -e 's/CSeq: 1 OPTIONS/CSeq: 1 FROBNICATE/' \
    "$T/options.sip" > "$T/frob.sip"

start_daemon sipd

out=$($SIPC --show Allow --show Accept --show Supported 127.0.0.1 "$SIP_PORT" "$T/options.sip")
check "UDP OPTIONS -> 200 (got: $out)" grep -qx "200 OK" <<<"$out"
check "Allow lists OPTIONS and REGISTER" grep -qE "^Allow: .*OPTIONS.*REGISTER|^Allow: .*REGISTER.*OPTIONS" <<<"$out"
check "Accept: application/sdp" grep -qx "Accept: application/sdp" <<<"$out"
check "Supported header present" grep -q "^Supported:" <<<"$out"

out=$($SIPC --tcp --show Via 127.0.0.1 "$SIP_PORT" "$T/options.sip")
check "TCP OPTIONS -> 200 (got: $out)" grep -qx "200 OK" <<<"$out"
check "TCP Via has rport and received" grep -qE "^Via: SIP/2.0/TCP .*rport=[0-9]+.*received=127.0.0.1" <<<"$out"

out=$($SIPC --show Allow 127.0.0.1 "$SIP_PORT" "$T/frob.sip")
check "unknown method -> 405 (got: $out)" grep -qx "405 Method Not Allowed" <<<"$out"
check "405 carries Allow" grep -q "^Allow: .*OPTIONS" <<<"$out"

# Retransmission: the same bytes twice from the same port. A stateless
# answer would carry a fresh To tag each time; the transaction resends
# the same response.
out=$($PY - "$SIP_PORT" "$T/options.sip" <<'PYEOF'
import socket, sys, re
port, path = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(2)
lp = s.getsockname()[1]
t = open(path, "rb").read().replace(b"\n", b"\r\n")
t = t.replace(b"$TRANSPORT", b"UDP").replace(b"$LOCAL_IP", b"127.0.0.1")
t = t.replace(b"$LOCAL_PORT", str(lp).encode()).replace(b"$BRANCH", b"z9hG4bKretrans1")
t = t.replace(b"$TAG", b"rt1").replace(b"$CALLID", b"retrans@test")
tags = []
for i in range(2):
    s.sendto(t, ("127.0.0.1", port))
    data = s.recv(65536)
    m = re.search(rb"^To:.*;tag=([^;\r\n]+)", data, re.M)
    tags.append(m.group(1).decode() if m else "none")
print(" ".join(tags))
PYEOF
)
set -- $out
check "retransmission answered from the transaction (tags: $out)" test "$#" -eq 2 -a "$1" = "$2" -a "$1" != none

check "sipd still answers ping" wait_ping sipd 2
stop_daemon sipd
check "sipd exits 0 on SIGTERM" test $? -eq 0

# IPv6: listen on [::1] when the host has it
if $PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
    sed -i "s/^listen = .*/listen = [::1]:$SIP_PORT/" "$CONF"
    start_daemon sipd
    out=$($SIPC ::1 "$SIP_PORT" "$T/options.sip")
    check "IPv6 UDP OPTIONS -> 200 (got: $out)" grep -qx "200 OK" <<<"$out"
    out=$($SIPC --tcp ::1 "$SIP_PORT" "$T/options.sip")
    check "IPv6 TCP OPTIONS -> 200 (got: $out)" grep -qx "200 OK" <<<"$out"
    stop_daemon sipd
else
    tst_log "no IPv6 loopback here: IPv6 part not run"
fi
tst_pass
