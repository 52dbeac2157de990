#!/usr/bin/env bash
# bench/run-all.sh — every benchmark, one after the other (`make bench`).
#
# Runs bench/register/run.sh and bench/calls/run.sh (each compares sipd with
# Kamailio in the same run and prints its result table and ratio) and keeps a
# copy of everything printed in bench/out/YYYYmmdd-HHMMSS.txt (not in git).
# Exit status: 0 when every benchmark ran both halves, else 1.
# Environment: see bench/lib/bench.sh (SIPSERVER_BIN, BUILD, BENCH_*).

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$HERE/out"
LOG=$HERE/out/$(date -u +%Y%m%d-%H%M%S).txt
rc=0
for b in register calls; do
    "$HERE/$b/run.sh" 2>&1 | tee -a "$LOG"
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    echo | tee -a "$LOG"
done
echo "bench: output kept in $LOG"
exit $rc
