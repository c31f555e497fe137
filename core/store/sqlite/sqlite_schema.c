/* sqlite_schema.c - the SQLite schema and its ordered migration steps */
#include "store/sqlite/sqlite_impl.h"

#include <stdbool.h>
#include <stdio.h>

/* Step n brings a database at user_version n-1 to version n. Steps are only
 * ever appended; a released step is never edited. */
typedef struct migration {
	int version;
	const char *sql;
} migration;

static const migration steps[] = {
    {1, "CREATE TABLE messages ("
        " id TEXT PRIMARY KEY,"
        " external_id TEXT NOT NULL UNIQUE,"
        " phone TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " template_json TEXT,"
        " media_url TEXT,"
        " provider TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('queued','sending','sent',"
        "  'delivered','read','failed','canceled')),"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " provider_message_id TEXT,"
        " last_error TEXT,"
        " upstream_code TEXT,"
        " upstream_status INTEGER NOT NULL DEFAULT 0,"
        " created_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL,"
        " next_attempt_ms INTEGER NOT NULL,"
        " expires_ms INTEGER NOT NULL,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0);"
        /* claim, next_due and stats; expired leases are found among the
         * few sending rows through the same index */
        "CREATE INDEX messages_claim ON messages(status, next_attempt_ms);"
        "CREATE INDEX messages_pmid ON messages(provider_message_id)"
        " WHERE provider_message_id IS NOT NULL;"
        "CREATE TABLE history ("
        " id INTEGER PRIMARY KEY,"
        " message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
        " status TEXT NOT NULL,"
        " at_ms INTEGER NOT NULL,"
        " detail TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX history_message ON history(message_id, id);"
        "CREATE TABLE outbox ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
        " external_id TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " provider TEXT NOT NULL,"
        " provider_message_id TEXT,"
        " error TEXT,"
        " occurred_ms INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT);"
        "CREATE INDEX outbox_message ON outbox(message_id, seq);"},
    /* who claimed a sending message: release_all at stop gives back only
     * its own process's claims */
    {2, "ALTER TABLE messages ADD COLUMN claimed_by TEXT;"},
    /* retention takes the oldest finished messages first; created_ms
     * never changes, so this index only grows at its right edge */
    {3, "CREATE INDEX messages_created ON messages(created_ms);"},
    /* Operators (issue 15): campaigns, and the listing's keyset order
     * (created_ms DESC, id DESC) under each filter it accepts. */
    {4, "ALTER TABLE messages ADD COLUMN campaign_id TEXT;"
        /* version 3's retention index, with id for the keyset */
        "DROP INDEX messages_created;"
        "CREATE INDEX messages_created ON messages(created_ms, id);"
        "CREATE INDEX messages_status_created"
        " ON messages(status, created_ms, id);"
        "CREATE INDEX messages_phone_created"
        " ON messages(phone, created_ms, id);"
        "CREATE INDEX messages_campaign_created"
        " ON messages(campaign_id, created_ms, id)"
        " WHERE campaign_id IS NOT NULL;"
        "CREATE INDEX messages_campaign_status"
        " ON messages(campaign_id, status)"
        " WHERE campaign_id IS NOT NULL;"},
    /* Counts per status kept as messages change (GET /v1/stats on
     * millions of rows): one writer, so no contention on the seven rows;
     * seeded from what is there. */
    {5, "CREATE TABLE status_counts ("
        " status TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO status_counts (status, n) VALUES ('queued', 0),"
        " ('sending', 0), ('sent', 0), ('delivered', 0), ('read', 0),"
        " ('failed', 0), ('canceled', 0);"
        "UPDATE status_counts SET n = (SELECT count(*) FROM messages"
        " WHERE messages.status = status_counts.status);"
        "CREATE TRIGGER status_counts_insert AFTER INSERT ON messages"
        " BEGIN UPDATE status_counts SET n = n + 1"
        " WHERE status = NEW.status; END;"
        "CREATE TRIGGER status_counts_update AFTER UPDATE OF status"
        " ON messages WHEN OLD.status <> NEW.status BEGIN"
        " UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;"
        " UPDATE status_counts SET n = n + 1 WHERE status = NEW.status;"
        " END;"
        "CREATE TRIGGER status_counts_delete AFTER DELETE ON messages"
        " BEGIN UPDATE status_counts SET n = n - 1"
        " WHERE status = OLD.status; END;"},
    /* two-way messaging: inbound messages, contacts, and outbox events
     * that are not about a message (message_id NULL, ordered by
     * event_key). The outbox is rebuilt to drop message_id's NOT NULL;
     * its AUTOINCREMENT counter is carried over so event ids never
     * repeat. */
    {6, "CREATE TABLE outbox_v4 ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " message_id TEXT REFERENCES messages(id) ON DELETE CASCADE,"
        " external_id TEXT NOT NULL DEFAULT '',"
        " status TEXT NOT NULL DEFAULT '',"
        " provider TEXT NOT NULL DEFAULT '',"
        " provider_message_id TEXT,"
        " error TEXT,"
        " occurred_ms INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT,"
        " event TEXT,"
        " event_key TEXT,"
        " body TEXT);"
        "INSERT INTO outbox_v4 (seq, message_id, external_id, status,"
        " provider, provider_message_id, error, occurred_ms, attempts,"
        " next_attempt_ms, lease_until_ms, last_error)"
        " SELECT seq, message_id, external_id, status, provider,"
        " provider_message_id, error, occurred_ms, attempts,"
        " next_attempt_ms, lease_until_ms, last_error FROM outbox;"
        "DELETE FROM sqlite_sequence WHERE name = 'outbox_v4';"
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_v4', seq"
        " FROM sqlite_sequence WHERE name = 'outbox';"
        "DROP TABLE outbox;"
        "ALTER TABLE outbox_v4 RENAME TO outbox;"
        "CREATE INDEX outbox_message ON outbox(message_id, seq);"
        "CREATE INDEX outbox_event_key ON outbox(event_key, seq)"
        " WHERE event_key IS NOT NULL;"
        "CREATE TABLE inbound ("
        " id TEXT PRIMARY KEY,"
        " provider TEXT NOT NULL,"
        " provider_message_id TEXT NOT NULL,"
        " phone TEXT NOT NULL,"
        " occurred_ms INTEGER NOT NULL,"
        " received_ms INTEGER NOT NULL,"
        " json TEXT NOT NULL,"
        " UNIQUE (provider, provider_message_id));"
        "CREATE INDEX inbound_time ON inbound(occurred_ms, id);"
        "CREATE INDEX inbound_phone ON inbound(phone, occurred_ms, id);"
        "CREATE TABLE contacts ("
        " phone TEXT PRIMARY KEY,"
        " last_inbound_ms INTEGER NOT NULL DEFAULT 0,"
        " opted_out INTEGER NOT NULL DEFAULT 0,"
        " opt_source TEXT NOT NULL DEFAULT '',"
        " opt_at_ms INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX contacts_opted_out ON contacts(phone)"
        " WHERE opted_out = 1;"
        /* an opt-out cancels the number's queued messages */
        "CREATE INDEX messages_phone_queued ON messages(phone)"
        " WHERE status = 'queued';"},
    /* ---- Rich content (issue 14 item 5) -------------------------------
     * The send's "content" object as canonical JSON (base/content.c);
     * NULL for plain text and the 1.1 template/media_url fields. */
    {7, "ALTER TABLE messages ADD COLUMN content_json TEXT;"},
    /* ---- operators: counts per status applied once per group commit
     * (issue 15 / issue 17 item 5). Version 5's triggers updated
     * status_counts once per message; the write connection now sums the
     * changes in memory and applies them at commit (sqlite_counts.c).
     * The counts the triggers kept are exact, so they are kept. ---- */
    {8, "DROP TRIGGER IF EXISTS status_counts_insert;"
        "DROP TRIGGER IF EXISTS status_counts_update;"
        "DROP TRIGGER IF EXISTS status_counts_delete;"},
    /* ---- two-way retention (issue 13): self-contained; renumber at
     * merge if another branch took 9. Retention deletes contacts that
     * are not opted out and idle since before RETENTION; this keeps the
     * search off the whole table. ---- */
    {9, "CREATE INDEX IF NOT EXISTS contacts_idle"
        " ON contacts(last_inbound_ms)"
        " WHERE opted_out = 0;"},
    /* ---- issue 14: campaign-safe sending (one self-contained step;
     * version 7 on the pacing branch, renumbered at the merge after main's
     * content, ops counters and two-way retention steps) ----
     * recipients: per phone, when claim may next take one of its messages
     * (RECIPIENT_INTERVAL_MS) and when the phone last counted against the
     * tier budget (MESSAGING_LIMIT). messages_phone_pending replaces
     * version 6's messages_phone_queued: the claim asks per candidate
     * whether its phone has another message in flight or an earlier one
     * queued (one probe each); cancel_phone repeats its WHERE term. */
    {10, "CREATE TABLE recipients ("
         " phone TEXT PRIMARY KEY,"
         " next_ok_ms INTEGER NOT NULL DEFAULT 0,"
         " counted_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
         "CREATE INDEX recipients_counted ON recipients(counted_ms)"
         " WHERE counted_ms > 0;"
         "DROP INDEX messages_phone_queued;"
         "CREATE INDEX messages_phone_pending ON messages(phone, status)"
         " WHERE status IN ('queued','sending');"
         /* held: a queued message moved away because an earlier message
          * of its phone was in the way; that one's outcome brings it back
          * at once (sqlite_pace.c) */
         "ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"},
    /* A message behind an earlier one of its phone is held from insert
     * (next_attempt_ms moved ahead); its send_at is kept here so the
     * outcome that releases it does not send it early. NULL: none. */
    {11, "ALTER TABLE messages ADD COLUMN send_at_ms INTEGER;"},
};

