#!/usr/bin/env bash
# bench/register/run.sh — REGISTER throughput with digest auth, sipd vs Kamailio.
#
# For each server (sipd, then the reference Kamailio, same machine, same run):
#   1. start it on a free UDP port of 127.0.0.1, note its memory;
#   2. one registration must succeed (otherwise that half fails clearly);
#   3. register all 10,000 distinct extensions once (fill), note the memory
#      right after and again 40 s later, when the fill's transactions have
#      gone (sipd: VmRSS; Kamailio: Pss summed over its processes); every run
#      comes from the same SIPp port, so each extension has exactly one binding;
#   4. step the rate (SIPp -r, BENCH_STEP_SECONDS per step, doubling then
#      bisecting, steps alternating between the two servers, which both stay
#      up) until a step has >= 0.1 % failed registrations or cannot keep 95 %
#      of the asked rate (a failed step is retried once); the best passing
#      step is the result.
# One SIPp "call" is one registration = two REGISTER transactions
# (401 challenge, then the authenticated REGISTER answered 200), so
# REGISTER transactions/s = 2 x registrations/s.
# Prints a per-step table, a result table and the ratio sipd/kamailio.
# Exit: 0 both halves ran, 1 a half failed, 77 sipp missing.
#
# Knobs: BENCH_EXTENSIONS (10000), BENCH_STEP_SECONDS (10), BENCH_START_RATE
# (500 registrations/s), BENCH_FILL_RATE (500), BENCH_TARGETS ("sipd kamailio"),
# SIPSERVER_BIN, KEEP_TMP=1.

. "$(dirname "$0")/../lib/bench.sh"
bench_init register

SCEN=$BTOP/bench/register/register.xml
EXT_FIRST=20000
EXT_COUNT=${BENCH_EXTENSIONS:-10000}
PASS=bench-pw-$RANDOM$RANDOM
START_RATE=${BENCH_START_RATE:-500}
FILL_RATE=${BENCH_FILL_RATE:-500}
USERS=$W/users.csv

{
    echo SEQUENTIAL
    for ((n = EXT_FIRST; n < EXT_FIRST + EXT_COUNT; n++)); do
        echo "$n;[authentication username=$n password=$PASS]"
    done
} > "$USERS"

declare -A CPU_US PORT UA_PORT PID MEMFN FILLED RES_RATE RES_MEM0 RES_MEM10K RES_MEMREST RES_MEMEND RES_STATUS RES_NOTE RES_MEMKIND

# reg_sipp NAME TAG RATE COUNT — one SIPp registration run against server NAME.
# Always from the same local port (UA_PORT), so each extension keeps exactly
# one binding (same Contact: a refresh, not a new binding) through all runs.
reg_sipp() {
    local name=$1 tag=$2 rate=$3 count=$4 lport=${UA_PORT[$1]} limit
    limit=$(( count / rate + 40 ))
    sipp_run "$tag" "$limit" -sf "$SCEN" -inf "$USERS" "127.0.0.1:${PORT[$name]}" \
        -i 127.0.0.1 -p "$lport" -m "$count" -r "$rate" -l $(( rate * 5 + 10 < 15000 ? rate * 5 + 10 : 15000 )) \
        -nd -recv_timeout 10s
}

# reg_step NAME RATE — one rate step; prints a table row; 0 pass, 1 fail, 2 gone.
reg_step() {
    local name=$1 rate=$2 pid=${PID[$1]} c0 c1 cpu verdict=pass
    c0=$(cpu_ticks_tree "$pid")
    reg_sipp "$name" "reg-$name-$rate" "$rate" $((rate * STEP_SECONDS))
    c1=$(cpu_ticks_tree "$pid")
    step_verdict "$rate" || verdict=FAIL
    cpu=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v e="$elapsed" \
        'BEGIN { printf "%.0f", (e > 0 ? 100 * d / t / e : 0) }')
    # server CPU time per successful registration (both transactions), in µs
    CPU_US[$name:$rate]=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="$success" \
        'BEGIN { printf "%.0f", (n > 0 ? 1e6 * d / t / n : 0) }')
    printf '%-9s %8s %9s %9s %8s %7s %8s %6s%%  %s\n' "$name" "$rate" "$ACHIEVED" \
        $((ACHIEVED * 2)) "$created" "$failed" "$retrans" "$cpu" \
        "$verdict${failed_reasons:+ ($failed_reasons)}"
    if ! kill -0 "$pid" 2>/dev/null; then
        say "  $name exited during the step"
        RES_NOTE[$name]="$name exited during a step at $rate/s"
        return 2
    fi
    settle "$pid"
    [ $verdict = pass ]
}

