/* store_cases2.c - store suite: cancel, lookups, history, outbox, stats,
 * release_all, next_due, rollback, and SQLite-only checks */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/sqlite_impl.h"
#include "store_util.h"
#include "testing.h"

void su_cases2_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

void su_case_cancel(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[2], m;
	wa_msg_status st = WA_MSG_QUEUED;
	char err[256];
	size_t n;

	su_insert_simple(s, "mq", "eq", 100);
	su_insert_simple(s, "mx", "ex", 200);
	CHECK_INT(su_cancel(s, "mq", 150, &st), WA_CANCEL_DONE);
	CHECK_INT(st, WA_MSG_CANCELED);
	CHECK_INT(s->ops->get(s, "mq", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_CANCELED);
	CHECK_INT(m.updated_ms, 150);
	CHECK_INT(m.n_history, 2);
	if (m.n_history == 2)
		CHECK_INT(m.history[1].status, WA_MSG_CANCELED);
	wa_message_rec_free(&m);
	CHECK_INT(su_cancel(s, "mq", 160, &st), WA_CANCEL_TOO_LATE);
	CHECK_INT(st, WA_MSG_CANCELED);
	/* a canceled message is never claimed */
	n = su_claim(s, 1000, 2000, 2, c);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(c[0].id, "mx");
	su_free_recs(c, n);
	CHECK_INT(su_cancel(s, "mx", 170, &st), WA_CANCEL_TOO_LATE);
	CHECK_INT(st, WA_MSG_SENDING);
	CHECK_INT(su_status(s, "mx"), WA_MSG_SENDING);
	CHECK_INT(su_cancel(s, "missing", 170, &st), WA_CANCEL_NOT_FOUND);
	wa_store_close(s);
}

void su_case_lookups(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec m;
	char err[256];

	su_make_sent(s, "m1", "ext-one", "SM123", 100);
	su_insert_simple(s, "m2", "ext-two", 200);
	CHECK_INT(s->ops->get(s, "m2", &m, err, sizeof(err)), 0);
	CHECK_STR(m.external_id, "ext-two");
	wa_message_rec_free(&m);
	CHECK_INT(s->ops->get_by_external(s, "ext-one", &m, err, sizeof(err)),
	          0);
	CHECK_STR(m.id, "m1");
	CHECK_INT(m.n_history, 3);
	wa_message_rec_free(&m);
	CHECK_INT(s->ops->get_by_provider_id(s, "mock", "SM123", &m, err,
	                                     sizeof(err)),
	          0);
	CHECK_STR(m.id, "m1");
	CHECK_STR(m.provider_message_id, "SM123");
	CHECK_INT(m.status, WA_MSG_SENT);
	wa_message_rec_free(&m);
	CHECK_INT(s->ops->get(s, "nope", &m, err, sizeof(err)), 1);
	CHECK_INT(s->ops->get_by_external(s, "nope", &m, err, sizeof(err)), 1);
	CHECK_INT(
	    s->ops->get_by_provider_id(s, "mock", "nope", &m, err, sizeof(err)),
	    1);
	CHECK_INT(s->ops->get_by_provider_id(s, "twilio", "SM123", &m, err,
	                                     sizeof(err)),
	          1);
	CHECK_INT(
	    s->ops->get_by_provider_id(s, "mock", "", &m, err, sizeof(err)), 1);
	wa_message_rec_free(&m); /* harmless on a not-found record */
	wa_store_close(s);
}

void su_case_history(void)
{
	static const struct {
		wa_msg_status st;
		int64_t at;
		const char *detail;
	} want[] = {
	    {WA_MSG_QUEUED, 100, ""},        {WA_MSG_SENDING, 200, "attempt 1"},
	    {WA_MSG_QUEUED, 250, "timeout"}, {WA_MSG_SENDING, 300, "attempt 2"},
	    {WA_MSG_SENT, 350, ""},          {WA_MSG_DELIVERED, 400, ""},
	    {WA_MSG_READ, 390, ""}, /* provider clocks may disagree */
	};
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[1], m;
	char err[256];
	size_t i;

	su_insert_simple(s, "h", "eh", 100);
	su_free_recs(c, su_claim(s, 200, 1000, 1, c));
	su_finish(s, "h", WA_OUT_RETRY, 250, 300, NULL, "timeout");
	su_free_recs(c, su_claim(s, 300, 1000, 1, c));
	su_finish(s, "h", WA_OUT_SENT, 350, 0, "wamid.H", NULL);
	su_apply(s, "mock", "wamid.H", WA_MSG_DELIVERED, 400, NULL, NULL);
	su_apply(s, "mock", "wamid.H", WA_MSG_READ, 390, NULL, NULL);
	CHECK_INT(s->ops->get(s, "h", &m, err, sizeof(err)), 0);
	CHECK_INT(m.n_history, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < m.n_history && i < sizeof(want) / sizeof(want[0]);
	     i++) {
		CHECK_INT(m.history[i].status, want[i].st);
		CHECK_INT(m.history[i].at_ms, want[i].at);
		CHECK_STR(m.history[i].detail, want[i].detail);
	}
	CHECK_INT(m.attempts, 2);
	CHECK_STR(m.last_error, "timeout"); /* kept after success */
	wa_message_rec_free(&m);
	wa_store_close(s);
}

void su_case_outbox(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_outbox_event e[8];
	wa_message_rec c[2];
	wa_store_stats st;
	wa_msg_status cs;
	char err[256];
	size_t n;

	/* disabled: no events at all */
	su_make_sent(s, "off", "eoff", "POFF", 100);
	CHECK_INT(su_outbox_claim(s, 1000, 2000, 8, e), 0);
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.outbox_pending, 0);

	s->ops->set_outbox(s, true);
	su_make_sent(s, "a", "ea", "PA", 100); /* event: sent */
	su_apply(s, "mock", "PA", WA_MSG_DELIVERED, 200, NULL, NULL);
	su_apply(s, "mock", "PA", WA_MSG_READ, 300, NULL, NULL);
	su_insert_simple(s, "b", "eb", 150);           /* queued: no event */
	su_free_recs(c, su_claim(s, 150, 9000, 1, c)); /* sending: none */
	su_finish(s, "b", WA_OUT_RETRY, 160, 170, NULL, "busy"); /* none */
	su_free_recs(c, su_claim(s, 170, 9000, 1, c));
	su_finish(s, "b", WA_OUT_FAILED, 180, 0, NULL, "rejected");
	su_insert_simple(s, "c", "ec", 190);
	su_cancel(s, "c", 195, &cs);
	su_insert_simple(s, "d", "ed", 196);
	su_free_recs(c, su_claim(s, 196, 9000, 1, c));
	su_finish(s, "d", WA_OUT_RELEASE, 197, 197, NULL, NULL); /* none */
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.outbox_pending, 5);

	/* one event per message: its oldest */
	n = su_outbox_claim(s, 1000, 2000, 8, e);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(e[0].message_id, "a");
		CHECK_INT(e[0].status, WA_MSG_SENT);
		CHECK_STR(e[0].external_id, "ea");
		CHECK_STR(e[0].provider, "mock");
		CHECK_STR(e[0].provider_message_id, "PA");
		CHECK_INT(e[0].occurred_ms, 101);
		CHECK_INT(e[0].attempts, 0);
		CHECK_STR(e[1].message_id, "b");
		CHECK_INT(e[1].status, WA_MSG_FAILED);
		CHECK_STR(e[1].error, "rejected");
		CHECK_STR(e[1].external_id, "eb");
		CHECK_STR(e[1].provider, "mock");
		CHECK_STR(e[2].message_id, "c");
		CHECK_INT(e[2].status, WA_MSG_CANCELED);
		CHECK_STR(e[2].external_id, "ec");
		CHECK_STR(e[2].provider, "mock");
		CHECK(e[0].seq < e[1].seq && e[1].seq < e[2].seq);
	}
	/* leased: nothing more for these messages */
	CHECK_INT(su_outbox_claim(s, 1001, 2000, 8, e + 3), 0);
	if (n == 3) {
		CHECK_INT(su_outbox_finish(s, e[0].seq, true, 0, NULL), 0);
		CHECK_INT(
		    su_outbox_finish(s, e[1].seq, false, 5000, "HTTP 500"), 0);
		CHECK_INT(su_outbox_finish(s, e[0].seq, true, 0, NULL), 1);
	}
	CHECK_INT(su_outbox_finish(s, 999999, true, 0, NULL), 1);
	/* a's next event (delivered); b waits for its retry; c still leased */
	n = su_outbox_claim(s, 1100, 3000, 8, e);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(e[0].message_id, "a");
		CHECK_INT(e[0].status, WA_MSG_DELIVERED);
		/* a provider's callback: the fields are the message's */
		CHECK_STR(e[0].external_id, "ea");
		CHECK_STR(e[0].provider, "mock");
		CHECK_STR(e[0].provider_message_id, "PA");
		CHECK_INT(su_outbox_finish(s, e[0].seq, true, 0, NULL), 0);
	}
	/* c's lease (2000) expired; b due at 5000 */
	n = su_outbox_claim(s, 2001, 6000, 8, e);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(e[0].message_id, "a");
		CHECK_INT(e[0].status, WA_MSG_READ);
		CHECK_STR(e[1].message_id, "c");
	}
	n = su_outbox_claim(s, 6001, 7000, 8, e);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(e[1].message_id, "b");
		CHECK_INT(e[1].attempts, 1);
	}
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.outbox_pending, 3);
	/* max bounds the claim */
	CHECK_INT(su_outbox_claim(s, 8000, 9000, 1, e), 1);
	s->ops->set_outbox(s, false);
	wa_store_close(s);
}

