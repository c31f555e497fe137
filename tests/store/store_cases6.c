/* store_cases6.c - store suite: counts per status kept as the store changes
 * (stats reads counters, not rows) stay exact through every transition,
 * rollback, retention and several writers; status webhooks carry the
 * campaign_id */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#define MAX_ROWS 256

void su_cases6_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

/* How many messages each status holds, counted row by row through the
 * listing: what the counters must agree with. */
static void truth(wa_store *s, long long out[7])
{
	wa_message_rec *recs = calloc(MAX_ROWS, sizeof(*recs));
	char err[256] = "";

	CHECK(recs != NULL);
	for (int st = 0; recs && st < 7; st++) {
		wa_msg_filter f;
		size_t n = 0;

		memset(&f, 0, sizeof(f));
		f.status = st;
		CHECK_INT(
		    s->ops->list(s, &f, MAX_ROWS, recs, &n, err, sizeof(err)),
		    0);
		CHECK(n < MAX_ROWS);
		out[st] = (long long)n;
		su_free_recs(recs, n);
	}
	free(recs);
}

/* The counters equal the rows and what the test expects (want). */
static void check_counts(wa_store *s, const long long want[7],
                         const char *where)
{
	wa_store_stats st;
	long long rows[7] = {0};
	char err[256] = "";
	bool same = true;

	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	truth(s, rows);
	for (int i = 0; i < 7; i++)
		same = same && st.count[i] == rows[i] && rows[i] == want[i];
	if (!same) {
		fprintf(stderr, "counts after %s:", where);
		for (int i = 0; i < 7; i++)
			fprintf(stderr, " %s stats %lld rows %lld want %lld;",
			        wa_msg_status_name((wa_msg_status)i),
			        st.count[i], rows[i], want[i]);
		fprintf(stderr, "\n");
	}
	CHECK(same);
}

static void tx(wa_store *s, bool commit)
{
	char err[256] = "";

	if (commit)
		CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	else
		s->ops->rollback(s);
}

static void begin(wa_store *s)
{
	char err[256] = "";

	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
}

static void new_msg(wa_new_message *m, const char *id, const char *ext,
                    const char *phone, const char *campaign, int64_t t)
{
	su_new_message(m, id, ext, phone, "hi", t);
	m->campaign_id = campaign;
}

enum { Q, SG, ST, D, R, F, C };