# start_server NAME — start it on a free port; 0 when it answers.
start_server() {
    local name=$1
    local p
    p=($(free_ports 2))
    PORT[$name]=${p[0]}
    UA_PORT[$name]=${p[1]}
    RES_RATE[$name]=0
    RES_STATUS[$name]=FAILED
    if [ "$name" = sipd ]; then
        sipd_conf "$W/sipd.conf" "${PORT[$name]}" "$PASS" "$EXT_FIRST" "$EXT_COUNT"
        if ! sipd_start "$W/sipd.conf" "${PORT[$name]}" 2>"$W/start.err"; then
            RES_NOTE[$name]=$(head -n1 "$W/start.err")
            cat "$W/start.err" >&2
            return 1
        fi
        PID[$name]=$SIPD_PID
        MEMFN[$name]=rss_kb
        RES_MEMKIND[$name]="VmRSS"
    else
        if ! kam_start kamailio "${PORT[$name]}" "$PASS" 2>"$W/start.err"; then
            RES_NOTE[$name]="kamailio: $(head -n1 "$W/start.err")"
            cat "$W/start.err" >&2
            return 1
        fi
        PID[$name]=$KAM_PID
        MEMFN[$name]=pss_tree_kb
        RES_MEMKIND[$name]="Pss summed over $(tree_pids "$KAM_PID" | wc -l) processes"
    fi
}

# prepare NAME — memory idle, one registration (smoke), all extensions once
# (fill), memory with all bindings. 0 when the server registers at all.
prepare() {
    local name=$1 pid=${PID[$1]}
    RES_MEM0[$name]=$(${MEMFN[$name]} "$pid")
    reg_sipp "$name" "smoke-$name" 1 1
    if [ "$success" != 1 ]; then
        RES_NOTE[$name]="$name: a single digest-authenticated REGISTER did not succeed: $(first_error "smoke-$name")"
        say "  ${RES_NOTE[$name]}"
        [ "$name" = sipd ] && { say "  sipd log (last lines):"; tail -n 5 "$W/sipd.log" | sed 's/^/    /'; }
        return 1
    fi
    reg_sipp "$name" "fill-$name" "$FILL_RATE" "$EXT_COUNT"
    say "  $name: fill: $success of $EXT_COUNT extensions registered at $FILL_RATE/s in ${elapsed}s ($failed failed)"
    if [ "$success" -lt "$EXT_COUNT" ]; then
        RES_NOTE[$name]="$name: only $success of $EXT_COUNT registrations succeeded at $FILL_RATE/s: $(first_error "fill-$name")"
    fi
    sleep 1
    RES_MEM10K[$name]=$(${MEMFN[$name]} "$pid")
    FILLED[$name]=$SECONDS
}

# at_rest NAME — memory once the fill's transactions are gone (UDP non-INVITE
# server transactions linger 64*T1 = 32 s): wait until 40 s after the fill.
at_rest() {
    local name=$1 wait_s
    wait_s=$(( FILLED[$name] + 40 - SECONDS ))
    [ "$wait_s" -gt 0 ] && sleep "$wait_s"
    RES_MEMREST[$name]=$(${MEMFN[$name]} "${PID[$name]}")
}

