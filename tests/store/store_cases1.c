/* store_cases1.c - store suite: insert, idempotency, claim, lease, finish,
 * the monotonic status rule */
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#define PHONE "+5511999990000"

void su_cases1_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

void su_case_insert(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_insert_result r;
	wa_message_rec m;
	char err[256];

	r = su_insert(s, "msg-1", "ext-1", PHONE, "hello", NULL, NULL, 1000);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	CHECK_STR(r.id, "msg-1");
	CHECK_INT(r.status, WA_MSG_QUEUED);
	CHECK_INT(r.created_ms, 1000);
	CHECK_INT(s->ops->get(s, "msg-1", &m, err, sizeof(err)), 0);
	CHECK_STR(m.id, "msg-1");
	CHECK_STR(m.external_id, "ext-1");
	CHECK_STR(m.phone, PHONE);
	CHECK_STR(m.body, "hello");
	CHECK(m.template_json == NULL);
	CHECK(m.media_url == NULL);
	CHECK_STR(m.provider, "mock");
	CHECK_INT(m.status, WA_MSG_QUEUED);
	CHECK_INT(m.attempts, 0);
	CHECK_INT(m.created_ms, 1000);
	CHECK_INT(m.updated_ms, 1000);
	CHECK_INT(m.next_attempt_ms, 1000);
	CHECK_INT(m.expires_ms, 1000 + 86400000);
	CHECK_INT(m.lease_until_ms, 0);
	CHECK_STR(m.provider_message_id, "");
	CHECK_STR(m.last_error, "");
	CHECK_INT(m.n_history, 1);
	if (m.n_history == 1) {
		CHECK_INT(m.history[0].status, WA_MSG_QUEUED);
		CHECK_INT(m.history[0].at_ms, 1000);
		CHECK_STR(m.history[0].detail, "");
	}
	wa_message_rec_free(&m);

	r = su_insert(s, "msg-2", "ext-2", PHONE, "with template",
	              "{\"name\":\"promo\"}", "https://example.com/a.png",
	              2000);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	CHECK_INT(s->ops->get(s, "msg-2", &m, err, sizeof(err)), 0);
	CHECK_STR(m.template_json, "{\"name\":\"promo\"}");
	CHECK_STR(m.media_url, "https://example.com/a.png");
	wa_message_rec_free(&m);
	wa_store_close(s);
}

void su_case_replay_conflict(void)
{
	static const struct {
		const char *phone, *body, *tmpl, *media;
	} diff[] = {
	    {"+5511999990001", "hello", "{\"a\":1}", "https://m/x"},
	    {PHONE, "hello!", "{\"a\":1}", "https://m/x"},
	    {PHONE, "hello", NULL, "https://m/x"},
	    {PHONE, "hello", "{\"a\":2}", "https://m/x"},
	    {PHONE, "hello", "{\"a\":1}", NULL},
	    {PHONE, "hello", "{\"a\":1}", "https://m/y"},
	};
	wa_store *s = su_open(NULL, 0);
	wa_insert_result r;
	wa_message_rec c[1];
	size_t i;

	r = su_insert(s, "msg-a", "ext-a", PHONE, "hello", "{\"a\":1}",
	              "https://m/x", 1000);
	CHECK_INT(r.kind, WA_INSERT_CREATED);
	r = su_insert(s, "msg-b", "ext-a", PHONE, "hello", "{\"a\":1}",
	              "https://m/x", 5000);
	CHECK_INT(r.kind, WA_INSERT_REPLAYED);
	CHECK_STR(r.id, "msg-a");
	CHECK_INT(r.created_ms, 1000);
	CHECK_INT(r.status, WA_MSG_QUEUED);
	CHECK_INT(su_status(s, "msg-b"), -1);
	for (i = 0; i < sizeof(diff) / sizeof(diff[0]); i++) {
		r = su_insert(s, "msg-c", "ext-a", diff[i].phone, diff[i].body,
		              diff[i].tmpl, diff[i].media, 6000);
		CHECK_INT(r.kind, WA_INSERT_CONFLICT);
		CHECK_STR(r.id, "msg-a");
		CHECK_INT(r.created_ms, 1000);
	}
	CHECK_INT(su_status(s, "msg-c"), -1);
	/* NULL template and media on both sides are equal */
	su_insert(s, "msg-n", "ext-n", PHONE, "x", NULL, NULL, 1000);
	r = su_insert(s, "msg-n2", "ext-n", PHONE, "x", NULL, NULL, 2000);
	CHECK_INT(r.kind, WA_INSERT_REPLAYED);
	/* a replay reports the current status */
	CHECK_INT(su_claim(s, 1000, 9000, 1, c), 1);
	su_free_recs(c, 1);
	r = su_insert(s, "msg-d", "ext-a", PHONE, "hello", "{\"a\":1}",
	              "https://m/x", 7000);
	CHECK_INT(r.kind, WA_INSERT_REPLAYED);
	CHECK_INT(r.status, WA_MSG_SENDING);
	wa_store_close(s);
}

