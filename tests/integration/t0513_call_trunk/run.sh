#!/usr/bin/env bash
# Calls to and from the trunk with real phones: baresip plays the SIP provider at [sipd] trunk.
# 100 dials 9555: the provider gets INVITE sip:555@… from 100 (prefix stripped), audio flows,
# CDR outbound. The provider calls 101 (linphonec): accepted without a challenge, CDR inbound.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/phones.sh"
tst_init
phones_need baresip linphonec
tst_config </dev/null
bs_start_trunk prov 555 700
sed -i "s/^trunk = .*/trunk = $TRUNK_PEER/" "$CONF"
start_daemon cdrd
start_daemon sipd
bs_start a 100 secret100 udp 440
lp_start b 101 secret101 udp 1000
phone_wait_registered a 10 || phones_fail "baresip 100 did not register"
phone_wait_registered b 10 || phones_fail "linphonec 101 did not register"

# rtp_ok X Y — X and Y each received >= 60 packets (a ~2 s call) and what the other sent.
rtp_ok() {
    local xtx xrx ytx yrx
    phone_wait_rtp "$1" 5 && phone_wait_rtp "$2" 5 || phones_fail "no RTP statistics ($1, $2)"
    read -r xtx xrx < <(phone_rtp "$1")
    read -r ytx yrx < <(phone_rtp "$2")
    tst_log "$1: RTP sent $xtx received $xrx; $2: sent $ytx received $yrx"
    [ "$xrx" -ge 60 ] && [ "$yrx" -ge 60 ] && [ "$xrx" -ge $((ytx - 25)) ] && [ "$yrx" -ge $((xtx - 25)) ] \
        || phones_fail "RTP between $1 and $2 incomplete"
}

# expect_cdr SRC VALUE KEY KEY=VALUE... — the last CDR with src SRC and KEY VALUE.
expect_cdr() {
    local cdr kv
    cdr=$(cdr_wait "$1" "$2" 5 "$3") || phones_fail "no CDR src=$1 $3=$2"
    for kv in "${@:4}"; do
        [ "$(cdr_field "$cdr" "${kv%%=*}")" = "${kv#*=}" ] \
            || phones_fail "CDR src=$1 $3=$2: ${kv%%=*} is '$(cdr_field "$cdr" "${kv%%=*}")', want ${kv#*=}"
    done
    tst_log "ok - CDR src=$1 $3=$2: $(grep -E '^(dst|dialed|direction|disposition|cause|released_by)=' <<<"$cdr" | tr '\n' ' ')"
}

# 1. Outbound: 9 + 555 goes to the provider as 555, from 100.
phone_dial a 9555
phone_wait_established prov 10 || phones_fail "provider: no established call for 9555"
phone_wait_established a 10 || phones_fail "100: call to 9555 not established"
bs_trace prov | grep -q '^in INVITE sip:555@' || phones_fail "provider's INVITE is not for sip:555@ (prefix not stripped)"
grep -aA12 '^INVITE sip:555@' "${PHONE_DIR[prov]}/out.log" | grep -aiq '^From:.*sip:100@' \
    || phones_fail "provider's INVITE is not From 100"
sleep 2
phone_hangup a
phone_wait_ended prov 10 || phones_fail "provider: outbound call did not end"
rtp_ok a prov
read -r f _ < <(phone_tone a) || phones_fail "100: no recording"
[ "${f:-0}" -ge 620 ] && [ "${f:-0}" -le 780 ] || phones_fail "100 heard ${f} Hz, not the provider's 700 Hz"
expect_cdr 100 9555 dialed direction=outbound dst=555 disposition=ANSWERED cause=16 released_by=caller

# 2. Inbound: the provider calls 101 directly; no digest challenge for the trunk.
phone_dial_uri prov "sip:101@127.0.0.1:$SIP_PORT"
phone_wait_established b 10 || phones_fail "101: inbound call not established"
phone_wait_established prov 10 2 || phones_fail "provider: inbound call not established"
[ "$(bs_trace prov | grep -c '^in SIP/2.0 40[17] ')" = 0 ] || phones_fail "sipd challenged the trunk"
sleep 2
phone_hangup prov
phone_wait_ended b 10 || phones_fail "101: inbound call did not end"
rtp_ok prov b
expect_cdr 555 101 dst direction=inbound dialed=101 disposition=ANSWERED cause=16 released_by=caller

phones_stop_all
stop_daemon sipd || fail "sipd exit code $? after SIGTERM"
stop_daemon cdrd || tst_log "note: cdrd exit code $? after SIGTERM (its shutdown is t0001's subject, not this test's)"
tst_pass
