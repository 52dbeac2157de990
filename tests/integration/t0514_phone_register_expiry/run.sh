#!/usr/bin/env bash
# Registration timing with real phones: with min_expires = 20, baresip and linphonec asking
# for 10 s get 423 (Min-Expires: 20) and register for 20 s; baresip keeps refreshing and
# stays idle past the expiry; linphonec killed with SIGKILL (no unregister) goes offline
# when its binding expires.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need baresip linphonec
tst_config <<'INI'
[sipd]
min_expires = 20
INI
start_daemon sipd
PHONE_REGINT=10
bs_start a 100 secret100 udp
lp_start b 101 secret101 udp
phone_wait_registered a 10 || phones_fail "baresip 100 did not register after the 423"
phone_wait_registered b 10 || phones_fail "linphonec 101 did not register after the 423"
t0=${EPOCHREALTIME/./}

# Both were told 423 with Min-Expires: 20 and asked again for 20 s.
for p in a:out.log b:linphonec.log; do
    f=${PHONE_DIR[${p%%:*}]}/${p#*:}
    grep -aq '^SIP/2.0 423 ' "$f" || phones_fail "phone ${p%%:*}: no 423 Interval Too Brief"
    grep -aq '^Min-Expires: 20' "$f" || phones_fail "phone ${p%%:*}: 423 without Min-Expires: 20"
    grep -aEq '^(Contact: .*;expires=20|Expires: 20)' "$f" || phones_fail "phone ${p%%:*}: no REGISTER asking for 20 s"
done
for n in 100 101; do
    IFS='|' read -r st _ _ _ exp <<<"$(sipd_ext $n)"
    [ "$st" = idle ] && [ "${exp:-0}" -ge 1 ] && [ "${exp:-99}" -le 20 ] \
        || phones_fail "status $n: state '$st' expires_in '$exp', want idle and 1..20"
done
tst_log "ok - 423 with Min-Expires: 20 honoured by both phones; status shows expiry <= 20 s"

# linphonec dies without unregistering; baresip keeps refreshing.
kill -KILL $(_phone_procs b) 2>/dev/null
wait_for 30 eval '[ "$(sipd_ext_state 101)" = offline ]' || phones_fail "101 not offline after its 20 s binding expired"
gone=$(( (${EPOCHREALTIME/./} - t0) / 1000000 ))
[ "$gone" -ge 15 ] || phones_fail "101 went offline after ${gone} s, before its 20 s expiry"
tst_log "ok - 101 offline ${gone} s after registering (binding expired)"
wait_for 10 eval '[ $(( (${EPOCHREALTIME/./} - t0) / 1000000 )) -ge 25 ]'
regs=$(grep -ac '^SIP/2.0 200 OK' "${PHONE_DIR[a]}/out.log")
[ "$regs" -ge 2 ] || phones_fail "baresip did not refresh its registration ($regs 200 OK)"
[ "$(sipd_ext_state 100)" = idle ] || phones_fail "100 is '$(sipd_ext_state 100)' 25 s after registering despite refreshes"
tst_log "ok - 100 still idle after 25 s ($regs successful REGISTERs: refreshed)"

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
tst_pass
