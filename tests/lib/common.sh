# tests/lib/common.sh — shared helpers for integration units (tests/integration/tNNNN_*/run.sh).
#
# Usage in run.sh:
#     . "$(dirname "$0")/../../lib/common.sh"
#     tst_init                         # temp dir $T, cleanup trap, $BIN
#     tst_config <<'INI'               # writes $T/sipserver.conf with free ports
#     [sipd]
#     no_answer_timeout = 5
#     INI
#     start_daemon sipd                # waits until it answers ping
#     ... assertions: check "what" command... / fail "why" ...
#     stop_daemon sipd                 # SIGTERM, returns its exit code
#     tst_pass
#
# Exit status of run.sh: 0 pass, 77 skipped (a needed tool is missing), else fail.
# Variables after tst_config: SIP_PORT (UDP+TCP), TRUNK_PORT, CB_PORT, WEB_PORT,
# IPC_SIPD IPC_MEDIAD IPC_CDRD IPC_EVENTS IPC_CALLBACKD IPC_WEBD, RTP_LOW, RTP_HIGH,
# DATA_DIR, CONF.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SIPSERVER_BIN:-$TOP/build/bin}
case $BIN in /*) ;; *) BIN=$TOP/$BIN ;; esac
TOOLS=$TOP/tests/tools
PY=/usr/bin/python3
TST_PIDS=()

tst_log() { printf '%s\n' "$*" >&2; }

# Print the tail of every daemon log, to explain a failure.
tst_dump_logs() {
    local f
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        printf -- '--- %s (last 30 lines)\n' "$(basename "$f")" >&2
        tail -n 30 "$f" >&2
    done
}

fail() {
    tst_log "FAIL: $*"
    tst_dump_logs
    exit 1
}

skip() {
    tst_log "SKIP: $*"
    exit 77
}

tst_pass() {
    tst_log "PASS"
    exit 0
}

# check "description" command... — run the command, fail with the description if it fails.
check() {
    local what=$1
    shift
    if "$@"; then
        tst_log "ok - $what"
    else
        fail "$what (command: $*)"
    fi
}

tst_cleanup() {
    local pid
    for pid in "${TST_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    sleep 0.2
    for pid in "${TST_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    tst_ports_release
    [ -n "${T:-}" ] && [ -z "${KEEP_TMP:-}" ] && rm -rf "$T"
}

# tst_ports COUNT [SIZE] — print COUNT free ports (SIZE > 1: the first ports of COUNT blocks
# of SIZE consecutive ports), free for UDP and TCP on 127.0.0.1 and reserved for this test.
# They come from 10000-19999, outside the kernel's ephemeral range (32768-60999 on Debian:
# any connect() or bind to port 0 on the machine may take a port from there between our
# check and the daemon's bind, which failed runs with "cannot bind ...: Address already in
# use") and outside the phones' blocks (20000-29999). A reservation is a file
# $TST_PORT_LOCKS/PORT holding the test's PID, created atomically; one whose owner is gone
# is taken over; ours are removed when the test exits.
TST_PORT_LOCKS=${TST_PORT_LOCKS:-/tmp/sipserver-test-ports}
tst_ports() {
    $PY - "${1:-1}" "${2:-1}" "$$" "$TST_PORT_LOCKS" <<'PY'
import os, random, socket, sys
count, size, owner, locks = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    eph_lo, eph_hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except (OSError, ValueError):
    eph_lo, eph_hi = 32768, 60999
ok = lambda p: not (eph_lo <= p <= eph_hi) and not (20000 <= p <= 29999)
bases = [b for b in range(10000, 20000 - size + 1) if ok(b) and ok(b + size - 1)]
bases += [b for b in range(61000, 65536 - size) if ok(b) and ok(b + size - 1)]
if len(bases) < 1000:   # an unusual ephemeral range covers them: take 10000-19999 anyway
    bases = list(range(10000, 20000 - size + 1))
os.makedirs(locks, exist_ok=True)

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True

def reserve(port):
    path = os.path.join(locks, str(port))
    tmp = "%s.%s.%d" % (path, owner, random.randrange(1 << 30))
    with open(tmp, "w") as f:
        f.write(owner)
    try:
        for _ in range(2):
            try:
                os.link(tmp, path)      # atomic: fails when the port is reserved
                return True
            except FileExistsError:
                try:
                    pid = int(open(path).read() or "0")
                except (OSError, ValueError):
                    return False        # being written or unreadable: not ours
                if pid and alive(pid):
                    return False
                try:                    # stale: move it away, then try again
                    os.rename(path, tmp + ".stale")
                    os.unlink(tmp + ".stale")
                except OSError:
                    return False
        return False
    finally:
        os.unlink(tmp)

def free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True

def release(port):
    try:
        if open(os.path.join(locks, str(port))).read() == owner:
            os.unlink(os.path.join(locks, str(port)))
    except OSError:
        pass

got = []
for _ in range(2000):
    if len(got) == count:
        break
    base = random.choice(bases)
    block = list(range(base, base + size))
    if any(p in b for b in got for p in block):
        continue
    held = []
    for p in block:
        if not reserve(p):
            break
        held.append(p)
    if len(held) == size and all(free(p) for p in block):
        got.append(block)
    else:
        for p in held:
            release(p)
if len(got) < count:
    for b in got:
        for p in b:
            release(p)
    sys.exit("tst_ports: no free ports")
print(" ".join(str(b[0]) for b in got))
PY
}

# tst_ports_release — drop this test's port reservations (done at exit).
tst_ports_release() {
    grep -lxsF -- "$$" "$TST_PORT_LOCKS"/* 2>/dev/null | xargs -r rm -f --
    return 0
}

tst_init() {
    T=$(mktemp -d /tmp/sipserver-test.XXXXXX)
    trap tst_cleanup EXIT
    trap 'exit 1' INT TERM
    [ -x "$BIN/sipd" ] || fail "programs not built in $BIN (run make)"
}

# Remember a background PID so cleanup kills it.
tst_track() { TST_PIDS+=("$1"); }

# tst_config — write $T/sipserver.conf: free ports everywhere, data in $T/var;
# INI lines on stdin override or add keys (same section/key replaces).
tst_config() {
    local ports
    ports=($(tst_ports 11)) || fail "no free ports"
    SIP_PORT=${ports[0]}; TRUNK_PORT=${ports[1]}; CB_PORT=${ports[2]}; WEB_PORT=${ports[3]}
    IPC_SIPD=tcp://127.0.0.1:${ports[4]}; IPC_MEDIAD=tcp://127.0.0.1:${ports[5]}
    IPC_CDRD=tcp://127.0.0.1:${ports[6]}; IPC_EVENTS=tcp://127.0.0.1:${ports[7]}
    IPC_CALLBACKD=tcp://127.0.0.1:${ports[8]}; IPC_WEBD=tcp://127.0.0.1:${ports[9]}
    SMTP_PORT=${ports[10]}
    RTP_LOW=$(( (RANDOM % 2000) * 10 + 30000 )); RTP_HIGH=$(( RTP_LOW + 999 ))
    DATA_DIR=$T/var
    CONF=$T/sipserver.conf
    local overrides
    overrides=$(cat 2>/dev/null || true)
    cat > "$T/base.conf" <<CONF
[general]
data_dir = $DATA_DIR
log_level = debug
[ipc]
sipd = $IPC_SIPD
mediad = $IPC_MEDIAD
cdrd = $IPC_CDRD
events = $IPC_EVENTS
callbackd = $IPC_CALLBACKD
webd = $IPC_WEBD
[sipd]
listen = 127.0.0.1:$SIP_PORT
realm = sipserver
outgoing_prefix = 9
trunk = 127.0.0.1:$TRUNK_PORT
no_answer_timeout = 30
[extensions]
100 = secret100
101 = secret101
102 = secret102
103 = secret103
[mediad]
address = 127.0.0.1
rtp_ports = $RTP_LOW-$RTP_HIGH
[callbackd]
port = $CB_PORT
app_server = 127.0.0.1
[cdrd]
backend = sqlite
dsn = $DATA_DIR/cdr.sqlite
csv = yes
[webd]
listen = 127.0.0.1:$WEB_PORT
smtp_url = smtp://127.0.0.1:$SMTP_PORT
public_url = http://127.0.0.1:$WEB_PORT
CONF
    printf '%s\n' "$overrides" > "$T/overrides.conf"
    $PY "$TOOLS/conf-merge.py" "$T/base.conf" "$T/overrides.conf" > "$CONF" \
        || fail "cannot write config"
    mkdir -p "$DATA_DIR"
}

# ipc_endpoint NAME — the control endpoint of a daemon from the config.
ipc_endpoint() {
    case $1 in
        sipd) echo "$IPC_SIPD" ;; mediad) echo "$IPC_MEDIAD" ;; cdrd) echo "$IPC_CDRD" ;;
        callbackd) echo "$IPC_CALLBACKD" ;; webd) echo "$IPC_WEBD" ;;
        *) fail "no endpoint for $1" ;;
    esac
}

# ipc NAME TYPE [JSON] — request/reply on a daemon's control socket; prints "type {json}".
ipc() {
    local name=$1
    shift
    "$BIN/sipctl" -t 3000 "$(ipc_endpoint "$name")" "$@"
}

# wait_ping NAME [SECONDS] — until the daemon answers ping.
wait_ping() {
    local name=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 10; i++)); do
        "$BIN/sipctl" -t 200 "$(ipc_endpoint "$name")" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# start_daemon NAME [extra args] — start with $CONF, log to $T/NAME.log, wait for ping.
start_daemon() {
    local name=$1
    shift
    "$BIN/$name" -c "$CONF" "$@" >>"$T/$name.log" 2>&1 &
    local pid=$!
    echo "$pid" > "$T/$name.pid"
    tst_track "$pid"
    local i
    for ((i = 0; i < 100; i++)); do
        "$BIN/sipctl" -t 200 "$(ipc_endpoint "$name")" ping >/dev/null 2>&1 && return 0
        if ! kill -0 "$pid" 2>/dev/null; then   # exited (bad config, port taken): say so now
            wait "$pid"
            fail "$name exited with code $? while starting"
        fi
        sleep 0.1
    done
    fail "$name did not answer ping within 10 s"
}

# stop_daemon NAME — SIGTERM and wait (at most 5 s); logs how long it took (stderr), returns
# the exit code.
stop_daemon() {
    local name=$1 pid i rc start=${EPOCHREALTIME/./}
    pid=$(cat "$T/$name.pid")
    kill -TERM "$pid" 2>/dev/null || return 99
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
        tst_log "stop_daemon $name: still running 5 s after SIGTERM, killed"
        return 98
    fi
    wait "$pid"
    rc=$?
    tst_log "stop_daemon $name: exit $rc after $(( (${EPOCHREALTIME/./} - start) / 1000 )) ms"
    return $rc
}

# wait_for SECONDS command... — poll until the command succeeds.
wait_for() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# need TOOL... — skip when a tool is missing (make deps installs them all).
need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}
