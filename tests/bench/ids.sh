#!/usr/bin/env bash
# ids.sh - accept rate with random external_ids (UUIDs) beside sequential
# ones, in the same run: POST /v1/messages/send, wrk -t2 -c64, STORE_SYNC=full
# (durable), a fresh store each run, deliveries held back (PROVIDER_RATE
# almost 0) so only the accept path is measured.
#
# Not a test: it asserts nothing and is never run by CTest. After `make build`:
#   tests/bench/ids.sh     (BUILD=build DUR=10s ROUNDS=3 CONNS=64 PREFILL=0)
# PREFILL=N starts every run on a store already holding N sent messages
# with random external_ids (written once with the sqlite3 shell, then
# copied): the external_id index is then larger than SQLite's default 2 MiB
# page cache, as in a store that has been in service a while.
# Extra daemon settings for both runs go in DAEMON_ENV ("KEY=value ...").
# BASE=<another build dir> (e.g. main's) runs it too, interleaved, for a
# before/after in one invocation.
# Rounds are interleaved (sequential, random, sequential, ...); the summary
# gives medians and random as a share of sequential (issue 17: >= 75 %).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DUR=${DUR:-10s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
DAEMON_ENV=${DAEMON_ENV:-}
BASE=${BASE:-}
PREFILL=${PREFILL:-0}
KEY=bench-key-0123456789
export WA_BENCH_KEY=$KEY
TMP=$(mktemp -d /tmp/wa-ids-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "ids.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$BUILD/core/wadispatchd" ] || { echo "ids.sh: build first (make build)" >&2; exit 1; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.02; done; return 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -n "$@" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; } # a file, or stdin

run() { # $1 = lua script, $2 = build dir; prints wrk's RESULT line, CPU per request, store size
	local port dpid t0 t1 out hz b=${2:-$BUILD}
	port=$(free_port)
	rm -f "$TMP"/wa.db*
	[ "$PREFILL" -gt 0 ] && cp "$TMP/template.db" "$TMP/wa.db"
	# shellcheck disable=SC2086
	# each build loads its own plugins: another build's may have another ABI
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$b/providers" \
		STORE_PATH="$TMP/wa.db" STORE_SYNC=full LOG_LEVEL=warn ACCESS_LOG=false \
		PROVIDER_RATE=0.0001 $DAEMON_ENV "$b/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	dpid=$!
	wait_ready "$port" || { echo "ids.sh: $b/core/wadispatchd did not start:" >&2; tail -3 "$TMP/daemon.log" >&2; exit 1; }
	hz=$(getconf CLK_TCK)
	t0=$(ticks "$dpid")
	out=$(wrk -t2 -c"$CONNS" -d"$DUR" --latency -s "$1" "http://127.0.0.1:$port/v1/messages/send" | grep RESULT | sed 's/RESULT //')
	t1=$(ticks "$dpid")
	echo "$out $(echo "$out" | awk -v a="$t0" -v b="$t1" -v hz="$hz" '{
		split($1, kv, "="); if (kv[2] > 0) printf "server_cpu_us=%.1f", (b - a) * 1e6 / hz / kv[2] }') peak_rss=$(awk '/VmHWM/ {printf "%.1fMiB", $2/1024}' /proc/$dpid/status)"
	kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
}

if [ "$PREFILL" -gt 0 ]; then
	command -v sqlite3 >/dev/null || { echo "ids.sh: PREFILL needs the sqlite3 shell" >&2; exit 1; }
	port=$(free_port)
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$BUILD/providers" \
		STORE_PATH="$TMP/template.db" LOG_LEVEL=warn "$BUILD/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	wait_ready "$port"
	kill -TERM $!; wait $! 2>/dev/null || true
	sqlite3 "$TMP/template.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $PREFILL)
		INSERT INTO messages (id, external_id, phone, body, provider, status, attempts, created_ms,
			updated_ms, next_attempt_ms, expires_ms)
		SELECT printf('msg-prefill-%012d', i), lower(hex(randomblob(16))), '+5564999998888', 'prefill',
			'mock', 'sent', 1, 0, 0, 0, 0 FROM n; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
fi
echo "machine: $(nproc) cores, $(uname -r); wrk -t2 -c$CONNS -d$DUR; $ROUNDS rounds; STORE_SYNC=full; PREFILL=$PREFILL; DAEMON_ENV=$DAEMON_ENV"
builds="$BUILD"
[ -n "$BASE" ] && builds="$BASE $BUILD"
for r in $(seq 1 "$ROUNDS"); do
	for b in $builds; do
		for kind in sequential random; do
			lua=tests/bench/send.lua
			[ $kind = random ] && lua=tests/bench/send_random.lua
			res=$(run $lua "$b")
			echo "$res" | sed -n 's/.*req_s=\([0-9]*\).*/\1/p' >> "$TMP/$kind-${b//\//_}"
			echo "$kind build=$b round=$r $res"
		done
	done
done
for b in $builds; do
	s=$(median "$TMP/sequential-${b//\//_}"); x=$(median "$TMP/random-${b//\//_}")
	# each round's random run against the sequential run just before it:
	# the machine drifts over an invocation (sequential rose from 13,108
	# to 19,773 req/s over 8 rounds once, random stayed at 13-15k), and
	# the share of the medians alone hides that
	pr=$(paste "$TMP/random-${b//\//_}" "$TMP/sequential-${b//\//_}" |
		awk '$2 > 0 { printf "%.1f\n", 100 * $1 / $2 }' | median)
	echo "median build=$b sequential req_s=$s random req_s=$x random_of_sequential=$(awk -v a="$x" -v b="$s" 'BEGIN { printf "%.1f%%", 100 * a / b }') median_of_round_shares=$pr%"
done
