#!/usr/bin/env bash
# A corpus of our own unusual, invalid and huge SIP messages (RFC 4475
# categories) sent to a running sipd over UDP and TCP: each answer must be
# the one RFC 3261 asks for (or none where no answer can be routed), and
# sipd must stay up.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config <<'INI'
[sipd]
max_message_size = 16384
INI
SIPC="$PY $TOOLS/sipclient.py"
MSGS=$(dirname "$0")/msgs
MSGS=$(cd "$MSGS" && pwd)

# Huge messages, generated: header limits and long values.
$PY - "$T" <<'PYEOF'
import sys
t = sys.argv[1]
head = ("OPTIONS sip:%s@127.0.0.1 SIP/2.0\n"
        "Via: SIP/2.0/$TRANSPORT $LOCAL_IP:$LOCAL_PORT;rport;branch=$BRANCH%s\n"
        "Max-Forwards: 70\nTo: <sip:100@127.0.0.1>\n"
        "From: <sip:200@127.0.0.1>;tag=$TAG\nCall-ID: $CALLID\nCSeq: 1 OPTIONS\n")
def w(name, text):
    open("%s/%s" % (t, name), "w").write(text)
w("h01_huge_header.sip", head % ("100", "") + "X-Huge: " + "a" * 20000 + "\nContent-Length: 0\n\n")
w("h02_many_headers.sip", head % ("100", "") +
  "".join("X-H%d: value-%d\n" % (i, i) for i in range(300)) + "Content-Length: 0\n\n")
w("h03_long_uri.sip", head % ("u" * 4000, "") + "Content-Length: 0\n\n")
w("h04_many_via_params.sip", head % ("100", "".join(";p%d=v%d" % (i, i) for i in range(100)))
  + "Content-Length: 0\n\n")
w("h05_no_end_of_headers.sip", head % ("100", "") + "X-Pad: " + "b" * 20000 + "\n")
PYEOF

# file  transports  expected answer (regex on the status lines)
EXPECT=$(cat <<'TABLE'
v01_compact.sip            udp,tcp  ^200 OK$
v02_folded.sip             udp,tcp  ^200 OK$
v03_escaped_uri.sip        udp,tcp  ^200 OK$
v04_unknown_headers.sip    udp,tcp  ^200 OK$
v05_lowercase_noangle.sip  udp,tcp  ^200 OK$
v06_unknown_to_scheme.sip  udp,tcp  ^200 OK$
v07_body.sip               udp,tcp  ^200 OK$
v08_options_zero_mf.sip    udp,tcp  ^200 OK$
i01_cseq_mismatch.sip      udp,tcp  ^400 CSeq Method Mismatch$
i02_missing_callid.sip     udp,tcp  ^400 Missing Call-ID Header$
i03_sip3.sip               udp,tcp  ^505 Version Not Supported$
i04_register_zero_mf.sip   udp,tcp  ^483 Too Many Hops$
i05_require.sip            udp,tcp  ^420 Bad Extension$
i06_unknown_method.sip     udp,tcp  ^405 Method Not Allowed$
i07_bad_to.sip             udp,tcp  ^400 Bad To Header$
i08_clen_larger.sip        udp      ^400 Content-Length Larger Than Body$
i09_negative_clen.sip      udp      ^400 Bad Content-Length Header$
i09_negative_clen.sip      tcp      ^400 Missing or Bad Content-Length$
i10_double_space.sip       udp,tcp  ^400 Bad Request-Line$
i11_unknown_scheme.sip     udp,tcp  ^416 Unsupported URI Scheme$
i12_no_via.sip             udp,tcp  ^NO-RESPONSE$
i13_garbage.sip            udp,tcp  ^NO-RESPONSE$
i14_bad_expires.sip        udp,tcp  ^400 Bad Expires Header$
i15_ltgt_uri.sip           udp,tcp  ^400 Bad Request-URI$
i16_two_callids.sip        udp,tcp  ^400 Multiple Call-ID Headers$
i17_bad_date.sip           udp,tcp  ^400 Bad Date Header$
i18_bad_ack.sip            udp,tcp  ^NO-RESPONSE$
T:h01_huge_header.sip      udp,tcp  ^513 Message Too Large$
T:h02_many_headers.sip     udp,tcp  ^200 OK$
T:h03_long_uri.sip         udp,tcp  ^200 OK$
T:h04_many_via_params.sip  udp,tcp  ^200 OK$
T:h05_no_end_of_headers.sip tcp     ^513 Message Too Large$
TABLE
)

start_daemon sipd
# One client run per transport (Python starts slowly): all files in a row,
# each answer block labelled "== FILE".
n=0
for tr in udp tcp; do
    files=()
    while read -r file transports want; do
        [ -n "$file" ] || continue
        case ",$transports," in *",$tr,"*) ;; *) continue ;; esac
        case $file in T:*) files+=("$T/${file#T:}") ;; *) files+=("$MSGS/$file") ;; esac
    done <<<"$EXPECT"
    opt=""
    [ "$tr" = tcp ] && opt=--tcp
    $SIPC $opt --label --timeout 1 127.0.0.1 "$SIP_PORT" "${files[@]}" >"$T/answers-$tr.txt" 2>&1
    while read -r file transports want; do
        [ -n "$file" ] || continue
        case ",$transports," in *",$tr,"*) ;; *) continue ;; esac
        base=${file#T:}
        out=$(awk -v f="== $base" '$0 == f {on = 1; next} /^== / {on = 0} on' "$T/answers-$tr.txt")
        check "$tr $base -> $want (got: $(echo $out))" grep -qE "$want" <<<"$out"
        n=$((n + 1))
        # after a framing error or an oversized message, TCP is closed
        case "$tr:$want" in
            tcp:*513*|tcp:*"Bad Content-Length"*)
                check "tcp $base: connection closed after the answer" grep -qx CLOSED <<<"$out" ;;
        esac
    done <<<"$EXPECT"
done
check "sipd alive after $n messages" kill -0 "$(cat "$T/sipd.pid")"
check "sipd still answers ping" wait_ping sipd 2
out=$($SIPC 127.0.0.1 "$SIP_PORT" "$MSGS/v01_compact.sip")
check "sipd still answers OPTIONS" grep -qx "200 OK" <<<"$out"
stop_daemon sipd
check "sipd exits 0" test $? -eq 0
tst_pass
