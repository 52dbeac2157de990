#!/usr/bin/env bash
# bench/profile.sh — instructions per operation of sipd under callgrind.
#
#   bench/profile.sh register [COUNT] [RATE]   (default 2000 registrations at 200/s)
#   bench/profile.sh calls [COUNT] [RATE]      (default 1000 calls at 100/s, 1 s hold)
#
# PROFILE_TOOL=cpu runs the server without valgrind and prints its user and
# system CPU time per operation instead (from /proc, so it wobbles with load;
# use it for the kernel share and for load-dependent costs at real rates).
# PROFILE_TOOL=perf is the same under `perf record -e cpu-clock -g` (sipd only;
# the data goes to PROFILE_OUT.perf): where the time goes at a real rate.
# PROFILE_TARGET=kamailio measures the reference Kamailio instead (bench/kamailio.cfg,
# all its processes, callgrind --trace-children=yes; Ir summed over them).
#
# Starts sipd (SIPSERVER_BIN) under `valgrind --tool=callgrind` with the
# benchmark's config, drives a fixed load with SIPp (same scenarios as
# bench/register and bench/calls), stops sipd with SIGTERM and prints the
# instructions (Ir) of the whole run and per operation, start-up and
# shutdown included (measure an idle run with COUNT=1 to subtract them).
# Instruction counts do not wobble with the machine's load the way seconds
# do: use this to compare two builds. The callgrind file stays in
# PROFILE_OUT (default /tmp/sipserver-profile-MODE.out) for callgrind_annotate.
. "$(dirname "$0")/lib/bench.sh"
MODE=${1:-}
case $MODE in
    register) COUNT=${2:-2000}; RATE=${3:-200} ;;
    calls) COUNT=${2:-1000}; RATE=${3:-100} ;;
    *) warn "usage: $0 register|calls [COUNT] [RATE]"; exit 2 ;;
esac
command -v valgrind >/dev/null || { warn "valgrind not installed"; exit 77; }
bench_init "profile-$MODE"
OUT=${PROFILE_OUT:-/tmp/sipserver-profile-$MODE.out}
rm -f "$OUT"
TARGET=${PROFILE_TARGET:-sipd}
TOOL=${PROFILE_TOOL:-callgrind}
case $TOOL in callgrind|cpu|perf) ;; *) warn "PROFILE_TOOL must be callgrind, cpu or perf"; exit 2 ;; esac
case $TARGET in
    sipd) WRAP="valgrind --tool=callgrind --callgrind-out-file=$OUT ${PROFILE_VALGRIND_ARGS:-}" ;;
    kamailio) rm -f "$OUT".*
              WRAP="valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=$OUT.%p ${PROFILE_VALGRIND_ARGS:-}" ;;
    *) warn "PROFILE_TARGET must be sipd or kamailio"; exit 2 ;;
esac
[ "$TOOL" = cpu ] && WRAP=
[ "$TOOL" = perf ] && WRAP="perf record -q -e cpu-clock -F ${PROFILE_PERF_HZ:-997} ${PROFILE_PERF_GRAPH:--g} -o $OUT.perf"
PASS=bench-pw-$RANDOM$RANDOM
p=($(free_ports 3))
PORT=${p[0]}
UA_PORT=${p[1]}
UAS_PORT=${p[2]}

if [ "$MODE" = register ]; then
    EXT_FIRST=20000
    EXT_COUNT=$(( COUNT < 10000 ? COUNT : 10000 ))
    { echo SEQUENTIAL
      for ((n = EXT_FIRST; n < EXT_FIRST + EXT_COUNT; n++)); do
          echo "$n;[authentication username=$n password=$PASS]"
      done; } > "$W/users.csv"
    sipd_conf "$W/sipd.conf" "$PORT" "$PASS" "$EXT_FIRST" "$EXT_COUNT"
else
    printf 'SEQUENTIAL\n101;[authentication username=101 password=%s]\n' "$PASS" > "$W/uas.csv"
    sipd_conf "$W/sipd.conf" "$PORT" "$PASS" 0 0
fi
if [ "$TARGET" = sipd ]; then
    SIPD_WRAP=$WRAP sipd_start "$W/sipd.conf" "$PORT" || exit 1
    SERVER_PID=$SIPD_PID
