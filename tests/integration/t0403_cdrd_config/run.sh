#!/usr/bin/env bash
# t0403 — cdrd start-up errors (unsupported backend, unusable dsn: exit 2 and
# one line naming the key) and csv = no (rows stored, no CSV files).
. "$(dirname "$0")/../../lib/common.sh"
tst_init

tst_config <<'INI'
[cdrd]
backend = postgresql
dsn = postgresql://127.0.0.1:1/cdr
INI
"$BIN/cdrd" -c "$CONF" > "$T/pg.out" 2>&1
check "backend postgresql: exit 2" test $? -eq 2
check "backend postgresql: says not supported, names the key" \
    grep -q "\[cdrd\] backend: backend 'postgresql' is not supported" "$T/pg.out"

tst_config <<'INI'
[cdrd]
dsn = /proc/sipserver-no-such-dir/cdr.sqlite
INI
"$BIN/cdrd" -c "$CONF" > "$T/dsn.out" 2>&1
check "unusable dsn: exit 2" test $? -eq 2
check "unusable dsn: names the file" grep -q "cannot open SQLite database /proc/sipserver-no-such-dir/cdr.sqlite" "$T/dsn.out"

tst_config <<'INI'
[cdrd]
csv = no
INI
start_daemon cdrd
J='{"uniqueid":"nocsv-1","start_time":"2026-11-26T14:30:00.123Z","answer_time":null,"end_time":"2026-11-26T14:30:02.123Z","src":"100","dst":"101","dialed":"101","direction":"internal","disposition":"BUSY","sip_code":486,"cause":17,"call_tag":203,"released_by":"callee","recording":""}'
check "csv = no: cdr acked" bash -c "'$BIN/sipctl' -t 3000 '$IPC_CDRD' cdr '$J' | grep -q '^ack .*\"stored\":\"new\"'"
check "csv = no: duplicate acked as duplicate" bash -c "'$BIN/sipctl' -t 3000 '$IPC_CDRD' cdr '$J' | grep -q '\"stored\":\"duplicate\"'"
check "invalid cdr: error with retry false" bash -c "'$BIN/sipctl' -t 3000 '$IPC_CDRD' cdr '{\"uniqueid\":\"x\"}' | grep -q '^error .*\"retry\":false'"
check "bad query filter: error" bash -c "'$BIN/sipctl' -t 3000 '$IPC_CDRD' cdr.query '{\"from\":\"yesterday\"}' | grep -q '^error '"
check "csv = no: row queryable" bash -c "'$BIN/sipctl' -t 3000 '$IPC_CDRD' cdr.query '{\"uniqueid\":\"nocsv-1\"}' | grep -q '\"count\":1,'"
stop_daemon cdrd
check "cdrd exits 0" test $? -eq 0
check "csv = no: no CSV written" test -z "$(ls "$DATA_DIR"/cdr/*.csv 2>/dev/null)"
# A CSV write failure (the day file is a directory) fails the batch with
# retry; once the file can be written, the missing row is written exactly
# once and the resent CDR is acknowledged as a duplicate.
tst_config </dev/null
start_daemon cdrd
mkdir -p "$DATA_DIR/cdr/20261126.csv"
cdr_json() {   # cdr_json UNIQUEID
    printf '{"uniqueid":"%s","start_time":"2026-11-26T14:30:00.123Z","answer_time":null,"end_time":"2026-11-26T14:30:02.123Z","src":"100","dst":"101","dialed":"101","direction":"internal","disposition":"BUSY","sip_code":486,"cause":17,"call_tag":203,"released_by":"callee","recording":""}' "$1"
}
send_cdr() { "$BIN/sipctl" -t 3000 "$IPC_CDRD" cdr "$(cdr_json "$1")"; }
reply_has() { send_cdr "$1" | grep -q "$2"; }           # reply_has UNIQUEID REGEX
csv_rows_of() { grep -c "^$1," "$DATA_DIR/cdr/20261126.csv"; }
check "CSV failure: error with retry true" reply_has csv-a '^error .*"retry":true'
rmdir "$DATA_DIR/cdr/20261126.csv"
check "next CDR acked once the CSV is writable" reply_has csv-b '"stored":"new"'
check "the resent CDR is a duplicate" reply_has csv-a '"stored":"duplicate"'
check "CSV holds csv-a once" test "$(csv_rows_of csv-a)" -eq 1
check "CSV holds csv-b once" test "$(csv_rows_of csv-b)" -eq 1
stop_daemon cdrd
check "cdrd exits 0 after CSV trouble" test $? -eq 0
tst_pass
