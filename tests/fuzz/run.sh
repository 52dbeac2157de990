#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]          build and run every target
# tests/fuzz/run.sh TARGET [SECONDS]   build and run one (fuzz_sipd_message)
# tests/fuzz/run.sh --list             print the target names
#
# Builds each libFuzzer target in tests/fuzz/ (fuzz_*.c) with clang-14,
# ASan and UBSan, and runs it for SECONDS (default 30) on a seed corpus
# (tests/fuzz/corpus/<target>/ plus the RFC 4475 messages and our own
# malformed corpus for SIP targets). Exits non-zero on a crash, a leak or
# a sanitizer report; the crashing input is left in $OUT (printed);
# 77 when clang-14 is missing.
#
# Environment: CLANG (default clang-14), FUZZ_OUT (default $BUILD/fuzz).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TARGETS=()
for src in "$TOP"/tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] && TARGETS+=("$(basename "$src" .c)")
done
if [ "${1:-}" = "--list" ]; then
    printf '%s\n' "${TARGETS[@]}"
    exit 0
fi
case ${1:-} in
    fuzz_*) TARGETS=("$1"); shift ;;
esac
[ -f "$TOP/tests/fuzz/${TARGETS[0]}.c" ] || { echo "fuzz: no target ${TARGETS[0]}" >&2; exit 2; }
SECS=${1:-30}
CLANG=${CLANG:-clang-14}
OUT=${FUZZ_OUT:-$TOP/${BUILD:-build}/fuzz}
case $OUT in /*) ;; *) OUT=$TOP/$OUT ;; esac
command -v "$CLANG" >/dev/null 2>&1 || { echo "fuzz: $CLANG not installed" >&2; exit 77; }
mkdir -p "$OUT"

PKG_CFLAGS=$(pkg-config --cflags libosip2 libczmq jansson)
PKG_LIBS=$(pkg-config --libs libosip2 libczmq libzmq jansson inih libcrypto)
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DSIPSERVER_VERSION=\"fuzz\" -I$TOP/common $PKG_CFLAGS"

# Sources each target links, beside its own file.
sources_for() {
    case $1 in
        fuzz_sipd_registrar) echo "$TOP/sipd/sipd_check.c $TOP/sipd/sipd_msg.c" \
            "$TOP"/sipd/sipd_{registrar,auth,throttle,location,regfile,events,clock,random}.c \
            "$TOP"/common/cm_{config,config_keys,log,msg,service}.c ;;
        fuzz_sipd_sdp) echo "$TOP/sipd/sipd_sdp.c $TOP/sipd/sipd_random.c" ;;
        fuzz_sipd_*) echo "$TOP/sipd/sipd_check.c $TOP/sipd/sipd_msg.c" ;;
        fuzz_cdr_*) echo "$TOP"/common/cm_cdr*.c "$TOP/common/cm_log.c $TOP/sipd/sipd_cause.c" ;;
        *) echo "" ;;
    esac
}

status=0
for name in "${TARGETS[@]}"; do
    src=$TOP/tests/fuzz/$name.c
    bin=$OUT/$name
    echo "fuzz: building $name"
    # shellcheck disable=SC2046
    if ! $CLANG $CFLAGS $SAN -o "$bin" "$src" $(sources_for "$name") $PKG_LIBS; then
        echo "fuzz: $name: build failed" >&2
        status=1
        continue
    fi
    corpus=$OUT/corpus-$name
    mkdir -p "$corpus"
    seeds=()
    [ -d "$TOP/tests/fuzz/corpus/$name" ] && seeds+=("$TOP/tests/fuzz/corpus/$name")
    case $name in
        fuzz_sipd_*)
            [ -d /work/shared/conformance/rfc4475/msgs ] && seeds+=(/work/shared/conformance/rfc4475/msgs)
            [ -d "$TOP/tests/integration/t0101_sip_malformed/msgs" ] && seeds+=("$TOP/tests/integration/t0101_sip_malformed/msgs")
            ;;
    esac
    echo "fuzz: running $name for ${SECS}s"
    log=$OUT/$name.log
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$SECS" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "fuzz: $name FAILED (exit $rc); log $log:" >&2
        grep -aE 'ERROR|SUMMARY|artifact|Test unit written' "$log" | head -20 >&2
        status=1
    else
        echo "fuzz: $name ok: $(grep -aE '^Done [0-9]+ runs' "$log" | tail -1)"
    fi
done
exit $status
