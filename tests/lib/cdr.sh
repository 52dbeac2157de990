# tests/lib/cdr.sh — read CDRs back from a running cdrd (cdr.query).
#
# Usage in run.sh, after common.sh, tst_init, tst_config and start_daemon cdrd:
#     . "$(dirname "$0")/../lib/cdr.sh"
#     check "stored" wait_for 10 cdr_query_count '{"dst":"555"}' 1
#     check "values" cdr_query_check '{"dst":"555"}' disposition=FAILED cause=1
#
# FILTER is the cdr.query body (docs/ipc.md): uniqueid, src, dst, from, to,
# disposition, limit, offset. While cdrd is not running, CDRs stay in sipd's
# journal instead (tests/lib/calls.sh cdr_check, or minicdr cat *.journal).

# cdr_query FILTER — print the rows matching FILTER as JSON lines.
cdr_query() {
    ipc cdrd cdr.query "$1" | $PY -c '
import json, sys
line = sys.stdin.read()
if not line.startswith("cdr.rows "):
    sys.exit("cdr.query failed: " + line.strip())
for row in json.loads(line[line.index("{"):])["rows"]:
    print(json.dumps(row))'
}

# cdr_query_count FILTER N — true when exactly N rows match (for wait_for).
cdr_query_count() {
    [ "$(cdr_query "$1" | wc -l)" -eq "$2" ]
}

# cdr_query_check FILTER key=value... — exactly one row matches FILTER and
# it has these values (empty value: null or ""); key~regex also works.
cdr_query_check() {
    local filter=$1
    shift
    cdr_query "$filter" | $PY -c '
import json, re, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
if len(rows) != 1:
    sys.exit("expected one CDR, got %d" % len(rows))
ok = True
for check in sys.argv[1:]:
    m = re.match(r"([a-z_]+)([=~])(.*)", check)
    key, op, want = m.group(1), m.group(2), m.group(3)
    got = rows[0].get(key)
    got = "" if got is None else str(got)
    good = got == want if op == "=" else re.search(want, got) is not None
    print("%s cdr %s %s %r (got %r)" % ("ok -" if good else "NOT", key, op, want, got), file=sys.stderr)
    ok = ok and good
sys.exit(0 if ok else 1)' "$@"
}
