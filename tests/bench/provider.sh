#!/usr/bin/env bash
# provider.sh - delivery through an HTTP provider plugin: the rate reached
# against a slow provider, and the daemon's CPU time per delivered message.
#
# Not a test: it asserts nothing and is never run by CTest. After
# `make build`:
#   tests/bench/provider.sh
# Knobs: BUILD=build PROVIDER=cloudapi SECS=8 ROUNDS=1
#        SLOW="0 100 250"        provider delays (ms) run at SLOW_RATE=1000
#        CPU_RATES="80 400 1000" rates run at CPU_DELAY=100 ms, each beside
#                                mock.so (100 ms blocking send) at that rate
#        BASE=                   a second build directory (e.g. of the commit
#                                before a change), run interleaved with BUILD
#        THREADS=1               also each daemon thread's share of the CPU
#                                per delivered message (schedstat, by thread
#                                name) and its context switches per message
#        H2=1                    (cloudapi) the provider over HTTPS and HTTP/2,
#                                as the Graph API is: tests/fakes/h2_fake.mjs
#                                (node, a certificate made here by openssl,
#                                trusted through PROVIDER_CA_FILE) instead of
#                                the plain-HTTP fake
#
# Each run queues rate x (SECS + 1) messages with delivery held back (the
# daemon's rate set to almost nothing), restarts the daemon at the rate, and
# measures over the middle of the drain (10 % to 90 % delivered): messages
# delivered per second (as a share of PROVIDER_RATE) and the daemon's CPU
# time over messages delivered, from /proc/<pid>/stat (utime + stime, 10 ms
# ticks) and from the threads' schedstat (ns). The fake provider
# (tests/fakes/fake_provider --delay-ms) answers every send after the delay.
# Everything binds 127.0.0.1 and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BASE=${BASE:-}
PROVIDER=${PROVIDER:-cloudapi}
SECS=${SECS:-8}
ROUNDS=${ROUNDS:-1}
SLOW=${SLOW-0 100 250}
SLOW_RATE=${SLOW_RATE:-1000}
CPU_RATES=${CPU_RATES-80 400 1000}
CPU_DELAY=${CPU_DELAY:-100}
THREADS=${THREADS:-}
H2=${H2:-}
FAKE=${FAKE:-$BUILD/tests/fakes/fake_provider}
KEY=bench-key-0123456789
TMP=$(mktemp -d /tmp/wa-pbench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

[ -x "$BUILD/core/wadispatchd" ] && [ -x "$FAKE" ] || { echo "provider.sh: build first (make build)" >&2; exit 1; }
if [ -n "$H2" ]; then
	[ "$PROVIDER" = cloudapi ] || { echo "provider.sh: H2=1 is for PROVIDER=cloudapi" >&2; exit 1; }
	if ! command -v node >/dev/null || ! command -v openssl >/dev/null; then
		echo "provider.sh: H2=1 needs node and openssl" >&2
		exit 1
	fi
	sh tests/lib/selfsigned.sh "$TMP" fake
fi

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.02; done; return 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# per thread name: schedstat ns and context switches (voluntary + not),
# read by one awk (mock.so runs 256 workers: a process per file would take
# seconds and let the drain end while it runs)
thread_snap() {
	awk '{ split(FILENAME, p, "/"); t = p[5] }
		FILENAME ~ /comm$/ { gsub(/ /, "_"); name[t] = $0; next }
		FILENAME ~ /schedstat$/ { ns[t] = $1; next }
		/ctxt_switches/ { sw[t] += $2 }
		END { for (t in name) { s[name[t]] += ns[t]; c[name[t]] += sw[t] }
		      for (k in s) print k, s[k], c[k] }' \
		/proc/"$1"/task/*/comm /proc/"$1"/task/*/schedstat /proc/"$1"/task/*/status 2>/dev/null | sort || true
}

start_fake() { # $1 = delay ms; sets fport, fpid
	: > "$TMP/fake.rec"
	rm -f "$TMP/fake.port" # the last run's port must not be read as this one's
	if [ -n "$H2" ]; then
		node tests/fakes/h2_fake.mjs --cert "$TMP/fake.pem" --key "$TMP/fake.key" \
			--port-file "$TMP/fake.port" --record "$TMP/fake.rec" --delay-ms "$1" & PIDS+=($!)
	else
		"$FAKE" "$PROVIDER" "$TMP/fake.rec" --delay-ms "$1" > "$TMP/fake.port" & PIDS+=($!)
	fi
	fpid=$!
	for _ in $(seq 1 200); do [ -s "$TMP/fake.port" ] && break; sleep 0.02; done
	fport=$(head -1 "$TMP/fake.port")
}

provider_env() { # $1 = provider name, $2 = fake port
	case $1 in
	cloudapi) echo "WHATSAPP_PROVIDER=cloudapi CLOUDAPI_TOKEN=EAAtest_cloudapi_token_0123
		CLOUDAPI_PHONE_NUMBER_ID=106540352242922"
		if [ -n "$H2" ]; then
			echo "CLOUDAPI_BASE_URL=https://127.0.0.1:$2 PROVIDER_CA_FILE=$TMP/fake.pem"
		else
			echo "CLOUDAPI_BASE_URL=http://127.0.0.1:$2"
		fi ;;
	twilio) echo "WHATSAPP_PROVIDER=twilio TWILIO_ACCOUNT_SID=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
		TWILIO_AUTH_TOKEN=test_auth_token_0123456789abcdef TWILIO_FROM=+14155552345
		TWILIO_API_BASE=http://127.0.0.1:$2" ;;
	evolution) echo "WHATSAPP_PROVIDER=evolution EVOLUTION_INSTANCE=dispatcher
		EVOLUTION_API_KEY=test_evolution_key_0123 EVOLUTION_BASE_URL=http://127.0.0.1:$2" ;;
	mock) echo "WHATSAPP_PROVIDER=mock MOCK_DELAY_MS=100 WORKERS=256 MOCK_RECORD_FILE=$TMP/mock.rec" ;;
	esac
}

