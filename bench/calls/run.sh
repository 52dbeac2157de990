#!/usr/bin/env bash
# bench/calls/run.sh — call throughput and memory per call, sipd vs Kamailio.
#
# SIPp UAC (extension 100, digest auth on the INVITE's 407) -> server ->
# SIPp UAS (registered as 101 from its own port by bench/register/register.xml),
# calls INVITE/[100]/180/200/ACK, hold BENCH_HOLD_MS, BYE/200; media not
# anchored (SDP only, no RTP). Servers: sipd (B2BUA) and the reference
# Kamailio (stateful proxy: tm t_relay + record_route, same 407 digest check),
# both up during the whole run, same machine, same run:
#   1. start both on free UDP ports of 127.0.0.1, register one UAS per server
#      as 101; one call must succeed (otherwise that half fails clearly);
#   2. step the call rate (BENCH_STEP_SECONDS of new calls per step, doubling
#      then bisecting, steps alternating between the servers, a fresh UAS for
#      every step) until a step has >= 0.1 % failed calls or cannot keep 95 %
#      of the asked rate (a failed step is retried once); the best passing
#      step is the result;
#   3. sipd only, restarted fresh: 10,000 concurrent established calls (long
#      hold, placed at half the best rate, at most BENCH_CONCURRENT_RATE):
#      sipd's VmRSS before, with all calls up and after they ended; kB per call.
# Prints a per-step table, a result table and the ratio sipd/kamailio.
# Exit: 0 both halves ran, 1 a half failed, 77 sipp missing.
#
# Knobs: BENCH_STEP_SECONDS (10), BENCH_START_RATE (100 calls/s),
# BENCH_HOLD_MS (1000), BENCH_CONCURRENT (10000), BENCH_CONCURRENT_RATE (500),
# BENCH_CONCURRENT_SKIP=1, BENCH_TARGETS ("sipd kamailio"), SIPSERVER_BIN,
# KEEP_TMP=1, BENCH_TRACE=1.

. "$(dirname "$0")/../lib/bench.sh"
bench_init calls

REG=$BTOP/bench/register/register.xml
UAC=$BTOP/bench/calls/uac.xml
UAS=$BTOP/bench/calls/uas.xml
PASS=bench-pw-$RANDOM$RANDOM
START_RATE=${BENCH_START_RATE:-100}
HOLD_MS=${BENCH_HOLD_MS:-1000}
CONC=${BENCH_CONCURRENT:-10000}
CONC_RATE=${BENCH_CONCURRENT_RATE:-500}
printf 'SEQUENTIAL\n101;[authentication username=101 password=%s]\n' "$PASS" > "$W/uas.csv"

# SIPp and the servers need one UDP socket each, not one per call, but
# raise the soft descriptor limit as far as allowed anyway.
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt 65536 ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    NOFILE=$(ulimit -n)
fi

declare -A CPU_US PORT PID UAS_PORT UAS_PID RES_RATE RES_STATUS RES_NOTE

# uas_restart NAME TAG [SECONDS] — a fresh UAS (SIPp) on UAS_PORT[NAME] for
# each load run, so an overloaded step leaves no half-open calls behind.
uas_restart() {
    local name=$1 i
    [ -n "${UAS_PID[$name]:-}" ] && stop_pid "${UAS_PID[$name]}"
    sipp_bg "uas-$name-$2" "${3:-600}" -sf "$UAS" -i 127.0.0.1 -p "${UAS_PORT[$name]}" \
        -m 100000000 -nd -aa
    UAS_PID[$name]=$SIPP_BG_PID
    for ((i = 0; i < 20; i++)); do
        sleep 0.1
        ss -Hlun "sport = :${UAS_PORT[$name]}" 2>/dev/null | grep -q . && break
    done
}

