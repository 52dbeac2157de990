#!/usr/bin/env bash
# bench/calls/run.sh — call throughput and memory per call, sipd vs Kamailio.
#
# SIPp UAC (extension 100, digest auth on the INVITE's 407) -> server ->
# SIPp UAS (registered as 101 from its own port by bench/register/register.xml),
# calls INVITE/180/200/ACK, hold BENCH_HOLD_MS, BYE/200; media not anchored
# (SDP only, no RTP). For each server (sipd as B2BUA, then the reference
# Kamailio as stateful proxy with tm + record_route, same machine, same run):
#   1. start it on a free UDP port of 127.0.0.1, register the UAS as 101;
#   2. one call must succeed (otherwise that half fails clearly);
#   3. step the call rate (BENCH_STEP_SECONDS of new calls per step, doubling
#      then bisecting) until a step has >= 0.1 % failed calls or cannot keep
#      95 % of the asked rate; the best passing step is the result.
# Then, for sipd only: 10,000 concurrent established calls (long hold), sipd's
# VmRSS before, with all 10,000 calls up, and after they ended; KB per call.
# Prints a per-step table, a result table and the ratio sipd/kamailio.
# Exit: 0 both halves ran, 1 a half failed, 77 sipp missing.
#
# Knobs: BENCH_STEP_SECONDS (10), BENCH_START_RATE (100 calls/s),
# BENCH_HOLD_MS (1000), BENCH_CONCURRENT (10000), BENCH_CONCURRENT_RATE (500),
# BENCH_TARGETS ("sipd kamailio"), SIPSERVER_BIN, KEEP_TMP=1.

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

# 10,000 calls: both SIPp and the server need descriptors only for sockets
# (UDP, one each), but raise the soft limit anyway as far as allowed.
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt 65536 ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    NOFILE=$(ulimit -n)
fi

declare -A RES_RATE RES_STATUS RES_NOTE

# start_uas — register the UAS as 101 from $UAS_PORT, then start it (background).
start_uas() {
    UAS_PORT=$(free_ports 1)
    sipp_run "uasreg-$CUR_NAME" 20 -sf "$REG" -inf "$W/uas.csv" "127.0.0.1:$CUR_PORT" \
        -i 127.0.0.1 -p "$UAS_PORT" -m 1 -nd -recv_timeout 5s
    if [ "$success" != 1 ]; then
        RES_NOTE[$CUR_NAME]="$CUR_NAME: registering the UAS as 101 failed: $(first_error "uasreg-$CUR_NAME")"
        return 1
    fi
    UAS_PID=
    uas_restart smoke
}

# uas_restart TAG [SECONDS] — a fresh UAS (SIPp) on $UAS_PORT for each load
# run, so an overloaded step leaves no half-open calls behind for the next.
uas_restart() {
    local i
    if [ -n "$UAS_PID" ]; then
        stop_pid "$UAS_PID"
        # the port is free again as soon as the old SIPp is gone
    fi
    sipp_bg "uas-$CUR_NAME-$1" "${2:-600}" -sf "$UAS" -i 127.0.0.1 -p "$UAS_PORT" -m 100000000 -nd
    UAS_PID=$SIPP_BG_PID
    for ((i = 0; i < 20; i++)); do
        sleep 0.1
        ss -Hlun "sport = :$UAS_PORT" 2>/dev/null | grep -q . && break
    done
}

# call_sipp TAG RATE COUNT HOLD_MS — caller run (foreground).
call_sipp() {
    local tag=$1 rate=$2 count=$3 hold=$4 lport limit
    lport=$(free_ports 1)
    limit=$(( count / rate + hold / 1000 + 60 ))
    sipp_run "$tag" "$limit" -sf "$UAC" "127.0.0.1:$CUR_PORT" -s 101 -au 100 -ap "$PASS" \
        -i 127.0.0.1 -p "$lport" -m "$count" -r "$rate" -d "$hold" \
        -l $(( rate * (hold / 1000 + 5) + 10 )) -nd -recv_timeout 10s
}

