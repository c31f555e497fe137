/* store_cases4.c - store suite: two-way messaging (inbound messages kept
 * once, contacts and their opt-out state, canceling a phone's queued
 * messages, outbox events that are not about a message), every backend */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

void su_cases4_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

static void tx(wa_store *s, bool begin)
{
	char err[256] = "";

	if (begin)
		CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	else
		CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
}

/* Add one inbound message in its own transaction; created or not. */
static bool in_add(wa_store *s, const char *id, const char *pmid,
                   const char *phone, int64_t at)
{
	wa_inbound_rec r;
	char err[256] = "", json[128];
	bool created = false;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.provider, sizeof(r.provider), "mock");
	snprintf(r.provider_message_id, sizeof(r.provider_message_id), "%s",
	         pmid);
	snprintf(r.phone, sizeof(r.phone), "%s", phone);
	r.occurred_ms = at;
	r.received_ms = at + 1;
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"text\":\"hi\"}", id);
	r.json = json;
	tx(s, true);
	CHECK_INT(s->ops->inbound_add(s, &r, &created, err, sizeof(err)), 0);
	tx(s, false);
	return created;
}

static bool set_opt(wa_store *s, const char *phone, bool out,
                    const char *source, int64_t at)
{
	char err[256] = "";
	bool changed = false;

	tx(s, true);
	CHECK_INT(s->ops->contact_set_opt(s, phone, out, source, at, &changed,
	                                  err, sizeof(err)),
	          0);
	tx(s, false);
	return changed;
}

static int contact(wa_store *s, const char *phone, wa_contact *c)
{
	char err[256] = "";

	return s->ops->contact_get(s, phone, c, err, sizeof(err));
}

/* A provider's retry of one message is kept once; the contact's last
 * inbound time only moves forward. */
void su_case_inbound_dedup(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_contact c;

	CHECK_INT(contact(s, "+5511900000001", &c), 1);
	CHECK(in_add(s, "in-1", "wamid.A", "+5511900000001", 5000));
	CHECK(!in_add(s, "in-2", "wamid.A", "+5511900000001", 5000));
	CHECK(!in_add(s, "in-3", "wamid.A", "+5511900000001", 5000));
	CHECK(in_add(s, "in-4", "wamid.B", "+5511900000001", 4000));
	CHECK_INT(contact(s, "+5511900000001", &c), 0);
	CHECK_STR(c.phone, "+5511900000001");
	CHECK(c.last_inbound_ms == 5000);
	CHECK(!c.opted_out);
	CHECK(in_add(s, "in-5", "wamid.C", "+5511900000001", 7000));
	CHECK_INT(contact(s, "+5511900000001", &c), 0);
	CHECK(c.last_inbound_ms == 7000);
	wa_store_close(s);
}

/* Opt-out and back in: changed only on a real change; source and time. */
void su_case_contact_opt(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_contact c;

	CHECK(!set_opt(s, "+5511900000002", false, "api", 100));
	CHECK_INT(contact(s, "+5511900000002", &c), 1);
	CHECK(set_opt(s, "+5511900000002", true, "keyword:PARAR", 200));
	CHECK(!set_opt(s, "+5511900000002", true, "api", 300));
	CHECK_INT(contact(s, "+5511900000002", &c), 0);
	CHECK(c.opted_out);
	CHECK_STR(c.opt_source, "keyword:PARAR");
	CHECK(c.opt_at_ms == 200);
	CHECK(set_opt(s, "+5511900000002", false, "keyword:VOLTAR", 400));
	CHECK_INT(contact(s, "+5511900000002", &c), 0);
	CHECK(!c.opted_out);
	CHECK_STR(c.opt_source, "keyword:VOLTAR");
	CHECK(c.opt_at_ms == 400);
	/* an inbound message keeps the opt-out state */
	CHECK(set_opt(s, "+5511900000002", true, "api", 500));
	CHECK(in_add(s, "in-1", "x1", "+5511900000002", 600));
	CHECK_INT(contact(s, "+5511900000002", &c), 0);
	CHECK(c.opted_out);
	CHECK(c.last_inbound_ms == 600);
	wa_store_close(s);
}

