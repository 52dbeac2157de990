#!/usr/bin/env bash
# Bad configurations: each daemon exits 2 with one clear line naming the
# problem (file, line, key); an endpoint that cannot be bound also gives 2.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
tst_config </dev/null

# expect_exit2 DAEMON CONFIG PATTERN — exit code 2, exactly one stderr line matching PATTERN.
expect_exit2() {
    local daemon=$1 conf=$2 pattern=$3 out rc
    out=$(timeout 10 "$BIN/$daemon" -c "$conf" 2>&1 >/dev/null)
    rc=$?
    check "$daemon -c $(basename "$conf") exits 2 (got $rc)" test "$rc" -eq 2
    check "$daemon prints one line (got: $out)" test "$(printf '%s\n' "$out" | grep -vc 'lvl=warning')" -eq 1
    check "$daemon message matches '$pattern' (got: $out)" grep -qE "$pattern" <<<"$out"
}

for d in sipd mediad callbackd cdrd webd; do
    expect_exit2 "$d" /nonexistent "^$d: /nonexistent: cannot open: No such file or directory$"
done

printf '[callbackd]\nport = 70000\n' > "$T/port.conf"
expect_exit2 callbackd "$T/port.conf" "^callbackd: $T/port.conf:2: \[callbackd\] port: 70000 is not a port \(0-65535\)$"

printf '[general]\nlog_level = loud\n' > "$T/level.conf"
expect_exit2 sipd "$T/level.conf" "level.conf:2: \[general\] log_level: 'loud' is not one of error\|warn\|info\|debug"

printf '[sipd]\nlisten 127.0.0.1\n' > "$T/syntax.conf"
expect_exit2 sipd "$T/syntax.conf" "syntax.conf:2: syntax error"

printf '[sipd]\nno_answer_timeout = never\n' > "$T/type.conf"
expect_exit2 sipd "$T/type.conf" "type.conf:2: \[sipd\] no_answer_timeout: 'never' is not a number"

# Unknown keys only warn: the daemon starts.
cp "$CONF" "$T/good.conf"
printf '[webd]\nshiny = yes\n' >> "$T/good.conf"
CONF=$T/good.conf start_daemon webd
check "unknown key is warned with file and line" grep -q 'good.conf:[0-9]*: \[webd\] shiny: unknown key (ignored)' "$T/webd.log"

# The same endpoint cannot be bound twice: the second webd exits 2 and names [ipc] webd.
out=$(timeout 10 "$BIN/webd" -c "$T/good.conf" 2>&1 >/dev/null); rc=$?
check "second webd on a taken endpoint exits 2 (got $rc)" test "$rc" -eq 2
check "it names the [ipc] key and the reason (got: $out)" grep -q '\[ipc\] webd: cannot bind tcp://127.0.0.1:[0-9]*: Address already in use' <<<"$out"

check "missing -c is an error" bash -c "'$BIN/sipd' 2>/dev/null; test \$? -eq 2"
check "--version prints the version" bash -c "'$BIN/sipd' --version | grep -q '^sipd [0-9]'"
check "--help exits 0" "$BIN/cdrd" --help
stop_daemon webd
tst_pass