# call_step RATE — one rate step; prints a table row; 0 = pass.
call_step() {
    local rate=$1 c0 c1 cpu verdict=pass
    uas_restart "$rate"
    c0=$(cpu_ticks_tree "$CUR_PID")
    call_sipp "call-$CUR_NAME-$rate" "$rate" $((rate * STEP_SECONDS)) "$HOLD_MS"
    c1=$(cpu_ticks_tree "$CUR_PID")
    # The elapsed time includes the hold of the last calls: judge the rate
    # on the creation period only.
    elapsed=$(awk -v e="$elapsed" -v h="$HOLD_MS" 'BEGIN { e -= h / 1000; printf "%.2f", (e > 0.1 ? e : 0.1) }')
    step_verdict "$rate" || verdict=FAIL
    cpu=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v e="$elapsed" -v h="$HOLD_MS" \
        'BEGIN { e += h / 1000; printf "%.0f", (e > 0 ? 100 * d / t / e : 0) }')
    printf '%-9s %8s %9s %8s %7s %8s %6s%%  %s\n' "$CUR_NAME" "$rate" "$ACHIEVED" \
        "$created" "$failed" "$retrans" "$cpu" "$verdict${failed_reasons:+ ($failed_reasons)}"
    kill -0 "$CUR_PID" 2>/dev/null || { say "  $CUR_NAME died during the step"; return 1; }
    kill -0 "$UAS_PID" 2>/dev/null || { say "  the UAS (SIPp) exited; see $W/uas-$CUR_NAME.out"; return 1; }
    settle "$CUR_PID"
    [ $verdict = pass ]
}

# concurrent — CONC calls held together through sipd; fills CONC_* results.
concurrent() {
    local rate=$CONC_RATE hold i up=0
    # Never ask for more than half the rate sipd just sustained.
    if [ "$BEST_RATE" -gt 0 ] && [ $((BEST_RATE / 2)) -lt "$rate" ]; then rate=$((BEST_RATE / 2)); fi
    [ "$rate" -ge 10 ] || rate=10
    hold=$(( (CONC / rate + 20) * 1000 ))
    uas_restart concurrent $(( CONC / rate + hold / 1000 + 120 ))
    CONC_RSS0=$(rss_kb "$CUR_PID")
    local lport
    lport=$(free_ports 1)
    sipp_bg "conc-$CUR_NAME" $(( CONC / rate + hold / 1000 + 60 )) -sf "$UAC" "127.0.0.1:$CUR_PORT" \
        -s 101 -au 100 -ap "$PASS" -i 127.0.0.1 -p "$lport" -m "$CONC" -r "$rate" -d "$hold" \
        -l $((CONC + 10)) -nd -recv_timeout 10s
    local conc_pid=$SIPP_BG_PID
    # Wait until every call was placed and answered (the caller's stats count
    # a call "current" from INVITE to the end; success only at the end), i.e.
    # all created and none failed, then 3 s more for the last ACKs.
    for ((i = 0; i < (CONC / rate + 30) * 2; i++)); do
        sleep 0.5
        sipp_stat "conc-$CUR_NAME"
        if [ "$created" -ge "$CONC" ] && [ "$current" -ge $((CONC - failed)) ]; then up=1; break; fi
        kill -0 "$conc_pid" 2>/dev/null || break
    done
    sleep 3
    sipp_stat "conc-$CUR_NAME"
    CONC_UP=$((current))
    CONC_RSS1=$(rss_kb "$CUR_PID")
    CONC_PSS1=$(pss_tree_kb "$CUR_PID")
    say "  $CUR_NAME: $CONC_UP calls up (caller side: created $created, failed $failed) at ${rate}/s, hold $((hold / 1000))s: VmRSS $CONC_RSS1 kB (before: $CONC_RSS0 kB)"
    # Let the calls end (BYE), bounded.
    for ((i = 0; i < (hold / 1000 + 60) * 2; i++)); do
        kill -0 "$conc_pid" 2>/dev/null || break
        sleep 0.5
    done
    wait "$conc_pid" 2>/dev/null
    bench_untrack "$conc_pid"
    sipp_stat "conc-$CUR_NAME"
    CONC_OK=$success
    CONC_FAILED=$failed
    settle "$CUR_PID"
    CONC_RSS2=$(rss_kb "$CUR_PID")
    say "  $CUR_NAME: after the calls ended: $CONC_OK succeeded, $CONC_FAILED failed${failed_reasons:+ ($failed_reasons)}; VmRSS $CONC_RSS2 kB"
    [ $up = 1 ]
}

