#!/usr/bin/env bash
# RFC 4475 torture messages replayed against sipd inside a private network
# namespace (they name foreign hosts; nothing may leave the machine). Each
# gets the answer the RFC asks of a UAS (or none where none can be routed,
# and never one to a response), and sipd stays up.
#
# REPORT=1 prints what each message got instead of asserting.
if [ -z "${SIPD_NETNS:-}" ]; then
    command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare missing" >&2; exit 77; }
    unshare -n true 2>/dev/null || { echo "SKIP: cannot create a network namespace (needs root)" >&2; exit 77; }
    exec unshare -n env SIPD_NETNS=1 bash "$0" "$@"
fi
ip link set lo up || { echo "FAIL: cannot bring lo up in the namespace" >&2; exit 1; }
. "$(dirname "$0")/../../lib/common.sh"
CORPUS=${RFC4475_DIR:-/work/shared/conformance/rfc4475/msgs}
[ -d "$CORPUS" ] || skip "RFC 4475 corpus not found in $CORPUS"
tst_init
tst_config </dev/null
SIPC="$PY $TOOLS/sipclient.py"

# name  expected answer (regex on the status lines; NONE = no answer)
# Valid messages must not get a 400-class syntax answer; invalid ones get
# what RFC 4475 §3 names. cparam02 reuses cparam01's Via branch and
# sent-by (regescrt those of escnull), so the transaction layer rightly
# takes it for a retransmission (RFC 3261 §17.2.3) within timer J and
# resends that answer, which names another Call-ID.
# INVITEs reach the B2BUA, whose verdict (407,
# 404, 480, ...) is policy: only "not a parse error" is asserted there.
EXPECT=$(cat <<'TABLE'
wsinv       ^(1[0-9][0-9]|[2-9]..) 
intmeth     ^405 
esc01       ^(200|40[1347]|48.) 
escnull     ^(401|403|200|423) 
esc02       ^40[15] 
lwsdisp     ^200 
longreq     ^(1[0-9][0-9]|40[47]|48[0-9]) 
dblreq      ^(401|403|200|423) 
semiuri     ^200 
transports  ^200 
mpart01     ^405 
unreason    NONE
noreason    NONE
badinv01    ^(400 |NO-RESPONSE)
clerr       ^400 
scalar02    ^400 
scalarlg    NONE
quotbal     ^400 
ltgtruri    ^400 
lwsruri     ^400 
lwsstart    ^400 
trws        ^400 
escruri     ^400 
baddate     ^400 
regbadct    ^400 
badaspec    ^400 
baddn       ^400 
badvers     ^505 
mismatch01  ^400 
mismatch02  ^400 
bigcode     NONE
badbranch   ^200 
insuf       ^400 
unkscm      ^416 
novelsc     ^416 
unksm2      ^(401|403|200|423) 
bext01      ^420 
invut       ^415 
regaut01    ^(401|403|200|423) 
multi01     ^400 
mcl01       ^400 
bcast       NONE
zeromf      ^200 
cparam01    ^(401|403|200|423) 
cparam02    ^(401|403|200|423|NO-RESPONSE)
regescrt    ^(401|403|200|423|NO-RESPONSE)
sdp01       ^(1[0-9][0-9]|4..|48.) 
inv2543     ^(1[0-9][0-9]|[2-9]..) 
ncl         ^400 
TABLE
)

start_daemon sipd
# One client run for all messages (Python starts slowly), answers labelled.
files=()
while read -r name want; do
    [ -n "$name" ] && files+=("$CORPUS/$name.dat")
done <<<"$EXPECT"
$SIPC --raw --bind-via --label --timeout 1 127.0.0.1 "$SIP_PORT" "${files[@]}" >"$T/answers.txt" 2>&1
n=0
while read -r name want; do
    [ -n "$name" ] || continue
    [ -f "$CORPUS/$name.dat" ] || { tst_log "missing $name.dat"; continue; }
    out=$(awk -v f="== $name.dat" '$0 == f {on = 1; next} /^== / {on = 0} on' "$T/answers.txt" \
          | grep -v '^1[0-9][0-9] ' | head -1)
    [ -n "$out" ] || out=NO-RESPONSE
    n=$((n + 1))
    if [ -n "${REPORT:-}" ]; then
        printf '%-12s %s\n' "$name" "$out"
        continue
    fi
    if [ "$want" = NONE ]; then
        check "$name: no answer (got: $out)" test "$out" = NO-RESPONSE
    else
        check "$name: $want (got: $out)" grep -qE "$want" <<<"$out "
    fi
done <<<"$EXPECT"
kill -0 "$(cat "$T/sipd.pid")" 2>/dev/null || fail "sipd died"
check "all $n messages replayed" test "$n" -ge 49
check "sipd still answers ping" wait_ping sipd 2
stop_daemon sipd
check "sipd exits 0" test $? -eq 0
tst_pass
