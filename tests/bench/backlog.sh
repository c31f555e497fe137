#!/usr/bin/env bash
# backlog.sh - the SQLite store with a big backlog (issue 17 item 4), each
# figure beside its baseline from the same run:
#   1. accept: POST /v1/messages/send with random UUID external_ids
#      (send_random.lua), wrk -t2 -c$CONNS, STORE_SYNC=full, deliveries held
#      back, on an empty store and on a store of N messages (warm: the file
#      read into the OS page cache before the daemon starts, WARM=small or
#      large, see prepare(); cold: the page cache dropped instead); rounds interleaved, medians, and N's figure
#      as a share of the empty store's (target >= 85 %, p99 <= 15 ms);
#   2. GET /v1/messages/{id} and GET /v1/messages?external_id= for ids
#      picked at random among the N (get_random.lua, wrk -c$GET_CONNS),
#      warm and cold, beside the same on a store of 20,000 (target p99 <=
#      2 ms at N);
#   3. restart with N queued messages: from exec to the first 200 of
#      /ready, warm and cold, beside an empty store (target < 1 s).
#
# Not a test: it asserts nothing and is never run by CTest. After `make build`:
#   tests/bench/backlog.sh   (BUILD=build N=5000000 DUR=8s ROUNDS=2 CONNS=64
#                             GET_CONNS=8 GET_DUR=5s KEEP= DAEMON_ENV= COLD=1
#                             WARM=small)
# The two stores of N messages (mixed statuses, and all queued; see
# prefill.sh) are made once per run with the sqlite3 shell, about 6 minutes
# and 2.8 GB each at 5 M; KEEP=<dir> keeps them there and reuses them in
# later runs. Each run works on a copy (about 16 s each here); the free
# space needed is three times a store's size (checked first).
# Cold runs write /proc/sys/vm/drop_caches, which needs root outside a
# container and empties the page cache of the whole machine (other work on
# it slows down a moment); COLD=0 skips them, and they are skipped with a
# note when the file is not writable.
# Extra daemon settings for every run go in DAEMON_ENV ("KEY=value ...").
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${N:-5000000}
DUR=${DUR:-8s}
ROUNDS=${ROUNDS:-2}
WARM=${WARM:-small}
CONNS=${CONNS:-64}
GET_CONNS=${GET_CONNS:-8}
GET_DUR=${GET_DUR:-5s}
KEEP=${KEEP:-}
COLD=${COLD:-1}
DAEMON_ENV=${DAEMON_ENV:-}
KEY=bench-key-0123456789
export WA_BENCH_KEY=$KEY
TMP=$(mktemp -d /tmp/wa-backlog-XXXXXX)
TPL=${KEEP:-$TMP}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
# shellcheck source=tests/bench/prefill.sh
. tests/bench/prefill.sh

for t in wrk sqlite3 curl python3; do
	command -v $t >/dev/null || { echo "backlog.sh: $t is missing" >&2; exit 1; }
done
[ -x "$BUILD/core/wadispatchd" ] || { echo "backlog.sh: build first (make build)" >&2; exit 1; }
mkdir -p "$TPL"
copies=1 # KiB needed: about 600 bytes a message per copy (the working copy, and each store still to make)
[ -f "$TPL/backlog-$N.db" ] || copies=$((copies + 1))
[ -f "$TPL/queued-$N.db" ] || copies=$((copies + 1))
need=$((copies * N * 600 / 1024 + 1048576))
have=$(df -Pk "$TPL" | awk 'NR == 2 { print $4 }')
[ "$have" -gt "$need" ] || {
	echo "backlog.sh: about $((need / 1048576 + 1)) GiB needed in $TPL, $((have / 1048576)) GiB free" >&2
	exit 1
}
can_cold=0
if [ "$COLD" = 1 ]; then
	if sync && { echo 1 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		can_cold=1
	else
		echo "backlog.sh: cannot write /proc/sys/vm/drop_caches (root outside a container only): cold runs skipped" >&2
	fi
fi

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# prepare DB TEMPLATE CACHE: DB becomes a copy of TEMPLATE ("" = an empty
# store); CACHE warm reads it into the page cache (4 KiB pages, as the
# daemon's own reads leave it, or WARM=large: large folios, as cat, cp or
# a backup leave it; tests/bench/warm.py), cold drops the cache
prepare() {
	rm -f "$1" "$1-wal" "$1-shm"
	if [ -n "$2" ]; then
		cp "$2" "$1"
		sync
	fi
	case $3 in
	warm) [ -f "$1" ] && python3 tests/bench/warm.py "$1" "$WARM" ;;
	cold) drop_caches ;;
	esac
}

# start DB: the daemon on DB in the background; sets DPID, PORT, T0 (ms)
start() {
	PORT=$(free_port)
	T0=$(now_ms)
	# shellcheck disable=SC2086
	env API_KEY=$KEY PORT="$PORT" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$BUILD/providers" \
		STORE_PATH="$1" STORE_SYNC=full LOG_LEVEL=warn ACCESS_LOG=false \
		PROVIDER_RATE=0.0001 $DAEMON_ENV "$BUILD/core/wadispatchd" 2>>"$TMP/daemon.log" & PIDS+=($!)
	DPID=$!
}
# until /ready answers 200 (at most 60 s, polled every 2 ms with bash's
# /dev/tcp: no process started per try); prints the ms since start
ready_ms() {
	local line
	while [ $(($(now_ms) - T0)) -lt 60000 ]; do
		if { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
			printf 'GET /ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
			IFS= read -r line <&3 || line=
			exec 3<&-
			case $line in *" 200 "*)
				echo $(($(now_ms) - T0))
				return 0
				;;
			esac
		fi
		sleep 0.002
	done
	echo "backlog.sh: the daemon was not ready within 60 s" >&2
	return 1
}
stop() { kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true; }

