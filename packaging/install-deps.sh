#!/bin/sh
# install-deps.sh - install what building (and optionally testing) wadispatch
# needs on Debian 12, with apt-get, only when something is missing.
#   packaging/install-deps.sh          build dependencies
#   packaging/install-deps.sh --test   build + test dependencies
#   packaging/install-deps.sh --deb    build + .deb packaging tools (make deb)
set -eu

BUILD="build-essential cmake pkg-config libmicrohttpd-dev libjson-c-dev
libcurl4-openssl-dev libsqlite3-dev libpq-dev libssl-dev libjs-chart.js"
DEB="debhelper dpkg-dev lintian systemd util-linux"
# Tests also build the .deb files, check metrics with promtool, make TLS
# certificates with openssl, run a throwaway PostgreSQL cluster and drive the
# console in Debian's chromium.
TEST="binutils curl openssl postgresql-15 prometheus python3 chromium $DEB"
# make fuzz: clang and its libFuzzer runtime.
TEST="$TEST clang libclang-rt-14-dev clang-format"

want=$BUILD
[ "${1:-}" = "--test" ] && want="$BUILD $TEST ${WA_EXTRA_TEST_DEPS:-}"
[ "${1:-}" = "--deb" ] && want="$BUILD $TEST $DEB"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