say "== bench/register: $EXT_COUNT extensions, digest auth (qop=auth), UDP 127.0.0.1, ${STEP_SECONDS}s per step"
say "   $(date -u '+%Y-%m-%d %H:%M UTC'); $(machine_note)"
say "   sipp $(sipp -v 2>&1 | grep -o 'v[0-9][0-9.]*' | head -1), $(kamailio -v 2>/dev/null | head -1)"
say "   $(build_note)"
say "   one registration = 2 REGISTER transactions (401 challenge + authenticated 200); steps alternate between the servers"
say ""
rc=0
ready=()
for s in sipd kamailio; do
    want "$s" || continue
    if start_server "$s" && prepare "$s"; then ready+=("$s"); else rc=1; fi
done
for s in "${ready[@]}"; do at_rest "$s"; done
say ""
printf '%-9s %8s %9s %9s %8s %7s %8s %7s  %s\n' server "target/s" "reg/s" "REG tx/s" calls failed retrans "srv CPU" verdict
[ ${#ready[@]} -gt 0 ] && search_interleaved reg_step "$START_RATE" "${ready[@]}"
for s in "${ready[@]}"; do
    RES_RATE[$s]=${BEST[$s]}
    if kill -0 "${PID[$s]}" 2>/dev/null; then
        RES_MEMEND[$s]=$(${MEMFN[$s]} "${PID[$s]}")
        RES_STATUS[$s]=ok
        [ -n "${RES_NOTE[$s]:-}" ] && RES_STATUS[$s]=partial
        [ "${BEST[$s]}" -gt 0 ] || { RES_STATUS[$s]=FAILED; rc=1; }
    else
        rc=1
    fi
done
for s in sipd kamailio; do
    [ -n "${PID[$s]:-}" ] && stop_pid "${PID[$s]}"
done

kb() { [ -n "${1:-}" ] && [ "$1" -gt 0 ] && printf '%d kB' "$1" || printf -- '-'; }
say ""
say "== bench/register results"
say "memory: idle = after start; after fill = 1 s after registering all $EXT_COUNT extensions at $FILL_RATE/s"
say "(bindings + lingering transactions); at rest = 40 s after the fill (bindings only); at end = after the rate steps."
printf '%-9s %-8s %9s %13s %11s %11s %11s %11s  %s\n' server status "reg/s max" "REGISTER tx/s" "mem idle" "after fill" "at rest" "at end" "memory measure"
for s in sipd kamailio; do
    want "$s" || continue
    printf '%-9s %-8s %9s %13s %11s %11s %11s %11s  %s\n' "$s" "${RES_STATUS[$s]}" "${RES_RATE[$s]}" \
        $(( ${RES_RATE[$s]} * 2 )) "$(kb "${RES_MEM0[$s]:-}")" "$(kb "${RES_MEM10K[$s]:-}")" \
        "$(kb "${RES_MEMREST[$s]:-}")" "$(kb "${RES_MEMEND[$s]:-}")" "${RES_MEMKIND[$s]:-}"
    [ -n "${RES_NOTE[$s]:-}" ] && say "          note: ${RES_NOTE[$s]}"
done
say "server CPU per registration at the best step (srv CPU time / registrations; noise-resistant):"
for s in sipd kamailio; do
    want "$s" || continue
    [ "${RES_RATE[$s]}" -gt 0 ] && say "  $s: ${CPU_US[$s:${RES_RATE[$s]}]:-?} µs"
done
if want sipd && want kamailio; then
    say "ratio sipd/kamailio (REGISTER/s): $(ratio "${RES_RATE[sipd]}" "${RES_RATE[kamailio]}")   (goal >= 1.0)"
    ceiling_note sipd kamailio
    if [ "${RES_RATE[sipd]}" -gt 0 ] && [ "${RES_RATE[kamailio]}" -gt 0 ]; then
        say "CPU efficiency kamailio/sipd (µs per registration, > 1: sipd cheaper): $(ratio "${CPU_US[kamailio:${RES_RATE[kamailio]}]:-0}" "${CPU_US[sipd:${RES_RATE[sipd]}]:-0}")"
    fi
fi
if want sipd && [ -n "${RES_MEMREST[sipd]:-}" ]; then
    say "sipd RSS with $EXT_COUNT bindings (at rest): $(awk -v k="${RES_MEMREST[sipd]}" 'BEGIN { printf "%.1f MB", k / 1024 }')   (goal <= 20 MB)"
fi
exit $rc