void su_case_claim(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[8], m;
	char err[256];
	size_t n;

	su_insert_simple(s, "m100", "e100", 100);
	su_insert_simple(s, "m300", "e300", 300);
	su_insert_simple(s, "m200a", "e200a", 200);
	su_insert_simple(s, "m500", "e500", 500);
	su_insert_simple(s, "m200b", "e200b", 200);
	CHECK_INT(su_claim(s, 50, 1000, 8, c), 0); /* nothing due yet */
	n = su_claim(s, 400, 1400, 2, c);          /* max bounds it */
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(c[0].id, "m100");
		CHECK_STR(c[1].id, "m200a");
		CHECK_INT(c[0].status, WA_MSG_SENDING);
		CHECK_INT(c[0].attempts, 1);
		CHECK_INT(c[0].lease_until_ms, 1400);
		CHECK_STR(c[0].body, "hi");
		CHECK_STR(c[0].phone, PHONE);
		CHECK_STR(c[0].external_id, "e100");
		CHECK_INT(c[0].n_history, 0);
		CHECK(c[0].history == NULL);
	}
	su_free_recs(c, n);
	n = su_claim(s, 400, 1400, 8, c);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(c[0].id, "m200b");
		CHECK_STR(c[1].id, "m300");
	}
	su_free_recs(c, n);
	CHECK_INT(su_claim(s, 499, 1400, 8, c), 0);
	n = su_claim(s, 500, 1500, 8, c); /* due exactly at next_attempt_ms */
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(c[0].id, "m500");
	su_free_recs(c, n);
	CHECK_INT(s->ops->get(s, "m100", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_SENDING);
	CHECK_INT(m.attempts, 1);
	CHECK_INT(m.updated_ms, 400);
	CHECK_INT(m.n_history, 2);
	if (m.n_history == 2) {
		CHECK_INT(m.history[1].status, WA_MSG_SENDING);
		CHECK_INT(m.history[1].at_ms, 400);
		CHECK_STR(m.history[1].detail, "attempt 1");
	}
	wa_message_rec_free(&m);
	wa_store_close(s);
}

void su_case_lease(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[4], m;
	char err[256];
	size_t n;

	su_insert_simple(s, "m1", "e1", 100);
	su_insert_simple(s, "m2", "e2", 150);
	n = su_claim(s, 1000, 2000, 1, c);
	CHECK_INT(n, 1);
	su_free_recs(c, n);
	/* m2 is due, m1 is leased: only m2 */
	n = su_claim(s, 1500, 2500, 4, c);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(c[0].id, "m2");
	su_free_recs(c, n);
	CHECK_INT(su_claim(s, 2000, 3000, 4, c), 0); /* lease not yet < now */
	n = su_claim(s, 2001, 3001, 4, c);           /* m1's lease expired */
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(c[0].id, "m1");
		CHECK_INT(c[0].attempts, 2);
		CHECK_INT(c[0].lease_until_ms, 3001);
	}
	su_free_recs(c, n);
	/* both expired now: oldest next_attempt_ms first */
	n = su_claim(s, 4000, 5000, 4, c);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(c[0].id, "m1");
		CHECK_STR(c[1].id, "m2");
		CHECK_INT(c[0].attempts, 3);
		CHECK_INT(c[1].attempts, 2);
	}
	su_free_recs(c, n);
	CHECK_INT(s->ops->get(s, "m1", &m, err, sizeof(err)), 0);
	CHECK_INT(m.n_history, 4);
	if (m.n_history == 4)
		CHECK_STR(m.history[3].detail, "attempt 3");
	wa_message_rec_free(&m);
	wa_store_close(s);
}

