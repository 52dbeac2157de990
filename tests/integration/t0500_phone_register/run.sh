#!/usr/bin/env bash
# Real softphones register to sipd with digest auth: baresip as 100 (UDP), linphonec as 101
# (UDP), baresip as 102 (TCP), linphonec as 104 (TCP); sipd's `status` request shows each idle with the phone's user
# agent and transport; a wrong password leaves 103 offline; quitting phones unregister.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need baresip linphonec
tst_config <<'INI'
[extensions]
104 = secret104
INI
start_daemon sipd

bs_start a 100 secret100 udp
lp_start b 101 secret101 udp
bs_start c 102 secret102 tcp
lp_start e 104 secret104 tcp

phone_wait_registered a 10 || phones_fail "baresip 100/udp did not register"
phone_wait_registered b 10 || phones_fail "linphonec 101/udp did not register"
phone_wait_registered c 10 || phones_fail "baresip 102/tcp did not register"
phone_wait_registered e 10 || phones_fail "linphonec 104/tcp did not register"
tst_log "ok - the four phones say they are registered"

# expect_ext NUMBER UA_REGEX TRANSPORT — sipd's status line for the extension.
expect_ext() {
    local line state ua transport n expires
    wait_for 5 sipd_ext "$1" >/dev/null || phones_fail "sipd status does not list $1"
    sipd_wait_state "$1" idle 5
    line=$(sipd_ext "$1")
    IFS='|' read -r state ua transport n expires <<<"$line"
    tst_log "sipd status $1: state=$state ua='$ua' transport=$transport contacts=$n expires_in=$expires"
    [ "$state" = idle ] || phones_fail "status: $1 is '$state', want idle"
    grep -Eiq -- "$2" <<<"$ua" || phones_fail "status: $1 user agent '$ua' does not match /$2/"
    [ "${transport,,}" = "$3" ] || phones_fail "status: $1 transport '$transport', want $3"
    [ "$n" = 1 ] || phones_fail "status: $1 has $n contacts, want 1"
    [ "${expires:-0}" -gt 0 ] && [ "${expires:-0}" -le 600 ] \
        || phones_fail "status: $1 expires_in '$expires', want 1..600 (phones ask for 600)"
    tst_log "ok - sipd shows $1 idle with $3 contact of $ua"
}
expect_ext 100 '^baresip' udp
expect_ext 101 'linphone' udp
expect_ext 102 '^baresip' tcp
expect_ext 104 'linphone' tcp

# Quitting unregisters (Expires: 0): the extensions go offline.
phones_stop_all
for n in 100 101 102 104; do
    sipd_wait_state "$n" offline 5 || phones_fail "$n still listed after the phone quit (unregister)"
done
tst_log "ok - the phones unregistered on quit: 100, 101, 102, 104 offline"

# Wrong password, last (sipd may throttle 127.0.0.1 after it): baresip prints
# "reg: sip:103@…: 401 Unauthorized" or "403 Forbidden" and never registers; 103 stays offline.
bs_start d 103 wrong-password udp
phone_wait d 10 'reg: sip:103@[^ ]*: (401|403) ' || phones_fail "103 with a wrong password: no 401/403 answer"
[ "$(phone_count d 'registered successfully|\{0/UDP/v4\} 200 OK')" = 0 ] \
    || phones_fail "103 registered with a wrong password"
check "wrong password: 103 stays offline" sipd_wait_state 103 offline 2
tst_log "103 got: $(grep -aEo 'reg: sip:103@[^ ]*: [0-9]{3} [A-Za-z ]+' "${PHONE_DIR[d]}/out.log" | sort | uniq -c | tr '\n' ';')"
phone_stop d

stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
tst_pass
