/* store_cases_twoway.c - store suite: the opt-out guarantee inside the insert
 * (a new message to a suppressed phone is refused by the transaction that would
 * queue it, an opt-out earlier in the same group commit included), and
 * retention of inbound messages and idle contacts */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#define P "+5511999990000" /* the phone that opts out */
#define Q "+5511900000006" /* another phone */

void su_cases_twoway_counts(int *passed, int *failed)
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

/* Set phone's opt-out state in the open transaction. */
static void opt_in_tx(wa_store *s, const char *phone, bool out,
                      const char *source, int64_t at)
{
	char err[256] = "";
	bool changed = false;

	CHECK_INT(s->ops->contact_set_opt(s, phone, out, source, at, &changed,
	                                  err, sizeof(err)),
	          0);
	CHECK(changed);
}

static void opt(wa_store *s, const char *phone, bool out, const char *source,
                int64_t at)
{
	tx(s, true);
	opt_in_tx(s, phone, out, source, at);
	tx(s, false);
}

static void fill(wa_new_message *m, const char *id, const char *phone,
                 const char *body, int64_t t)
{
	su_new_message(m, id, NULL, phone, body, t);
	m->external_id = m->id; /* the id doubles as the external id */
}

/* Not stored at all: neither by id nor by external id. */
static void check_absent(wa_store *s, const char *id)
{
	wa_message_rec m;
	char err[256] = "";

	CHECK_INT(su_status(s, id), -1);
	memset(&m, 0, sizeof(m));
	CHECK_INT(s->ops->get_by_external(s, id, &m, err, sizeof(err)), 1);
	wa_message_rec_free(&m);
}

/* An opt-out committed before the insert: refused with its source and
 * time; a replay of a message accepted earlier stays a replay; another
 * phone and, after an opt-in, the same phone are accepted. */
void su_case_optout_insert(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_insert_result r;

	r = su_insert(s, "o1", "o1", P, "a", NULL, NULL, 100);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	opt(s, P, true, "keyword:STOP", 200);
	r = su_insert(s, "o2", "o2", P, "b", NULL, NULL, 300);
	CHECK_INT(r.kind, WA_INSERT_SUPPRESSED);
	CHECK_STR(r.opt_source, "keyword:STOP");
	CHECK(r.opt_at_ms == 200);
	CHECK_STR(r.id, "");
	check_absent(s, "o2");
	/* a template to the same phone is refused the same way */
	r = su_insert(s, "o2t", "o2t", P, "", "{\"name\":\"t\"}", NULL, 300);
	CHECK_INT(r.kind, WA_INSERT_SUPPRESSED);
	check_absent(s, "o2t");
	/* idempotency first: the key accepted before the opt-out */
	r = su_insert(s, "o3", "o1", P, "a", NULL, NULL, 310);
	CHECK_INT(r.kind, WA_INSERT_REPLAYED);
	CHECK_STR(r.id, "o1");
	r = su_insert(s, "o3", "o1", P, "other", NULL, NULL, 310);
	CHECK_INT(r.kind, WA_INSERT_CONFLICT);
	r = su_insert(s, "o4", "o4", Q, "c", NULL, NULL, 320);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	opt(s, P, false, "keyword:START", 400);
	r = su_insert(s, "o5", "o5", P, "d", NULL, NULL, 500);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	CHECK_INT(su_status(s, "o5"), WA_MSG_QUEUED);
	wa_store_close(s);
}

/* A message without what every insert needs is refused, saying what,
 * and nothing is stored. */
void su_case_insert_incomplete(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_new_message m = {.external_id = "inc",
	                    .phone = P,
	                    .body = "x",
	                    .provider = "mock",
	                    .created_ms = 100,
	                    .expires_ms = 100000};
	wa_insert_result r;
	char err[256] = "";

	snprintf(m.id, sizeof(m.id), "inc");
	m.body = NULL;
	CHECK_INT(s->ops->insert(s, &m, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "needs an id, external_id, phone, body") != NULL);
	m.body = "x";
	m.id[0] = 0;
	CHECK_INT(s->ops->insert(s, &m, &r, err, sizeof(err)), -1);
	check_absent(s, "inc");
	wa_store_close(s);
}

/* One transaction, as the writer's group commit makes it: an insert
 * before the opt-out is queued and then canceled with it; every insert
 * after it, in the same transaction, is refused; another phone's is not.
 * Results are read after commit (a backend may resolve them there). */
