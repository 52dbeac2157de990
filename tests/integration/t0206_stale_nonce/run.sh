#!/usr/bin/env bash
# Stale nonce: with nonce_lifetime = 10, credentials computed for a nonce older than 10 s
# get a new 401 with stale=true (not 403); answering the fresh challenge registers.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
nonce_lifetime = 10
INI
start_daemon sipd

REG_SCENARIO=$(dirname "$0")/stale.xml reg_run a 100 secret100 \
    || fail "SIPp scenario failed: $(tail -3 "$T/a.out") $(cat "$T/a.err" 2>/dev/null | tail -3)"
check "answers: 401, 401 (stale), 200" [ "$(reg_codes a)" = "401 401 200" ]
second=$(reg_answers a | awk 'BEGIN{RS="\n=====\n"} NR==2')
check "second 401 says stale=true" grep -q '^WWW-Authenticate: Digest .*stale=true' <<<"$second"
first=$(reg_answers a | awk 'BEGIN{RS="\n=====\n"} NR==1')
not_stale() { ! grep -q stale <<<"$first"; }
check "first 401 is not stale" not_stale
check "status: 100 idle" ext_state_is 100 idle
check "no auth failure counted" bash -c "! grep -q 'authentication failed' '$T/sipd.log'"
check "sipd exits 0" stop_daemon sipd
tst_pass