# bench_server NAME
bench_server() {
    local name=$1
    CUR_NAME=$name
    CUR_PORT=$(free_ports 1)
    RES_RATE[$name]=0
    RES_STATUS[$name]=FAILED
    if [ "$name" = sipd ]; then
        sipd_conf "$W/sipd.conf" "$CUR_PORT" "$PASS" 0 0
        if ! sipd_start "$W/sipd.conf" "$CUR_PORT" 2>"$W/start.err"; then
            RES_NOTE[$name]=$(head -n1 "$W/start.err")
            cat "$W/start.err" >&2
            return 1
        fi
        CUR_PID=$SIPD_PID
    else
        if ! kam_start kamailio "$CUR_PORT" "$PASS" 2>"$W/start.err"; then
            RES_NOTE[$name]="kamailio: $(head -n1 "$W/start.err")"
            cat "$W/start.err" >&2
            return 1
        fi
        CUR_PID=$KAM_PID
    fi
    say "  $name: load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
    if ! start_uas; then
        say "  ${RES_NOTE[$name]}"
        stop_pid "$CUR_PID"
        return 1
    fi
    call_sipp "smoke-$name" 1 1 100
    if [ "$success" != 1 ]; then
        RES_NOTE[$name]="$name: a single authenticated call 100 -> 101 did not succeed: $(first_error "smoke-$name")"
        say "  ${RES_NOTE[$name]}"
        [ "$name" = sipd ] && { say "  sipd log (last lines):"; tail -n 5 "$W/sipd.log" | sed 's/^/    /'; }
        stop_pid "$UAS_PID"
        stop_pid "$CUR_PID"
        return 1
    fi

    search_max_rate call_step "$START_RATE"
    RES_RATE[$name]=$BEST_RATE
    if [ "$name" = sipd ] && [ "$BEST_RATE" -gt 0 ] && [ "${BENCH_CONCURRENT_SKIP:-0}" = 0 ]; then
        concurrent || RES_NOTE[$name]="sipd: not all $CONC calls were up at once (see above)"
    fi
    if kill -0 "$CUR_PID" 2>/dev/null; then
        RES_STATUS[$name]=ok
        [ -n "${RES_NOTE[$name]:-}" ] && RES_STATUS[$name]=partial
    else
        RES_NOTE[$name]="$name exited during the benchmark"
    fi
    stop_pid "$UAS_PID"
    stop_pid "$CUR_PID"
    [ "$BEST_RATE" -gt 0 ]
}

say "== bench/calls: 100 -> server -> 101, INVITE(407 auth)/180/200/ACK, hold ${HOLD_MS} ms, BYE; UDP 127.0.0.1, ${STEP_SECONDS}s per step"
say "   $(date -u '+%Y-%m-%d %H:%M UTC'); $(machine_note); ulimit -n $NOFILE"
say "   sipp $(sipp -v 2>&1 | grep -o 'v[0-9][0-9.]*' | head -1), $(kamailio -v 2>/dev/null | head -1)"
say ""
printf '%-9s %8s %9s %8s %7s %8s %7s  %s\n' server "target/s" "calls/s" calls failed retrans "srv CPU" verdict
rc=0
for s in sipd kamailio; do
    want "$s" || continue
    bench_server "$s" || rc=1
done

say ""
say "== bench/calls results"
printf '%-9s %-8s %10s  %s\n' server status "calls/s" "note"
for s in sipd kamailio; do
    want "$s" || continue
    printf '%-9s %-8s %10s  %s\n' "$s" "${RES_STATUS[$s]}" "${RES_RATE[$s]}" "${RES_NOTE[$s]:-}"
done
if want sipd && want kamailio; then
    say "ratio sipd/kamailio (calls/s): $(ratio "${RES_RATE[sipd]}" "${RES_RATE[kamailio]}")   (goal >= 1.0; sipd is a B2BUA, Kamailio a proxy)"
fi
if want sipd && [ -n "${CONC_RSS1:-}" ]; then
    say "sipd with $CONC_UP concurrent calls: VmRSS $CONC_RSS1 kB (before $CONC_RSS0 kB, after $CONC_RSS2 kB): $(awk -v a="$CONC_RSS1" -v b="$CONC_RSS0" -v n="$CONC_UP" 'BEGIN { printf "%.2f", (n > 0 ? (a - b) / n : 0) }') kB per call   (goal <= 10 KB)"
fi
exit $rc
