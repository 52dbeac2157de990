#!/usr/bin/env bash
# phones-selftest.sh [CALLER CALLEE TRANSPORT] — check tests/lib/phones.sh against Kamailio.
#
# Runs a real call between two softphones through Kamailio (tests/tools/kamailio-standin.cfg)
# instead of sipd, so a failing softphone test can be told apart: harness or sipd.
# CALLER/CALLEE: bs (baresip) or lp (linphonec); TRANSPORT: udp or tcp. Default: bs bs udp.
# `phones-selftest.sh all` runs the 8 combinations. Exit 0 when every call passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = all ]; then
    rc=0
    for tr in udp tcp; do
        for a in bs lp; do
            for b in bs lp; do
                if "$0" "$a" "$b" "$tr" >/dev/null 2>&1; then echo "ok   $a -> $b ($tr)"
                else echo "FAIL $a -> $b ($tr)"; rc=1; fi
            done
        done
    done
    exit $rc
fi
. "$here/../lib/common.sh"
. "$here/../lib/phones.sh"
A=${1:-bs} B=${2:-bs} TR=${3:-udp}
T=$(mktemp -d /tmp/phones-selftest.XXXXXX)
trap tst_cleanup EXIT
trap 'exit 1' INT TERM
need kamailio
phones_need baresip linphonec
SIP_PORT=$($PY "$TOOLS/free-ports.py" 1) || fail "no free port"
sed "s/@PORT@/$SIP_PORT/g" "$here/kamailio-standin.cfg" > "$T/kamailio.cfg"
kamailio -DD -E -m 64 -M 8 -f "$T/kamailio.cfg" > "$T/kamailio.log" 2>&1 &
tst_track $!
wait_for 5 grep -q 'Listening on' "$T/kamailio.log" || fail "kamailio did not start"
sleep 0.5

phone() { # phone KIND NAME EXT HZ
    if [ "$1" = bs ]; then bs_start "$2" "$3" "secret$3" "$TR" "$4"
    else lp_start "$2" "$3" "secret$3" "$TR" "$4"; fi
}
phone "$A" a 100 440
phone "$B" b 101 1000
phone_wait_registered a 10 || phones_fail "caller not registered"
phone_wait_registered b 10 || phones_fail "callee not registered"
phone_dial a 101
phone_wait_established a 10 || phones_fail "caller: no established call"
phone_wait_established b 10 || phones_fail "callee: no established call"
sleep 3
phone_hangup a
phone_wait_ended a 10 || phones_fail "caller: call did not end"
phone_wait_ended b 10 || phones_fail "callee: call did not end"
phone_wait_rtp a 5 && phone_wait_rtp b 5 || phones_fail "no RTP statistics"
read -r atx arx < <(phone_rtp a)
read -r btx brx < <(phone_rtp b)
read -r af _ < <(phone_tone a)
read -r bf _ < <(phone_tone b)
tst_log "caller sent $atx received $arx heard ${af}Hz; callee sent $btx received $brx heard ${bf}Hz"
[ "$arx" -ge 100 ] && [ "$brx" -ge 100 ] || phones_fail "too few RTP packets"
[ "${af:-0}" -ge 900 ] && [ "${af:-0}" -le 1100 ] || phones_fail "caller did not hear 1000 Hz"
[ "${bf:-0}" -ge 380 ] && [ "${bf:-0}" -le 500 ] || phones_fail "callee did not hear 440 Hz"
phones_stop_all
tst_pass
