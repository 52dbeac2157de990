# tests/lib/calls.sh — helpers for the call tests (t03xx): SIPp callers and
# callees against a running sipd, and the CDRs sipd wrote to its journal.
#
# Usage in run.sh, after common.sh, tst_init, tst_config and start_daemon:
#     . "$(dirname "$0")/../lib/calls.sh"
#     calls_ports                      # UAS_PORT UAS2_PORT UAC_PORT UAC2_PORT
#     sipp_register 101 $UAS_PORT      # REGISTER with auth as 101
#     sipp_bg uas NAME -sf $SC/uas_answer.xml -p $UAS_PORT   # callee
#     sipp_run uac NAME -sf $SC/uac_call.xml -s 101 -au 100 -ap secret100 \
#              -key caller 100 -p $UAC_PORT
#     sipp_wait NAME                   # wait for a background SIPp
#     cdr_check 'disposition=ANSWERED' 'cause=16' ...   # the one CDR
#
# SIPp logs land in $T/sipp-NAME.log (screen and errors). SIPP_TIMEOUT
# (seconds, default 20) bounds each SIPp run.

SC=$TOP/tests/sipp/calls
declare -A SIPP_PIDS

# calls_start — how a SIPp call test begins: SIPp and python3 needed (else
# skip), the default config plus the overrides on stdin, sipd running and
# the SIPp ports picked (calls_ports).
calls_start() {
    need sipp python3
    tst_init
    tst_config
    start_daemon sipd
    calls_ports
}

calls_ports() {
    local ports
    ports=($(tst_ports 4)) || fail "no free ports"
    UAS_PORT=${ports[0]}; UAS2_PORT=${ports[1]}; UAC_PORT=${ports[2]}
    UAC2_PORT=${ports[3]}
}

# media_port — a port P with P..P+3 free (and reserved, see tst_ports): SIPp binds its
# audio and video media sockets (P and P+2) even when no RTP is sent.
media_port() {
    tst_ports 1 4
}

# sipp_cmd NAME args... — the SIPp command line with our defaults.
sipp_cmd() {
    local name=$1
    shift
    echo sipp -i 127.0.0.1 -m 1 -nostdin -timeout "${SIPP_TIMEOUT:-20}" -timeout_error \
        -trace_err -error_file "$T/sipp-$name.err" \
        -trace_msg -message_file "$T/sipp-$name.msg" \
        -trace_screen -screen_file "$T/sipp-$name.screen" \
        -mp "$(media_port)" "$@"
}

# sipp_register EXT PORT — register EXT (password secretEXT) from PORT.
sipp_register() {
    local ext=$1 port=$2
    timeout -k 2 15 $(sipp_cmd "reg$ext-$port" -sf "$SC/register.xml" \
        -s "$ext" -au "$ext" -ap "secret$ext" -p "$port" \
        "127.0.0.1:$SIP_PORT") >/dev/null 2>&1 \
        || fail "SIPp could not register $ext from port $port"
}

# sipp_run NAME args... TARGET — run SIPp in the foreground; returns its status.
sipp_run() {
    local name=$1
    shift
    timeout -k 2 $(( ${SIPP_TIMEOUT:-20} + 10 )) $(sipp_cmd "$name" "$@" "127.0.0.1:$SIP_PORT") \
        >"$T/sipp-$name.log" 2>&1
}

# sipp_bg NAME args... — start SIPp in the background (a callee).
sipp_bg() {
    local name=$1
    shift
    timeout -k 2 $(( ${SIPP_TIMEOUT:-20} + 20 )) $(sipp_cmd "$name" "$@") >"$T/sipp-$name.log" 2>&1 &
    SIPP_PIDS[$name]=$!
    tst_track "$!"
    # A callee (-p PORT): wait until SIPp has bound its port (its start-up takes 0.2-0.6 s
    # on a loaded machine), so sipd's INVITE does not hit a closed port. Others: 0.3 s.
    local arg prev="" port=""
    for arg in "$@"; do [ "$prev" = -p ] && port=$arg; prev=$arg; done
    if [ -n "$port" ]; then
        wait_for 5 sipp_port_bound "$port" || tst_log "note: SIPp $name has not bound port $port after 5 s"
    else
        sleep 0.3
    fi
}

# sipp_port_bound PORT — something has bound 127.0.0.1:PORT (UDP or TCP): we cannot.
sipp_port_bound() {
    $PY - "$1" <<'PY'
import socket, sys
for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(0)
    finally:
        s.close()
sys.exit(1)
PY
}

