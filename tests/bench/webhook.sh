#!/usr/bin/env bash
# webhook.sh - status webhooks: events per second to a receiver that answers
# after a delay, and the log lines a receiver that is down costs.
#
# Not a test: it asserts nothing and is never run by CTest. After
# `make build`:
#   tests/bench/webhook.sh     (BUILD=build N=6000 DELAYS="0 100" RATE=1000
#                               ACCEPT=1 DUR=5s)
# Phase 1 delivers N messages to mock.so (no delay) with the receiver down:
# each delivery leaves an outbox event, and the sender keeps failing. It
# prints the webhook log lines and the failure counter of that phase.
# Phase 2 restarts the daemon with the receiver up (tests/fakes/fake_provider
# receiver --delay-ms D) and measures events received per second over the
# middle of the backlog (10 % to 90 %), beside 3 x RATE (issue 17's target
# for a provider rate of RATE) and the same run with no receiver delay.
# Everything binds 127.0.0.1 and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${N:-6000}
DELAYS=${DELAYS:-0 100}
RATE=${RATE:-1000}
DUR=${DUR:-5s}
FAKE=${FAKE:-$BUILD/tests/fakes/fake_provider}
KEY=bench-key-0123456789
SECRET=bench-webhook-secret-0123
TMP=$(mktemp -d /tmp/wa-wbench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

[ -x "$BUILD/core/wadispatchd" ] && [ -x "$FAKE" ] || { echo "webhook.sh: build first (make build)" >&2; exit 1; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.02; done; return 1; }
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
metric() { curl -s -H "X-API-Key: $KEY" "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

start_daemon() { # $1 = receiver port; rest = env
	local rport=$1; shift
	port=$(free_port)
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$BUILD/providers" \
		STORE_PATH="$TMP/wa.db" STORE_SYNC=full LOG_LEVEL=info ACCESS_LOG=false \
		MAX_BODY_BYTES=1048576 WHATSAPP_PROVIDER=mock MOCK_DELAY_MS=0 WORKERS=16 \
		STATUS_WEBHOOK_URL="http://127.0.0.1:$rport/hooks" STATUS_WEBHOOK_SECRET=$SECRET \
		RETRY_BASE_MS=50 RETRY_MAX_MS=200 RECIPIENT_ORDER=off "$@" "$BUILD/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	dpid=$!
	wait_ready "$port"
}

queue() {
	local b i body
	for b in $(seq 1 $(((N + 999) / 1000))); do
		body="{\"messages\":["
		for i in $(seq 1 1000); do
			body+="{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"hook\",\"external_id\":\"w$1-$b-$i\"},"
		done
		curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/v1/messages/batch" \
			-H "X-API-Key: $KEY" -H "Content-Type: application/json" --data-binary "${body%,}]}"
	done
}

# run DELAY: prints "events_per_s"
run() {
	local d=$1 rport fpid c0 c1 t0 t1 deadline warn fails rec="$TMP/recv.rec"
	rm -f "$TMP"/wa.db* "$rec" "$TMP/daemon.log"
	rport=$(free_port) # nothing listens there yet: the receiver is down
	start_daemon "$rport" PROVIDER_RATE=0
	queue "$d"
	deadline=$((SECONDS + 60))
	while [ "$(curl -s -H "X-API-Key: $KEY" "http://127.0.0.1:$port/metrics" |
		awk '/^wadispatch_messages_total[{].*status="sent"/ {print $2}')" != "$N" ] &&
		[ $SECONDS -lt $deadline ]; do sleep 0.2; done
	sleep 3 # the sender keeps failing meanwhile
	fails=$(metric wadispatch_webhook_failures_total)
	warn=$(grep -c '"webhook"' "$TMP/daemon.log" || true)
	echo "down  delay=${d}ms events_waiting=$N webhook_failures_total=${fails:-?} webhook_log_lines=$warn" >&2
	kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
	: > "$rec"
	rm -f "$TMP/recv.port"
	"$FAKE" receiver "$rec" --delay-ms "$d" --port "$rport" > "$TMP/recv.port" & PIDS+=($!)
	fpid=$!
	for _ in $(seq 1 200); do [ -s "$TMP/recv.port" ] && break; sleep 0.02; done
	start_daemon "$rport" PROVIDER_RATE=0
	deadline=$((SECONDS + 120))
	while [ "$(lines "$rec")" -lt $((N / 10)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
	t0=$EPOCHREALTIME; c0=$(lines "$rec")
	while [ "$(lines "$rec")" -lt $((N * 9 / 10)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
	t1=$EPOCHREALTIME; c1=$(lines "$rec")
	echo "up    delay=${d}ms log lines of the webhook sender: $(grep -c '"webhook"' "$TMP/daemon.log" || true) (both phases)" >&2
	kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
	kill "$fpid"; wait "$fpid" 2>/dev/null || true
	awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f\n", (b - a) / (t1 - t0) }'
}

# accept WITH_HOOK: accepts per second (wrk, DUR, 64 connections, unique
# ids) after N messages were delivered; WITH_HOOK=1: their events wait for
# a receiver that is down (and the new messages' events join them), 0: no
# webhook. Issue 17 item 6: a receiver that is down costs accepts < 5 %.
accept() {
	local rport out
	rm -f "$TMP"/wa.db* "$TMP/daemon.log"
	rport=$(free_port)
	if [ "$1" = 1 ]; then start_daemon "$rport" PROVIDER_RATE=0; else start_daemon "$rport" PROVIDER_RATE=0 STATUS_WEBHOOK_URL=; fi
	queue a
	deadline=$((SECONDS + 60))
	while [ "$(curl -s -H "X-API-Key: $KEY" "http://127.0.0.1:$port/metrics" |
		awk '/^wadispatch_messages_total[{].*status="sent"/ {print $2}')" != "$N" ] &&
		[ $SECONDS -lt $deadline ]; do sleep 0.2; done
	out=$(WA_BENCH_KEY=$KEY wrk -t2 -c64 -d"$DUR" --latency -s tests/bench/send.lua "http://127.0.0.1:$port/v1/messages/send" | grep RESULT | sed 's/RESULT //')
	echo "accept webhook=$1 $out failed_attempts=$(metric wadispatch_webhook_failures_total) webhook_log_lines=$(grep -c '"webhook"' "$TMP/daemon.log" || true)" >&2
	kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
	echo "$out" | sed -n 's/.*req_s=\([0-9.]*\).*/\1/p'
}

echo "machine: $(nproc) cores, $(uname -r); $N events; target 3 x $RATE = $((3 * RATE)) events/s"
for d in $DELAYS; do
	eps=$(run "$d")
	echo "webhook receiver_delay=${d}ms events_per_s=$eps ($(awk -v e="$eps" -v r="$RATE" 'BEGIN { printf "%.0f%%", 100 * e / (3 * r) }') of 3 x PROVIDER_RATE=$RATE)"
done
if [ "${ACCEPT:-1}" = 1 ] && command -v wrk >/dev/null; then
	a0=$(accept 0); a1=$(accept 1)
	echo "accept with the receiver down and events waiting: ${a1:-?} req/s against ${a0:-?} without a webhook ($(awk -v a="$a1" -v b="$a0" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "?" }'); target >= 95 %)"
fi