void su_case_stats(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[2];
	wa_store_stats st;
	wa_msg_status cs;
	char err[256];

	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.count[WA_MSG_QUEUED], 0);
	CHECK_INT(st.oldest_queued_ms, 0);
	su_make_sent(s, "s1", "e1", "P1", 50); /* sent */
	su_make_sent(s, "s2", "e2", "P2", 60); /* -> read */
	su_apply(s, "mock", "P2", WA_MSG_READ, 70, NULL, NULL);
	su_insert_simple(s, "q1", "e3", 300);
	su_insert_simple(s, "q2", "e4", 200);
	su_insert_simple(s, "x1", "e5", 100);
	su_cancel(s, "x1", 110, &cs);
	su_insert_simple(s, "g1", "e6", 120);
	su_free_recs(c, su_claim(s, 120, 1000, 1, c)); /* g1 sending */
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.count[WA_MSG_QUEUED], 2);
	CHECK_INT(st.count[WA_MSG_SENDING], 1);
	CHECK_INT(st.count[WA_MSG_SENT], 1);
	CHECK_INT(st.count[WA_MSG_DELIVERED], 0);
	CHECK_INT(st.count[WA_MSG_READ], 1);
	CHECK_INT(st.count[WA_MSG_FAILED], 0);
	CHECK_INT(st.count[WA_MSG_CANCELED], 1);
	CHECK_INT(st.oldest_queued_ms, 200);
	CHECK_INT(st.outbox_pending, 0);
	wa_store_close(s);
}

