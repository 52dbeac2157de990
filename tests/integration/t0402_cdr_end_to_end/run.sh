#!/usr/bin/env bash
# t0402 — CDRs go from sipd to cdrd end to end: read back with cdr.query and
# from the CSV; kill -9 of cdrd and a restart of sipd lose and duplicate
# nothing (the journal replays).
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/calls.sh"
. "$(dirname "$0")/../../lib/cdr.sh"
need sipp python3
tst_init
tst_config </dev/null
start_daemon cdrd
start_daemon sipd
calls_ports

journal_empty() { [ "$(cdr_count)" -eq 0 ]; }
journal_has() { [ "$(cdr_count)" -ge 1 ]; }

# 1. Unknown number: 404, stored by cdrd, journal compacted.
sipp_run caller1 -sf "$(sc_uac_fail 404 Reason: "Q.850;cause=1")" $(caller_args 555) \
    || { sipp_dump caller1; fail "caller did not get 404"; }
check "cdrd stored the 404 CDR" wait_for 10 cdr_query_count '{"dst":"555"}' 1
check "404 CDR values" cdr_query_check '{"dst":"555"}' disposition=FAILED src=100 \
    dialed=555 sip_code=404 cause=1 call_tag=301 released_by=system \
    fci=callTag=301\;cause=1 answer_time= billsec=0 direction=internal
check "journal compacted after the ack" wait_for 5 journal_empty

# 2. Busy callee with Reason cause 17.
sipp_register 101 "$UAS_PORT"
sipp_bg callee -sf "$SC/uas_busy.xml" -p "$UAS_PORT"
sipp_run caller2 -sf "$(sc_uac_fail 486 Reason: "Q.850;cause=17;text=\"User busy\"")" \
    $(caller_args 101) || { sipp_dump caller2; fail "caller did not get 486"; }
sipp_wait callee || { sipp_dump callee; fail "callee scenario failed"; }
check "cdrd stored the busy CDR" wait_for 10 cdr_query_count '{"dst":"101"}' 1
check "busy CDR values" cdr_query_check '{"dst":"101","disposition":"BUSY"}' \
    sip_code=486 cause=17 call_tag=203 released_by=callee

# 3. cdrd dies; a call's CDR waits in the journal, also across a sipd restart.
kill -KILL "$(cat "$T/cdrd.pid")"
wait "$(cat "$T/cdrd.pid")" 2>/dev/null
sipp_run caller3 -sf "$(sc_uac_fail 404 Reason: "Q.850;cause=1")" $(caller_args 556) \
    || { sipp_dump caller3; fail "caller did not get 404 (cdrd down)"; }
check "CDR kept in the journal while cdrd is down" wait_for 5 journal_has
stop_daemon sipd || fail "sipd did not exit cleanly"
check "journal still holds it after sipd stopped" journal_has
start_daemon cdrd
start_daemon sipd
check "replayed CDR reached cdrd" wait_for 15 cdr_query_count '{"dst":"556"}' 1
check "journal compacted after replay" wait_for 5 journal_empty

# 4. Exactly three CDRs, once each, in SQLite and CSV.
stop_daemon sipd || fail "sipd did not exit cleanly"
stop_daemon cdrd || fail "cdrd did not exit cleanly"
check "SQLite and CSV hold each CDR once" $PY - "$DATA_DIR" <<'PY'
import csv, glob, sqlite3, sys
data = sys.argv[1]
db = sqlite3.connect(data + "/cdr.sqlite")
ids = [r[0] for r in db.execute("SELECT uniqueid FROM cdr")]
rows = []
for path in glob.glob(data + "/cdr/*.csv"):
    rows += list(csv.reader(open(path, newline="", encoding="utf-8")))[1:]
csv_ids = [r[0] for r in rows]
print("  sqlite %d, csv %d" % (len(ids), len(csv_ids)), file=sys.stderr)
sys.exit(0 if len(ids) == 3 and sorted(ids) == sorted(csv_ids) == sorted(set(ids)) else 1)
PY
tst_pass
