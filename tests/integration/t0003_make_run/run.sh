#!/usr/bin/env bash
# `make run`'s script starts all five daemons with name-prefixed output and
# stops all of them cleanly (exit 0) on SIGINT, as Ctrl-C does.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config </dev/null
# A non-interactive shell starts background jobs with SIGINT ignored; python
# restores the default so the script sees SIGINT as from a terminal.
SIPSERVER_BIN=$BIN $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$TOP/tests/tools/run-suite.sh" "$CONF" >"$T/run.log" 2>&1 &
pid=$!
tst_track "$pid"
for d in cdrd mediad sipd callbackd webd; do
    check "$d answers ping under make run" wait_ping "$d" 10
done
check "output lines carry the daemon name" grep -q '^sipd | .*msg="ready"' "$T/run.log"
kill -INT "$pid"
wait "$pid"
rc=$?
check "make run exits 0 after SIGINT (got $rc)" test "$rc" -eq 0
for d in cdrd mediad sipd callbackd webd; do
    check "$d stopped cleanly" grep -q "^$d | .*msg=\"stopping\"" "$T/run.log"
done
tst_pass