/* Only the phone's queued messages are canceled, with the reason in their
 * history and a canceled status event. */
void su_case_cancel_phone(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_outbox_event ev[8];
	wa_message_rec m;
	char err[256] = "";
	long n = -1;
	size_t k;

	su_make_sent(s, "p4", "e4", "PM4", 90); /* same phone, not queued */
	s->ops->set_outbox(s, true);
	su_insert(s, "p1", "e1", "+5511999990000", "a", NULL, NULL, 100);
	su_insert(s, "p2", "e2", "+5511999990000", "b", NULL, NULL, 110);
	su_insert(s, "p3", "e3", "+5511900000004", "c", NULL, NULL, 120);
	tx(s, true);
	CHECK_INT(s->ops->cancel_phone(s, "+5511999990000", 500,
	                               "opted out (keyword:STOP)", &n, err,
	                               sizeof(err)),
	          0);
	tx(s, false);
	CHECK(n == 2);
	CHECK_INT(su_status(s, "p1"), WA_MSG_CANCELED);
	CHECK_INT(su_status(s, "p2"), WA_MSG_CANCELED);
	CHECK_INT(su_status(s, "p3"), WA_MSG_QUEUED);
	CHECK_INT(su_status(s, "p4"), WA_MSG_SENT);
	CHECK_INT(s->ops->get(s, "p1", &m, err, sizeof(err)), 0);
	CHECK(m.n_history >= 2);
	if (m.n_history >= 2) {
		CHECK_INT(m.history[m.n_history - 1].status, WA_MSG_CANCELED);
		CHECK_STR(m.history[m.n_history - 1].detail,
		          "opted out (keyword:STOP)");
	}
	wa_message_rec_free(&m);
	k = su_outbox_claim(s, 1000, 2000, 8, ev);
	{
		int canceled = 0;

		for (size_t i = 0; i < k; i++) {
			if (ev[i].status == WA_MSG_CANCELED && !ev[i].event[0])
				canceled++;
			wa_outbox_event_free(&ev[i]);
		}
		CHECK_INT(canceled, 2);
	}
	wa_store_close(s);
}

static void ob_add(wa_store *s, const char *key, const char *event,
                   const char *body, int64_t at)
{
	char err[256] = "";

	tx(s, true);
	CHECK_INT(s->ops->outbox_add(s, key, event, body, at, err, sizeof(err)),
	          0);
	tx(s, false);
}

/* Events with one key go out one at a time, in order, body intact; with
 * the outbox off nothing is queued. */
void su_case_outbox_events(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_outbox_event ev[8];
	size_t n;

	ob_add(s, "+5511900000005", "message.received", "{\"off\":1}", 50);
	s->ops->set_outbox(s, true);
	ob_add(s, "+5511900000005", "message.received", "{\"n\":1}", 100);
	ob_add(s, "+5511900000005", "contact.opted_out", "{\"n\":2}", 101);
	ob_add(s, "+5511900000006", "message.received", "{\"n\":3}", 102);
	n = su_outbox_claim(s, 1000, 2000, 8, ev);
	CHECK_INT((int)n, 2);
	if (n == 2) {
		CHECK_STR(ev[0].event, "message.received");
		CHECK_STR(ev[0].body ? ev[0].body : "", "{\"n\":1}");
		CHECK_STR(ev[0].message_id, "+5511900000005");
		CHECK(ev[0].occurred_ms == 100);
		CHECK_STR(ev[1].body ? ev[1].body : "", "{\"n\":3}");
		CHECK_INT(su_outbox_finish(s, ev[0].seq, true, 0, NULL), 0);
		CHECK_INT(su_outbox_finish(s, ev[1].seq, false, 1500, "503"),
		          0);
	}
	for (size_t i = 0; i < n; i++)
		wa_outbox_event_free(&ev[i]);
	n = su_outbox_claim(s, 3000, 4000, 8, ev);
	CHECK_INT((int)n, 2);
	if (n == 2) {
		CHECK_STR(ev[0].event, "contact.opted_out");
		CHECK_STR(ev[0].body ? ev[0].body : "", "{\"n\":2}");
		CHECK_STR(ev[1].body ? ev[1].body : "", "{\"n\":3}");
		CHECK_INT(ev[1].attempts, 1);
	}
	for (size_t i = 0; i < n; i++)
		wa_outbox_event_free(&ev[i]);
	wa_store_close(s);
}

