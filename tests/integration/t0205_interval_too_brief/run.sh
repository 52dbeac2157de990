#!/usr/bin/env bash
# 423 Interval Too Brief with Min-Expires, for the Expires header and the contact
# parameter; Expires: 0 stays allowed; a bad Expires value is 400.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/registrar.sh"
tst_init
need sipp
tst_config <<'INI'
[sipd]
min_expires = 120
INI
start_daemon sipd

REG_EXPIRES="Expires: 30" reg_run a 100 secret100
check "Expires: 30 gets 423" [ "$(reg_code a)" = 423 ]
check "423 carries Min-Expires: 120" grep -q '^Min-Expires: 120' <(reg_last a | tr -d '\r')
REG_CONTACT="<sip:100@127.0.0.1:9>;expires=119" reg_run b 100 secret100
check "contact expires=119 gets 423" [ "$(reg_code b)" = 423 ]
REG_EXPIRES="Expires: soon" reg_run c 100 secret100
check "Expires: soon gets 400" [ "$(reg_code c)" = 400 ]
check "status: 100 offline" ext_state_is 100 offline
REG_EXPIRES="Expires: 120" reg_run d 100 secret100
check "Expires: 120 accepted" [ "$(reg_code d)" = 200 ]
check "status: 100 idle" ext_state_is 100 idle
check "sipd exits 0" stop_daemon sipd
tst_pass
