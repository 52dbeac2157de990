# tests/lib/registrar.sh — SIPp REGISTER helpers for the registrar tests (t0200-t0299).
#
# Usage in run.sh, after tst_config and start_daemon sipd:
#     . "$(dirname "$0")/../lib/registrar.sh"
#     reg_run a 100 secret100                  # one REGISTER with auth, UDP
#     [ "$(reg_code a)" = 200 ] || fail ...    # status of the last answer
#     reg_last a | grep -q '^Date:'            # the last answer, headers and all
# Variables read by reg_run (unset: defaults):
#     REG_TRANSPORT   u1 (UDP) or t1 (TCP)
#     REG_EXPIRES     the Expires header line ("Expires: 3600"); "" for none
#     REG_CONTACT     Contact value; default <sip:USER@127.0.0.1:PORT> (PORT: SIPp's)
#     REG_SCENARIO    scenario file (default tests/sipp/register.xml)
# REG_PORT holds the local port of the last run.

REG_DIR=$TOP/tests/sipp

# reg_run NAME USER PASSWORD [sipp args...] — run one registration; returns SIPp's status.
reg_run() {
    local name=$1 user=$2 pass=$3
    shift 3
    need sipp
    REG_PORT=$(tst_ports 1) || fail "no free port"
    local contact=${REG_CONTACT:-<sip:$user@127.0.0.1:$REG_PORT>}
    local expires=${REG_EXPIRES-Expires: 3600}
    [ -n "$expires" ] || expires="X-No-Expires: 1"
    rm -f "$T/$name.msg"
    timeout 30 sipp -sf "${REG_SCENARIO:-$REG_DIR/register.xml}" -m 1 -l 1 \
        -key user "$user" -key contact "$contact" -key expires_hdr "$expires" \
        -au "$user" -ap "$pass" -i 127.0.0.1 -p "$REG_PORT" -t "${REG_TRANSPORT:-u1}" \
        -trace_msg -message_file "$T/$name.msg" -trace_err -error_file "$T/$name.err" \
        -timeout 20s -timeout_error -max_recv_loops 100 -nostdin "$@" \
        "127.0.0.1:$SIP_PORT" >"$T/$name.out" 2>&1
}

# reg_answers NAME — every message SIPp received, separated by lines "=====". A message
# byte-identical to one received before is a retransmitted response (sipd answers each
# retransmission of SIPp's request, which SIPp resends after 500 ms when a loaded machine
# delays the answer): it is listed once.
reg_answers() {
    $PY - "$T/$1.msg" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read() if len(sys.argv) > 1 else ""
blocks = re.split(r"\n-{10,}[^\n]*\n", "\n" + text)
out = []
for b in blocks:
    head, _, body = b.partition("\n")
    if "message received" in head:
        body = body.strip("\n")
        if body not in out:
            out.append(body)
print("\n=====\n".join(out))
PY
}

# reg_last NAME — the last message SIPp received.
reg_last() {
    reg_answers "$1" | awk 'BEGIN{RS="\n=====\n"} {last=$0} END{print last}'
}

# reg_code NAME — the status code of the last received message.
reg_code() {
    reg_last "$1" | awk 'NR==1 && /^SIP\/2.0/ {print $2}'
}

# reg_codes NAME — status codes of all received messages, space-separated.
reg_codes() {
    reg_answers "$1" | awk '/^SIP\/2.0 [0-9]/ {printf "%s%s", sep, $2; sep=" "} END{print ""}'
}

# status_json — sipd's status reply body (JSON), or fail.
status_json() {
    local reply
    reply=$(ipc sipd status) || fail "sipd does not answer status"
    case $reply in status\ *) printf '%s\n' "${reply#status }" ;; *) fail "status reply: $reply" ;; esac
}

# ext_field NUMBER EXPR — evaluate a Python expression on the extension's status object
# (variable e; e.g. 'e["state"]', 'len(e["contacts"])'). Prints the result.
ext_field() {
    status_json | $PY -c '
import json, sys
number, expr = sys.argv[1], sys.argv[2]
for e in json.load(sys.stdin)["extensions"]:
    if e["number"] == number:
        print(eval(expr))
        break
else:
    sys.exit(1)' "$1" "$2"
}

# ext_state_is NUMBER STATE — predicate for wait_for.
ext_state_is() {
    [ "$(ext_field "$1" 'e["state"]' 2>/dev/null)" = "$2" ]
}
