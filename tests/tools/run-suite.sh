#!/usr/bin/env bash
# run-suite.sh — `make run`: start the whole suite in the foreground.
#
# Starts cdrd, mediad, sipd, callbackd and webd with the given config, each
# line of their output prefixed with the daemon's name. Ctrl-C or SIGTERM
# stops all of them (SIGTERM, then waits); the exit status is 0 when every
# daemon stopped cleanly, 1 when one failed to start or exited badly.
set -u
# Job control: each daemon gets its own process group, so a terminal's
# Ctrl-C reaches only this script, which then sends exactly one SIGTERM.
set -m
CONF=${1:-etc/sipserver.conf}
BIN=${SIPSERVER_BIN:-build/bin}
DAEMONS="cdrd mediad sipd callbackd webd"
declare -A PIDS=()
stopping=0
status=0        # becomes 1 when a daemon fails to start or dies

# Stop every daemon still running and collect exit codes.
stop_all() {
    stopping=1
    local name rc
    for name in $DAEMONS; do
        [ -n "${PIDS[$name]:-}" ] && kill -TERM "${PIDS[$name]}" 2>/dev/null
    done
    for name in $DAEMONS; do
        [ -n "${PIDS[$name]:-}" ] || continue
        wait "${PIDS[$name]}"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "run: $name exited with $rc" >&2
            status=1
        fi
    done
    exit $status
}
trap stop_all INT TERM

for name in $DAEMONS; do
    # The prefixer ignores INT/TERM so it outlives the daemon's last lines.
    "$BIN/$name" -c "$CONF" > >(trap '' INT TERM; exec sed -u "s/^/$name | /") 2>&1 &
    PIDS[$name]=$!
    sleep 0.2
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
        wait "${PIDS[$name]}"
        echo "run: $name failed to start (exit $?)" >&2
        unset "PIDS[$name]"
        status=1
        stop_all
    fi
done
echo "run: all daemons started (config $CONF); Ctrl-C stops them" >&2

# Wake up when any daemon exits on its own: that is a failure.
while [ $stopping -eq 0 ]; do
    for name in $DAEMONS; do
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
            wait "${PIDS[$name]}"
            echo "run: $name exited unexpectedly (exit $?)" >&2
            unset "PIDS[$name]"
            status=1
            stop_all
        fi
    done
    sleep 1 &
    wait $! 2>/dev/null
done