/* Filters and keyset pages over (occurred_ms, id). */
void su_case_inbound_list(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_inbound_rec r[8];
	wa_inbound_query q;
	char err[256] = "";
	size_t n = 0;

	in_add(s, "in-a", "m1", "+5511900000007", 1000);
	in_add(s, "in-b", "m2", "+5511900000008", 1000);
	in_add(s, "in-c", "m3", "+5511900000007", 2000);
	in_add(s, "in-d", "m4", "+5511900000007", 3000);
	memset(&q, 0, sizeof(q));
	CHECK_INT(s->ops->inbound_list(s, &q, r, 8, &n, err, sizeof(err)), 0);
	CHECK_INT((int)n, 4);
	if (n == 4) {
		CHECK_STR(r[0].id, "in-a");
		CHECK_STR(r[1].id, "in-b");
		CHECK_STR(r[3].id, "in-d");
		CHECK_STR(r[0].provider_message_id, "m1");
		CHECK_CONTAINS(r[0].json, "\"in-a\"");
	}
	for (size_t i = 0; i < n; i++)
		wa_inbound_rec_free(&r[i]);
	q.phone = "+5511900000007";
	q.since_ms = 1000;
	q.until_ms = 3000;
	CHECK_INT(s->ops->inbound_list(s, &q, r, 1, &n, err, sizeof(err)), 0);
	CHECK_INT((int)n, 1);
	if (n == 1) {
		CHECK_STR(r[0].id, "in-a");
		q.after_ms = r[0].occurred_ms;
		q.after_id = "in-a";
	}
	for (size_t i = 0; i < n; i++)
		wa_inbound_rec_free(&r[i]);
	CHECK_INT(s->ops->inbound_list(s, &q, r, 8, &n, err, sizeof(err)), 0);
	CHECK_INT((int)n, 1);
	if (n == 1)
		CHECK_STR(r[0].id, "in-c");
	for (size_t i = 0; i < n; i++)
		wa_inbound_rec_free(&r[i]);
	wa_store_close(s);
}

/* Opted-out contacts only, by phone, in pages. */
void su_case_suppression_list(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_contact c[8];
	char err[256] = "";
	size_t n = 0;

	set_opt(s, "+5511900000012", true, "api", 100);
	set_opt(s, "+5511900000011", true, "keyword:STOP", 110);
	set_opt(s, "+5511900000013", true, "api", 120);
	set_opt(s, "+5511900000013", false, "api", 130);
	in_add(s, "in-x", "mx", "+5511900000010", 90);
	CHECK_INT(s->ops->suppression_list(s, NULL, c, 1, &n, err, sizeof(err)),
	          0);
	CHECK_INT((int)n, 1);
	if (n == 1) {
		CHECK_STR(c[0].phone, "+5511900000011");
		CHECK_STR(c[0].opt_source, "keyword:STOP");
		CHECK(c[0].opt_at_ms == 110);
	}
	CHECK_INT(s->ops->suppression_list(s, "+5511900000011", c, 8, &n, err,
	                                   sizeof(err)),
	          0);
	CHECK_INT((int)n, 1);
	if (n == 1)
		CHECK_STR(c[0].phone, "+5511900000012");
	wa_store_close(s);
}

