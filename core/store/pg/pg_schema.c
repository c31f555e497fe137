/* pg_schema.c - the PostgreSQL schema, its ordered migration steps and the
 * advisory lock that lets only one instance migrate at a time */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>

/* Held while migrating; any constant unique to this program. */
#define MIGRATE_LOCK "7523094288207667809"

/* Step n brings a database at version n-1 to version n. Steps are only ever
 * appended; a released step is never edited. Plain PostgreSQL 15 SQL, no
 * extensions (it runs on hosted databases such as Supabase too). */
typedef struct migration {
	int version;
	const char *sql;
} migration;

static const migration steps[] = {
    {1,
     /* Hot tables: updated on every attempt (messages) or inserted and
      * deleted per event (outbox); vacuum them early and without cost
      * delay so dead tuples stay bounded. fillfactor leaves room for HOT
      * updates of the status columns. */
     "CREATE TABLE messages ("
     " seq bigint GENERATED ALWAYS AS IDENTITY,"
     " id text PRIMARY KEY,"
     " external_id text NOT NULL,"
     " phone text NOT NULL,"
     " body text NOT NULL,"
     " template_json text,"
     " media_url text,"
     " provider text NOT NULL,"
     " status text NOT NULL CHECK (status IN ('queued','sending','sent',"
     "  'delivered','read','failed','canceled')),"
     " attempts integer NOT NULL DEFAULT 0,"
     " provider_message_id text,"
     " last_error text,"
     " upstream_code text,"
     " upstream_status bigint NOT NULL DEFAULT 0,"
     " created_ms bigint NOT NULL,"
     " updated_ms bigint NOT NULL,"
     " next_attempt_ms bigint NOT NULL,"
     " expires_ms bigint NOT NULL,"
     " lease_until_ms bigint NOT NULL DEFAULT 0,"
     " claim_seq bigint NOT NULL DEFAULT 0,"
     " claimed_by text"
     ") WITH (fillfactor = 85, autovacuum_vacuum_scale_factor = 0.02,"
     " autovacuum_analyze_scale_factor = 0.02,"
     " autovacuum_vacuum_cost_delay = 0);"
     /* idempotency: the unique index decides, across instances */
     "CREATE UNIQUE INDEX messages_external_id ON messages (external_id);"
     "CREATE INDEX messages_due ON messages (next_attempt_ms, seq)"
     " WHERE status = 'queued';"
     "CREATE INDEX messages_lease ON messages (lease_until_ms)"
     " WHERE status = 'sending';"
     "CREATE INDEX messages_pmid ON messages (provider, provider_message_id)"
     " WHERE provider_message_id IS NOT NULL;"
     /* the fencing token: every claim takes a new value */
     "CREATE SEQUENCE wadispatch_claim_seq;"
     "CREATE TABLE history ("
     " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     " message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
     " status text NOT NULL,"
     " at_ms bigint NOT NULL,"
     " detail text NOT NULL DEFAULT ''"
     ") WITH (autovacuum_vacuum_insert_scale_factor = 0.05);"
     "CREATE INDEX history_message ON history (message_id, id);"
     "CREATE TABLE outbox ("
     " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     " message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
     " external_id text NOT NULL,"
     " status text NOT NULL,"
     " provider text NOT NULL,"
     " provider_message_id text,"
     " error text,"
     " occurred_ms bigint NOT NULL,"
     " attempts integer NOT NULL DEFAULT 0,"
     " next_attempt_ms bigint NOT NULL DEFAULT 0,"
     " lease_until_ms bigint NOT NULL DEFAULT 0,"
     " last_error text"
     ") WITH (autovacuum_vacuum_scale_factor = 0,"
     " autovacuum_vacuum_threshold = 1000,"
     " autovacuum_vacuum_cost_delay = 0);"
     "CREATE INDEX outbox_message ON outbox (message_id, seq);"
     /* The stable read-only view for other systems (docs/postgresql.md):
      * columns are only ever appended. */
     "CREATE VIEW message_logs AS SELECT"
     " id AS message_id, external_id, phone, status, provider,"
     " provider_message_id, attempts, last_error,"
     " to_timestamp(created_ms / 1000.0) AS created_at,"
     " to_timestamp(updated_ms / 1000.0) AS updated_at,"
     " CASE WHEN status = 'queued'"
     "  THEN to_timestamp(next_attempt_ms / 1000.0) END AS next_attempt_at,"
     " to_timestamp(expires_ms / 1000.0) AS expires_at"
     " FROM messages;"
     "COMMENT ON VIEW message_logs IS 'wadispatch messages, read-only;"
     " columns are only ever appended';"},
    /* retention takes the oldest finished messages first; created_ms
     * never changes, so this index only grows at its right edge */
    {2, "CREATE INDEX messages_created ON messages (created_ms);"},
    /* the provider's rate budget shared by all instances (a token bucket
     * per provider; claims take from it under its row lock) */
    {3, "CREATE TABLE wadispatch_rate ("
        " provider text PRIMARY KEY,"
        " tokens double precision NOT NULL,"
        " updated_ms bigint NOT NULL);"},
    /* two-way messaging: inbound messages, contacts, and outbox events
     * that are not about a message (message_id NULL, ordered by
     * event_key) */
    {4, "ALTER TABLE outbox ALTER COLUMN message_id DROP NOT NULL,"
        " ALTER COLUMN external_id SET DEFAULT '',"
        " ALTER COLUMN status SET DEFAULT '',"
        " ALTER COLUMN provider SET DEFAULT '',"
        " ADD COLUMN event text, ADD COLUMN event_key text,"
        " ADD COLUMN body text;"
        "CREATE INDEX outbox_event_key ON outbox (event_key, seq)"
        " WHERE event_key IS NOT NULL;"
        "CREATE TABLE inbound ("
        " id text PRIMARY KEY,"
        " provider text NOT NULL,"
        " provider_message_id text NOT NULL,"
        " phone text NOT NULL,"
        " occurred_ms bigint NOT NULL,"
        " received_ms bigint NOT NULL,"
        " json text NOT NULL,"
        " UNIQUE (provider, provider_message_id));"
        "CREATE INDEX inbound_time ON inbound (occurred_ms, id);"
        "CREATE INDEX inbound_phone ON inbound (phone, occurred_ms, id);"
        "CREATE TABLE contacts ("
        " phone text PRIMARY KEY,"
        " last_inbound_ms bigint NOT NULL DEFAULT 0,"
        " opted_out boolean NOT NULL DEFAULT false,"
        " opt_source text NOT NULL DEFAULT '',"
        " opt_at_ms bigint NOT NULL DEFAULT 0);"
        "CREATE INDEX contacts_opted_out ON contacts (phone)"
        " WHERE opted_out;"
        /* an opt-out cancels the number's queued messages */
        "CREATE INDEX messages_phone_queued ON messages (phone)"
        " WHERE status = 'queued';"},
    /* Operators (issue 15): campaigns, and the listing's keyset order
     * (created_ms DESC, id DESC) under each filter it accepts. The view
     * gains campaign_id at its end (columns are only ever appended). */
    {5, "ALTER TABLE messages ADD COLUMN campaign_id text;"
        /* version 2's retention index, with id for the keyset */
        "DROP INDEX messages_created;"
        "CREATE INDEX messages_created ON messages (created_ms, id);"
        "CREATE INDEX messages_status_created"
        " ON messages (status, created_ms, id);"
        "CREATE INDEX messages_phone_created"
        " ON messages (phone, created_ms, id);"
        "CREATE INDEX messages_campaign_created"
        " ON messages (campaign_id, created_ms, id)"
        " WHERE campaign_id IS NOT NULL;"
        "CREATE INDEX messages_campaign_status"
        " ON messages (campaign_id, status)"
        " WHERE campaign_id IS NOT NULL;"
        "CREATE OR REPLACE VIEW message_logs AS SELECT"
        " id AS message_id, external_id, phone, status, provider,"
        " provider_message_id, attempts, last_error,"
        " to_timestamp(created_ms / 1000.0) AS created_at,"
        " to_timestamp(updated_ms / 1000.0) AS updated_at,"
        " CASE WHEN status = 'queued'"
        "  THEN to_timestamp(next_attempt_ms / 1000.0) END"
        " AS next_attempt_at,"
        " to_timestamp(expires_ms / 1000.0) AS expires_at,"
        " campaign_id"
        " FROM messages;"},
    /* ---- Rich content (issue 14 item 5) -------------------------------
     * The send's "content" object as canonical JSON (base/content.c);
     * NULL for plain text and the 1.1 template/media_url fields. */
    {6, "ALTER TABLE messages ADD COLUMN content_json text;"},
    /* ---- operators: counts per status kept as messages change (issue
     * 15 / issue 17 item 5), read by /v1/stats and /metrics instead of a
     * GROUP BY over every row.
     *   - Statement triggers (transition tables, so once per statement,
     *     not per row) add each statement's net change per status to a
     *     transaction-local setting; the first one of a transaction also
     *     queues a marker row whose deferred trigger applies the sums at
     *     COMMIT: one upsert per status touched, per transaction.
     *   - Several instances: each backend writes its own slot
     *     (pg_backend_pid() % 16) and readers sum the slots, so two
     *     instances' commits seldom wait on one row; the rows are taken
     *     in status order, as the last thing before COMMIT, so they never
     *     deadlock.
     *   - The table is locked against writers while it is created and
     *     counted, so the first counts are exact. ---- */
    {7, "LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE;"
        "CREATE TABLE wadispatch_status_counts ("
        " status text NOT NULL, slot integer NOT NULL,"
        " n bigint NOT NULL, PRIMARY KEY (status, slot))"
        " WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,"
        " autovacuum_vacuum_threshold = 500,"
        " autovacuum_vacuum_cost_delay = 0);"
        "INSERT INTO wadispatch_status_counts (status, slot, n)"
        " SELECT s, 0, coalesce((SELECT count(*) FROM messages"
        "  WHERE messages.status = s), 0)"
        " FROM unnest(ARRAY['queued','sending','sent','delivered','read',"
        " 'failed','canceled']) AS s;"
        "CREATE UNLOGGED TABLE wadispatch_status_flush (x integer);"
        /* One query over the transition tables per statement; the rest
         * are plain expressions (no further query): d is the statement's
         * change per status, in wa_msg_status order, added to the
         * transaction's sums in wadispatch.count_delta. */
        "CREATE FUNCTION wadispatch_counts_stmt() RETURNS trigger"
        " LANGUAGE plpgsql AS $$"
        " DECLARE d bigint[]; c bigint[]; cur text;"
        " BEGIN"
        "  IF TG_OP = 'INSERT' THEN"
        "   SELECT ARRAY[count(*) FILTER (WHERE status = 'queued'),"
        "    count(*) FILTER (WHERE status = 'sending'),"
        "    count(*) FILTER (WHERE status = 'sent'),"
        "    count(*) FILTER (WHERE status = 'delivered'),"
        "    count(*) FILTER (WHERE status = 'read'),"
        "    count(*) FILTER (WHERE status = 'failed'),"
        "    count(*) FILTER (WHERE status = 'canceled')] INTO d"
        "    FROM wadispatch_new;"
        "  ELSIF TG_OP = 'DELETE' THEN"
        "   SELECT ARRAY[-count(*) FILTER (WHERE status = 'queued'),"
        "    -count(*) FILTER (WHERE status = 'sending'),"
        "    -count(*) FILTER (WHERE status = 'sent'),"
        "    -count(*) FILTER (WHERE status = 'delivered'),"
        "    -count(*) FILTER (WHERE status = 'read'),"
        "    -count(*) FILTER (WHERE status = 'failed'),"
        "    -count(*) FILTER (WHERE status = 'canceled')] INTO d"
        "    FROM wadispatch_old;"
        "  ELSE"
        "   SELECT ARRAY["
        "    coalesce(sum(w) FILTER (WHERE status = 'queued'), 0),"
        "    coalesce(sum(w) FILTER (WHERE status = 'sending'), 0),"
        "    coalesce(sum(w) FILTER (WHERE status = 'sent'), 0),"
        "    coalesce(sum(w) FILTER (WHERE status = 'delivered'), 0),"
        "    coalesce(sum(w) FILTER (WHERE status = 'read'), 0),"
        "    coalesce(sum(w) FILTER (WHERE status = 'failed'), 0),"
        "    coalesce(sum(w) FILTER (WHERE status = 'canceled'), 0)]"
        "    INTO d FROM (SELECT status, 1 AS w FROM wadispatch_new"
        "    UNION ALL SELECT status, -1 FROM wadispatch_old) AS x;"
        "  END IF;"
        "  IF d = '{0,0,0,0,0,0,0}' THEN RETURN NULL; END IF;"
        "  cur := current_setting('wadispatch.count_delta', true);"
        "  IF cur IS NULL OR cur = '' THEN"
        /* the first change of the transaction: flush at its COMMIT */
        "   INSERT INTO wadispatch_status_flush VALUES (1);"
        "  ELSE"
        "   c := cur::bigint[];"
        "   d := ARRAY[d[1] + c[1], d[2] + c[2], d[3] + c[3], d[4] + c[4],"
        "    d[5] + c[5], d[6] + c[6], d[7] + c[7]];"
        "  END IF;"
        "  cur := set_config('wadispatch.count_delta', d::text, true);"
        "  RETURN NULL;"
        " END $$;"
        "CREATE FUNCTION wadispatch_counts_flush() RETURNS trigger"
        " LANGUAGE plpgsql AS $$"
        " DECLARE cur text := current_setting('wadispatch.count_delta',"
        "  true); x text;"
        " BEGIN"
        "  DELETE FROM wadispatch_status_flush;"
        "  IF cur IS NULL OR cur = '' THEN RETURN NULL; END IF;"
        "  x := set_config('wadispatch.count_delta', '', true);"
        "  INSERT INTO wadispatch_status_counts AS c (status, slot, n)"
        "   SELECT s, pg_backend_pid() % 16, d FROM unnest(ARRAY['queued',"
        "   'sending','sent','delivered','read','failed','canceled'],"
        "   cur::bigint[]) AS t(s, d) WHERE d <> 0 ORDER BY s"
        "   ON CONFLICT (status, slot) DO UPDATE SET n = c.n + excluded.n;"
        "  RETURN NULL;"
        " END $$;"
        "CREATE TRIGGER wadispatch_counts_insert AFTER INSERT ON messages"
        " REFERENCING NEW TABLE AS wadispatch_new"
        " FOR EACH STATEMENT EXECUTE FUNCTION wadispatch_counts_stmt();"
        "CREATE TRIGGER wadispatch_counts_update AFTER UPDATE ON messages"
        " REFERENCING OLD TABLE AS wadispatch_old"
        " NEW TABLE AS wadispatch_new"
        " FOR EACH STATEMENT EXECUTE FUNCTION wadispatch_counts_stmt();"
        "CREATE TRIGGER wadispatch_counts_delete AFTER DELETE ON messages"
        " REFERENCING OLD TABLE AS wadispatch_old"
        " FOR EACH STATEMENT EXECUTE FUNCTION wadispatch_counts_stmt();"
        "CREATE CONSTRAINT TRIGGER wadispatch_counts_flush"
        " AFTER INSERT ON wadispatch_status_flush"
        " DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION wadispatch_counts_flush();"},
    /* ---- two-way retention (issue 13): self-contained; renumber at
     * merge if another branch took 8. Retention deletes contacts that
     * are not opted out and idle since before RETENTION; this keeps the
     * search off the whole table. ---- */
    {8, "CREATE INDEX IF NOT EXISTS contacts_idle"
        " ON contacts (last_inbound_ms)"
        " WHERE NOT opted_out;"},
    /* ---- issue 12: state several instances share (one step) ----
     * The provider's pause for bad credentials (one row per paused
     * provider: why, and when its next probe is due), and status updates
     * that came before their send was recorded (at any instance), taken
     * once the outcome records their provider message id. IF NOT EXISTS:
     * a test may replay the steps after an earlier one. */
    {9, "CREATE TABLE IF NOT EXISTS wadispatch_pause ("
        " provider text PRIMARY KEY,"
        " reason text NOT NULL,"
        " until_ms bigint NOT NULL);"
        "CREATE TABLE IF NOT EXISTS early_status ("
        " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " provider text NOT NULL,"
        " provider_message_id text NOT NULL,"
        " status text NOT NULL,"
        " at_ms bigint NOT NULL,"
        " error text,"
        " kept_ms bigint NOT NULL)"
        " WITH (autovacuum_vacuum_scale_factor = 0,"
        " autovacuum_vacuum_threshold = 1000);"
        "CREATE INDEX IF NOT EXISTS early_status_pmid"
        " ON early_status (provider, provider_message_id);"},
    /* ---- issue 14: campaign-safe sending (one self-contained step;
     * version 6 on the pacing branch, renumbered at the merge after main's
     * content, ops counters, two-way retention and shared-state steps) ----
     * wadispatch_recipients: per phone, when a claim may next take one of
     * its messages (RECIPIENT_INTERVAL_MS) and when the phone last counted
     * against the tier budget (MESSAGING_LIMIT). messages_phone_pending
     * replaces version 4's messages_phone_queued: the claim asks per
     * candidate whether its phone has another message in flight or an
     * earlier one queued (one index probe each). */
    {10, "CREATE TABLE wadispatch_recipients ("
         " phone text PRIMARY KEY,"
         " next_ok_ms bigint NOT NULL DEFAULT 0,"
         " counted_ms bigint NOT NULL DEFAULT 0);"
         "CREATE INDEX wadispatch_recipients_counted"
         " ON wadispatch_recipients (counted_ms) WHERE counted_ms > 0;"
         "DROP INDEX messages_phone_queued;"
         "CREATE INDEX messages_phone_pending ON messages (phone, status, seq)"
         " WHERE status IN ('queued','sending');"
         /* held: a queued message moved away because an earlier message
          * of its phone was in the way; that one's outcome brings it back
          * at once (pg_pace.c, pg_finish.c) */
         "ALTER TABLE messages ADD COLUMN held boolean NOT NULL"
         " DEFAULT false;"
         /* an early late failure keeps its class (step 9's table) */
         "ALTER TABLE early_status ADD COLUMN retryable boolean NOT NULL"
         " DEFAULT false;"},
    /* A message behind an earlier one of its phone is held from insert
     * (next_attempt_ms moved ahead); its send_at is kept here so the
     * outcome that releases it does not send it early. NULL: none. */
    {11, "ALTER TABLE messages ADD COLUMN send_at_ms bigint;"},
    /* ---- issue 14 leftover: the quality pause shared (one
     * self-contained step; 11 on its branch, after pacing's send_at_ms) ----
     * wadispatch_pause keeps a row per provider and kind: 'config' (bad
     * credentials, until_ms = the next probe) as before, and 'quality'
     * (throttled for quality or at the tier, until_ms = its end). The
     * claim statement's check (any row whose until_ms is ahead) needs no
     * change. Written so that replaying it is harmless. */
    {12, "ALTER TABLE wadispatch_pause ADD COLUMN IF NOT EXISTS"
         " kind text NOT NULL DEFAULT 'config'"
         " CHECK (kind IN ('config', 'quality'));"
         "ALTER TABLE wadispatch_pause"
         " DROP CONSTRAINT IF EXISTS wadispatch_pause_pkey,"
         " ADD CONSTRAINT wadispatch_pause_pkey PRIMARY KEY (provider, kind);"},
    /* ---- issue 17 item 5: the stats read (GET /v1/stats, /metrics) as
     * one function (one self-contained step; 12 on its branch) ----
     * The counts per status (version 7's counters), the oldest queued
     * and oldest kept message, and the pending webhook events: what the
     * daemon sent as text before, now planned once per connection
     * (plpgsql keeps the plan of a statement without parameters) instead
     * of at every scrape. OR REPLACE: harmless to replay. */
    {13, "CREATE OR REPLACE FUNCTION wadispatch_stats()"
         " RETURNS TABLE (k text, v bigint) LANGUAGE plpgsql STABLE AS $$"
         " BEGIN"
         "  RETURN QUERY SELECT c.status, sum(c.n)::bigint"
         "   FROM wadispatch_status_counts AS c GROUP BY c.status"
         /* the first entry of the queued range of (status, created_ms,
          * id) */
         "  UNION ALL SELECT '~oldest', (SELECT m.created_ms"
         "   FROM messages AS m WHERE m.status = 'queued'"
         "   ORDER BY m.status, m.created_ms LIMIT 1)"
         "  UNION ALL SELECT '~outbox', count(*) FROM outbox"
         "  UNION ALL SELECT '~oldest_all', min(m.created_ms)"
         "   FROM messages AS m;"
         " END $$;"},
};