# call_sipp NAME TAG RATE COUNT HOLD_MS [background] — caller run.
call_sipp() {
    local name=$1 tag=$2 rate=$3 count=$4 hold=$5 mode=${6:-} lport limit port=${PORT[$1]}
    lport=$(free_ports 1)
    limit=$(( count / rate + hold / 1000 + 60 ))
    local args=(-sf "$UAC" "127.0.0.1:$port" -s 101 -au 100 -ap "$PASS"
        -auth_uri "101@127.0.0.1:$port" -i 127.0.0.1 -p "$lport"
        -m "$count" -r "$rate" -d "$hold" -nd -aa -recv_timeout 10s)
    if [ "$mode" = background ]; then
        sipp_bg "$tag" "$limit" "${args[@]}" -l $((count + 10))
    else
        sipp_run "$tag" "$limit" "${args[@]}" -l $(( rate * (hold / 1000 + 5) + 10 ))
    fi
}

# call_step NAME RATE — one rate step; prints a table row; 0 pass, 1 fail, 2 gone.
call_step() {
    local name=$1 rate=$2 pid=${PID[$1]} c0 c1 cpu verdict=pass
    uas_restart "$name" "$rate"
    c0=$(cpu_ticks_tree "$pid")
    call_sipp "$name" "call-$name-$rate" "$rate" $((rate * STEP_SECONDS)) "$HOLD_MS"
    c1=$(cpu_ticks_tree "$pid")
    # The elapsed time includes the hold of the last calls: judge the rate
    # on the creation period only.
    elapsed=$(awk -v e="$elapsed" -v h="$HOLD_MS" 'BEGIN { e -= h / 1000; printf "%.2f", (e > 0.1 ? e : 0.1) }')
    step_verdict "$rate" || verdict=FAIL
    cpu=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v e="$elapsed" -v h="$HOLD_MS" \
        'BEGIN { e += h / 1000; printf "%.0f", (e > 0 ? 100 * d / t / e : 0) }')
    # server CPU time per successful call, in µs
    CPU_US[$name:$rate]=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="$success" \
        'BEGIN { printf "%.0f", (n > 0 ? 1e6 * d / t / n : 0) }')
    printf '%-9s %8s %9s %8s %7s %8s %6s%%  %s\n' "$name" "$rate" "$ACHIEVED" \
        "$created" "$failed" "$retrans" "$cpu" "$verdict${failed_reasons:+ ($failed_reasons)}"
    if ! kill -0 "$pid" 2>/dev/null; then
        say "  $name exited during the step"
        RES_NOTE[$name]="$name exited during a step at $rate/s"
        return 2
    fi
    settle "$pid"
    [ $verdict = pass ]
}

# start_server NAME — start it, register a UAS as 101, one call. 0 when ready.
start_server() {
    local name=$1 p
    p=($(free_ports 2))
    PORT[$name]=${p[0]}
    UAS_PORT[$name]=${p[1]}
    RES_RATE[$name]=0
    RES_STATUS[$name]=FAILED
    if [ "$name" = sipd ]; then
        sipd_conf "$W/sipd.conf" "${PORT[$name]}" "$PASS" 0 0
        if ! sipd_start "$W/sipd.conf" "${PORT[$name]}" 2>"$W/start.err"; then
            RES_NOTE[$name]=$(head -n1 "$W/start.err")
            cat "$W/start.err" >&2
            return 1
        fi
        PID[$name]=$SIPD_PID
    else
        if ! kam_start kamailio "${PORT[$name]}" "$PASS" 2>"$W/start.err"; then
            RES_NOTE[$name]="kamailio: $(head -n1 "$W/start.err")"
            cat "$W/start.err" >&2
            return 1
        fi
        PID[$name]=$KAM_PID
    fi
    sipp_run "uasreg-$name" 20 -sf "$REG" -inf "$W/uas.csv" "127.0.0.1:${PORT[$name]}" \
        -i 127.0.0.1 -p "${UAS_PORT[$name]}" -m 1 -nd -recv_timeout 5s
    if [ "$success" != 1 ]; then
        RES_NOTE[$name]="$name: registering the UAS as 101 failed: $(first_error "uasreg-$name")"
        say "  ${RES_NOTE[$name]}"
        return 1
    fi
    uas_restart "$name" smoke
    call_sipp "$name" "smoke-$name" 1 1 100
    if [ "$success" != 1 ]; then
        RES_NOTE[$name]="$name: a single authenticated call 100 -> 101 did not succeed: $(first_error "smoke-$name")"
        say "  ${RES_NOTE[$name]}"
        [ "$name" = sipd ] && { say "  sipd log (last lines):"; tail -n 5 "$W/sipd.log" | sed 's/^/    /'; }
        return 1
    fi
}

