#!/usr/bin/env bash
# registrations.json is written by sipd's background writer while phones
# register, is whole after a crash (SIGKILL: tmp + fsync + rename), and a
# restart restores every binding from it; an unregistration is written too.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
N=300
FIRST=3000
PASS=pw-t0220
tst_config < <(echo "[extensions]"; for ((n = FIRST; n < FIRST + N; n++)); do echo "$n = $PASS"; done)
start_daemon sipd

{ echo SEQUENTIAL
  for ((n = FIRST; n < FIRST + N; n++)); do
      echo "$n;[authentication username=$n password=$PASS]"
  done; } > "$T/users.csv"
port=$(tst_ports 1) || fail "no free port"
timeout 60 sipp -sf "$(dirname "$0")/register-many.xml" -inf "$T/users.csv" \
    -i 127.0.0.1 -p "$port" -m "$N" -r 100 -l 200 -nostdin -timeout 30s \
    -timeout_error -trace_err -error_file "$T/sipp.err" -trace_stat -fd 1 \
    -stf "$T/sipp.csv" "127.0.0.1:$SIP_PORT" >"$T/sipp.out" 2>&1
check "SIPp: all $N registrations succeeded" [ $? = 0 ]

file=$DATA_DIR/spool/registrations.json
# bindings FILE — number of bindings in a registrations file ("" when unreadable)
bindings() {
    $PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["bindings"]))' "$1" 2>/dev/null
}
has() { [ "$(bindings "$file")" = "$1" ]; }
check "the file holds all $N bindings within 5 s" wait_for 5 has "$N"
check "status: $FIRST idle" ext_state_is "$FIRST" idle

# a crash (no shutdown write): the file on disk is the last complete one
pid=$(cat "$T/sipd.pid")
kill -KILL "$pid"
wait "$pid" 2>/dev/null
check "after SIGKILL the file is whole JSON with $N bindings" has "$N"
start_daemon sipd
check "restart: restored $N bindings logged" grep -q "restored $N bindings" "$T/sipd.log"
check "status after restart: $FIRST idle" ext_state_is "$FIRST" idle
check "status after restart: $((FIRST + N - 1)) idle" ext_state_is "$((FIRST + N - 1))" idle
ua=$(ext_field "$FIRST" 'e["contacts"][0]["user_agent"]')
check "user agent restored ($ua)" [ "$ua" = SIPp-t0220 ]

# an unregistration reaches the file (written by the background thread)
REG_EXPIRES="Expires: 0" REG_CONTACT="<sip:$FIRST@127.0.0.1:$port;transport=UDP>" \
    reg_run unreg "$FIRST" "$PASS"
check "unregister answered 200" [ "$(reg_code unreg)" = 200 ]
check "status: $FIRST offline" ext_state_is "$FIRST" offline
check "the file follows within 5 s ($((N - 1)) bindings)" wait_for 5 has "$((N - 1))"
check "sipd exits 0" stop_daemon sipd
check "no temporary file left" [ ! -e "$file.tmp" ]
check "file after the clean stop: $((N - 1)) bindings" has "$((N - 1))"
tst_pass