/* A rolled-back transaction keeps none of it. */
void su_case_twoway_rollback(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_inbound_rec r;
	wa_inbound_query q;
	wa_inbound_rec out[2];
	wa_contact c;
	char err[256] = "";
	bool created = false, changed = false;
	size_t n = 9;

	s->ops->set_outbox(s, true);
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "in-r");
	snprintf(r.provider, sizeof(r.provider), "mock");
	snprintf(r.provider_message_id, sizeof(r.provider_message_id), "R1");
	snprintf(r.phone, sizeof(r.phone), "+5511900000020");
	r.occurred_ms = 100;
	r.json = "{}";
	tx(s, true);
	CHECK_INT(s->ops->inbound_add(s, &r, &created, err, sizeof(err)), 0);
	CHECK_INT(s->ops->contact_set_opt(s, "+5511900000020", true, "api", 100,
	                                  &changed, err, sizeof(err)),
	          0);
	CHECK_INT(s->ops->outbox_add(s, "+5511900000020", "contact.opted_out",
	                             "{}", 100, err, sizeof(err)),
	          0);
	s->ops->rollback(s);
	CHECK(created && changed);
	CHECK_INT(contact(s, "+5511900000020", &c), 1);
	memset(&q, 0, sizeof(q));
	CHECK_INT(s->ops->inbound_list(s, &q, out, 2, &n, err, sizeof(err)), 0);
	CHECK_INT((int)n, 0);
	CHECK(in_add(s, "in-r2", "R1", "+5511900000020", 200));
	{
		wa_store_stats st;

		CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
		CHECK(st.outbox_pending == 0);
	}
	wa_store_close(s);
}

/* SQLite step 4 rebuilds the outbox: a database at version 3 with a pending
 * event keeps it, and event ids go on after the highest ever given (9
 * here, though only event 2 is left), never repeating one. */
void su_case_sqlite_migrate_v4(void)
{
	static const char *const to_v3 =
	    "BEGIN;"
	    "CREATE TABLE outbox_v3 ("
	    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE "
	    "CASCADE,"
	    " external_id TEXT NOT NULL, status TEXT NOT NULL,"
	    " provider TEXT NOT NULL, provider_message_id TEXT, error TEXT,"
	    " occurred_ms INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0,"
	    " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
	    " lease_until_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
	    "INSERT INTO outbox_v3 SELECT seq, message_id, external_id, status,"
	    " provider, provider_message_id, error, occurred_ms, attempts,"
	    " next_attempt_ms, lease_until_ms, last_error FROM outbox;"
	    "UPDATE sqlite_sequence SET seq = 9 WHERE name = 'outbox_v3';"
	    "DROP TABLE outbox;"
	    "ALTER TABLE outbox_v3 RENAME TO outbox;"
	    "CREATE INDEX outbox_message ON outbox(message_id, seq);"
	    "DROP TABLE inbound; DROP TABLE contacts;"
	    "DROP TABLE recipients; DROP INDEX messages_phone_pending;"
	    "ALTER TABLE messages DROP COLUMN held;"
	    "ALTER TABLE messages DROP COLUMN send_at_ms;" /* step 11 */
	    /* undo the rich-content step (7) too */
	    "ALTER TABLE messages DROP COLUMN content_json;"
	    "PRAGMA user_version = 5;" /* the step before two-way's (6) */
	    "COMMIT;";
	char path[512];
	wa_store *s = su_open(path, sizeof(path));
	wa_outbox_event ev[4];
	sqlite3 *db = NULL;
	size_t n;

	s->ops->set_outbox(s, true);
	su_make_sent(s, "v1", "e1", "PMV1", 100);
	su_apply(s, "mock", "PMV1", WA_MSG_DELIVERED, 200, NULL, NULL);
	n = su_outbox_claim(s, 1000, 2000, 1, ev);
	CHECK_INT((int)n, 1);
	if (n == 1)
		CHECK_INT(su_outbox_finish(s, ev[0].seq, true, 0, NULL), 0);
	wa_store_close(s);
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	          SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, to_v3, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = su_open_again(); /* migrates to 4 */
	CHECK(s != NULL);
	if (!s)
		return;
	s->ops->set_outbox(s, true);
	ob_add(s, "+5511900000030", "contact.opted_out", "{}", 300);
	n = su_outbox_claim(s, 1000, 2000, 4, ev);
	CHECK_INT((int)n, 2);
	if (n == 2) {
		CHECK(ev[0].seq == 2);
		CHECK_STR(ev[0].message_id, "v1");
		CHECK_INT(ev[0].status, WA_MSG_DELIVERED);
		CHECK_STR(ev[0].event, "");
		CHECK(ev[1].seq == 10);
		CHECK_STR(ev[1].event, "contact.opted_out");
	}
	for (size_t i = 0; i < n; i++)
		wa_outbox_event_free(&ev[i]);
	wa_store_close(s);
}