start_daemon() { # $1 = build, $2 = rate, rest = env; sets port, dpid
	local b=$1 rate=$2; shift 2
	port=$(free_port)
	# shellcheck disable=SC2046
	env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$b/providers" \
		STORE_PATH="$TMP/wa.db" LOG_LEVEL=warn ACCESS_LOG=false MAX_BODY_BYTES=1048576 RECIPIENT_ORDER=off \
		PROVIDER_RATE="$rate" "$@" "$b/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	dpid=$!
	wait_ready "$port"
}

stop_daemon() { kill -TERM "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; }

queue() { # $1 = messages, $2 = run tag
	local b i body n=$1
	for b in $(seq 1 $(((n + 999) / 1000))); do
		body="{\"messages\":["
		for i in $(seq 1 1000); do
			body+="{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"bench\",\"external_id\":\"$2-$b-$i\"},"
		done
		curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/v1/messages/batch" \
			-H "X-API-Key: $KEY" -H "Content-Type: application/json" --data-binary "${body%,}]}"
	done
}

# drain BUILD PROVIDER DELAY RATE: prints "rate_msg_s pct cpu_us_stat cpu_us_sched"
drain() {
	local b=$1 prov=$2 delay=$3 rate=$4 n rec env c t0 c0 k0 s0 t1 c1 k1 s1 hz deadline
	n=$((rate * (SECS + 1)))
	rm -f "$TMP"/wa.db* "$TMP/mock.rec"
	rec="$TMP/fake.rec"
	[ "$prov" = mock ] && rec="$TMP/mock.rec"
	[ "$prov" = mock ] || start_fake "$delay"
	read -r -a env <<< "$(provider_env "$prov" "${fport:-0}" | tr '\n\t' '  ')"
	start_daemon "$b" 0.0001 "${env[@]}"  # hold delivery back while queueing
	queue "$n" "r$RANDOM"
	stop_daemon
	start_daemon "$b" "$rate" "${env[@]}"
	hz=$(getconf CLK_TCK)
	deadline=$((SECONDS + 3 * SECS + 30))
	while [ "$(lines "$rec")" -lt $((n / 10)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	t0=$EPOCHREALTIME; c0=$(lines "$rec"); k0=$(ticks "$dpid"); s0=$(sched_ns "$dpid")
	[ -n "$THREADS" ] && thread_snap "$dpid" > "$TMP/threads.0"
	while [ "$(lines "$rec")" -lt $((n * 9 / 10)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	t1=$EPOCHREALTIME; c1=$(lines "$rec"); k1=$(ticks "$dpid"); s1=$(sched_ns "$dpid")
	if [ -n "$THREADS" ]; then
		thread_snap "$dpid" > "$TMP/threads.1"
		join "$TMP/threads.0" "$TMP/threads.1" | awk -v d=$((c1 - c0)) '{
			if (d < 1) d = 1; u = ($4 - $2) / 1e3 / d
			if (u >= 0.5) printf "      thread %-14s %6.1f us/msg %5.2f switches/msg\n", $1, u, ($5 - $3) / d }' > "$TMP/threads.txt"
	fi
	stop_daemon
	[ "$prov" = mock ] || { kill "$fpid"; wait "$fpid" 2>/dev/null || true; }
	awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v k0="$k0" -v k1="$k1" \
		-v s0="$s0" -v s1="$s1" -v hz="$hz" -v r="$rate" 'BEGIN {
		d = c1 - c0; if (d < 1) d = 1
		printf "%.1f %.1f %.1f %.1f\n", d / (t1 - t0), 100 * d / (t1 - t0) / r,
			(k1 - k0) * 1e6 / hz / d, (s1 - s0) / 1e3 / d }'
}

builds=("$BUILD")
[ -n "$BASE" ] && builds+=("$BASE")
label() { if [ "$1" = "$BUILD" ]; then echo new; else echo base; fi; }

echo "machine: $(nproc) cores, $(uname -r); provider $PROVIDER${H2:+ over HTTPS + HTTP/2 (h2_fake.mjs)}; ${SECS}s drains; $ROUNDS rounds; builds: ${builds[*]}"
for r in $(seq 1 "$ROUNDS"); do
	for d in $SLOW; do
		for b in "${builds[@]}"; do
			read -r got pct cs cn < <(drain "$b" "$PROVIDER" "$d" "$SLOW_RATE")
			echo "slow  $(label "$b") $PROVIDER delay=${d}ms rate=$SLOW_RATE round=$r delivered=$got msg/s ($pct%) cpu_us_per_msg=$cs (stat) $cn (schedstat)"
			echo "$pct" >> "$TMP/slow.$(label "$b").$d"
		done
	done
	for rate in $CPU_RATES; do
		for b in "${builds[@]}"; do
			read -r got pct cs cn < <(drain "$b" "$PROVIDER" "$CPU_DELAY" "$rate")
			echo "cpu   $(label "$b") $PROVIDER delay=${CPU_DELAY}ms rate=$rate round=$r delivered=$got msg/s ($pct%) cpu_us_per_msg=$cs (stat) $cn (schedstat)"
			[ -n "$THREADS" ] && cat "$TMP/threads.txt"
			echo "$cn" >> "$TMP/cpu.$(label "$b").$rate"
		done
		read -r got pct cs cn < <(drain "$BUILD" mock 100 "$rate")
		echo "cpu   mock(baseline) delay=100ms rate=$rate round=$r delivered=$got msg/s ($pct%) cpu_us_per_msg=$cs (stat) $cn (schedstat)"
		echo "$cn" >> "$TMP/cpu.mock.$rate"
	done
done
for d in $SLOW; do
	for b in "${builds[@]}"; do
		echo "median slow $(label "$b") delay=${d}ms rate=$SLOW_RATE reached=$(median < "$TMP/slow.$(label "$b").$d")% of PROVIDER_RATE"
	done
done
for rate in $CPU_RATES; do
	line="median cpu rate=$rate"
	for b in "${builds[@]}"; do line+=" $(label "$b")=$(median < "$TMP/cpu.$(label "$b").$rate")us"; done
	echo "$line mock(baseline)=$(median < "$TMP/cpu.mock.$rate")us per delivered message (schedstat)"
done