# concurrent NAME — CONC calls held together; sets CONC_* results.
concurrent() {
    local name=$1 pid=${PID[$1]} rate=$CONC_RATE hold i up=0 conc_pid
    # Never ask for more than half the rate the server just sustained.
    if [ "${BEST[$name]}" -gt 0 ] && [ $((BEST[$name] / 2)) -lt "$rate" ]; then rate=$((BEST[$name] / 2)); fi
    [ "$rate" -ge 10 ] || rate=10
    hold=$(( (CONC / rate + 20) * 1000 ))
    # A fresh sipd (same config and port), so that the heap left over by the
    # overloaded rate steps does not hide the memory the calls take.
    [ -n "${UAS_PID[$name]:-}" ] && stop_pid "${UAS_PID[$name]}"
    UAS_PID[$name]=
    stop_pid "$pid"
    if ! sipd_start "$W/sipd.conf" "${PORT[$name]}" 2>"$W/restart.err"; then
        cat "$W/restart.err" >&2
        return 1
    fi
    pid=$SIPD_PID
    PID[$name]=$pid
    sipp_run "uasreg2-$name" 20 -sf "$REG" -inf "$W/uas.csv" "127.0.0.1:${PORT[$name]}" \
        -i 127.0.0.1 -p "${UAS_PORT[$name]}" -m 1 -nd -recv_timeout 5s
    [ "$success" = 1 ] || { say "  $name: re-registering the UAS failed"; return 1; }
    uas_restart "$name" concurrent $(( CONC / rate + hold / 1000 + 120 ))
    sleep 1
    CONC_RSS0=$(rss_kb "$pid")
    call_sipp "$name" "conc-$name" "$rate" "$CONC" "$hold" background
    conc_pid=$SIPP_BG_PID
    # Wait until every call was placed and is still up: the caller counts a
    # call as current from its INVITE to its end, so all created and
    # current + failed = CONC; then 3 s more for the last 200/ACK.
    for ((i = 0; i < (CONC / rate + 30) * 2; i++)); do
        sleep 0.5
        sipp_stat "conc-$name"
        if [ "$created" -ge "$CONC" ] && [ $((current + failed)) -ge "$CONC" ]; then up=1; break; fi
        kill -0 "$conc_pid" 2>/dev/null || break
    done
    sleep 3
    sipp_stat "conc-$name"
    CONC_UP=$current
    CONC_RSS1=$(rss_kb "$pid")
    say "  $name: $CONC_UP calls up at once (created $created at ${rate}/s, $failed failed), hold $((hold / 1000)) s: VmRSS $CONC_RSS1 kB (before: $CONC_RSS0 kB)"
    for ((i = 0; i < (hold / 1000 + 60) * 2; i++)); do
        kill -0 "$conc_pid" 2>/dev/null || break
        sleep 0.5
    done
    wait "$conc_pid" 2>/dev/null
    bench_untrack "$conc_pid"
    sipp_stat "conc-$name"
    CONC_OK=$success
    CONC_FAILED=$failed
    settle "$pid"
    CONC_RSS2=$(rss_kb "$pid")
    say "  $name: after the calls ended: $CONC_OK succeeded, $CONC_FAILED failed${failed_reasons:+ ($failed_reasons)}; VmRSS $CONC_RSS2 kB"
    [ $up = 1 ]
}

