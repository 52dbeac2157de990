#!/usr/bin/env bash
# t0404 — cdrd's loop never waits for the database: while another process
# holds the SQLite write lock, a CDR is not acknowledged (it is not durable
# yet) but ping and a bad query are still answered at once; once the lock
# is released the CDR is acknowledged and stored exactly once.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
command -v sqlite3 >/dev/null || skip "sqlite3 command-line tool missing"
tst_config </dev/null
start_daemon cdrd
DB=$DATA_DIR/cdr.sqlite
J='{"uniqueid":"locked-1","start_time":"2026-11-26T14:30:00.123Z","answer_time":null,"end_time":"2026-11-26T14:30:02.123Z","src":"100","dst":"101","dialed":"101","direction":"internal","disposition":"BUSY","sip_code":486,"cause":17,"call_tag":203,"released_by":"callee","recording":""}'

# Another writer holds the lock for 3 s (below SQLite's 5 s busy timeout).
(echo "BEGIN IMMEDIATE;"; sleep 3; echo "COMMIT;") | sqlite3 "$DB" &
LOCKER=$!
tst_track "$LOCKER"
sleep 0.5
"$BIN/sipctl" -t 8000 "$IPC_CDRD" cdr "$J" > "$T/cdr.out" 2>&1 &
SENDER=$!
tst_track "$SENDER"
sleep 0.5
check "no ack while the database is locked" test ! -s "$T/cdr.out"
start=$(date +%s%N)
check "ping answered while the actor waits for the lock" \
    bash -c "'$BIN/sipctl' -t 1000 '$IPC_CDRD' ping | grep -q '^pong '"
check "bad query answered while the actor waits" \
    bash -c "'$BIN/sipctl' -t 1000 '$IPC_CDRD' cdr.query '{\"limit\":0}' | grep -q '^error '"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
tst_log "ping and bad query took $ms ms with the database locked"
check "the CDR is still not acknowledged" test ! -s "$T/cdr.out"
wait "$LOCKER"
wait "$SENDER"
check "acked once the lock is released" grep -q '^ack .*"stored":"new"' "$T/cdr.out"
check "stored once in SQLite" test "$(sqlite3 "$DB" "SELECT count(*) FROM cdr WHERE uniqueid = 'locked-1'")" -eq 1
check "stored once in the CSV" test "$(grep -c '^locked-1,' "$DATA_DIR"/cdr/20261126.csv)" -eq 1
stop_daemon cdrd
check "cdrd exits 0" test $? -eq 0
tst_pass