#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static int user_version(sqlite3 *db, int *v, char *err, size_t err_len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, err_len, "Cannot read the schema version: %s.",
		         sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Is this another application's database? Version 0 with tables or
 * indexes in it, or a version with no messages table. Then err says so. */
static bool foreign(sqlite3 *db, int v, char *err, size_t err_len)
{
	sqlite3_stmt *st = NULL;
	int n = -1;
	bool ours = false;

	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*), "
	                       "coalesce(sum(type = 'table' AND name = "
	                       "'messages'), 0) FROM sqlite_master",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int(st, 0);
		ours = sqlite3_column_int(st, 1) > 0;
	}
	sqlite3_finalize(st);
	if (n < 0) {
		snprintf(err, err_len, "Cannot read the schema: %s.",
		         sqlite3_errmsg(db));
		return true;
	}
	if ((v == 0 && n > 0) || (v > 0 && !ours)) {
		snprintf(err, err_len,
		         "The file holds another application's database (%d "
		         "schema objects, schema version %d, no wadispatch "
		         "tables); refusing to add to it: point STORE_PATH at "
		         "a new file.",
		         n, v);
		return true;
	}
	return false;
}

static int run_step(sqlite3 *db, const migration *m, char *err, size_t err_len)
{
	char sql[64];
	char *msg = NULL;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rollback;
	return 0;

fail_rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
fail:
	snprintf(err, err_len, "Schema migration to version %d failed: %s.",
	         m->version, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

int wa_sq_migrate(sqlite3 *db, char *err, size_t err_len)
{
	int v;
	size_t i;

	if (user_version(db, &v, err, err_len) < 0)
		return -1;
	if (foreign(db, v, err, err_len))
		return -1;
	if (v > WA_SQ_SCHEMA_VERSION) {
		snprintf(err, err_len,
		         "The database schema version %d is newer than this "
		         "program's (%d); refusing to use it.",
		         v, WA_SQ_SCHEMA_VERSION);
		return -1;
	}
	for (i = 0; i < N_STEPS; i++) {
		if (steps[i].version <= v)
			continue;
		if (run_step(db, &steps[i], err, err_len) < 0)
			return -1;
		v = steps[i].version;
	}
	return 0;
}