void su_case_optout_group_commit(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_new_message m[5];
	wa_insert_result r[5];
	char err[256] = "";
	long n = -1;

	memset(r, 0, sizeof(r));
	fill(&m[0], "g0", P, "before", 100);
	fill(&m[1], "g1", P, "after", 100);
	fill(&m[2], "g2", Q, "other phone", 100);
	fill(&m[3], "g3", P, "after too", 100);
	tx(s, true);
	CHECK_INT(s->ops->insert(s, &m[0], &r[0], err, sizeof(err)), 0);
	opt_in_tx(s, P, true, "api", 150);
	CHECK_INT(s->ops->cancel_phone(s, P, 150, "opted out (api)", &n, err,
	                               sizeof(err)),
	          0);
	CHECK_INT(s->ops->insert(s, &m[1], &r[1], err, sizeof(err)), 0);
	CHECK_INT(s->ops->insert(s, &m[2], &r[2], err, sizeof(err)), 0);
	CHECK_INT(s->ops->insert(s, &m[3], &r[3], err, sizeof(err)), 0);
	tx(s, false);
	CHECK(n == 1);
	CHECK_INT(r[0].kind, WA_INSERT_CREATED);
	CHECK_INT(su_status(s, "g0"), WA_MSG_CANCELED);
	CHECK_INT(r[1].kind, WA_INSERT_SUPPRESSED);
	CHECK_STR(r[1].opt_source, "api");
	CHECK(r[1].opt_at_ms == 150);
	check_absent(s, "g1");
	CHECK_INT(r[2].kind, WA_INSERT_CREATED);
	CHECK_INT(su_status(s, "g2"), WA_MSG_QUEUED);
	CHECK_INT(r[3].kind, WA_INSERT_SUPPRESSED);
	check_absent(s, "g3");

	/* the opt-in and a send in one transaction: accepted */
	fill(&m[4], "g4", P, "welcome back", 200);
	tx(s, true);
	opt_in_tx(s, P, false, "api", 200);
	CHECK_INT(s->ops->insert(s, &m[4], &r[4], err, sizeof(err)), 0);
	tx(s, false);
	CHECK_INT(r[4].kind, WA_INSERT_CREATED);
	CHECK_INT(su_status(s, "g4"), WA_MSG_QUEUED);
	wa_store_close(s);
}

/* An opt-out committed by another connection (another process or
 * instance on the same database) is honoured by the next insert. */
void su_case_optout_other_conn(void)
{
	wa_store *a = su_open(NULL, 0), *b = su_open_again();
	wa_insert_result r;

	CHECK(b != NULL);
	if (!b) {
		wa_store_close(a);
		return;
	}
	r = su_insert(a, "c1", "c1", P, "a", NULL, NULL, 100);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	opt(b, P, true, "provider:user_preferences", 150);
	r = su_insert(a, "c2", "c2", P, "b", NULL, NULL, 200);
	CHECK_INT(r.kind, WA_INSERT_SUPPRESSED);
	CHECK_STR(r.opt_source, "provider:user_preferences");
	check_absent(a, "c2");
	wa_store_close(b);
	wa_store_close(a);
}

/* Keep one inbound message (its own transaction). */
static void in_add(wa_store *s, const char *id, const char *phone, int64_t at)
{
	wa_inbound_rec r;
	char err[256] = "", json[96];
	bool created = false;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.provider, sizeof(r.provider), "mock");
	snprintf(r.provider_message_id, sizeof(r.provider_message_id), "pm-%s",
	         id);
	snprintf(r.phone, sizeof(r.phone), "%s", phone);
	r.occurred_ms = at;
	r.received_ms = at + 1;
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
	r.json = json;
	tx(s, true);
	CHECK_INT(s->ops->inbound_add(s, &r, &created, err, sizeof(err)), 0);
	tx(s, false);
	CHECK(created);
}

static long purge2(wa_store *s, int64_t before, size_t max)
{
	char err[256] = "";
	long n;

	tx(s, true);
	n = s->ops->purge_twoway(s, before, max, err, sizeof(err));
	CHECK(n >= 0);
	tx(s, false);
	return n;
}

/* 0 known, 1 unknown (store.h contact_get). */
static int known(wa_store *s, const char *phone, wa_contact *c)
{
	char err[256] = "";

	return s->ops->contact_get(s, phone, c, err, sizeof(err));
}

/* Retention of two-way data: old inbound messages and idle contacts go;
 * an opted-out contact stays however old; a contact with a recent message
 * stays; a pending webhook event still goes out; max is honoured. */