/* Every kind of change, each checked against the rows. */
void su_case_counts(void)
{
	wa_store *s = su_open(NULL, 0);
	long long w[7] = {0};
	wa_new_message nm[6];
	wa_insert_result ir[6];
	wa_message_rec recs[8];
	wa_msg_status cs;
	wa_msg_filter f;
	char err[256] = "";
	char ids[6][8], exts[6][8];
	size_t n;
	long k;

	check_counts(s, w, "open");
	su_make_sent(s, "b1", "eb1", "PB1", 50);
	su_make_sent(s, "b2", "eb2", "PB2", 60);
	w[ST] += 2;
	check_counts(s, w, "two sent");

	/* a group commit of inserts: four new, a replay and a conflict of a
	 * key in the same group (neither adds a message) */
	begin(s);
	for (int i = 0; i < 4; i++) {
		snprintf(ids[i], sizeof(ids[i]), "g%d", i);
		snprintf(exts[i], sizeof(exts[i]), "eg%d", i);
		new_msg(&nm[i], ids[i], exts[i],
		        i < 2 ? "+5511900000001" : "+5511900000002",
		        i % 2 ? "camp" : NULL, 100 + i);
		CHECK_INT(
		    wa_store_insert_full(s, &nm[i], &ir[i], err, sizeof(err)),
		    0);
	}
	new_msg(&nm[4], "g4", "eg0", "+5511900000001", NULL, 104);
	CHECK_INT(s->ops->insert(s, &nm[4], &ir[4], err, sizeof(err)), 0);
	new_msg(&nm[5], "g5", "eg1", "+5511900000009", NULL, 105);
	CHECK_INT(s->ops->insert(s, &nm[5], &ir[5], err, sizeof(err)), 0);
	tx(s, true);
	CHECK_INT(ir[4].kind, WA_INSERT_REPLAYED);
	CHECK_INT(ir[5].kind, WA_INSERT_CONFLICT);
	w[Q] = 4;
	check_counts(s, w, "a group of inserts");

	/* single inserts in transactions of their own */
	su_insert_simple(s, "a1", "ea1", 200);
	su_insert_simple(s, "a2", "ea2", 201);
	su_insert_simple(s, "a3", "ea3", 202);
	su_insert_simple(s, "a4", "ea4", 203);
	w[Q] += 4;
	check_counts(s, w, "inserts");

	/* a rolled back transaction changes nothing */
	begin(s);
	new_msg(&nm[0], "rb1", "erb1", "+5511900000003", NULL, 300);
	CHECK_INT(s->ops->insert(s, &nm[0], &ir[0], err, sizeof(err)), 0);
	n = 0;
	CHECK_INT(s->ops->claim(s, 1000, 5000, 2, recs, &n, err, sizeof(err)),
	          0);
	su_free_recs(recs, n);
	tx(s, false);
	check_counts(s, w, "a rollback");

	/* claim: g0..g3 sending */
	n = su_claim(s, 1000, 5000, 4, recs);
	CHECK_INT((int)n, 4);
	su_free_recs(recs, n);
	w[Q] -= 4;
	w[SG] += 4;
	check_counts(s, w, "a claim");

	/* outcomes: sent, retry, failed, release */
	CHECK_INT(su_finish(s, "g0", WA_OUT_SENT, 1001, 0, "PG0", NULL), 0);
	CHECK_INT(su_finish(s, "g1", WA_OUT_RETRY, 1001, 1002, NULL, "503"), 0);
	CHECK_INT(su_finish(s, "g2", WA_OUT_FAILED, 1001, 0, NULL, "bad"), 0);
	CHECK_INT(su_finish(s, "g3", WA_OUT_RELEASE, 1001, 1002, NULL, NULL),
	          0);
	/* a second outcome for a message no longer sending is ignored */
	CHECK_INT(su_finish(s, "g0", WA_OUT_FAILED, 1003, 0, NULL, "late"), 1);
	w[SG] -= 4;
	w[ST] += 1;
	w[Q] += 2;
	w[F] += 1;
	check_counts(s, w, "outcomes");

	/* a lease that expired is claimed again: sending stays sending */
	n = su_claim(s, 1100, 1200, 1, recs);
	CHECK_INT((int)n, 1);
	su_free_recs(recs, n);
	w[Q] -= 1;
	w[SG] += 1;
	n = su_claim(s, 1300, 9000, 1, recs);
	CHECK_INT((int)n, 1);
	if (n == 1 && strcmp(recs[0].id, "a1") != 0) {
		w[Q] -= 1; /* a queued one came first */
		w[SG] += 1;
	}
	su_free_recs(recs, n);
	check_counts(s, w, "a claim of an expired lease");

	/* callbacks: delivered, read, failed; stale ones change nothing */
	CHECK_INT(
	    su_apply(s, "mock", "PG0", WA_MSG_DELIVERED, 1500, NULL, NULL),
	    WA_APPLY_APPLIED);
	CHECK_INT(su_apply(s, "mock", "PB1", WA_MSG_READ, 1500, NULL, NULL),
	          WA_APPLY_APPLIED);
	CHECK_INT(su_apply(s, "mock", "PB2", WA_MSG_FAILED, 1500, "gone", NULL),
	          WA_APPLY_APPLIED);
	CHECK_INT(
	    su_apply(s, "mock", "PB1", WA_MSG_DELIVERED, 1600, NULL, NULL),
	    WA_APPLY_STALE);
	w[ST] -= 3;
	w[D] += 1;
	w[R] += 1;
	w[F] += 1;
	check_counts(s, w, "callbacks");

	/* cancel one queued message; a sent one is too late */
	CHECK_INT(su_cancel(s, "a4", 1700, &cs), WA_CANCEL_DONE);
	CHECK_INT(su_cancel(s, "g0", 1700, &cs), WA_CANCEL_TOO_LATE);
	w[Q] -= 1;
	w[C] += 1;
	check_counts(s, w, "a cancel");

	/* release at stop: this store's sending messages go back */
	k = su_release_all(s, 1800);
	CHECK_INT(k, w[SG]);
	w[Q] += w[SG];
	w[SG] = 0;
	check_counts(s, w, "release_all");

	/* requeue one failed message, then every failed or canceled one */
	{
		wa_requeue_kind rk = WA_REQUEUE_NOT_FOUND;

		begin(s);
		CHECK_INT(s->ops->requeue(s, "g2", 1900, 90000, "fixed", &rk,
		                          &cs, err, sizeof(err)),
		          0);
		tx(s, true);
		CHECK_INT(rk, WA_REQUEUE_DONE);
		w[F] -= 1;
		w[Q] += 1;
		check_counts(s, w, "a requeue");
	}
	memset(&f, 0, sizeof(f));
	f.status = -1;
	begin(s);
	k = s->ops->requeue_many(s, &f, 100, 2000, 90000, "all", err,
	                         sizeof(err));
	tx(s, true);
	CHECK_INT(k, w[F] + w[C]);
	w[Q] += w[F] + w[C];
	w[F] = w[C] = 0;
	check_counts(s, w, "requeue_many");

	/* a campaign's queued messages canceled; a phone's */
	begin(s);
	k = s->ops->cancel_campaign(s, "camp", 2100, err, sizeof(err));
	tx(s, true);
	CHECK_INT(k, 2); /* g1 and g3, both queued again */
	w[Q] -= k;
	w[C] += k;
	check_counts(s, w, "cancel_campaign");
	begin(s);
	CHECK_INT(s->ops->cancel_phone(s, "+5511999990000", 2200, "opted out",
	                               &k, err, sizeof(err)),
	          0);
	tx(s, true);
	CHECK(k >= 1);
	w[Q] -= k;
	w[C] += k;
	check_counts(s, w, "cancel_phone");

	/* retention: finished messages go, in small batches */
	if (s->ops->purge) {
		long total = w[ST] + w[D] + w[R] + w[F] + w[C];

		begin(s);
		k = s->ops->purge(s, 999999, 2, err, sizeof(err));
		tx(s, true);
		CHECK_INT(k, 2);
		begin(s);
		k += s->ops->purge(s, 999999, 100, err, sizeof(err));
		tx(s, true);
		CHECK_INT(k, total);
		w[ST] = w[D] = w[R] = w[F] = w[C] = 0;
		check_counts(s, w, "purge");
	}
	wa_store_close(s);
}