# wrk_run SCRIPT PATH CONNS DUR: wrk's RESULT line plus server CPU per request
wrk_run() {
	local t0 t1 out
	t0=$(ticks "$DPID")
	out=$(wrk -t2 -c"$3" -d"$4" --latency -s "$1" "http://127.0.0.1:$PORT$2" | grep RESULT | sed 's/RESULT //')
	t1=$(ticks "$DPID")
	echo "$out $(echo "$out" | awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" '{
		split($1, kv, "="); if (kv[2] > 0) printf "server_cpu_us=%.1f", (b - a) * 1e6 / hz / kv[2] }')"
}
field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p"; }

t_start=$(date +%s)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "N=$N; accept: wrk -t2 -c$CONNS -d$DUR, random external_ids, STORE_SYNC=full, $ROUNDS rounds; GET: -c$GET_CONNS -d$GET_DUR; DAEMON_ENV=$DAEMON_ENV"
for m in backlog queued; do
	mode=mixed
	[ $m = queued ] && mode=queued
	if [ ! -f "$TPL/$m-$N.db" ]; then
		t0=$(date +%s)
		wa_prefill "$TPL/$m-$N.db.tmp" "$N" $mode
		mv "$TPL/$m-$N.db.tmp" "$TPL/$m-$N.db"
		echo "store of $N messages ($mode) made in $(($(date +%s) - t0)) s: $(du -h "$TPL/$m-$N.db" | cut -f1)"
	fi
done
wa_prefill "$TMP/small.db" 20000 mixed
# an empty store, already created and migrated (the restart baseline)
env API_KEY=$KEY STORE_PATH="$TMP/empty.db" PROVIDER_DIR="$BUILD/providers" LOG_LEVEL=warn \
	"$BUILD/core/wadispatchd" --check-config >/dev/null
# ids to look up: 20,000 random rows of each store
sample() {
	sqlite3 "$1" "WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 20000)
		SELECT id || ' ' || external_id FROM messages WHERE rowid IN
		(SELECT 1 + abs(random()) % (SELECT max(rowid) FROM messages) FROM k)" >"$2"
}
sample "$TPL/backlog-$N.db" "$TMP/ids-big"
sample "$TMP/small.db" "$TMP/ids-small"
DB=$TMP/wa.db

# ---- 1. accept ----
kinds="empty warm"
[ $can_cold = 1 ] && kinds="empty warm cold"
for r in $(seq 1 "$ROUNDS"); do
	for k in $kinds; do
		if [ "$k" = empty ]; then prepare "$DB" "" none; else prepare "$DB" "$TPL/backlog-$N.db" "$k"; fi
		start "$DB"
		ready_ms >/dev/null
		res=$(wrk_run tests/bench/send_random.lua /v1/messages/send "$CONNS" "$DUR")
		stop
		echo "$res" | field req_s >>"$TMP/accept-$k"
		echo "$res" | field p99_ms >>"$TMP/p99-$k"
		echo "accept $k round=$r $res"
	done
done
e=$(median <"$TMP/accept-empty")
for k in $kinds; do
	v=$(median <"$TMP/accept-$k")
	echo "median accept $k req_s=$v p99_ms=$(median <"$TMP/p99-$k") of_empty=$(awk -v a="$v" -v b="$e" 'BEGIN { printf "%.1f%%", 100 * a / b }')"
done

# ---- 2. lookups ----
gets() { # LABEL DB IDS CACHE
	local what
	for what in id ext; do
		[ "$4" = cold ] && drop_caches
		start "$2"
		ready_ms >/dev/null
		echo "get_$what $1 $(WA_IDS_FILE=$3 WA_GET=$what wrk_run tests/bench/get_random.lua /v1/messages "$GET_CONNS" "$GET_DUR")"
		stop
	done
}
prepare "$DB" "$TMP/small.db" warm
gets "20000 warm" "$DB" "$TMP/ids-small" warm
prepare "$DB" "$TPL/backlog-$N.db" warm
gets "$N warm" "$DB" "$TMP/ids-big" warm
[ $can_cold = 1 ] && gets "$N cold" "$DB" "$TMP/ids-big" cold

# ---- 3. restart with N queued ----
rkinds="warm"
[ $can_cold = 1 ] && rkinds="warm cold"
for r in $(seq 1 "$ROUNDS"); do
	prepare "$DB" "$TMP/empty.db" warm
	start "$DB"
	echo "restart empty round=$r ready_ms=$(ready_ms)"
	stop
	for k in $rkinds; do
		prepare "$DB" "$TPL/queued-$N.db" "$k"
		start "$DB"
		echo "restart $N queued $k round=$r ready_ms=$(ready_ms)"
		stop
	done
done
echo "done in $(($(date +%s) - t_start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
