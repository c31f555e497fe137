#!/usr/bin/env bash
# soak.sh - bounded soak: steady load with mock fault injection, a kill -9 and
# restart in the middle, then a report. Not a test; prints figures.
#   tests/bench/soak.sh     (BUILD=build MINUTES=10 RATE=50)
# Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MINUTES=${MINUTES:-10}
RATE=${RATE:-50}
KEY=soak-key-0123456789
TMP=$(mktemp -d /tmp/wa-soak-XXXXXX)
DPID=
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

half=$((MINUTES * 30))
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
base=http://127.0.0.1:$port

start() {
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$BUILD/providers" \
		STORE_PATH="$TMP/wa.db" LOG_LEVEL=warn ACCESS_LOG=false \
		MOCK_DELAY_MS=20 MOCK_RETRY_RATE=0.05 MOCK_REJECT_RATE=0.01 MOCK_SEED=7 \
		MOCK_RECORD_FILE="$TMP/record.txt" RETRY_BASE_MS=200 RETRY_MAX_MS=2000 \
		LEASE_SECONDS=5 WORKERS=16 \
		"$BUILD/core/wadispatchd" 2>>"$TMP/daemon.log" &
	DPID=$!
	for _ in $(seq 1 500); do curl -sf "$base/health" >/dev/null && return 0; sleep 0.02; done
	echo "soak: daemon did not start" >&2; exit 1
}
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$DPID/status"; }
fds() { ls "/proc/$DPID/fd" | wc -l; }

start
sleep 2
echo "start:   rss=$(rss) fds=$(fds)"
# RSS and descriptors of this first process every minute of its half: a
# leak shows as steady growth after the caches have warmed up.
( for m in $(seq 1 $((half / 60))); do sleep 60; echo "minute $m: rss=$(rss) fds=$(fds)"; done ) &
sampler=$!
"$BUILD/tests/bench/bench_soak_client" "$base" $KEY "$RATE" "$half" soak-a "$TMP/acked.txt"
kill $sampler 2>/dev/null || true
echo "middle:  rss=$(rss) fds=$(fds); kill -9 and restart"
kill -9 "$DPID"; wait "$DPID" 2>/dev/null || true
start
"$BUILD/tests/bench/bench_soak_client" "$base" $KEY "$RATE" "$half" soak-b "$TMP/acked.txt" &
cpid=$!
# kill -9 again while the second half is under load
sleep $((half / 2))
kill -9 "$DPID"; wait "$DPID" 2>/dev/null || true
start
wait "$cpid"
# let the queue drain (retries included)
for _ in $(seq 1 600); do
	q=$(curl -s "$base/metrics" | awk '/^wadispatch_queue_depth / {print $2}')
	[ "$q" = "0" ] && break
	sleep 0.5
done
echo "end:     rss=$(rss) fds=$(fds)"

acked=$(sort -u "$TMP/acked.txt" | wc -l)
sort -u "$TMP/acked.txt" > "$TMP/acked.sorted"
awk '{print $2}' "$TMP/record.txt" | sort -u > "$TMP/delivered.sorted"
delivered=$(comm -12 "$TMP/acked.sorted" "$TMP/delivered.sorted" | wc -l)
dups=$(awk '{print $2}' "$TMP/record.txt" | sort | uniq -d | wc -l)
failed=0; lost=0
while read -r ext; do
	st=$(curl -s -H "X-API-Key: $KEY" "$base/v1/messages?external_id=$ext" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' | head -1)
	if [ "$st" = "failed" ]; then failed=$((failed + 1)); else lost=$((lost + 1)); echo "lost: $ext ($st)"; fi
done < <(comm -23 "$TMP/acked.sorted" "$TMP/delivered.sorted")
echo "report:  minutes=$MINUTES rate=$RATE/s accepted=$acked delivered=$delivered failed=$failed lost=$lost delivered_twice=$dups"
