#!/usr/bin/env bash
# backlog_ab.sh - accept with random external_ids (send_random.lua, wrk -t2
# -c64, STORE_SYNC=full, deliveries held back) on an empty store and on the
# 5 M store of backlog.sh, warm and cold, for several builds or settings in
# the same run: rounds interleaved (each kind runs every variant in turn),
# medians, each figure as a share of that variant's empty store (issue 17
# item 4: >= 85 %, p99 <= 15 ms), and the server's CPU per request.
#
# Not a test: it asserts nothing and is never run by CTest. It needs the
# store backlog.sh makes and keeps: run `KEEP=<dir> tests/bench/backlog.sh`
# once first. Then, after `make build`:
#   KEEP=<dir> BASE=<main's build> tests/bench/backlog_ab.sh
#       (ROUNDS=2 DUR=8s KINDS="empty warm cold" N=5000000)
# compares BASE with build/ (variants "base" and "this"); or give the
# variants as arguments, "label|build dir|KEY=value ...", e.g.
#   tests/bench/backlog_ab.sh "full|build|" "normal|build|STORE_SYNC=normal"
# Unlike backlog.sh, every run of one invocation works on ONE copy of the
# store (KEEP/ab.db, copied afresh at the start): each run adds about 1 %
# to it (3 rounds of 2 variants: the last runs see about N + 8 %, every
# variant alike), and no 16 s copy per run. warm puts the file in the
# page cache first in 4 KiB pages, as the daemon's own reads leave it;
# warmseq (not run unless named in KINDS) as a sequential reader (cat, cp,
# a backup) leaves it, in large folios, which make every page SQLite's
# checkpoint writes dearer (tests/bench/warm.py); cold drops the page
# cache of the whole machine (root outside a container).
# A kind with "+scrape" (e.g. warm+scrape) runs as its base kind while
# GET /metrics is scraped once a second (issue 17 item 5: no effect on the
# send p99); its lines add the scrapes' median and max time (curl's total,
# a new connection each).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-2}
DUR=${DUR:-8s}
KINDS=${KINDS:-empty warm cold}
N=${N:-5000000}
KEEP=${KEEP:?KEEP=<dir> holding the stores of backlog.sh}
KEY=bench-key-0123456789
export WA_BENCH_KEY=$KEY
[ $# -gt 0 ] || set -- "base|${BASE:?BASE=<baseline build dir> or variants as arguments}|" "this|build|"
TMP=$(mktemp -d /tmp/wa-backlog-ab-XXXXXX)
PID=
SPID=
cleanup() {
	[ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true
	[ -z "$PID" ] || kill "$PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
DB=$KEEP/ab.db
[ -f "$KEEP/backlog-$N.db" ] || { echo "backlog_ab.sh: no $KEEP/backlog-$N.db: run KEEP=$KEEP tests/bench/backlog.sh first" >&2; exit 1; }
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$KEEP/backlog-$N.db" "$DB"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p"; }
# GET /metrics once a second until killed; each scrape's time in ms to $2
# (the daemon answers 200 or the run is not what it claims to be)
scraper() {
	while :; do
		curl -s -o /dev/null -H "X-API-Key: $KEY" -w '%{http_code} %{time_total}\n' \
			"http://127.0.0.1:$1/metrics" | awk '$1 == 200 { printf "%.2f\n", $2 * 1000; next }
			{ print "backlog_ab.sh: /metrics answered " $1 > "/dev/stderr" }' >>"$2"
		sleep 1
	done
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds of $DUR; kinds: $KINDS"
for r in $(seq 1 "$ROUNDS"); do
	for k in $KINDS; do
		for v in "$@"; do
			IFS='|' read -r label B venv <<<"$v"
			f=$DB
			if [ "${k%+scrape}" = empty ]; then
				f=$TMP/empty.db
				rm -f "$f" "$f-wal" "$f-shm"
			fi
			case ${k%+scrape} in
			warm) python3 tests/bench/warm.py "$f" small ;;
			warmseq) python3 tests/bench/warm.py "$f" large ;;
			cold) sync && echo 3 >/proc/sys/vm/drop_caches ;;
			esac
			port=$(free_port)
			# shellcheck disable=SC2086
			env API_KEY=$KEY PORT="$port" BIND_ADDRESS=127.0.0.1 PROVIDER_DIR="$B/providers" \
				STORE_PATH="$f" STORE_SYNC=full LOG_LEVEL=warn ACCESS_LOG=false \
				PROVIDER_RATE=0.0001 $venv "$B/core/wadispatchd" 2>>"$TMP/daemon.log" &
			PID=$!
			for _ in $(seq 1 3000); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.01; done
			SPID=
			scr=
			if [ "$k" != "${k%+scrape}" ]; then
				: >"$TMP/scrapes"
				scraper "$port" "$TMP/scrapes" &
				SPID=$!
			fi
			t0=$(ticks "$PID")
			res=$(wrk -t2 -c64 -d"$DUR" --latency -s tests/bench/send_random.lua "http://127.0.0.1:$port/v1/messages/send" | grep RESULT)
			t1=$(ticks "$PID")
			if [ -n "$SPID" ]; then
				kill "$SPID"
				wait "$SPID" 2>/dev/null || true
				SPID=
				scr=" scrapes=$(wc -l <"$TMP/scrapes") scrape_ms_median=$(med <"$TMP/scrapes") scrape_ms_max=$(sort -n "$TMP/scrapes" | tail -1)"
			fi
			rb=$(awk '/^read_bytes/ { print int($2 / 1048576) }' "/proc/$PID/io" 2>/dev/null || echo -)
			kill "$PID"
			wait "$PID" 2>/dev/null || true
			PID=
			n=$(echo "$res" | field requests)
			cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n }')
			echo "$label $k $(echo "$res" | field req_s) $(echo "$res" | field p99_ms) $cpu" >>"$TMP/all"
			echo "round=$r $k $label req_s=$(echo "$res" | field req_s) p99_ms=$(echo "$res" | field p99_ms) server_cpu_us=$cpu daemon_disk_read_MiB=$rb$scr"
		done
	done
done
for v in "$@"; do
	IFS='|' read -r label _ _ <<<"$v"
	e=$(awk -v l="$label" '$1 == l && $2 == "empty" { print $3 }' "$TMP/all" | med)
	for k in $KINDS; do
		col() { awk -v l="$label" -v k="$k" -v c="$1" '$1 == l && $2 == k { print $c }' "$TMP/all" | med; }
		rs=$(col 3)
		echo "median $label $k req_s=$rs p99_ms=$(col 4) server_cpu_us=$(col 5) of_empty=$(awk -v a="$rs" -v b="${e:-0}" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "-" }')"
	done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
