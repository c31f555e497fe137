#!/usr/bin/env bash
# ops_bench.sh - latency of GET /v1/stats and of the listing on a store of
# N (default 1,000,000) messages, SQLite or (STORE=pg) PostgreSQL in a
# throwaway cluster (tests/lib/pgtmp.sh); prints figures.
#
# Not a test: it asserts nothing and is never run by CTest. Run after
# `make build`:
#   tests/bench/ops_bench.sh        (BUILD=build N=1000000 ROUNDS=20 STORE=sqlite|pg)
# The daemon creates and migrates the store (--check-config opens it); the
# rows are then inserted directly with sqlite3 or psql (one INSERT ...
# SELECT: about a minute for a million rows with every index), spread over the last 10
# days: 80 % delivered, 8 % read, 5 % failed (four upstream codes), 4 %
# sent, 3 % queued; one in ten in one of 100 campaigns; 1,000 phones. Each
# request runs ROUNDS times; the summary gives min, median and max of
# curl's total time in ms (a new curl and connection each; the last line,
# /metrics on one keep-alive connection, leaves those out). Everything runs
# on 127.0.0.1 and is stopped.
#
# BASE_BUILD=<another build dir> (e.g. main's) measures it first on the same
# rows: the store is created with BASE_BUILD's schema and filled once, served
# by BASE_BUILD, then by BUILD (which migrates it: its start-up time, the
# migration included, is printed), so both columns come from one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
STORE=${STORE:-sqlite}
if [ "$STORE" = pg ] && [ -z "${DATABASE_URL:-}" ]; then
	exec tests/lib/pgtmp.sh "$0" "$@"
fi
BUILD=${BUILD:-build}
N=${N:-1000000}
ROUNDS=${ROUNDS:-20}
KEY=bench-key-0123456789
ADMIN=bench-admin-0123456789
TMP=$(mktemp -d /tmp/wa-opsbench-XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

if [ "$STORE" = pg ]; then
	PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | tail -1)
else
	unset DATABASE_URL
	command -v sqlite3 >/dev/null || { echo "ops_bench: sqlite3 is missing (apt-get install sqlite3)" >&2; exit 1; }
fi
[ -x "$BUILD/core/wadispatchd" ] || { echo "ops_bench: build first (make build)" >&2; exit 1; }
DB=$TMP/wadispatch.db
export API_KEY=$KEY ADMIN_API_KEYS=$ADMIN STORE_PATH=$DB BIND_ADDRESS=127.0.0.1 \
	PROVIDER_DIR="$BUILD/providers" WHATSAPP_PROVIDER=mock MOCK_DELAY_MS=1 LOG_LEVEL=warn
FIRST=${BASE_BUILD:-$BUILD}
[ -x "$FIRST/core/wadispatchd" ] || { echo "ops_bench: no daemon in $FIRST" >&2; exit 1; }
# each build loads its own plugins: another build's may have another ABI
PROVIDER_DIR="$FIRST/providers" "$FIRST/core/wadispatchd" --check-config >/dev/null 2>"$TMP/check.log" ||
	{ cat "$TMP/check.log" >&2; exit 1; }

t0=$(date +%s)
now=$(($(date +%s) * 1000))
if [ "$STORE" = pg ]; then
"$PSQL" -q "$DATABASE_URL" <<SQL
SET synchronous_commit = off;
INSERT INTO messages (id, external_id, phone, body, provider, status,
  attempts, provider_message_id, last_error, upstream_code, upstream_status,
  created_ms, updated_ms, next_attempt_ms, expires_ms, campaign_id)
SELECT format('msg-bench-%s', lpad(i::text, 8, '0')), format('ext-%s', i),
  format('+55119%s', lpad((i % 1000)::text, 8, '0')), 'bench body', 'mock',
  CASE WHEN i % 100 < 80 THEN 'delivered' WHEN i % 100 < 88 THEN 'read'
       WHEN i % 100 < 93 THEN 'failed' WHEN i % 100 < 97 THEN 'sent'
       ELSE 'queued' END,
  1, CASE WHEN i % 100 < 97 AND NOT (i % 100 BETWEEN 88 AND 92)
       THEN format('mock-%s', i) END,
  CASE WHEN i % 100 BETWEEN 88 AND 92 THEN 'rejected' END,
  CASE WHEN i % 100 BETWEEN 88 AND 92 THEN format('E%s', i % 4) END,
  CASE WHEN i % 100 BETWEEN 88 AND 92 THEN 400 ELSE 200 END,
  $now - ($N - i)::bigint * (864000000 / $N), $now - ($N - i)::bigint * (864000000 / $N),
  $now + 86400000, $now + 86400000,
  CASE WHEN i % 10 = 0 THEN format('camp-%s', i % 1000 / 10) END
FROM generate_series(1, $N) AS i;
VACUUM ANALYZE messages;
SQL
else
sqlite3 "$DB" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $N)
INSERT INTO messages (id, external_id, phone, body, provider, status,
  attempts, provider_message_id, last_error, upstream_code, upstream_status,
  created_ms, updated_ms, next_attempt_ms, expires_ms, campaign_id)