void su_case_purge_twoway(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_inbound_rec got[8];
	wa_inbound_query q;
	wa_outbox_event ev[4];
	wa_contact c;
	char err[256] = "";
	size_t n = 0, k;

	CHECK(s->ops->purge_twoway != NULL);
	if (!s->ops->purge_twoway) {
		wa_store_close(s);
		return;
	}
	s->ops->set_outbox(s, true);
	in_add(s, "i1", "+5511900000001", 100); /* idle: goes */
	in_add(s, "i2", "+5511900000002", 100); /* opted out: stays */
	opt(s, "+5511900000002", true, "keyword:STOP", 110);
	in_add(s, "i3", "+5511900000003", 100); /* out and in, long ago */
	opt(s, "+5511900000003", true, "keyword:STOP", 120);
	opt(s, "+5511900000003", false, "keyword:START", 130);
	in_add(s, "i4", "+5511900000004", 100); /* wrote again lately */
	in_add(s, "i5", "+5511900000004", 5000);
	opt(s, "+5511900000005", true, "api", 50); /* suppressed, no inbound */
	/* an old event not delivered yet */
	tx(s, true);
	CHECK_INT(s->ops->outbox_add(s, "+5511900000001", "message.received",
	                             "{\"event\":\"message.received\"}", 100,
	                             err, sizeof(err)),
	          0);
	tx(s, false);

	/* 4 inbound messages and 2 contacts (…01 and …03) */
	CHECK_INT(purge2(s, 1000, 100), 6);
	CHECK_INT(known(s, "+5511900000001", &c), 1);
	CHECK_INT(known(s, "+5511900000003", &c), 1);
	CHECK_INT(known(s, "+5511900000002", &c), 0);
	CHECK(c.opted_out);
	CHECK_STR(c.opt_source, "keyword:STOP");
	CHECK_INT(known(s, "+5511900000005", &c), 0);
	CHECK(c.opted_out);
	CHECK_INT(known(s, "+5511900000004", &c), 0);
	CHECK(c.last_inbound_ms == 5000);
	memset(&q, 0, sizeof(q));
	CHECK_INT(s->ops->inbound_list(s, &q, got, 8, &n, err, sizeof(err)), 0);
	CHECK(n == 1);
	if (n == 1)
		CHECK_STR(got[0].id, "i5");
	for (size_t i = 0; i < n; i++)
		wa_inbound_rec_free(&got[i]);
	k = su_outbox_claim(s, 6000, 7000, 4, ev);
	CHECK(k == 1);
	if (k == 1) {
		CHECK_STR(ev[0].event, "message.received");
		CHECK(ev[0].body != NULL);
	}
	for (size_t i = 0; i < k; i++)
		wa_outbox_event_free(&ev[i]);
	/* nothing old is left; the opted-out contacts stay however old */
	CHECK_INT(purge2(s, 10000000, 100), 2); /* i5, and …04 idle now */
	CHECK_INT(known(s, "+5511900000004", &c), 1);
	CHECK_INT(known(s, "+5511900000002", &c), 0);
	CHECK_INT(known(s, "+5511900000005", &c), 0);

	/* max rows of each table per call */
	in_add(s, "j1", "+5511900000002", 200);
	in_add(s, "j2", "+5511900000002", 300);
	CHECK_INT(purge2(s, 1000, 1), 1);
	CHECK_INT(purge2(s, 1000, 1), 1);
	CHECK_INT(purge2(s, 1000, 1), 0);
	wa_store_close(s);
}

/* suppressed: which of a list of phones are opted out (committed). */
void su_case_suppressed(void)
{
	wa_store *s = su_open(NULL, 0);
	const char *phones[4] = {P, Q, NULL, P};
	bool out[4] = {true, true, true, true};
	char err[256] = "";

	CHECK(s->ops->suppressed != NULL);
	if (!s->ops->suppressed) {
		wa_store_close(s);
		return;
	}
	CHECK_INT(s->ops->suppressed(s, phones, 4, out, err, sizeof(err)), 0);
	CHECK(!out[0] && !out[1] && !out[2] && !out[3]);
	opt(s, P, true, "api", 100);
	CHECK_INT(s->ops->suppressed(s, phones, 4, out, err, sizeof(err)), 0);
	CHECK(out[0] && !out[1] && !out[2] && out[3]);
	opt(s, P, false, "api", 200);
	opt(s, Q, true, "api", 200);
	CHECK_INT(s->ops->suppressed(s, phones, 4, out, err, sizeof(err)), 0);
	CHECK(!out[0] && out[1] && !out[2] && !out[3]);
	CHECK_INT(s->ops->suppressed(s, phones, 0, out, err, sizeof(err)), 0);
	wa_store_close(s);
}

/* requeue_many skips messages to a phone that opted out. */
void su_case_requeue_optout(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_msg_filter f;
	wa_msg_status st;
	char err[256] = "";
	long n;

	su_insert(s, "rq1", "rq1", P, "a", NULL, NULL, 100);
	su_insert(s, "rq2", "rq2", Q, "b", NULL, NULL, 110);
	CHECK_INT(su_cancel(s, "rq1", 200, &st), WA_CANCEL_DONE);
	CHECK_INT(su_cancel(s, "rq2", 200, &st), WA_CANCEL_DONE);
	opt(s, P, true, "keyword:STOP", 300);
	memset(&f, 0, sizeof(f));
	f.status = -1;
	tx(s, true);
	n = s->ops->requeue_many(s, &f, 10, 400, 9000, "bulk", err,
	                         sizeof(err));
	tx(s, false);
	CHECK(n == 1);
	CHECK_INT(su_status(s, "rq1"), WA_MSG_CANCELED);
	CHECK_INT(su_status(s, "rq2"), WA_MSG_QUEUED);
	wa_store_close(s);
}
