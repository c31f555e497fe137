#!/usr/bin/env bash
# pacing_bench.sh - issue 14's figures: the accept path before and after
# (this tree against a baseline tree built in another directory, in the same
# run, rounds interleaved) and delivery to 10,000 distinct recipients at
# PROVIDER_RATE with the per-recipient rules on.
#
# Not a test: it asserts nothing and is never run by CTest. Figures on a
# shared 2-core machine are noisy (several % between identical runs): read
# the medians, and rerun before trusting a difference of a few %. Each
# accept line also gives server_cpu_us, the daemon's CPU time (utime +
# stime) per request: it moves far less than req/s when the machine is
# busy elsewhere, so it is the figure to judge a few per cent by.
#   tests/bench/pacing_bench.sh
#   (BUILD=build BASE_SRC=/work/main BASE_BUILD=/tmp/wa-bench-base
#    DUR=5s ROUNDS=3 C=64 N=10000 RATE=500)
# It builds the baseline's wadispatchd and mock (not its tests) when missing,
# starts everything it measures on 127.0.0.1 and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BASE_SRC=${BASE_SRC:-/work/main}
BASE_BUILD=${BASE_BUILD:-/tmp/wa-bench-base}
DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
C=${C:-64}
N=${N:-10000}
RATE=${RATE:-500}
KEY=bench-key-0123456789
export WA_BENCH_KEY=$KEY
TMP=$(mktemp -d /tmp/wa-pbench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$BUILD/core/wadispatchd" ] || { echo "bench: build first (make build)" >&2; exit 1; }
if [ ! -x "$BASE_BUILD/core/wadispatchd" ]; then
	echo "building the baseline $BASE_SRC in $BASE_BUILD ..."
	cmake -S "$BASE_SRC" -B "$BASE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BASE_BUILD" -j2 --target wadispatchd mock >/dev/null
fi

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.02; done; return 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

start_daemon() { # $1 = build dir, rest = extra env
	local b=$1; shift
	port=$(free_port)
	rm -f "$TMP"/wa.db*
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$b/providers" \
		STORE_PATH="$TMP/wa.db" STORE_SYNC=normal LOG_LEVEL=warn ACCESS_LOG=false "$@" \
		"$b/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	dpid=$!
	wait_ready "$port"
}
stop_daemon() { kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true; }

echo "machine: $(nproc) cores; wrk -t2 -c$C -d$DUR; $ROUNDS rounds; baseline $BASE_SRC @ $(git -C "$BASE_SRC" rev-parse --short HEAD)"
# Accept: one recipient (send.lua) and every message to another (send_distinct.lua);
# MOCK_DELAY_MS=100 and the default PROVIDER_RATE: delivery runs beside it as usual.
[ "$ROUNDS" -gt 0 ] && for r in $(seq 1 "$ROUNDS"); do
	for script in send send_distinct; do
		for which in base new; do
			b=$BUILD; [ $which = base ] && b=$BASE_BUILD
			start_daemon "$b" MOCK_DELAY_MS=100
			t0=$(ticks "$dpid")
			res=$(wrk -t2 -c"$C" -d"$DUR" -s "tests/bench/$script.lua" "http://127.0.0.1:$port/v1/messages/send" | grep RESULT | sed 's/RESULT //')
			t1=$(ticks "$dpid")
			stop_daemon
			req=$(echo "$res" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
			cpu=$(awk -v a="$t0" -v b="$t1" -v n="$req" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (n > 0 ? (b - a) * 1e6 / hz / n : 0) }')
			echo "$res" | sed -n 's/.*req_s=\([0-9]*\).*/\1/p' >> "$TMP/$script.$which"
			echo "$cpu" >> "$TMP/$script.$which.cpu"
			echo "accept  $script $which round=$r $res server_cpu_us=$cpu"
		done
	done
done
[ "$ROUNDS" -gt 0 ] && for script in send send_distinct; do
	b=$(median "$TMP/$script.base"); n=$(median "$TMP/$script.new")
	awk -v s="$script" -v b="$b" -v n="$n" 'BEGIN { printf "median  accept %-13s base=%d req/s new=%d req/s change=%+.1f%%\n", s, b, n, 100 * (n - b) / b }'
	b=$(median "$TMP/$script.base.cpu"); n=$(median "$TMP/$script.new.cpu")
	awk -v s="$script" -v b="$b" -v n="$n" 'BEGIN { printf "median  accept %-13s base=%.1f new=%.1f server CPU us/request change=%+.1f%%\n", s, b, n, 100 * (n - b) / b }'
done

# Delivery: N messages to N distinct recipients (batches of 1000), drained
# at PROVIDER_RATE through mock.so (100 ms per send), pacing on (defaults).
drain() { # $1 = build dir, $2 = label
	start_daemon "$1" MOCK_DELAY_MS=100 WORKERS=64 PROVIDER_RATE="$RATE" MAX_BODY_BYTES=1048576 \
		MOCK_RECORD_FILE="$TMP/record.$2"
	local b
	for b in $(seq 1 $((N / 1000))); do # bodies made first: posting is not timed
		curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/v1/messages/batch" \
			-H "X-API-Key: $KEY" -H "Content-Type: application/json" --data-binary "@$TMP/batch.$b"
	done
	local deadline=$((SECONDS + N / (RATE / 2 + 1) + 60))
	while [ "$(wc -l < "$TMP/record.$2" 2>/dev/null || echo 0)" -lt "$N" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
	local got first last
	got=$(wc -l < "$TMP/record.$2")
	read -r first last < <(sed 's/.* mock-//' "$TMP/record.$2" | sort -n | awk 'NR==1{f=$1} {l=$1} END{print f, l}')
	awk -v w="$2" -v n="$got" -v f="$first" -v l="$last" -v r="$RATE" 'BEGIN {
		rate = (n - 1) / ((l - f) / 1000.0);
		printf "drain   %s n=%d distinct recipients, provider_rate=%d measured=%.1f msg/s (%.1f%% of the configured rate)\n", w, n, r, rate, 100 * rate / r }'
	stop_daemon
}
for b in $(seq 1 $((N / 1000))); do
	awk -v b="$b" 'BEGIN { printf "{\"messages\":["; for (i = 1; i <= 1000; i++)
		printf "%s{\"recipient_phone\":\"+55119%08d\",\"message_body\":\"drain\",\"external_id\":\"drain-%d-%d\"}",
			(i > 1 ? "," : ""), b * 1000 + i, b, i; printf "]}" }' > "$TMP/batch.$b"
done
drain "$BASE_BUILD" base
drain "$BUILD" new