void su_case_release_all(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[4], m;
	char err[256];
	size_t n;

	su_insert_simple(s, "r1", "e1", 100);
	su_insert_simple(s, "r2", "e2", 110);
	su_insert_simple(s, "r3", "e3", 120);
	su_insert_simple(s, "r4", "e4", 5000);
	n = su_claim(s, 200, 9000, 4, c);
	CHECK_INT(n, 3);
	su_free_recs(c, n);
	CHECK_INT(su_release_all(s, 300), 3);
	CHECK_INT(su_release_all(s, 301), 0);
	CHECK_INT(s->ops->get(s, "r2", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_QUEUED);
	CHECK_INT(m.attempts, 0);
	CHECK_INT(m.next_attempt_ms, 300);
	CHECK_INT(m.lease_until_ms, 0);
	CHECK_INT(m.n_history, 3);
	if (m.n_history == 3) {
		CHECK_INT(m.history[2].status, WA_MSG_QUEUED);
		CHECK_STR(m.history[2].detail, "released");
	}
	wa_message_rec_free(&m);
	CHECK_INT(su_status(s, "r4"), WA_MSG_QUEUED);
	wa_store_close(s);
}

void su_case_next_due(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[2];
	char err[256];
	int64_t due = -1;

	CHECK_INT(s->ops->next_due(s, &due, err, sizeof(err)), 1);
	su_make_sent(s, "done", "e0", "P0", 10); /* final: never due */
	CHECK_INT(s->ops->next_due(s, &due, err, sizeof(err)), 1);
	su_insert_simple(s, "a", "ea", 500);
	su_insert_simple(s, "b", "eb", 700);
	CHECK_INT(s->ops->next_due(s, &due, err, sizeof(err)), 0);
	CHECK_INT(due, 500);
	su_free_recs(c, su_claim(s, 500, 600, 1, c)); /* a: lease 600 */
	CHECK_INT(s->ops->next_due(s, &due, err, sizeof(err)), 0);
	CHECK_INT(due, 601);
	su_finish(s, "a", WA_OUT_SENT, 550, 0, "PA", NULL);
	CHECK_INT(s->ops->next_due(s, &due, err, sizeof(err)), 0);
	CHECK_INT(due, 700);
	wa_store_close(s);
}

/* A rolled-back transaction leaves no trace. */
void su_case_rollback(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_new_message nm;
	wa_insert_result r;
	wa_message_rec c[2], m;
	char err[256];
	size_t n = 0;

	s->ops->set_outbox(s, true);
	su_insert_simple(s, "keep", "ek", 100);
	memset(&nm, 0, sizeof(nm));
	snprintf(nm.id, sizeof(nm.id), "gone");
	nm.external_id = "eg";
	nm.phone = "+5511999990000";
	nm.body = "b";
	nm.provider = "mock";
	nm.created_ms = 50;
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->insert(s, &nm, &r, err, sizeof(err)), 0);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	CHECK_INT(s->ops->claim(s, 200, 900, 2, c, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 2);
	su_free_recs(c, n);
	s->ops->rollback(s);
	CHECK_INT(su_status(s, "gone"), -1);
	CHECK_INT(s->ops->get(s, "keep", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_QUEUED);
	CHECK_INT(m.attempts, 0);
	CHECK_INT(m.n_history, 1);
	wa_message_rec_free(&m);
	/* the external id is free again; a finish and its outbox event too */
	r = su_insert_simple(s, "gone2", "eg", 60);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	n = su_claim(s, 200, 900, 2, c);
	CHECK_INT(n, 2);
	su_free_recs(c, n);
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	{
		wa_outcome o = {.kind = WA_OUT_SENT,
		                .at_ms = 300,
		                .provider_message_id = "PX"};

		CHECK_INT(s->ops->finish(s, "keep", &o, err, sizeof(err)), 0);
	}
	s->ops->rollback(s);
	CHECK_INT(su_status(s, "keep"), WA_MSG_SENDING);
	CHECK_INT(su_outbox_claim(s, 1000, 2000, 4, (wa_outbox_event[4]){0}),
	          0);
	wa_store_close(s);
}

/* ---- SQLite only ---- */

static wa_store *reopen(const char *path)
{
	char err[256] = "";
	wa_store *s = wa_store_open_sqlite(path, false, err, sizeof(err));

	if (!s)
		fprintf(stderr, "reopen: %s\n", err);
	CHECK(s != NULL);
	return s;
}

void su_case_sqlite_reopen(void)
{
	char path[512], err[256];
	wa_store *s = su_open(path, sizeof(path));
	wa_message_rec m;

	su_make_sent(s, "d1", "ed1", "PD", 100);
	su_insert(s, "d2", "ed2", "+5511999990000", "corpo", "{\"t\":1}",
	          "https://m/1", 200);
	wa_store_close(s);
	s = reopen(path);
	if (!s)
		return;
	CHECK_INT(s->ops->get(s, "d1", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_SENT);
	CHECK_STR(m.provider_message_id, "PD");
	CHECK_INT(m.n_history, 3);
	wa_message_rec_free(&m);
	CHECK_INT(s->ops->get_by_external(s, "ed2", &m, err, sizeof(err)), 0);
	CHECK_STR(m.body, "corpo");
	CHECK_STR(m.template_json, "{\"t\":1}");
	wa_message_rec_free(&m);
	CHECK_INT(su_insert(s, "d3", "ed1", "+5511999990000", "other", NULL,
	                    NULL, 300)
	              .kind,
	          WA_INSERT_CONFLICT);
	wa_store_close(s);
}

void su_case_sqlite_pragmas(void)
{
	char path[512], err[256] = "";
	wa_store *s = su_open(path, sizeof(path));
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;

	CHECK_INT(stat(path, &sb), 0);
	CHECK_INT(sb.st_mode & 0777, 0600);
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	          SQLITE_OK);
	/* the last migration step, whichever branch added it */
	CHECK_INT(su_sql_int(db, "PRAGMA user_version"), WA_SQ_SCHEMA_VERSION);
	CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
	          SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	wa_store_close(s);
	/* a newer schema is refused with a sentence */
	CHECK_INT(
	    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	s = wa_store_open_sqlite(path, true, err, sizeof(err));
	CHECK(s == NULL);
	CHECK_CONTAINS(err, "schema version 99");
	wa_store_close(s);
}

void su_case_sqlite_ping(void)
{
	char path[512], moved[600], err[256] = "";
	wa_store *s = su_open(path, sizeof(path));

	CHECK_INT(s->ops->ping(s, err, sizeof(err)), 0);
	if (geteuid() != 0) { /* root writes through any mode */
		CHECK_INT(chmod(path, 0400), 0);
		CHECK_INT(s->ops->ping(s, err, sizeof(err)), -1);
		CHECK_INT(chmod(path, 0600), 0);
		CHECK_INT(s->ops->ping(s, err, sizeof(err)), 0);
	}
	snprintf(moved, sizeof(moved), "%s.moved", path);
	CHECK_INT(rename(path, moved), 0);
	err[0] = '\0';
	CHECK_INT(s->ops->ping(s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "removed");
	CHECK_INT(rename(moved, path), 0);
	CHECK_INT(s->ops->ping(s, err, sizeof(err)), 0);
	wa_store_close(s);
}

/* Reads never wait for, nor see, an open write transaction. */
void su_case_sqlite_read_isolation(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_new_message nm;
	wa_insert_result r;
	wa_message_rec m;
	char err[256];

	memset(&nm, 0, sizeof(nm));
	snprintf(nm.id, sizeof(nm.id), "iso");
	nm.external_id = "eiso";
	nm.phone = "+5511999990000";
	nm.body = "b";
	nm.provider = "mock";
	nm.created_ms = 10;
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->insert(s, &nm, &r, err, sizeof(err)), 0);
	CHECK_INT(s->ops->get(s, "iso", &m, err, sizeof(err)), 1);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->get(s, "iso", &m, err, sizeof(err)), 0);
	wa_message_rec_free(&m);
	wa_store_close(s);
}
