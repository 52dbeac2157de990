#!/usr/bin/env bash
# deps.sh — install the Debian packages that build, run and test sipserver.
#
# Called by `make deps` (and so by `make run` and `make test`). When every
# package is present it does nothing. When some are missing: as root it runs
# `apt-get update` once and installs them; otherwise it prints the exact
# command and fails.
set -eu

PACKAGES="
build-essential pkg-config
libczmq-dev libzmq3-dev libosip2-dev libortp-dev libjansson-dev libinih-dev
libsystemd-dev libsqlite3-dev libpq-dev libmariadb-dev libmicrohttpd-dev
libcurl4-openssl-dev libsndfile1-dev libssl-dev
libcmocka-dev clang-14 libclang-rt-14-dev libmimalloc-dev
python3 python3-zmq sqlite3 iproute2 procps util-linux
sip-tester baresip-core linphone-cli sox kamailio
"

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case $status in
        *"install ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
