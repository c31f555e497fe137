#!/bin/sh
# test_packaging.sh - build, lint, install and run the wadispatch .deb packages
#
# As root (CTest skips it otherwise, exit 77):
#   1. build wadispatch and wadispatch-dev from a clean copy of the tree;
#   2. lintian --pedantic: no errors, no warnings;
#   3. dpkg -i both; check the installed paths, modes and conffile;
#   4. run /usr/sbin/wadispatchd as the unit would (installed env file, the
#      unit's Environment=, an unprivileged user, its own state dir, the
#      unit's LimitNOFILE and UMask) on a free 127.0.0.1 port: /health and
#      one send through mock.so;
#   5. build the example provider out of tree with only the -dev package and
#      pkg-config, run its fake-host check, load it by absolute path into the
#      installed daemon, send one message through it;
#   6. without API_KEY the daemon exits non-zero, naming API_KEY;
#   7. systemd-analyze verify, and security --offline=yes <= 2.0, on the
#      installed unit;
#   8. dpkg --purge both (always, from the exit trap).
set -eu

SKIP=77
MAX_EXPOSURE=2.0
TEST_KEY="pkg-test-key-0123-$$"

log() { printf 'test_packaging: %s\n' "$*" >&2; }
fail() {
	log "FAIL: $*"
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "test_packaging: SKIPPED: needs root (dpkg -i, running the daemon as another user)" >&2
	exit $SKIP
fi

src=${WA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

# One run at a time per machine: it installs system packages.
exec 9>/tmp/wadispatch-test-packaging.lock
if ! flock -w 900 9; then
	fail "another packaging test holds /tmp/wadispatch-test-packaging.lock"
fi

work=$(mktemp -d /tmp/wadispatch-pkgtest.XXXXXX)
chmod 0755 "$work"
pids=""
installed=0

cleanup() {
	rc=$?
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$installed" = 1 ]; then
		dpkg --purge wadispatch-dev wadispatch >"$work/purge.log" 2>&1 ||
			{ cat "$work/purge.log" >&2; rc=1; }
		if [ -e /usr/sbin/wadispatchd ] || [ -e /etc/wadispatch ]; then
			log "FAIL: files left after dpkg --purge"
			rc=1
		fi
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# A package left behind by a killed earlier run would hide our files.
for p in wadispatch-dev wadispatch; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		log "purging $p left installed by an earlier run"
		dpkg --purge "$p" >/dev/null
	fi
done

# ---- 1. build ---------------------------------------------------------------
sh "$src/packaging/install-deps.sh" --deb || fail "cannot install the packaging tools"
log "building the packages (a clean copy of $src)"
sh "$src/packaging/build-deb.sh" --out "$work/debs" ||
	fail "packaging/build-deb.sh failed"
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
deb="$work/debs/wadispatch_${version}_${arch}.deb"
devdeb="$work/debs/wadispatch-dev_${version}_${arch}.deb"
changes="$work/debs/wadispatch_${version}_${arch}.changes"
[ -f "$deb" ] || fail "missing $deb"
[ -f "$devdeb" ] || fail "missing $devdeb"
ls "$work/debs/wadispatch-dbgsym_${version}_${arch}".*deb >/dev/null 2>&1 ||
	fail "no -dbgsym package was built"

# ---- 2. lintian ---------------------------------------------------------------
log "lintian --pedantic"
lint_rc=0
lintian --pedantic --fail-on error,warning "$changes" >"$work/lintian.log" 2>&1 ||
	lint_rc=$?
cat "$work/lintian.log" >&2
if [ "$lint_rc" -ne 0 ] || grep -Eq '^(E|W): ' "$work/lintian.log"; then
	fail "lintian reports errors or warnings (exit $lint_rc)"
fi

# ---- 3. install ---------------------------------------------------------------
log "dpkg -i"
installed=1
dpkg -i "$deb" "$devdeb" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; fail "dpkg -i failed"; }

pdir="/usr/lib/$multiarch/wadispatch/providers"
envfile=/etc/wadispatch/wadispatch.env
unit=/lib/systemd/system/wadispatchd.service
for f in /usr/sbin/wadispatchd "$pdir/mock.so" "$envfile" "$unit" \
	/usr/share/man/man8/wadispatchd.8.gz /usr/include/wadispatch/provider.h \
	"/usr/lib/$multiarch/pkgconfig/wadispatch-provider.pc" \
	/usr/share/doc/wadispatch-dev/examples/acme.c \
	/usr/share/doc/wadispatch-dev/examples/Makefile \
	/usr/share/doc/wadispatch/copyright \
	/usr/share/wadispatch/console/index.html /usr/share/wadispatch/console/app.js; do
	[ -e "$f" ] || fail "not installed: $f"
done
[ "$(stat -c %a "$envfile")" = 640 ] || fail "$envfile is not mode 0640"
dpkg-query -W -f='${Conffiles}\n' wadispatch | grep -q " $envfile " ||
	fail "$envfile is not a conffile"
for p in mock twilio evolution cloudapi; do
	if [ -e "$src/plugins/$p/CMakeLists.txt" ] && [ ! -e "$pdir/$p.so" ]; then
		fail "provider $p is in the tree but not in the package"
	fi
done
# The compiled-in PROVIDER_DIR is where the package put the providers.
/usr/sbin/wadispatchd --help >"$work/help.txt" 2>&1 || true
grep -Eq "^ *PROVIDER_DIR .*\[$pdir\]\$" "$work/help.txt" ||
	{ cat "$work/help.txt" >&2; fail "the daemon's default PROVIDER_DIR is not $pdir"; }
grep -Eq "^ *CONSOLE_DIR .*\[/usr/share/wadispatch/console\]\$" "$work/help.txt" ||
	{ cat "$work/help.txt" >&2; fail "the daemon's default CONSOLE_DIR is not the packaged console"; }
if grep -Eq '^[[:space:]]*(export[[:space:]]+)?API_KEYS?[[:space:]]*=.*dev-api-key' "$envfile"; then
	fail "$envfile enables the development API key"
fi

# ---- helpers to run the installed daemon as the unit does -------------------
runuser_name=nobody
rungroup=$(id -gn nobody)

# A TCP port nobody listens on (checked in /proc, tried by the daemon).
free_port() {
	while :; do
		port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
		hex=$(printf '%04X' "$port")
		if ! grep -q ":$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# The unit's Environment= lines, with the state directory moved to ours.
unit_env() {
	sed -n 's/^Environment=//p' "$unit" | tr ' ' '\n' |
		sed "s#/var/lib/wadispatch#$1#g"
}

# start_daemon NAME STATEDIR VAR=VALUE...: run the daemon in the background
# as the unprivileged user, in a clean environment built like systemd's:
# the unit's Environment=, then EnvironmentFile= (read as root, before
# privileges are dropped), then our VAR=VALUE (a drop-in, in effect).
# Sets $pid; logs to $work/NAME.log.
start_daemon() {
	name=$1
	state=$2
	shift 2
	# shellcheck disable=SC2046
	(
		# shellcheck disable=SC2016
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -ec '
			envfile=$1 nofile=$2 user=$3 group=$4
			shift 4
			while [ "$1" != -- ]; do export "$1"; shift; done
			shift
			set -a
			. "$envfile"
			set +a
			for kv in "$@"; do export "$kv"; done
			ulimit -n "$nofile"
			umask 077
			exec setpriv --reuid="$user" --regid="$group" \
				--clear-groups --no-new-privs /usr/sbin/wadispatchd
		' sh "$envfile" "$(sed -n 's/^LimitNOFILE=//p' "$unit")" \
			"$runuser_name" "$rungroup" $(unit_env "$state") -- "$@"
	) >"$work/$name.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
}

# wait_health PORT PID LOG: poll /health until it answers 200 (10 s).
wait_health() {
	i=0
	while [ $i -lt 400 ]; do
		if ! kill -0 "$2" 2>/dev/null; then
			cat "$3" >&2
			return 1
		fi
		if curl -fsS -m 2 -o "$work/health.json" "http://127.0.0.1:$1/health" 2>/dev/null; then
			return 0
		fi
		i=$((i + 1))
		sleep 0.025
	done
	cat "$3" >&2
	return 1
}

# start_ready NAME STATEDIR VAR=VALUE...: start on a free port (retrying
# when the port was taken meanwhile) and wait for /health; sets $port, $pid.
start_ready() {
	tries=0
	while [ $tries -lt 5 ]; do
		port=$(free_port)
		start_daemon "$@" PORT="$port" BIND_ADDRESS=127.0.0.1
		if wait_health "$port" "$pid" "$work/$1.log"; then
			return 0
		fi
		grep -qi 'address already in use\|bind' "$work/$1.log" || return 1
		tries=$((tries + 1))
	done
	return 1
}

stop_daemon() {
	kill -TERM "$1"
	st=0
	wait "$1" || st=$?
	pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	return $st
}

# send PORT EXTERNAL_ID: POST one message; prints the message_id.
send() {
	code=$(curl -sS -m 10 -o "$work/send.json" -w '%{http_code}' \
		-H "X-API-Key: $TEST_KEY" -H 'Content-Type: application/json' \
		-d "{\"recipient_phone\":\"+5511999990000\",\"message_body\":\"packaging test\",\"external_id\":\"$2\"}" \
		"http://127.0.0.1:$1/v1/messages/send")
	if [ "$code" != 200 ] || ! grep -q '"queued"' "$work/send.json"; then
		log "send answered $code: $(cat "$work/send.json")"
		return 1
	fi
	sed -n 's/.*"message_id" *: *"\(msg-[0-9a-f-]*\)".*/\1/p' "$work/send.json"
}

# wait_grep FILE PATTERN: poll until FILE contains PATTERN (10 s).
wait_grep() {
	i=0
	while [ $i -lt 400 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		i=$((i + 1))
		sleep 0.025
	done
	return 1
}

new_state() {
	d="$work/state-$1"
	mkdir -p "$d"
	chown "$runuser_name:$rungroup" "$d"
	chmod 0700 "$d"
	echo "$d"
}

# ---- 4. the installed daemon with mock.so ------------------------------------
log "running /usr/sbin/wadispatchd as $runuser_name with mock.so"
state=$(new_state mock)
start_ready mock "$state" API_KEY="$TEST_KEY" WHATSAPP_PROVIDER=mock \
	MOCK_DELAY_MS=5 MOCK_RECORD_FILE="$state/mock.record" ||
	fail "the installed daemon did not answer /health"
grep -q '"status" *: *"ok"' "$work/health.json" || fail "/health body: $(cat "$work/health.json")"
id=$(send "$port" pkg-mock-1) || fail "send through mock.so failed"
[ -n "$id" ] || fail "no message_id in $(cat "$work/send.json")"
wait_grep "$state/mock.record" "$id" || fail "mock.so never delivered $id"
[ -f "$state/wadispatch.db" ] || fail "the store is not in the state directory"
[ "$(stat -c %U "$state/wadispatch.db")" = "$runuser_name" ] ||
	fail "the store is not owned by $runuser_name"
stop_daemon "$pid" || fail "wadispatchd (mock) did not exit 0 on SIGTERM"

# ---- 5. the example provider, out of tree -----------------------------------
log "building the example provider with only wadispatch-dev"
ex="$work/acme"
cp -r /usr/share/doc/wadispatch-dev/examples "$ex"
chmod -R a+rX "$ex"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin make -C "$ex" >"$work/acme-build.log" 2>&1 ||
	{ cat "$work/acme-build.log" >&2; fail "the example provider does not build"; }
grep -q -- "-I$src\|$src/include" "$work/acme-build.log" &&
	fail "the example build used the source tree"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin make -C "$ex" check >>"$work/acme-build.log" 2>&1 ||
	{ cat "$work/acme-build.log" >&2; fail "make check of the example provider failed"; }
exported=$(nm -D --defined-only "$ex/acme.so" | awk '{print $3}')
[ "$exported" = wa_provider_entry_v1 ] || fail "acme.so exports: $exported"
[ "$(pkg-config --variable=providerdir wadispatch-provider)" = "$pdir" ] ||
	fail "pkg-config providerdir is not $pdir"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin make -C "$ex" install DESTDIR="$work/stage" \
	>>"$work/acme-build.log" 2>&1 || fail "make install of the example failed"
[ -f "$work/stage$pdir/acme.so" ] || fail "make install did not put acme.so in $pdir"

log "loading $ex/acme.so into the installed daemon"
state=$(new_state acme)
start_ready acme "$state" API_KEY="$TEST_KEY" WHATSAPP_PROVIDER="$ex/acme.so" \
	ACME_TOKEN=pkg-test-token ||
	fail "the installed daemon did not start with acme.so"
id=$(send "$port" pkg-acme-1) || fail "send through acme.so failed"
wait_grep "$work/acme.log" "acme accepted $id" ||
	{ cat "$work/acme.log" >&2; fail "acme.so never logged the delivery of $id"; }
grep -q pkg-test-token "$work/acme.log" && fail "the log shows ACME_TOKEN"
grep -q 5511999990000 "$work/acme.log" && fail "the log shows a full phone number"
stop_daemon "$pid" || fail "wadispatchd (acme) did not exit 0 on SIGTERM"

# ---- 6. no API key: refuse to start -------------------------------------------
log "starting without API_KEY"
state=$(new_state nokey)
start_daemon nokey "$state" PORT="$(free_port)" BIND_ADDRESS=127.0.0.1
st=0
wait "$pid" || st=$?
pids=""
[ "$st" -ne 0 ] || fail "the daemon started without API_KEY"
grep -q API_KEY "$work/nokey.log" ||
	{ cat "$work/nokey.log" >&2; fail "the refusal does not name API_KEY"; }

# ---- 7. systemd-analyze verify + security ---------------------------------------
log "systemd-analyze verify $unit"
systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 ||
	{ cat "$work/verify.log" >&2; fail "systemd-analyze verify rejects the unit"; }
log "systemd-analyze security --offline=yes $unit"
systemd-analyze security --offline=yes "$unit" >"$work/analyze.log" 2>&1 ||
	{ cat "$work/analyze.log" >&2; fail "systemd-analyze failed"; }
score=$(sed -n 's/.*Overall exposure level for wadispatchd.service: \([0-9.]*\).*/\1/p' "$work/analyze.log")
[ -n "$score" ] || { cat "$work/analyze.log" >&2; fail "no exposure score"; }
log "exposure score $score (at most $MAX_EXPOSURE)"
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' ||
	fail "exposure $score is above $MAX_EXPOSURE"

log "PASS"