# sipp_wait NAME [SECONDS] — wait for a background SIPp; returns its status.
sipp_wait() {
    local name=$1 limit=${2:-25} pid i
    pid=${SIPP_PIDS[$name]}
    for ((i = 0; i < limit * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid"
}

# sipp_dump NAME — show what SIPp saw (for failures).
sipp_dump() {
    local f
    for f in "$T/sipp-$1".{log,err,screen}; do
        [ -s "$f" ] && { printf -- '--- %s\n' "$(basename "$f")" >&2; tail -n 40 "$f" >&2; }
    done
    return 0
}

# cdr_wait N [SECONDS] — wait until the journal holds N CDRs.
cdr_count() {
    cat "$DATA_DIR"/spool/cdr-*.journal 2>/dev/null | grep -c '^C ' || true
}
cdr_wait() {
    local n=$1 limit=${2:-10}
    wait_for "$limit" test "$(cdr_count)" -ge "$n"
}

# cdr_check [-n INDEX] key=value... — assert fields of CDR INDEX (default:
# the only one; -n 0 the first, -n -1 the last) read from sipd's journal.
# key~regex matches with a regular expression.
cdr_check() {
    local index=only
    if [ "$1" = -n ]; then index=$2; shift 2; fi
    $PY - "$DATA_DIR/spool" "$index" "$@" <<'PY' || fail "CDR check failed"
import glob, json, re, sys
spool, index, checks = sys.argv[1], sys.argv[2], sys.argv[3:]
cdrs = []
for path in sorted(glob.glob(spool + "/cdr-*.journal")):
    for line in open(path, encoding="utf-8"):
        if line.startswith("C "):
            cdrs.append(json.loads(line[2:]))
if index == "only":
    if len(cdrs) != 1:
        print("expected exactly one CDR, found %d: %s" % (len(cdrs), cdrs), file=sys.stderr)
        sys.exit(1)
    cdr = cdrs[0]
else:
    cdr = cdrs[int(index)]
ok = True
for check in checks:
    m = re.match(r"([a-z_]+)([=~])(.*)", check)
    key, op, want = m.group(1), m.group(2), m.group(3)
    got = cdr.get(key)
    got = "" if got is None else str(got)
    good = got == want if op == "=" else re.search(want, got) is not None
    print("%s cdr %s %s %r (got %r)" % ("ok -" if good else "NOT", key, op, want, got), file=sys.stderr)
    ok = ok and good
if not ok:
    print(json.dumps(cdr, indent=1), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# sc_uac_fail CODE HEADER REGEXP [CODECS] — write $T/uac_fail_CODE.xml: a
# caller (407 auth) offering CODECS (payload types, default "0 8 101")
# expecting final CODE whose HEADER matches REGEXP; prints the path.
sc_uac_fail() {
    local out=$T/uac_fail_$1.xml
    sed -e "s/@CODE@/$1/g" -e "s|@HDR@|$2|g" -e "s|@REGEXP@|$3|g" \
        -e "s|@CODECS@|${4:-0 8 101}|g" "$SC/uac_fail.xml.in" > "$out"
    echo "$out"
}

# sipp_saw NAME REGEXP — SIPp NAME's message log has a line matching REGEXP.
sipp_saw() {
    grep -Eq -- "$2" "$T/sipp-$1.msg"
}

# caller_args EXT [PASSWORD [FROM [PORT]]] — SIPp options for a caller that
# is extension FROM (default 100, password secretFROM) dialling EXT.
caller_args() {
    local from=${3:-100}
    echo -s "$1" -au "$from" -ap "${2:-secret$from}" -key caller "$from" \
        -auth_uri "$1@127.0.0.1:$SIP_PORT" -p "${4:-$UAC_PORT}"
}

# ext_state EXT — the state of EXT in sipd's status reply.
ext_state() {
    ipc sipd status | $PY -c '
import json, sys
line = sys.stdin.read()
body = json.loads(line[line.index("{"):])
for e in body.get("extensions", []):
    if e.get("number") == sys.argv[1]:
        print(e.get("state"))
' "$1"
}

# ext_is EXT STATE — true when sipd reports EXT in STATE (for wait_for).
ext_is() {
    test "$(ext_state "$1")" = "$2"
}

# live_calls — number of calls in sipd's "calls" control reply.
live_calls() {
    ipc sipd calls | $PY -c '
import json, sys
line = sys.stdin.read()
print(len(json.loads(line[line.index("{"):]).get("calls", [])))'
}

# live_calls_is N — true when sipd reports N live calls (for wait_for).
live_calls_is() {
    test "$(live_calls)" = "$1"
}

# call_state_is STATE — true when sipd's first live call is in STATE
# (routing, ringing, answered, confirmed, ending).
call_state_is() {
    test "$(ipc sipd calls | $PY -c '
import json, sys
line = sys.stdin.read()
calls = json.loads(line[line.index("{"):]).get("calls", [])
print(calls[0]["state"] if calls else "")')" = "$1"
}