SELECT printf('msg-bench-%08d', i), printf('ext-%08d', i),
  printf('+55119%08d', i % 1000), 'bench body', 'mock',
  CASE WHEN i % 100 < 80 THEN 'delivered' WHEN i % 100 < 88 THEN 'read'
       WHEN i % 100 < 93 THEN 'failed' WHEN i % 100 < 97 THEN 'sent'
       ELSE 'queued' END,
  1, CASE WHEN i % 100 < 97 AND NOT (i % 100 BETWEEN 88 AND 92)
       THEN printf('mock-%d', i) END,
  CASE WHEN i % 100 BETWEEN 88 AND 92 THEN 'rejected' END,
  CASE WHEN i % 100 BETWEEN 88 AND 92 THEN printf('E%d', i % 4) END,
  CASE WHEN i % 100 BETWEEN 88 AND 92 THEN 400 ELSE 200 END,
  $now - ($N - i) * (864000000 / $N), $now - ($N - i) * (864000000 / $N),
  $now + 86400000, $now + 86400000,
  CASE WHEN i % 10 = 0 THEN printf('camp-%d', i % 1000 / 10) END
FROM seq;
COMMIT;
-- rows written outside the daemon: recount (README, "/v1/stats and
-- /metrics stay cheap"); a no-op where triggers counted them
UPDATE status_counts SET n = (SELECT count(*) FROM messages
  WHERE messages.status = status_counts.status);
ANALYZE;
SQL
fi
echo "ops_bench: $N messages inserted in $(($(date +%s) - t0)) s ($STORE)"

# serve LABEL BUILD_DIR: start that daemon on the store, time its start-up
# (a migration included), measure every request, stop it.
serve() {
	local t0 t1
	port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	t0=$(date +%s%N)
	PROVIDER_DIR="$2/providers" PORT=$port "$2/core/wadispatchd" 2>"$TMP/daemon-$1.log" & PID=$!
	for _ in $(seq 1 3000); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.02; done
	t1=$(date +%s%N)
	echo "== $1 ($2): ready in $(( (t1 - t0) / 1000000 )) ms"
	run_all
	kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

# measure NAME PATH: min / median / max of ROUNDS requests, in ms
measure() {
	local i times code
	times=()
	for i in $(seq 1 "$ROUNDS"); do
		read -r code t < <(curl -s -o "$TMP/out.json" -w '%{http_code} %{time_total}\n' \
			-H "X-API-Key: $ADMIN" "http://127.0.0.1:$port$2")
		[ "$code" = 200 ] || { echo "ops_bench: $1 answered $code: $(head -c 300 "$TMP/out.json")" >&2; exit 1; }
		times+=("$t")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v name="$1" '
		{ v[NR] = $1 * 1000 }
		END { printf "%-28s min %7.2f ms  median %7.2f ms  max %7.2f ms  (%d requests)\n",
		      name, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}

# measure_ka NAME PATH: as measure, the ROUNDS requests on one keep-alive
# connection (one curl), so connecting and starting curl are left out:
# what the daemon and its store take. The first request (the connect) is
# dropped.
measure_ka() {
	local urls=() i
	for i in $(seq 0 "$ROUNDS"); do urls+=(-o /dev/null "http://127.0.0.1:$port$2"); done
	curl -s -w '%{http_code} %{time_total}\n' -H "X-API-Key: $ADMIN" "${urls[@]}" |
		tail -n +2 | sort -k2 -n | awk -v name="$1" '
		$1 != 200 { bad = 1 }
		{ v[NR] = $2 * 1000 }
		END { if (bad) { print "ops_bench: " name ": not 200" > "/dev/stderr"; exit 1 }
		      printf "%-28s min %7.2f ms  median %7.2f ms  max %7.2f ms  (%d requests)\n",
		      name, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}

run_all() {
	measure "stats" "/v1/stats"
	python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print("  counts", json.dumps(d["counts"], sort_keys=True), "queue", json.dumps(d["queue"], sort_keys=True))' "$TMP/out.json"
	measure "list, first page (50)" "/v1/messages"
	measure "list, 500" "/v1/messages?limit=500"
	measure "list by status=failed" "/v1/messages?status=failed"
	measure "list by campaign" "/v1/messages?campaign_id=camp-42"
	measure "list by phone" "/v1/messages?phone=%2B5511900000042"
	measure "list by time range" "/v1/messages?since=2020-01-01T00:00:00Z&until=$(date -u -d '-5 days' +%Y-%m-%dT%H:%M:%SZ)"
	cursor=$(curl -s -H "X-API-Key: $ADMIN" "http://127.0.0.1:$port/v1/messages?limit=500" |
		python3 -c 'import json,sys;print(json.load(sys.stdin)["next_cursor"])')
	measure "list, a later page (cursor)" "/v1/messages?cursor=$cursor"
	measure "campaign counts" "/v1/campaigns/camp-42" 2>/dev/null || true
	measure "metrics scrape" "/metrics"
	measure_ka "metrics, keep-alive" "/metrics"
}

if [ -n "${BASE_BUILD:-}" ]; then
	serve "before" "$BASE_BUILD"
fi
serve "after" "$BUILD"