say "== bench/calls: 100 -> server -> 101, INVITE(407 auth)/180/200/ACK, hold ${HOLD_MS} ms, BYE; UDP 127.0.0.1, ${STEP_SECONDS}s per step"
say "   $(date -u '+%Y-%m-%d %H:%M UTC'); $(machine_note); ulimit -n $NOFILE"
say "   sipp $(sipp -v 2>&1 | grep -o 'v[0-9][0-9.]*' | head -1), $(kamailio -v 2>/dev/null | head -1)"
say "   $(build_note)"
say "   sipd is a B2BUA (two dialogs per call), Kamailio a record-routing stateful proxy; steps alternate between the servers"
say ""
rc=0
ready=()
for s in sipd kamailio; do
    want "$s" || continue
    if start_server "$s"; then ready+=("$s"); else rc=1; fi
done
printf '%-9s %8s %9s %8s %7s %8s %7s  %s\n' server "target/s" "calls/s" calls failed retrans "srv CPU" verdict
[ ${#ready[@]} -gt 0 ] && search_interleaved call_step "$START_RATE" "${ready[@]}"
for s in "${ready[@]}"; do
    RES_RATE[$s]=${BEST[$s]}
    if kill -0 "${PID[$s]}" 2>/dev/null && [ "${BEST[$s]}" -gt 0 ]; then
        RES_STATUS[$s]=ok
    else
        rc=1
    fi
done
if want sipd && [ "${RES_STATUS[sipd]:-}" = ok ] && [ "${BENCH_CONCURRENT_SKIP:-0}" = 0 ]; then
    say ""
    say "-- $CONC concurrent calls through sipd"
    if ! concurrent sipd; then
        RES_NOTE[sipd]="not all $CONC calls were up at once (see above)"
        RES_STATUS[sipd]=partial
    fi
fi
for s in sipd kamailio; do
    [ -n "${UAS_PID[$s]:-}" ] && stop_pid "${UAS_PID[$s]}"
    [ -n "${PID[$s]:-}" ] && stop_pid "${PID[$s]}"
done

say ""
say "== bench/calls results"
printf '%-9s %-8s %10s  %s\n' server status "calls/s" "note"
for s in sipd kamailio; do
    want "$s" || continue
    printf '%-9s %-8s %10s  %s\n' "$s" "${RES_STATUS[$s]}" "${RES_RATE[$s]}" "${RES_NOTE[$s]:-}"
done
say "server CPU per call at the best step (srv CPU time / calls; noise-resistant):"
for s in sipd kamailio; do
    want "$s" || continue
    [ "${RES_RATE[$s]}" -gt 0 ] && say "  $s: ${CPU_US[$s:${RES_RATE[$s]}]:-?} µs"
done
if want sipd && want kamailio; then
    say "ratio sipd/kamailio (calls/s): $(ratio "${RES_RATE[sipd]}" "${RES_RATE[kamailio]}")   (goal >= 1.0)"
    ceiling_note sipd kamailio
    if [ "${RES_RATE[sipd]}" -gt 0 ] && [ "${RES_RATE[kamailio]}" -gt 0 ]; then
        say "CPU efficiency kamailio/sipd (µs per call, > 1: sipd cheaper): $(ratio "${CPU_US[kamailio:${RES_RATE[kamailio]}]:-0}" "${CPU_US[sipd:${RES_RATE[sipd]}]:-0}")"
    fi
fi
if want sipd && [ -n "${CONC_RSS1:-}" ]; then
    say "sipd with $CONC_UP concurrent calls: VmRSS $CONC_RSS1 kB (before $CONC_RSS0 kB, after $CONC_RSS2 kB): $(awk -v a="$CONC_RSS1" -v b="$CONC_RSS0" -v n="$CONC_UP" 'BEGIN { printf "%.2f", (n > 0 ? (a - b) / n : 0) }') kB per call   (goal <= 10 KB)"
fi
exit $rc