else
    KAM_WRAP=$WRAP kam_start kamailio "$PORT" "$PASS" || exit 1
    SERVER_PID=$KAM_PID
fi

# user and system CPU ticks and minor page faults of the server's process
# tree (threads included)
cpu_split() {
    local total_u=0 total_s=0 total_f=0 p
    for p in $(tree_pids "$SERVER_PID"); do
        read -r u s f < <(awk '{print $14, $15, $10}' "/proc/$p/stat" 2>/dev/null || echo 0 0 0)
        total_u=$((total_u + ${u:-0})); total_s=$((total_s + ${s:-0})); total_f=$((total_f + ${f:-0}))
    done
    echo "$total_u $total_s $total_f"
}
read -r U0 S0 F0 < <(cpu_split)
if [ "$MODE" = register ]; then
    sipp_run reg $(( COUNT / RATE + 60 )) -sf "$BTOP/bench/register/register.xml" \
        -inf "$W/users.csv" "127.0.0.1:$PORT" -i 127.0.0.1 -p "$UA_PORT" \
        -m "$COUNT" -r "$RATE" -l $(( RATE * 5 + 10 )) -nd -recv_timeout 10s
else
    sipp_run uasreg 30 -sf "$BTOP/bench/register/register.xml" -inf "$W/uas.csv" \
        "127.0.0.1:$PORT" -i 127.0.0.1 -p "$UAS_PORT" -m 1 -nd -recv_timeout 5s
    sipp_bg uas $(( COUNT / RATE + 120 )) -sf "$BTOP/bench/calls/uas.xml" -i 127.0.0.1 \
        -p "$UAS_PORT" -m 100000000 -nd -aa
    sleep 0.5
    sipp_run calls $(( COUNT / RATE + 60 )) -sf "$BTOP/bench/calls/uac.xml" \
        "127.0.0.1:$PORT" -s 101 -au 100 -ap "$PASS" -auth_uri "101@127.0.0.1:$PORT" \
        -i 127.0.0.1 -p "$UA_PORT" -m "$COUNT" -r "$RATE" -d 1000 -l $(( RATE * 6 + 10 )) \
        -nd -aa -recv_timeout 10s
fi
ok=$success bad=$failed retr=$retrans
read -r U1 S1 F1 < <(cpu_split)
if [ "$TOOL" = cpu ] || [ "$TOOL" = perf ]; then
    [ "$TOOL" = perf ] && say "perf report -i $OUT.perf --no-children"
    say "mode $MODE at $RATE/s: $ok ok, $bad failed, $retr retransmissions; $TARGET $( [ "$TARGET" = sipd ] && build_note)"
    awk -v u=$((U1 - U0)) -v s=$((S1 - S0)) -v f=$((F1 - F0)) -v t="$CLK_TCK" -v n="$ok" 'BEGIN {
        if (n == 0) n = 1
        printf "CPU per successful operation: %.0f us user + %.0f us system = %.0f us; %.1f minor page faults\n",
               1e6 * u / t / n, 1e6 * s / t / n, 1e6 * (u + s) / t / n, f / n }'
    stop_pid "$SERVER_PID"
    [ "$bad" = 0 ]
    exit
fi
stop_pid "$SERVER_PID"
if [ "$TARGET" = sipd ]; then
    for ((i = 0; i < 50; i++)); do [ -s "$OUT" ] && break; sleep 0.1; done
    [ -s "$OUT" ] || { warn "no callgrind output in $OUT"; exit 1; }
    ir=$(awk '/^summary:/ {print $2}' "$OUT")
    say "mode $MODE: $ok ok, $bad failed, $retr retransmissions; $(build_note)"
else
    sleep 2
    ir=$(cat "$OUT".* 2>/dev/null | awk '/^summary:/ {s += $2} END {print s + 0}')
    say "mode $MODE: $ok ok, $bad failed, $retr retransmissions; kamailio, $(ls "$OUT".* | wc -l) processes"
fi
say "$TARGET instructions: $ir total, $(awk -v i="$ir" -v n="$ok" 'BEGIN { printf "%.0f", (n > 0 ? i / n : 0) }') per successful $( [ "$MODE" = register ] && echo registration || echo call )"
say "profile: callgrind_annotate $OUT$( [ "$TARGET" = kamailio ] && echo '.PID') | head -40"
[ "$bad" = 0 ]
