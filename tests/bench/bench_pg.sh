#!/usr/bin/env bash
# bench_pg.sh - the send path and the drain on SQLite and on PostgreSQL side
# by side, with the bare hello server in the same run; prints figures.
#
# Not a test: it asserts nothing and CTest never runs it. After `make build`:
#   tests/bench/bench_pg.sh      (BUILD=build DUR=10s CONNS=64 N=20000)
# PostgreSQL runs in a throwaway cluster on this machine (tests/lib/pgtmp.sh)
# with fsync and synchronous_commit on; SQLite with STORE_SYNC=full. Sends
# use unique external_ids (tests/bench/send.lua). The drain is N queued
# messages to mock.so at MOCK_DELAY_MS=0, no rate limit: claim + provider
# call + recorded outcome per second.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${DATABASE_URL:-}" ]; then
	WA_PG_DURABLE=1 exec tests/lib/pgtmp.sh "$0" "$@"
fi
BUILD=${BUILD:-build}
DUR=${DUR:-10s}
CONNS=${CONNS:-64}
N=${N:-20000}
KEY=bench-key-0123456789
export WA_BENCH_KEY=$KEY
PGURL=$DATABASE_URL
unset DATABASE_URL
TMP=$(mktemp -d /tmp/wa-benchpg-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$BUILD/core/wadispatchd" ] && [ -x "$BUILD/tests/bench/bench_hello" ] ||
	{ echo "bench: build first (make build)" >&2; exit 1; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.02; done; return 1; }
wrk_run() { # PORT SCRIPT
	wrk -t2 -c"$CONNS" -d"$DUR" --latency -s "$2" "http://127.0.0.1:$1/v1/messages/send" | grep RESULT | sed 's/RESULT //'
}

start_daemon() { # STORE (sqlite|pg), extra env...
	local store=$1; shift
	local db=()
	port=$(free_port)
	rm -f "$TMP"/wa.db*
	[ "$store" = pg ] && db=(DATABASE_URL="$PGURL")
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$BUILD/providers" \
		STORE_PATH="$TMP/wa.db" STORE_SYNC=full LOG_LEVEL=warn RECIPIENT_ORDER=off "${db[@]}" "$@" \
		"$BUILD/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	dpid=$!
	wait_ready "$port"
}
stop_daemon() { kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true; }

echo "machine: $(nproc) cores, $(uname -r); wrk -t2 -c$CONNS -d$DUR"
port=$(free_port)
"$BUILD/tests/bench/bench_hello" "$port" & PIDS+=($!)
hpid=$!
wait_ready "$port" || curl -s "http://127.0.0.1:$port/" >/dev/null
echo "hello           $(wrk_run "$port" tests/bench/hello.lua)"
kill "$hpid"; wait "$hpid" 2>/dev/null || true

for store in sqlite pg; do
	start_daemon "$store" MOCK_DELAY_MS=100
	echo "send $store$( [ $store = pg ] && echo '    ' || echo ' ') $(wrk_run "$port" tests/bench/send.lua)"
	stop_daemon
done

batch() { # PORT BATCHNO
	local i body="{\"messages\":["
	for i in $(seq 1 1000); do
		body+="{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"drain\",\"external_id\":\"drain-$RANDOM-$2-$i\"},"
	done
	body="${body%,}]}"
	curl -sf -o /dev/null -X POST "http://127.0.0.1:$1/v1/messages/batch" \
		-H "X-API-Key: $KEY" -H "Content-Type: application/json" --data-binary "$body"
}
# The send runs left messages queued (MOCK_DELAY_MS=100): start empty.
"$WA_PGBIN/psql" -q "$PGURL" -c "TRUNCATE messages CASCADE" >/dev/null
for store in sqlite pg; do
	rm -f "$TMP/record.txt"
	# N messages in batches of 1000 while the daemon delivers them; the
	# figure is N over the time from the first batch to the N-th delivery.
	start_daemon "$store" MOCK_DELAY_MS=0 WORKERS=16 PROVIDER_RATE=0 \
		MAX_BODY_BYTES=1048576 MOCK_RECORD_FILE="$TMP/record.txt"
	t0=$(date +%s.%N)
	for b in $(seq 1 $((N / 1000))); do batch "$port" "$b"; done
	deadline=$((SECONDS + 300))
	while [ "$(wc -l < "$TMP/record.txt" 2>/dev/null || echo 0)" -lt "$N" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	t1=$(date +%s.%N)
	got=$(wc -l < "$TMP/record.txt")
	twice=$(awk '{print $2}' "$TMP/record.txt" | sort | uniq -d | wc -l)
	awk -v n="$got" -v a="$t0" -v b="$t1" -v s="$store" -v d="$twice" 'BEGIN {
		printf "drain %-6s  n=%d in %.1f s: %.0f msg/s (accept and delivery overlapping), sent twice %d\n", s, n, b - a, n / (b - a), d }'
	stop_daemon
done
