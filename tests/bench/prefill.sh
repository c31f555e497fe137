# shellcheck shell=bash
# prefill.sh - sourced by ids.sh and backlog.sh: wa_prefill DB N MODE
# creates a SQLite store at DB (the daemon of $BUILD makes and migrates the
# schema with --check-config) and inserts N messages with the sqlite3 shell
# in one transaction, as a store in service for a while would hold them:
#   - ids time-ordered like the daemon's (msg-<UUID v7 layout>), created
#     over the last 10 days, so new messages sort after them;
#   - external_ids random UUIDs (version 4 layout), inserted in random
#     order: the external_id index is as full as one grown by random ids
#     (about 70 % per page), 240 MiB at 5 M;
#   - 200,000 phones; MODE mixed: 80 % delivered, 8 % read, 5 % failed,
#     4 % sent, 3 % queued; MODE queued: every message queued (a backlog).
# status_counts is recounted afterwards (rows written outside the daemon).
# The shell's page cache is half the available memory, at most 3 GiB:
# about 6 minutes for 5 M rows (2.8 GB) on a 2-core machine.
wa_prefill() {
	local db=$1 n=$2 mode=$3 now st pm cache
	rm -f "$db" "$db-wal" "$db-shm"
	env API_KEY=bench-key-0123456789 STORE_PATH="$db" PROVIDER_DIR="$BUILD/providers" \
		LOG_LEVEL=warn "$BUILD/core/wadispatchd" --check-config >/dev/null
	now=$(($(date +%s) * 1000))
	if [ "$mode" = queued ]; then
		st="'queued'"
		pm=NULL
	else
		st="CASE WHEN i % 100 < 80 THEN 'delivered' WHEN i % 100 < 88 THEN 'read'
			WHEN i % 100 < 93 THEN 'failed' WHEN i % 100 < 97 THEN 'sent' ELSE 'queued' END"
		pm="CASE WHEN i % 100 < 97 AND NOT (i % 100 BETWEEN 88 AND 92) THEN printf('wamid.%d', i) END"
	fi
	cache=$(awk '/MemAvailable/ { k = int($2 / 2); print (k > 3145728 ? 3145728 : k) }' /proc/meminfo)
	sqlite3 "$db" >/dev/null <<SQL
PRAGMA synchronous = OFF;
PRAGMA cache_size = -$cache;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n),
r AS (SELECT i, $now - ($n - i) * (864000000 / $n) AS t, lower(hex(randomblob(16))) AS h,
	lower(hex(randomblob(10))) AS g FROM seq)
INSERT INTO messages (id, external_id, phone, body, provider, status, attempts,
	provider_message_id, created_ms, updated_ms, next_attempt_ms, expires_ms)
SELECT printf('msg-%08x-%04x-7%s-%s-%s', t / 65536, t % 65536, substr(g, 1, 3),
		substr(g, 4, 4), substr(g, 8, 12)),
	printf('%s-%s-4%s-%s-%s', substr(h, 1, 8), substr(h, 9, 4), substr(h, 14, 3),
		substr(h, 17, 4), substr(h, 21, 12)),
	printf('+55119%08d', abs(random()) % 200000), 'Prefill message ' || i, 'mock',
	$st, 1, $pm, t, t, t, $now + 864000000000
FROM r;
COMMIT;
UPDATE status_counts SET n = (SELECT count(*) FROM messages
	WHERE messages.status = status_counts.status);
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}
