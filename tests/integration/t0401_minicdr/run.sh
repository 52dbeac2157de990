#!/usr/bin/env bash
# t0401 — minicdr cat/convert with filters against golden CSV files, error
# messages with file:line, and the "not supported yet" legacy .cdr input.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
M=$BIN/minicdr
[ -x "$M" ] || fail "minicdr not built"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
IN="20261126.csv 20261127.csv"

# golden NAME ARGS... — stdout of `minicdr cat ARGS` must equal golden-NAME.csv
# and the exit status must be $EXPECT (1 when bad rows are in the input).
golden() {
    local name=$1 rc
    shift
    "$M" cat "$@" > "$T/$name.csv" 2> "$T/$name.err"
    rc=$?
    [ "$rc" -eq "$EXPECT" ] || { tst_log "exit $rc, expected $EXPECT"; cat "$T/$name.err" >&2; return 1; }
    diff -u "golden-$name.csv" "$T/$name.csv" >&2
}

EXPECT=1
check "cat all: valid rows normalised (CRLF, quotes, UTF-8)" golden all $IN
check "cat reports bad rows as file:line" diff -u golden-all.err "$T/all.err"
check "--src" golden src --src 100 $IN
check "--from/--to (to exclusive, date form)" golden from-to --from 2026-11-26T10:00:00Z --to 2026-11-27 $IN
check "--disposition, case-insensitive" golden noanswer --disposition "no answer" $IN
check "--dst with --disposition over CSV and journal" golden dst-answered --dst 101 --disposition ANSWERED $IN cdr-0000000001.journal
check "journal input: C lines, acked or not" golden journal cdr-0000000001.journal
check "journal errors as file:line" diff -u golden-journal.err "$T/journal.err"

EXPECT=0
check "clean input exits 0" golden convert 20261127.csv
check "stdin input" bash -c "'$M' cat - < 20261127.csv | diff -u golden-convert.csv -"

check "convert writes OUT.csv" "$M" convert 20261127.csv "$T/out.csv"
check "convert output is golden" diff -u golden-convert.csv "$T/out.csv"
check "convert with a filter" bash -c "'$M' convert --disposition FAILED 20261127.csv '$T/failed.csv' 2>/dev/null && grep -c '^c' '$T/failed.csv' | grep -qx 1 && grep -q '^c6,' '$T/failed.csv'"
check "convert takes exactly IN OUT" bash -c "'$M' convert $IN '$T/x.csv' 2>/dev/null; test \$? -eq 2"

"$M" cat legacy.cdr > /dev/null 2> "$T/legacy.err"
check "legacy .cdr: exit 1" test $? -eq 1
check "legacy .cdr: says not supported yet" grep -q "legacy binary .cdr format is not supported yet" "$T/legacy.err"
"$M" convert legacy.cdr "$T/legacy.csv" 2> "$T/legacy2.err"
check "convert .cdr: exit 1, no output file" test $? -eq 1 -a ! -e "$T/legacy.csv"

"$M" cat wrong-header.csv > /dev/null 2> "$T/header.err"
check "foreign header refused" grep -q "^wrong-header.csv:1: header does not match" "$T/header.err"
"$M" cat --from yesterday 20261127.csv > /dev/null 2>&1
check "bad --from is a usage error (2)" test $? -eq 2
"$M" cat --disposition MAYBE 20261127.csv > /dev/null 2>&1
check "bad --disposition is a usage error (2)" test $? -eq 2
"$M" cat no-such-file.csv > /dev/null 2> "$T/missing.err"
check "missing file: exit 1 with its name" grep -q "no-such-file.csv" "$T/missing.err"
"$M" > /dev/null 2>&1
check "no command: usage, exit 2" test $? -eq 2
check "--version" bash -c "'$M' --version | grep -q '^minicdr '"
tst_pass