void su_case_finish(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[4], m;
	char err[256];
	size_t n;

	su_insert_simple(s, "ms", "es", 100);
	su_insert_simple(s, "mr", "er", 101);
	su_insert_simple(s, "mf", "ef", 102);
	su_insert_simple(s, "ml", "el", 103);
	CHECK_INT(su_finish(s, "ms", WA_OUT_SENT, 150, 0, "P", NULL), 1);
	CHECK_INT(su_finish(s, "nope", WA_OUT_SENT, 150, 0, "P", NULL), 1);
	n = su_claim(s, 200, 9000, 4, c);
	CHECK_INT(n, 4);
	su_free_recs(c, n);

	CHECK_INT(su_finish(s, "ms", WA_OUT_SENT, 300, 0, "wamid.1", NULL), 0);
	CHECK_INT(s->ops->get(s, "ms", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_SENT);
	CHECK_STR(m.provider_message_id, "wamid.1");
	CHECK_INT(m.lease_until_ms, 0);
	CHECK_INT(m.updated_ms, 300);
	CHECK_INT(m.attempts, 1);
	wa_message_rec_free(&m);
	CHECK_INT(su_finish(s, "ms", WA_OUT_FAILED, 301, 0, NULL, "x"), 1);
	CHECK_INT(su_status(s, "ms"), WA_MSG_SENT);

	CHECK_INT(su_finish(s, "mr", WA_OUT_RETRY, 310, 5000, NULL, "HTTP 503"),
	          0);
	CHECK_INT(s->ops->get(s, "mr", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_QUEUED);
	CHECK_INT(m.next_attempt_ms, 5000);
	CHECK_STR(m.last_error, "HTTP 503");
	CHECK_STR(m.upstream_code, "E42");
	CHECK_INT(m.upstream_status, 503);
	CHECK_INT(m.lease_until_ms, 0);
	CHECK_INT(m.attempts, 1);
	CHECK(m.n_history == 3);
	if (m.n_history == 3) {
		CHECK_INT(m.history[2].status, WA_MSG_QUEUED);
		CHECK_STR(m.history[2].detail, "HTTP 503");
	}
	wa_message_rec_free(&m);
	CHECK_INT(su_claim(s, 4999, 9000, 4, c), 0);
	n = su_claim(s, 5000, 9000, 4, c);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_INT(c[0].attempts, 2); /* attempts count every claim */
	su_free_recs(c, n);

	CHECK_INT(su_finish(s, "mf", WA_OUT_FAILED, 320, 0, NULL, "rejected"),
	          0);
	CHECK_INT(s->ops->get(s, "mf", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_FAILED);
	CHECK_STR(m.last_error, "rejected");
	CHECK_INT(m.lease_until_ms, 0);
	wa_message_rec_free(&m);

	CHECK_INT(su_finish(s, "ml", WA_OUT_RELEASE, 330, 400, NULL, NULL), 0);
	CHECK_INT(s->ops->get(s, "ml", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_QUEUED);
	CHECK_INT(m.attempts, 0); /* not counted */
	CHECK_INT(m.next_attempt_ms, 400);
	CHECK_STR(m.last_error, "");
	CHECK_INT(m.lease_until_ms, 0);
	if (m.n_history == 3)
		CHECK_STR(m.history[2].detail, "released");
	wa_message_rec_free(&m);
	wa_store_close(s);
}

/* The whole table of allowed moves. */
void su_case_can_move(void)
{
	enum { Q, SG, ST, D, R, F, C };
	static const bool allowed[7][7] = {
	    /*          Q  SG ST D  R  F  C */
	    [Q] = {0, 1, 0, 0, 0, 1, 1},  [SG] = {1, 0, 1, 0, 0, 1, 0},
	    [ST] = {0, 0, 0, 1, 1, 1, 0}, [D] = {0, 0, 0, 0, 1, 1, 0},
	    [R] = {0, 0, 0, 0, 0, 0, 0},  [F] = {0, 0, 0, 0, 0, 0, 0},
	    [C] = {0, 0, 0, 0, 0, 0, 0},
	};
	int from, to;

	for (from = 0; from < 7; from++) {
		for (to = 0; to < 7; to++) {
			bool got = wa_msg_status_can_move((wa_msg_status)from,
			                                  (wa_msg_status)to);

			if (got != allowed[from][to])
				fprintf(stderr, "can_move(%s, %s)\n",
				        wa_msg_status_name((wa_msg_status)from),
				        wa_msg_status_name((wa_msg_status)to));
			CHECK_INT(got, allowed[from][to]);
		}
		CHECK_INT(wa_msg_status_parse(
		              wa_msg_status_name((wa_msg_status)from)),
		          from);
	}
	CHECK_INT(wa_msg_status_parse("bogus"), -1);
	CHECK_INT(wa_msg_status_parse(NULL), -1);
	CHECK_STR(wa_msg_status_name(WA_MSG_DELIVERED), "delivered");
}

/* Every (from, to) pair among the statuses a callback can find and
 * report, through apply_status. */
void su_case_apply_status(void)
{
	static const wa_msg_status reach[] = {WA_MSG_SENT, WA_MSG_DELIVERED,
	                                      WA_MSG_READ, WA_MSG_FAILED};
	wa_store *s = su_open(NULL, 0);
	char id[64], ext[64], pmid[64], mid[WA_ID_MAX];
	wa_message_rec m;
	char err[256];
	size_t i, j;
	int k = 0;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 4; j++) {
			wa_msg_status from = reach[i], to = reach[j];
			bool ok = wa_msg_status_can_move(from, to);
			size_t nh;

			k++;
			snprintf(id, sizeof(id), "m%d", k);
			snprintf(ext, sizeof(ext), "e%d", k);
			snprintf(pmid, sizeof(pmid), "P%d", k);
			su_make_sent(s, id, ext, pmid, 1000);
			if (from != WA_MSG_SENT)
				CHECK_INT(su_apply(s, "mock", pmid, from, 2000,
				                   NULL, NULL),
				          WA_APPLY_APPLIED);
			CHECK_INT(s->ops->get(s, id, &m, err, sizeof(err)), 0);
			nh = m.n_history;
			wa_message_rec_free(&m);
			CHECK_INT(su_apply(s, "mock", pmid, to, 3000,
			                   to == WA_MSG_FAILED ? "undeliverable"
			                                       : NULL,
			                   mid),
			          ok ? WA_APPLY_APPLIED : WA_APPLY_STALE);
			CHECK_STR(mid, id);
			CHECK_INT(s->ops->get(s, id, &m, err, sizeof(err)), 0);
			CHECK_INT(m.status, ok ? to : from);
			CHECK_INT(m.n_history, ok ? nh + 1 : nh);
			if (ok && m.n_history > 0) {
				CHECK_INT(m.history[m.n_history - 1].status,
				          to);
				CHECK_INT(m.history[m.n_history - 1].at_ms,
				          3000);
			}
			if (ok && to == WA_MSG_FAILED)
				CHECK_STR(m.last_error, "undeliverable");
			wa_message_rec_free(&m);
		}
	}
	/* a late delivered never overwrites read */
	su_make_sent(s, "late", "elate", "PL", 1000);
	CHECK_INT(su_apply(s, "mock", "PL", WA_MSG_READ, 2000, NULL, NULL),
	          WA_APPLY_APPLIED);
	CHECK_INT(su_apply(s, "mock", "PL", WA_MSG_DELIVERED, 1500, NULL, NULL),
	          WA_APPLY_STALE);
	CHECK_INT(su_status(s, "late"), WA_MSG_READ);
	/* not reportable by a callback */
	CHECK_INT(su_apply(s, "mock", "P1", WA_MSG_QUEUED, 2000, NULL, NULL),
	          WA_APPLY_STALE);
	CHECK_INT(su_apply(s, "mock", "P1", WA_MSG_CANCELED, 2000, NULL, NULL),
	          WA_APPLY_STALE);
	/* unknown id, other provider, empty id */
	CHECK_INT(su_apply(s, "mock", "nope", WA_MSG_READ, 2000, NULL, NULL),
	          WA_APPLY_UNKNOWN);
	CHECK_INT(su_apply(s, "twilio", "PL", WA_MSG_READ, 2000, NULL, NULL),
	          WA_APPLY_UNKNOWN);
	CHECK_INT(su_apply(s, "mock", "", WA_MSG_READ, 2000, NULL, NULL),
	          WA_APPLY_UNKNOWN);
	wa_store_close(s);
}