#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static int simple(PGconn *c, const char *sql, const char *what, char *err,
                  size_t err_len)
{
	PGresult *r = wa_pg_exec(c, sql, NULL, what, err, err_len);

	PQclear(r);
	return r ? 0 : -1;
}

static int run_step(PGconn *c, const migration *m, char *err, size_t err_len)
{
	char what[64], ins[96];
	wa_pg_params p = {0};
	PGresult *r;

	snprintf(what, sizeof(what), "migration to schema version %d",
	         m->version);
	if (simple(c, "BEGIN", what, err, err_len) < 0)
		return -1;
	r = PQexec(c, m->sql);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		char msg[WA_ERR_MAX];

		wa_pg_msg(PQerrorMessage(c), msg, sizeof(msg));
		snprintf(err, err_len, "Store %s failed: %s.", what, msg);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	snprintf(ins, sizeof(ins),
	         "INSERT INTO wadispatch_schema (version) VALUES ($1)");
	wa_pg_p_i64(&p, m->version);
	r = wa_pg_exec(c, ins, &p, what, err, err_len);
	if (!r)
		goto fail;
	PQclear(r);
	if (simple(c, "COMMIT", what, err, err_len) < 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

static int migrate_locked(PGconn *c, char *err, size_t err_len)
{
	PGresult *r;
	int v;

	if (simple(c,
	           "CREATE TABLE IF NOT EXISTS wadispatch_schema ("
	           " version integer PRIMARY KEY,"
	           " applied_at timestamptz NOT NULL DEFAULT now())",
	           "schema table", err, err_len) < 0)
		return -1;
	r = wa_pg_exec(c,
	               "SELECT coalesce(max(version), 0)"
	               " FROM wadispatch_schema",
	               NULL, "schema version read", err, err_len);
	if (!r)
		return -1;
	v = (int)wa_pg_i64(r, 0, 0);
	PQclear(r);
	if (v > WA_PG_SCHEMA_VERSION) {
		snprintf(err, err_len,
		         "The database schema version %d is newer than this "
		         "program's (%d); refusing to use it.",
		         v, WA_PG_SCHEMA_VERSION);
		return -1;
	}
	for (size_t i = 0; i < N_STEPS; i++) {
		if (steps[i].version <= v)
			continue;
		if (run_step(c, &steps[i], err, err_len) < 0)
			return -1;
		v = steps[i].version;
	}
	return 0;
}

int wa_pg_migrate(PGconn *c, char *err, size_t err_len)
{
	int rc;

	/* Instances starting together migrate one at a time; the others
	 * then find the schema current. */
	if (simple(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")",
	           "migration lock", err, err_len) < 0)
		return -1;
	rc = migrate_locked(c, err, err_len);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")"));
	return rc;
}
