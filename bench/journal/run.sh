#!/usr/bin/env bash
# bench/journal/run.sh — memory of sipd's CDR journal while cdrd is away.
#
# Writes COUNT (default 100000) pending CDRs into a spool with the journal
# itself (test_sipd_journal --heap, which also prints what replaying them
# adds to the heap in that process), then starts sipd on that spool without
# cdrd and reports its VmRSS once it has replayed them all (sipd's pong:
# cdr_pending), next to the VmRSS of a sipd on an empty spool.
# Not part of `make bench` (run-all.sh): it measures one class.
#
# Usage: BUILD=build bench/journal/run.sh [COUNT]
#        (needs $BUILD/bin/sipd and $BUILD/tests/test_sipd_journal;
#        SIPSERVER_BIN overrides the programs' directory)
set -u
COUNT=${1:-100000}
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export SIPSERVER_BIN=${SIPSERVER_BIN:-$BUILD/bin}
. "$TOP/tests/lib/common.sh"
tst_init
tst_config </dev/null

pending() {
    ipc sipd ping | sed -n 's/.*"cdr_pending": *\([0-9]*\).*/\1/p'
}

# sipd_rss — start sipd on $DATA_DIR, wait until it has replayed $1 CDRs,
# print its VmRSS in kB and stop it.
sipd_rss() {
    start_daemon sipd
    wait_for 120 test "$(pending)" = "$1" || fail "sipd did not replay $1 CDRs"
    sleep 1
    awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$T/sipd.pid")/status"
    stop_daemon sipd >/dev/null 2>&1
}

empty=$(sipd_rss 0)
"$BUILD/tests/test_sipd_journal" --heap "$DATA_DIR/spool" "$COUNT" \
    || fail "cannot write the spool"
full=$(sipd_rss "$COUNT")
echo "sipd VmRSS: empty spool $empty kB, $COUNT pending CDRs replayed $full kB:" \
     "$(awk -v a="$full" -v b="$empty" -v n="$COUNT" \
        'BEGIN { printf "%.0f", (a - b) * 1024 / n }') bytes per CDR"
