#!/usr/bin/env bash
# docs/config.md is generated from the key table; it must match the build,
# and etc/sipserver.conf must set every declared key (it is the reference
# example) and load without warnings.
. "$(dirname "$0")/../../lib/common.sh"
tst_init
"$BIN/sipd" --config-doc > "$T/config.md"
check "docs/config.md is up to date (run make docs)" diff -u "$TOP/docs/config.md" "$T/config.md"
"$BIN/sipd" -c "$TOP/etc/sipserver.conf" --dump-config > "$T/dump.ini" 2>"$T/warnings.txt"
check "etc/sipserver.conf loads" test -s "$T/dump.ini"
check "etc/sipserver.conf has no unknown keys" test ! -s "$T/warnings.txt"
section=""
while IFS= read -r line; do
    case $line in
        "["*"]") section=${line#[}; section=${section%]} ;;
        *" = "*)
            key=${line%% = *}
            [ "$section" = extensions ] && continue
            awk -v s="[$section]" -v k="$key" '
                /^\[/ { cur = $0 } cur == s && $1 == k { found = 1 } END { exit !found }' \
                "$TOP/etc/sipserver.conf" || fail "etc/sipserver.conf lacks [$section] $key"
            ;;
    esac
done < "$T/dump.ini"
tst_pass