/* Two handles (two instances) writing in turns and at once inside open
 * transactions: both read the same exact counts. */
void su_case_counts_two(void)
{
	wa_store *a = su_open(NULL, 0);
	wa_store *b = su_open_again();
	long long w[7] = {0};
	wa_message_rec recs[8];
	char err[256] = "";
	wa_new_message m1, m2;
	wa_insert_result r1, r2;
	size_t n = 0;

	CHECK(b != NULL);
	if (!b) {
		wa_store_close(a);
		return;
	}
	su_insert_simple(a, "t1", "et1", 100);
	su_insert_simple(b, "t2", "et2", 101);
	su_insert_simple(a, "t3", "et3", 102);
	w[Q] = 3;
	check_counts(a, w, "inserts from two handles");
	check_counts(b, w, "inserts from two handles (b)");
	n = su_claim(b, 1000, 5000, 2, recs);
	CHECK_INT((int)n, 2);
	su_free_recs(recs, n);
	CHECK_INT(su_finish(a, "t1", WA_OUT_SENT, 1001, 0, "PT1", NULL), 0);
	w[Q] = 1;
	w[SG] = 1;
	w[ST] = 1;
	check_counts(a, w, "claim and outcome from two handles");
	if (!su_is_sqlite()) {
		/* PostgreSQL: both transactions open at once, each with its
		 * own changes (SQLite has one writer at a time) */
		begin(a);
		begin(b);
		new_msg(&m1, "t4", "et4", "+5511900000004", NULL, 200);
		new_msg(&m2, "t5", "et5", "+5511900000005", NULL, 201);
		CHECK_INT(a->ops->insert(a, &m1, &r1, err, sizeof(err)), 0);
		CHECK_INT(b->ops->insert(b, &m2, &r2, err, sizeof(err)), 0);
		n = 0;
		CHECK_INT(
		    a->ops->claim(a, 1100, 5000, 1, recs, &n, err, sizeof(err)),
		    0);
		CHECK_INT((int)n, 1);
		su_free_recs(recs, n);
		tx(b, true);
		tx(a, true);
		w[Q] += 2 - 1;
		w[SG] += 1;
		check_counts(a, w, "two open transactions");
		check_counts(b, w, "two open transactions (b)");
	}
	wa_store_close(b);
	wa_store_close(a);
}

/* An outbox event names its message's campaign ("" when none). */
void su_case_outbox_campaign(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_new_message m;
	wa_insert_result r;
	wa_outbox_event ev[4];
	wa_message_rec recs[4];
	char err[256] = "";
	size_t n;

	s->ops->set_outbox(s, true);
	begin(s);
	new_msg(&m, "oc1", "eoc1", "+5511900000011", "spring-26", 100);
	CHECK_INT(wa_store_insert_full(s, &m, &r, err, sizeof(err)), 0);
	tx(s, true);
	su_insert_simple(s, "oc2", "eoc2", 101);
	n = su_claim(s, 1000, 5000, 2, recs);
	CHECK_INT((int)n, 2);
	su_free_recs(recs, n);
	CHECK_INT(su_finish(s, "oc1", WA_OUT_SENT, 1001, 0, "POC1", NULL), 0);
	CHECK_INT(su_finish(s, "oc2", WA_OUT_FAILED, 1001, 0, NULL, "bad"), 0);
	n = su_outbox_claim(s, 2000, 3000, 4, ev);
	CHECK_INT((int)n, 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ev[i].message_id, "oc1") == 0)
			CHECK_STR(ev[i].campaign_id, "spring-26");
		else
			CHECK_STR(ev[i].campaign_id, "");
		wa_outbox_event_free(&ev[i]);
	}
	wa_store_close(s);
}

