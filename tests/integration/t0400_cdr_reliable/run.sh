#!/usr/bin/env bash
# t0400 — at-least-once CDR delivery survives kill -9 of cdrd and of the
# sender: no CDR lost, none duplicated, in SQLite and in the CSV files.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
FEEDER=$(dirname "$BIN")/tests/test_sipd_journal
[ -x "$FEEDER" ] || skip "feeder not built: $FEEDER (make unit-bins)"
tst_config </dev/null

N=3000          # CDRs to deliver
RATE=1500       # per second, so the kills land mid-stream
SPOOL=$T/spool

csv_rows() { cat "$DATA_DIR"/cdr/*.csv 2>/dev/null | grep -c '^feed-' || true; }
rows_at_least() { [ "$(csv_rows)" -ge "$1" ]; }
kill9() { kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }

start_feeder() {
    "$FEEDER" --feed "$SPOOL" "$IPC_CDRD" "$N" "$RATE" >>"$T/feeder.log" 2>&1 &
    FEEDER_PID=$!
    tst_track "$FEEDER_PID"
}

start_daemon cdrd
start_feeder

check "cdrd stored 400 CDRs" wait_for 20 rows_at_least 400
kill9 "$(cat "$T/cdrd.pid")"
tst_log "killed cdrd at $(csv_rows) rows"
sleep 0.5
start_daemon cdrd

check "cdrd stored 1200 CDRs" wait_for 20 rows_at_least 1200
kill9 "$FEEDER_PID"
tst_log "killed the feeder at $(csv_rows) rows"
start_feeder

check "cdrd stored 2000 CDRs" wait_for 20 rows_at_least 2000
kill9 "$(cat "$T/cdrd.pid")"
tst_log "killed cdrd again at $(csv_rows) rows"
sleep 1
start_daemon cdrd

# The feeder exits 0 once everything is appended and acknowledged.
for ((i = 0; i < 400; i++)); do
    kill -0 "$FEEDER_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$FEEDER_PID" 2>/dev/null && fail "feeder still running after 40 s"
wait "$FEEDER_PID"
rc=$?
cat "$T/feeder.log" >&2
[ "$rc" -eq 0 ] || fail "feeder exited $rc"

check "cdr.query reads a CDR back" \
    bash -c "'$BIN/sipctl' -t 3000 '$IPC_CDRD' cdr.query '{\"uniqueid\":\"feed-000003\"}' | grep -q '\"count\":1'"
stop_daemon cdrd
check "cdrd exits 0 on SIGTERM" test $? -eq 0

# No loss, no duplicates: SQLite and CSV hold exactly feed-000000..N-1, the
# same values, and the journal is compacted.
check "SQLite and CSV are complete and duplicate-free" \
    $PY - "$DATA_DIR/cdr.sqlite" "$DATA_DIR/cdr" "$N" "$SPOOL" <<'PY'
import csv, glob, os, sqlite3, sys
db_path, cdr_dir, n, spool = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
header = ("uniqueid,start_time,answer_time,end_time,duration,billsec,src,dst,dialed,"
          "direction,disposition,sip_code,cause,call_tag,released_by,fci,recording").split(",")
expected = {"feed-%06d" % i for i in range(n)}
ok = True
def bad(msg):
    global ok
    ok = False
    print("  " + msg, file=sys.stderr)

rows = []
for path in sorted(glob.glob(os.path.join(cdr_dir, "*.csv"))):
    with open(path, newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    if records[0] != header:
        bad("%s: bad header %r" % (path, records[0]))
    for r in records[1:]:
        if len(r) != 17:
            bad("%s: row with %d fields: %r" % (path, len(r), r))
    rows += records[1:]
ids = [r[0] for r in rows]
if len(ids) != len(set(ids)):
    bad("CSV duplicates: %d" % (len(ids) - len(set(ids))))
if set(ids) != expected:
    bad("CSV missing %d, unexpected %d" % (len(expected - set(ids)), len(set(ids) - expected)))

db = sqlite3.connect(db_path)
if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
    bad("SQLite integrity check failed")
db_rows = {r[0]: r for r in db.execute("SELECT * FROM cdr")}
count = db.execute("SELECT count(*) FROM cdr").fetchone()[0]
if count != n or set(db_rows) != expected:
    bad("SQLite has %d rows, %d expected ids" % (count, len(set(db_rows) & expected)))
if db.execute("SELECT count(*) FROM cdr_csv_pending").fetchone()[0] != 0:
    bad("cdr_csv_pending not empty")
# CSV and SQLite agree value by value (NULL answer_time is an empty field).
for r in rows:
    d = db_rows.get(r[0])
    if d and [("" if v is None else str(v)) for v in d] != r:
        bad("CSV and SQLite differ for %s:\n    %r\n    %r" % (r[0], r, d))
        break
# Quoting survived: feed-000003 has src O'Neil, "Jo" 3.
q = [r for r in rows if r[0] == "feed-000003"]
if not q or q[0][6] != 'O\'Neil, "Jo" 3':
    bad("quoted src not preserved: %r" % (q[0][6] if q else None))
size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(spool, "cdr-*.journal")))
if size != 0:
    bad("journal not compacted: %d bytes left" % size)
print("  %d CSV rows, %d SQLite rows" % (len(rows), count), file=sys.stderr)
sys.exit(0 if ok else 1)
PY

tst_pass
