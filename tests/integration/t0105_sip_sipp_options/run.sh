#!/usr/bin/env bash
# SIPp sends OPTIONS keep-alives to sipd over UDP and TCP at 200/s; every
# one must get 200 with Allow and Accept.
. "$(dirname "$0")/../../lib/common.sh"
need sipp
tst_init
tst_config </dev/null
SCEN=$(cd "$(dirname "$0")" && pwd)/options.xml
start_daemon sipd
for tr in u1 t1; do
    timeout 40 sipp -sf "$SCEN" -s 100 -t "$tr" -r 200 -m 1000 -l 200 -i 127.0.0.1 \
        -nostdin -timeout 30 -trace_err -error_file "$T/sipp-$tr.err" \
        127.0.0.1:"$SIP_PORT" >"$T/sipp-$tr.out" 2>&1
    rc=$?
    ok=$(grep -E "Successful call" "$T/sipp-$tr.out" | tail -1 | awk '{print $NF}')
    check "sipp $tr: 1000 OPTIONS all answered 200 (exit $rc, successful ${ok:-?})" test "$rc" -eq 0 -a "${ok:-0}" = 1000
done
check "sipd still answers ping" wait_ping sipd 2
stop_daemon sipd
check "sipd exits 0" test $? -eq 0
tst_pass