/* A few messages in four statuses: sent, read, queued x2, canceled. */
static void fill_some(wa_store *s, long long w[7])
{
	wa_msg_status cs;

	su_make_sent(s, "m1", "em1", "PM1", 10);
	su_make_sent(s, "m2", "em2", "PM2", 20);
	su_apply(s, "mock", "PM2", WA_MSG_READ, 30, NULL, NULL);
	su_insert_simple(s, "m3", "em3", 40);
	su_insert_simple(s, "m4", "em4", 50);
	su_insert_simple(s, "m5", "em5", 60);
	su_cancel(s, "m5", 70, &cs);
	memset(w, 0, 7 * sizeof(*w));
	w[ST] = 1;
	w[R] = 1;
	w[Q] = 2;
	w[C] = 1;
}

static bool sql_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* A database from before the counters (schema 6) with messages in it:
 * the migration counts them once, and changes count from then on. */
void su_case_pg_counts_migrate(void)
{
	wa_store *s = su_open(NULL, 0);
	long long w[7];
	PGconn *c;

	fill_some(s, w);
	wa_store_close(s);
	c = PQconnectdb(su_last_db());
	CHECK_INT(PQstatus(c), CONNECTION_OK);
	CHECK(sql_ok(c, "BEGIN;"
	                "DROP TRIGGER wadispatch_counts_insert ON messages;"
	                "DROP TRIGGER wadispatch_counts_update ON messages;"
	                "DROP TRIGGER wadispatch_counts_delete ON messages;"
	                "DROP TABLE wadispatch_status_flush;"
	                "DROP TABLE wadispatch_status_counts;"
	                "DROP FUNCTION wadispatch_counts_flush();"
	                "DROP FUNCTION wadispatch_counts_stmt();"
	                /* and pacing's step 10 (issue 14), after it */
	                "DROP TABLE wadispatch_recipients;"
	                "DROP INDEX messages_phone_pending;"
	                "CREATE INDEX messages_phone_queued ON messages"
	                " (phone) WHERE status = 'queued';"
	                "ALTER TABLE messages DROP COLUMN held;"
	                "ALTER TABLE early_status DROP COLUMN retryable;"
	                /* and step 11's send_at_ms */
	                "ALTER TABLE messages DROP COLUMN send_at_ms;"
	                "DELETE FROM wadispatch_schema WHERE version >= 7;"
	                /* a row written by a version without counters */
	                "INSERT INTO messages (id, external_id, phone, body,"
	                " provider, status, created_ms, updated_ms,"
	                " next_attempt_ms, expires_ms) VALUES ('m6', 'em6',"
	                " '+5511999990000', 'hi', 'mock', 'failed', 80, 80,"
	                " 80, 90000);"
	                "COMMIT"));
	PQfinish(c);
	w[F] = 1;
	s = su_open_again(); /* migrates: counts what is there */
	CHECK(s != NULL);
	if (!s)
		return;
	check_counts(s, w, "the migration");
	su_insert_simple(s, "m7", "em7", 90);
	w[Q]++;
	check_counts(s, w, "an insert after the migration");
	wa_store_close(s);
}

/* SQLite schema 8 drops version 5's per-message triggers: counts carried
 * over, and each change counted once (not by a trigger too). */
void su_case_sqlite_counts_migrate(void)
{
	static const char *const to_v6 =
	    "BEGIN;"
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
	    " WHERE status = OLD.status; END;"
	    /* and pacing's step 10 (issue 14), after it */
	    "DROP TABLE recipients; DROP INDEX messages_phone_pending;"
	    "CREATE INDEX messages_phone_queued ON messages(phone)"
	    " WHERE status = 'queued';"
	    "ALTER TABLE messages DROP COLUMN held;"
	    /* and step 11's send_at_ms */
	    "ALTER TABLE messages DROP COLUMN send_at_ms;"
	    "PRAGMA user_version = 7;"
	    "COMMIT;";
	char path[512];
	wa_store *s = su_open(path, sizeof(path));
	long long w[7];
	sqlite3 *db = NULL;
	wa_message_rec r[2];
	size_t n;

	fill_some(s, w);
	wa_store_close(s);
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	          SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, to_v6, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = su_open_again();
	CHECK(s != NULL);
	if (!s)
		return;
	check_counts(s, w, "the migration");
	su_insert_simple(s, "m7", "em7", 90);
	n = su_claim(s, 1000, 2000, 1, r);
	CHECK_INT((int)n, 1);
	su_free_recs(r, n);
	w[SG]++;
	check_counts(s, w, "changes after the migration");
	wa_store_close(s);
}
