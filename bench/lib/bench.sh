# bench/lib/bench.sh — helpers shared by bench/register/run.sh and bench/calls/run.sh.
#
# Everything runs on 127.0.0.1 with free ports (tests/tools/free-ports.py),
# every load is bounded in count (-m) and time (-timeout, timeout(1)), and
# every process started here is stopped by its PID on exit.
#
# Knobs (environment):
#   SIPSERVER_BIN        programs (default build/bin, or $BUILD/bin)
#   BENCH_STEP_SECONDS   duration of one rate step (default 10)
#   BENCH_TARGETS        "sipd kamailio" (default both; one of them to skip the other)
#   KEEP_TMP=1           keep the work directory (logs, SIPp stats)
#   BENCH_TRACE=1        SIPp message traces in the work directory (debugging only: slow)
#   SIPD_WRAP, KAM_WRAP  command prefix for sipd / Kamailio (bench/profile.sh uses callgrind)

set -u
BTOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SIPSERVER_BIN:-$BTOP/${BUILD:-build}/bin}
case $BIN in /*) ;; *) BIN=$BTOP/$BIN ;; esac
BLIB=$BTOP/bench/lib
PY=/usr/bin/python3
STEP_SECONDS=${BENCH_STEP_SECONDS:-10}
TARGETS=${BENCH_TARGETS:-sipd kamailio}
BENCH_PIDS=()
MAX_FAIL_PERMILLE=1          # < 0.1 % failed calls
MIN_ACHIEVED_PERCENT=95      # a step passes only if it really ran at >= 95 % of the rate

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }

bench_cleanup() {
    local pid i
    for pid in "${BENCH_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for ((i = 0; i < 30; i++)); do
        local alive=0
        for pid in "${BENCH_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for pid in "${BENCH_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    if [ -n "${W:-}" ]; then
        if [ -n "${KEEP_TMP:-}" ]; then warn "work directory kept: $W"; else rm -rf "$W"; fi
    fi
}

# bench_init NAME — work directory $W, cleanup trap.
bench_init() {
    W=$(mktemp -d "/tmp/sipserver-bench-$1.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    command -v sipp >/dev/null || { warn "sipp not installed (apt-get install sip-tester)"; exit 77; }
}

bench_track() { BENCH_PIDS+=("$1"); }

# bench_untrack PID — after the process was stopped and reaped.
bench_untrack() {
    local p keep=()
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

free_ports() { $PY "$BTOP/tests/tools/free-ports.py" "$1"; }

want() { case " $TARGETS " in *" $1 "*) return 0 ;; esac; return 1; }

# machine_note — one line describing the machine and its load right now.
machine_note() {
    local cpu
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
    printf '%s, %s cores, %s MB RAM, load average %s, %s' "$cpu" "$(nproc)" \
        "$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$(uname -r)"
}

# build_note — which sipd is measured (binary time, version, tree state).
build_note() {
    local v
    v=$("$BIN/sipd" --version 2>/dev/null | head -n1)
    printf '%s built %s from tree %s' "${v:-sipd ?}" \
        "$(date -u -r "$BIN/sipd" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')" \
        "$(git -C "$BTOP" describe --always --dirty 2>/dev/null || echo '?')"
}

# rss_kb PID — VmRSS of one process in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# tree_pids PID — the process and all its descendants.
tree_pids() {
    local p=$1 c
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}

# pss_tree_kb PID — sum of Pss over a process tree (kB): shared memory counted once.
pss_tree_kb() {
    local total=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo $total
}

# rss_tree_kb PID — sum of VmRSS over a process tree (kB; shared pages counted per process).
rss_tree_kb() {
    local total=0 p
    for p in $(tree_pids "$1"); do total=$((total + $(rss_kb "$p"))); done
    echo $total
}

# cpu_ticks_tree PID — utime+stime of a process tree in clock ticks.
cpu_ticks_tree() {
    local total=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo $total
}
CLK_TCK=$(getconf CLK_TCK)

# sip_ping PORT [SECONDS] — wait until 127.0.0.1:PORT answers OPTIONS.
sip_ping() { $PY "$BLIB/sip-ping.py" 127.0.0.1 "$1" "${2:-10}" >/dev/null; }

# ---------------------------------------------------------------- Kamailio
# kam_start NAME PORT PASSWORD — start the reference Kamailio (bench/kamailio.cfg,
# 2 UDP children, in-memory usrloc); sets KAM_PID.
kam_start() {
    local name=$1 port=$2 pass=$3
    command -v kamailio >/dev/null || { warn "kamailio not installed"; return 1; }
    mkdir -p "$W/$name.run"
    sed -e "s/@PORT@/$port/g" -e "s/@PASS@/$pass/g" -e "s/@CHILDREN@/${KAM_CHILDREN:-2}/g" \
        "$BTOP/bench/kamailio.cfg" > "$W/$name.cfg"
    ${KAM_WRAP:-} kamailio -DD -E -m 256 -M 16 -Y "$W/$name.run" -f "$W/$name.cfg" >"$W/$name.log" 2>&1 &
    KAM_PID=$!
    bench_track "$KAM_PID"
    if ! sip_ping "$port" 15; then
        warn "kamailio did not answer OPTIONS on 127.0.0.1:$port; log:"
        tail -n 20 "$W/$name.log" >&2
        return 1
    fi
}

# stop_pid PID — SIGTERM, wait at most 5 s, then SIGKILL.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || { bench_untrack "$pid"; return 0; }
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    bench_untrack "$pid"
}

# ---------------------------------------------------------------- sipd
# sipd_conf FILE SIP_PORT PASSWORD FIRST COUNT — a sipd config: free IPC ports,
# data in $W, log_level warn, extensions 100, 101 and FIRST..FIRST+COUNT-1,
# all with PASSWORD (like Kamailio's fixed password); call_waiting = yes, so
# the one UAS registered as 101 takes many calls at once (else 486 Busy).
sipd_conf() {
    local file=$1 port=$2 pass=$3 first=$4 count=$5 p
    p=($(free_ports 7))
    SIPD_IPC=tcp://127.0.0.1:${p[0]}
    mkdir -p "$W/var"
    {
        cat <<CONF
[general]
data_dir = $W/var
log_level = ${BENCH_SIPD_LOG_LEVEL:-warn}
[ipc]
sipd = $SIPD_IPC
mediad = tcp://127.0.0.1:${p[1]}
cdrd = tcp://127.0.0.1:${p[2]}
events = tcp://127.0.0.1:${p[3]}
callbackd = tcp://127.0.0.1:${p[4]}
webd = tcp://127.0.0.1:${p[5]}
[sipd]
listen = 127.0.0.1:$port
realm = sipserver
trunk = 127.0.0.1:${p[6]}
no_answer_timeout = 30
max_expires = 7200
auth_fail_limit = 100000
call_waiting = yes
[extensions]
100 = $pass
101 = $pass
CONF
        $PY - "$first" "$count" "$pass" <<'PY'
import sys
first, count, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sys.stdout.write("".join(f"{n} = {pw}\n" for n in range(first, first + count)))
PY
    } > "$file"
}

# sipd_start CONF SIP_PORT — start sipd, wait for its control ping and for an
# answer to OPTIONS; sets SIPD_PID. Fails (with the reason on stderr) otherwise.
sipd_start() {
    local conf=$1 port=$2 i
    if [ ! -x "$BIN/sipd" ]; then
        warn "sipd: not built in $BIN (run make, or set SIPSERVER_BIN)"
        return 1
    fi
    # SIPD_WRAP: a command prefix (valgrind --tool=callgrind ..., perf record ...).
    ${SIPD_WRAP:-} "$BIN/sipd" -c "$conf" >"$W/sipd.log" 2>&1 &
    SIPD_PID=$!
    bench_track "$SIPD_PID"
    for ((i = 0; i < 300; i++)); do
        "$BIN/sipctl" -t 200 "$SIPD_IPC" ping >/dev/null 2>&1 && break
        kill -0 "$SIPD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! kill -0 "$SIPD_PID" 2>/dev/null; then
        warn "sipd: exited at start-up; log:"
        tail -n 20 "$W/sipd.log" >&2
        return 1
    fi
    if ! sip_ping "$port" 5; then
        warn "sipd: no answer to SIP OPTIONS on udp 127.0.0.1:$port within 5 s (SIP transport not in this build?)"
        return 1
    fi
}

# ---------------------------------------------------------------- SIPp
# sipp_run TAG SECONDS sipp-args... — run SIPp in the foreground bounded by
# SECONDS, stats every second in $W/TAG.stat.csv, errors in $W/TAG.err;
# afterwards the variables of sipp-stat.py (created success failed current
# retrans elapsed failed_reasons) describe the run.
sipp_run() {
    local tag=$1 limit=$2
    shift 2
    rm -f "$W/$tag.stat.csv" "$W/$tag.err"
    (cd "$W" && timeout -k 5 "$limit" sipp "$@" -nostdin -timeout "${limit}s" -buff_size 4194304 \
        -trace_stat -fd 1 -stf "$W/$tag.stat.csv" -trace_err -error_file "$W/$tag.err" \
        ${BENCH_TRACE:+-trace_msg -message_file "$W/$tag.msg"} >"$W/$tag.out" 2>&1)
    SIPP_RC=$?
    eval "$($PY "$BLIB/sipp-stat.py" "$W/$tag.stat.csv")"
}

# sipp_bg TAG SECONDS sipp-args... — like sipp_run but in the background
# (tracked); SIPP_BG_PID. Read its stats later with sipp_stat TAG.
sipp_bg() {
    local tag=$1 limit=$2
    shift 2
    rm -f "$W/$tag.stat.csv" "$W/$tag.err"
    (cd "$W" && exec timeout -k 5 "$limit" sipp "$@" -nostdin -timeout "${limit}s" -buff_size 4194304 \
        -trace_stat -fd 1 -stf "$W/$tag.stat.csv" -trace_err -error_file "$W/$tag.err" \
        ${BENCH_TRACE:+-trace_msg -message_file "$W/$tag.msg"} >"$W/$tag.out" 2>&1) &
    SIPP_BG_PID=$!
    bench_track "$SIPP_BG_PID"
}

# sipp_stat TAG — load the variables of sipp-stat.py from TAG's stats file.
sipp_stat() { eval "$($PY "$BLIB/sipp-stat.py" "$W/$1.stat.csv")"; }

# first_error TAG — the first SIPp error line of a run, for reports.
first_error() {
    local f=$W/$1.err
    [ -s "$f" ] || f=$W/$1.out
    grep -m1 -E 'Dead call|Aborting|Unexpected|rror|timeout' "$f" 2>/dev/null | cut -c1-200
}

# step_verdict RATE — judge the last sipp_run: sets ACHIEVED (calls/s) and
# returns 0 when failures < 0.1 % and the achieved rate >= 95 % of RATE.
step_verdict() {
    local rate=$1
    ACHIEVED=$(awk -v s="$success" -v e="$elapsed" 'BEGIN { printf "%.0f", (e > 0 ? s / e : 0) }')
    [ "$created" -gt 0 ] || return 1
    [ $((failed * 1000)) -lt $((created * MAX_FAIL_PERMILLE)) ] || return 1
    [ $((ACHIEVED * 100)) -ge $((rate * MIN_ACHIEVED_PERCENT)) ] || return 1
}

# search_interleaved STEP_FN START NAME... — find each server's highest
# passing rate, alternating the steps of the servers so that all of them see
# the same machine noise. STEP_FN NAME RATE returns 0 pass, 1 fail, 2 fatal
# (the server is gone). Rates double from START until a step fails (or the
# ceiling BENCH_MAX_RATE, default 64000), then bisect twice between the last
# pass and the first failure; a failure with no pass yet halves down to 10/s.
# A failed step is retried once (BENCH_RETRY=0: never), because one noisy
# step on a shared machine should not end the search. Sets BEST[NAME].
declare -A BEST CEILING
search_interleaved() {
    local fn=$1 start=$2 n r rc round active mid grain max=${BENCH_MAX_RATE:-64000}
    shift 2
    local -A lo hi rate fin bis
    for n in "$@"; do lo[$n]=0; hi[$n]=0; rate[$n]=$start; fin[$n]=0; bis[$n]=0; done
    for ((round = 0; round < 24; round++)); do
        active=0
        for n in "$@"; do
            [ "${fin[$n]}" = 1 ] && continue
            active=1
            r=${rate[$n]}
            "$fn" "$n" "$r"
            rc=$?
            if [ $rc = 1 ] && [ "${BENCH_RETRY:-1}" = 1 ]; then
                say "  ($n: retrying $r/s once)"
                "$fn" "$n" "$r"
                rc=$?
            fi
            if [ $rc = 2 ]; then fin[$n]=1; continue; fi
            if [ $rc = 0 ]; then lo[$n]=$r; else hi[$n]=$r; fi
            if [ "${hi[$n]}" = 0 ]; then
                rate[$n]=$((r * 2))
                [ $((r * 2)) -gt "$max" ] && fin[$n]=1
            elif [ "${lo[$n]}" = 0 ]; then
                rate[$n]=$((r / 2))
                [ $((r / 2)) -lt 10 ] && fin[$n]=1
            else
                grain=50
                [ $(( hi[$n] - lo[$n] )) -lt 200 ] && grain=10
                mid=$(( (lo[$n] + hi[$n]) / 2 / grain * grain ))
                if [ "${bis[$n]}" -ge 2 ] || [ "$mid" -le "${lo[$n]}" ] || [ "$mid" -ge "${hi[$n]}" ]; then
                    fin[$n]=1
                else
                    bis[$n]=$(( bis[$n] + 1 ))
                    rate[$n]=$mid
                fi
            fi
        done
        [ $active = 0 ] && break
    done
    for n in "$@"; do
        BEST[$n]=${lo[$n]}
        CEILING[$n]=0
        [ "${hi[$n]}" = 0 ] && [ "${lo[$n]}" -gt 0 ] && CEILING[$n]=1
    done
}

# ceiling_note NAME... — say which servers never failed a step: their result
# is the search's ceiling (BENCH_MAX_RATE), not their limit.
ceiling_note() {
    local n
    for n in "$@"; do
        [ "${CEILING[$n]:-0}" = 1 ] &&
            say "note: $n passed every step up to the ceiling BENCH_MAX_RATE (${BENCH_MAX_RATE:-64000}): its figure is a lower bound"
    done
    return 0
}

# settle PID — after a step, wait (at most 30 s) until the server's CPU use
# drops below 10 % of a core over half a second, so an overloaded step does
# not spill its retransmissions into the next one.
settle() {
    local pid=$1 i c0 c1
    for ((i = 0; i < 60; i++)); do
        c0=$(cpu_ticks_tree "$pid")
        sleep 0.5
        c1=$(cpu_ticks_tree "$pid")
        [ $(( (c1 - c0) * 100 )) -lt $(( CLK_TCK * 5 )) ] && break
    done
    sleep 1
}

# ratio A B — A/B with two decimals ("n/a" when either is 0).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
