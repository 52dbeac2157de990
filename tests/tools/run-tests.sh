#!/usr/bin/env bash
# run-tests.sh — the test runner behind `make test`.
#
# Runs every cmocka unit test binary (each test case counts), the fuzz
# targets for a bounded time (tests/fuzz/run.sh, one result per target), and
# every integration unit tests/integration/tNNNN_*/run.sh (exit 0 pass, 77 skipped,
# anything else or a timeout fails). Logs go to $BUILD/test-logs/. The very
# last line is "N passed, M failed" (", K skipped" when any were skipped);
# the exit status is non-zero when anything failed.
#
# Options: --unit-only, --only PATTERN (integration units matching), -v.
# Environment: TEST_JOBS (integration units at a time, default 2),
# FUZZ_SECONDS (per fuzz target, default 20), SANITIZE=1 (binaries built
# with ASan/UBSan: every report any program writes, leaks at a daemon's
# exit included, lands in $BUILD/test-logs/sanitizer/ and counts as a
# failure; ASAN_OPTIONS/UBSAN_OPTIONS already set are kept).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export SIPSERVER_BIN=${SIPSERVER_BIN:-$BUILD/bin}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
SANLOGS=$LOGS/sanitizer
case $SANLOGS in /*) ;; *) SANLOGS=$PWD/$SANLOGS ;; esac
if [ "${SANITIZE:-}" = 1 ]; then
    rm -rf "$SANLOGS"
    mkdir -p "$SANLOGS"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-log_path=$SANLOGS/asan:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-log_path=$SANLOGS/ubsan:print_stacktrace=1}
fi
UNIT_ONLY=0
ONLY=""
VERBOSE=0
while [ $# -gt 0 ]; do
    case $1 in
        --unit-only) UNIT_ONLY=1 ;;
        --only) ONLY=$2; shift ;;
        -v) VERBOSE=1 ;;
        *) echo "run-tests: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

passed=0
failed=0
skipped=0
failures=()

record() {   # record NAME RESULT(pass|fail|skip) LOG
    case $2 in
        pass) passed=$((passed + 1)); printf '  PASS  %s\n' "$1" ;;
        skip) skipped=$((skipped + 1)); printf '  SKIP  %s (%s)\n' "$1" "$(grep -m1 '^SKIP' "$3" 2>/dev/null)" ;;
        *) failed=$((failed + 1)); failures+=("$1"); printf '  FAIL  %s (log: %s)\n' "$1" "$3"
           tail -n 25 "$3" | sed 's/^/        /' ;;
    esac
}

echo "== unit tests (cmocka)"
for bin in "$BUILD"/tests/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    log=$LOGS/$name.log
    [ -n "$ONLY" ] && [[ $name != *$ONLY* ]] && continue
    CMOCKA_MESSAGE_OUTPUT=TAP timeout 120 "$bin" >"$log" 2>&1
    rc=$?
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    passed=$((passed + ok))
    if [ "$bad" -gt 0 ] || [ "$rc" -ne 0 ]; then
        [ "$bad" -eq 0 ] && bad=1      # crashed or exited non-zero
        failed=$((failed + bad))
        failures+=("$name")
        printf '  FAIL  %s: %d ok, %d failed (exit %d, log: %s)\n' "$name" "$ok" "$bad" "$rc" "$log"
        grep -A3 '^not ok' "$log" | head -20 | sed 's/^/        /'
    else
        printf '  PASS  %s (%d cases)\n' "$name" "$ok"
    fi
done

if [ "$UNIT_ONLY" -eq 0 ]; then
    if [ -x tests/fuzz/run.sh ] && [ -z "$ONLY" ]; then
        echo "== fuzz targets (bounded)"
        for target in $(tests/fuzz/run.sh --list 2>/dev/null); do
            log=$LOGS/fuzz-$target.log
            timeout 300 tests/fuzz/run.sh "$target" "${FUZZ_SECONDS:-20}" >"$log" 2>&1
            rc=$?
            if [ $rc -eq 0 ]; then record "fuzz $target" pass "$log"
            elif [ $rc -eq 77 ]; then record "fuzz $target" skip "$log"
            else record "fuzz $target" fail "$log"; fi
        done
    fi

    # Integration units run TEST_JOBS at a time (default 2): most of their
    # time is spent waiting on timers and peers, and each picks its own free
    # ports, so they do not collide. Results are reported as they finish.
    echo "== integration tests (${TEST_JOBS:-2} at a time)"
    units=()
    for dir in tests/integration/t[0-9][0-9][0-9][0-9]_*/; do
        dir=${dir%/}
        [ -x "$dir/run.sh" ] || continue
        name=$(basename "$dir")
        [ -n "$ONLY" ] && [[ $name != *$ONLY* ]] && continue
        units+=("$dir")
    done
    run_unit() {   # run_unit DIR — writes LOG and LOG.rc
        local dir=$1 name log start rc
        name=$(basename "$dir")
        log=$LOGS/$name.log
        start=$(date +%s)
        timeout -k 5 180 "$dir/run.sh" >"$log" 2>&1 </dev/null
        rc=$?
        echo "(exit $rc, $(( $(date +%s) - start ))s)" >> "$log"
        echo "$rc $(( $(date +%s) - start ))" > "$log.rc"
    }
    report_unit() {   # report_unit DIR
        local name log rc secs
        name=$(basename "$1")
        log=$LOGS/$name.log
        read -r rc secs < "$log.rc"
        rm -f "$log.rc"
        [ "$VERBOSE" -eq 1 ] && cat "$log"
        if [ "$rc" -eq 0 ]; then record "$name (${secs}s)" pass "$log"
        elif [ "$rc" -eq 77 ]; then record "$name" skip "$log"
        else record "$name (exit $rc, ${secs}s)" fail "$log"; fi
    }
    declare -A running=()
    for dir in "${units[@]}"; do
        while [ ${#running[@]} -ge "${TEST_JOBS:-2}" ]; do
            wait -n 2>/dev/null
            for pid in "${!running[@]}"; do
                if ! kill -0 "$pid" 2>/dev/null; then
                    wait "$pid" 2>/dev/null
                    report_unit "${running[$pid]}"
                    unset "running[$pid]"
                fi
            done
        done
        run_unit "$dir" &
        running[$!]=$dir
    done
    for pid in "${!running[@]}"; do
        wait "$pid" 2>/dev/null
        report_unit "${running[$pid]}"
    done
fi

if [ "${SANITIZE:-}" = 1 ]; then
    echo "== sanitizer reports"
    for report in "$SANLOGS"/*; do
        [ -f "$report" ] || continue
        failed=$((failed + 1))
        failures+=("$(basename "$report")")
        printf '  FAIL  %s\n' "$report"
        grep -m3 -E 'ERROR|runtime error|SUMMARY' "$report" | sed 's/^/        /'
    done
fi

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
