/* store_cases5.c - store suite: the operators' operations (issue 15):
 * schedule (campaign, send_at), list with keyset pagination, requeue one
 * and many, campaign cancel and counts */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

void su_cases5_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

static void tx(wa_store *s, bool commit)
{
	char err[256] = "";
	int rc = commit ? s->ops->commit(s, err, sizeof(err))
	                : s->ops->begin(s, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "%s: %s\n", commit ? "commit" : "begin", err);
	CHECK_INT(rc, 0);
}

/* Insert through wa_store_insert_full with a campaign and a send_at. */
static wa_insert_result ins(wa_store *s, const char *id, const char *phone,
                            const char *campaign, int64_t created,
                            int64_t send_at)
{
	wa_new_message m;
	wa_insert_result r;
	char err[256] = "", ext[64];
	int rc;

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(ext, sizeof(ext), "ext-%s", id);
	m.external_id = ext;
	m.phone = phone ? phone : "+5511999990000";
	m.body = "hi";
	m.provider = "mock";
	m.created_ms = created;
	m.expires_ms = created + 1000000;
	m.campaign_id = campaign;
	m.send_at_ms = send_at;
	tx(s, false);
	rc = wa_store_insert_full(s, &m, &r, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "insert_full: %s\n", err);
	CHECK_INT(rc, 0);
	tx(s, true);
	return r;
}

static size_t list(wa_store *s, const wa_msg_filter *f, size_t max,
                   wa_message_rec *out)
{
	char err[256] = "";
	size_t n = 0;
	int rc = s->ops->list(s, f, max, out, &n, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "list: %s\n", err);
	CHECK_INT(rc, 0);
	return n;
}

static wa_msg_filter any(void)
{
	wa_msg_filter f;

	memset(&f, 0, sizeof(f));
	f.status = -1;
	return f;
}

void su_case_schedule(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec r, c[4];
	char err[256];
	size_t n;

	ins(s, "s1", NULL, "camp-a", 1000, 0);
	ins(s, "s2", NULL, NULL, 1000, 50000);   /* due at 50 s */
	ins(s, "s3", NULL, "camp-a", 1000, 500); /* in the past: now */
	memset(&r, 0, sizeof(r));
	CHECK_INT(s->ops->get(s, "s1", &r, err, sizeof(err)), 0);
	CHECK_STR(r.campaign_id, "camp-a");
	CHECK_INT(r.next_attempt_ms, 1000);
	wa_message_rec_free(&r);
	CHECK_INT(s->ops->get(s, "s2", &r, err, sizeof(err)), 0);
	CHECK_STR(r.campaign_id, "");
	CHECK_INT(r.next_attempt_ms, 50000);
	/* The TTL counts from send_at. */
	CHECK_INT(r.expires_ms, 1000 + 1000000 + 49000);
	wa_message_rec_free(&r);
	CHECK_INT(s->ops->get(s, "s3", &r, err, sizeof(err)), 0);
	CHECK_INT(r.next_attempt_ms, 1000);
	wa_message_rec_free(&r);
	/* Not handed out before its time. */
	n = su_claim(s, 2000, 100000, 4, c);
	CHECK_INT(n, 2);
	su_free_recs(c, n);
	n = su_claim(s, 49999, 100000, 4, c);
	CHECK_INT(n, 0);
	n = su_claim(s, 50000, 100000, 4, c);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(c[0].id, "s2");
	su_free_recs(c, n);
	/* A replay does not schedule again: s1 keeps its campaign. */
	{
		wa_new_message m;
		wa_insert_result res;

		memset(&m, 0, sizeof(m));
		snprintf(m.id, sizeof(m.id), "s1-again");
		m.external_id = "ext-s1";
		m.phone = "+5511999990000";
		m.body = "hi";
		m.provider = "mock";
		m.created_ms = 5000;
		m.expires_ms = 9000;
		m.campaign_id = "camp-b";
		m.send_at_ms = 99000;
		tx(s, false);
		CHECK_INT(wa_store_insert_full(s, &m, &res, err, sizeof(err)),
		          0);
		tx(s, true);
		CHECK_INT(res.kind, WA_INSERT_REPLAYED);
		CHECK_STR(res.id, "s1");
		CHECK_INT(s->ops->get(s, "s1", &r, err, sizeof(err)), 0);
		CHECK_STR(r.campaign_id, "camp-a");
		wa_message_rec_free(&r);
	}
	/* An unknown id says 1. */
	tx(s, false);
	CHECK_INT(s->ops->schedule(s, "nope", "x", 0, err, sizeof(err)), 1);
	tx(s, true);
	wa_store_close(s);
}

void su_case_list(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec out[16];
	wa_msg_filter f;
	char id[16], seen[32] = "";
	size_t n, total = 0;

	/* Ten messages, two per millisecond: ties are ordered by id. */
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		ins(s, id, i % 2 ? "+5511999990001" : "+5511999990002",
		    i < 4 ? "camp-l" : NULL, 1000 + i / 2, 0);
	}
	f = any();
	n = list(s, &f, 16, out);
	CHECK_INT(n, 10);
	if (n == 10) {
		CHECK_STR(out[0].id, "m9");
		CHECK_STR(out[1].id, "m8");
		CHECK_STR(out[9].id, "m0");
		CHECK_INT(out[0].n_history, 0);
	}
	su_free_recs(out, n);
	/* Pages of three by keyset: every message once, in order. */
	f = any();
	do {
		n = list(s, &f, 3, out);
		for (size_t i = 0; i < n; i++)
			strcat(seen, out[i].id + 1);
		total += n;
		if (n) {
			f.has_after = true;
			f.after_created_ms = out[n - 1].created_ms;
			snprintf(f.after_id, sizeof(f.after_id), "%s",
			         out[n - 1].id);
		}
		su_free_recs(out, n);
	} while (n == 3);
	CHECK_INT(total, 10);
	CHECK_STR(seen, "9876543210");
	/* Filters. */
	f = any();
	f.campaign_id = "camp-l";
	CHECK_INT(n = list(s, &f, 16, out), 4);
	su_free_recs(out, n);
	f = any();
	f.phone = "+5511999990001";
	CHECK_INT(n = list(s, &f, 16, out), 5);
	su_free_recs(out, n);
	f = any();
	f.since_ms = 1002;
	f.until_ms = 1004;
	CHECK_INT(n = list(s, &f, 16, out), 4);
	if (n == 4) {
		CHECK_STR(out[0].id, "m7");
		CHECK_STR(out[3].id, "m4");
	}
	su_free_recs(out, n);
	wa_store_close(s);
	/* By status. */
	s = su_open(NULL, 0);
	su_make_sent(s, "sent1", "ext-sent1", "pm-l1", 2000);
	ins(s, "q1", NULL, NULL, 3000, 0);
	f = any();
	f.status = WA_MSG_SENT;
	CHECK_INT(n = list(s, &f, 16, out), 1);
	if (n == 1)
		CHECK_STR(out[0].id, "sent1");
	su_free_recs(out, n);
	f.status = WA_MSG_FAILED;
	CHECK_INT(list(s, &f, 16, out), 0);
	wa_store_close(s);
}

static wa_requeue_kind requeue(wa_store *s, const char *id, int64_t now,
                               wa_msg_status *st)
{
	wa_requeue_kind k = WA_REQUEUE_NOT_FOUND;
	char err[256] = "";
	int rc;

	tx(s, false);
	rc = s->ops->requeue(s, id, now, now + 5000, "test", &k, st, err,
	                     sizeof(err));
	if (rc != 0)
		fprintf(stderr, "requeue: %s\n", err);
	CHECK_INT(rc, 0);
	tx(s, true);
	return k;
}

void su_case_requeue(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec r, c[2];
	wa_msg_status st;
	char err[256];
	size_t n;

	/* failed after two attempts */
	su_insert_simple(s, "f1", "ef1", 100);
	for (int i = 0; i < 2; i++) {
		n = su_claim(s, 200 + i, 900, 1, c);
		CHECK_INT(n, 1);
		su_free_recs(c, n);
		su_finish(s, "f1", i ? WA_OUT_FAILED : WA_OUT_RETRY, 210 + i,
		          201 + i, NULL, "HTTP 400");
	}
	CHECK_INT(su_status(s, "f1"), WA_MSG_FAILED);
	CHECK_INT(requeue(s, "f1", 1000, &st), WA_REQUEUE_DONE);
	CHECK_INT(st, WA_MSG_QUEUED);
	memset(&r, 0, sizeof(r));
	CHECK_INT(s->ops->get(s, "f1", &r, err, sizeof(err)), 0);
	CHECK_INT(r.status, WA_MSG_QUEUED);
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.next_attempt_ms, 1000);
	CHECK_INT(r.expires_ms, 6000);
	CHECK_STR(r.external_id, "ef1");
	CHECK(r.n_history >= 2);
	if (r.n_history >= 2) {
		CHECK_INT(r.history[r.n_history - 1].status, WA_MSG_QUEUED);
		CHECK_STR(r.history[r.n_history - 1].detail, "requeued: test");
	}
	wa_message_rec_free(&r);
	/* claimable again, with a fresh budget */
	n = su_claim(s, 1000, 2000, 1, c);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_INT(c[0].attempts, 1);
	su_free_recs(c, n);
	/* canceled -> queued */
	su_insert_simple(s, "c1", "ec1", 100);
	CHECK_INT(su_cancel(s, "c1", 150, &st), WA_CANCEL_DONE);
	CHECK_INT(requeue(s, "c1", 1000, &st), WA_REQUEUE_DONE);
	CHECK_INT(su_status(s, "c1"), WA_MSG_QUEUED);
	/* anything else: no change */
	CHECK_INT(requeue(s, "c1", 1000, &st), WA_REQUEUE_NOT_FINAL);
	CHECK_INT(st, WA_MSG_QUEUED);
	CHECK_INT(requeue(s, "f1", 1000, &st), WA_REQUEUE_NOT_FINAL);
	CHECK_INT(st, WA_MSG_SENDING);
	su_make_sent(s, "s1", "es1", "pm-rq", 300);
	CHECK_INT(requeue(s, "s1", 1000, &st), WA_REQUEUE_NOT_FINAL);
	CHECK_INT(st, WA_MSG_SENT);
	CHECK_INT(requeue(s, "none", 1000, &st), WA_REQUEUE_NOT_FOUND);
	wa_store_close(s);
}

void su_case_requeue_many(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_msg_filter f;
	wa_msg_status st;
	char id[16], err[256] = "";
	long n;

	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof(id), "q%d", i);
		ins(s, id, NULL, i < 5 ? "camp-r" : NULL, 100 + i, 0);
		CHECK_INT(su_cancel(s, id, 200, &st), WA_CANCEL_DONE);
	}
	ins(s, "q-queued", NULL, "camp-r", 100, 0);
	f = any();
	f.campaign_id = "camp-r";
	tx(s, false);
	/* bounded: at most 3 of the 5, newest first */
	n = s->ops->requeue_many(s, &f, 3, 1000, 9000, "bulk", err,
	                         sizeof(err));
	tx(s, true);
	CHECK_INT(n, 3);
	CHECK_INT(su_status(s, "q4"), WA_MSG_QUEUED);
	CHECK_INT(su_status(s, "q2"), WA_MSG_QUEUED);
	CHECK_INT(su_status(s, "q1"), WA_MSG_CANCELED);
	tx(s, false);
	n = s->ops->requeue_many(s, &f, 1000, 1000, 9000, "bulk", err,
	                         sizeof(err));
	tx(s, true);
	CHECK_INT(n, 2);
	/* a status filter other than failed/canceled requeues nothing */
	f = any();
	f.status = WA_MSG_QUEUED;
	tx(s, false);
	n = s->ops->requeue_many(s, &f, 1000, 1000, 9000, "x", err,
	                         sizeof(err));
	tx(s, true);
	CHECK_INT(n, 0);
	f = any();
	f.status = WA_MSG_CANCELED;
	tx(s, false);
	n = s->ops->requeue_many(s, &f, 1000, 1000, 9000, "x", err,
	                         sizeof(err));
	tx(s, true);
	CHECK_INT(n, 2); /* q5, q6 */
	wa_store_close(s);
}

void su_case_campaign(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_campaign_counts c;
	wa_message_rec r[4];
	char err[256] = "";
	size_t k;
	long n;

	ins(s, "k1", NULL, "camp-c", 100, 0);
	ins(s, "k2", NULL, "camp-c", 101, 0);
	ins(s, "k3", NULL, "camp-c", 102, 0);
	ins(s, "k4", NULL, "other", 103, 0);
	k = su_claim(s, 200, 900, 1, r); /* k1: sending */
	CHECK_INT(k, 1);
	su_free_recs(r, k);
	CHECK_INT(s->ops->campaign_counts(s, "camp-c", &c, err, sizeof(err)),
	          0);
	CHECK_INT(c.total, 3);
	CHECK_INT(c.count[WA_MSG_QUEUED], 2);
	CHECK_INT(c.count[WA_MSG_SENDING], 1);
	tx(s, false);
	n = s->ops->cancel_campaign(s, "camp-c", 300, err, sizeof(err));
	tx(s, true);
	CHECK_INT(n, 2);
	CHECK_INT(su_status(s, "k2"), WA_MSG_CANCELED);
	CHECK_INT(su_status(s, "k1"), WA_MSG_SENDING);
	CHECK_INT(su_status(s, "k4"), WA_MSG_QUEUED);
	CHECK_INT(s->ops->campaign_counts(s, "camp-c", &c, err, sizeof(err)),
	          0);
	CHECK_INT(c.count[WA_MSG_CANCELED], 2);
	CHECK_INT(c.total, 3);
	CHECK_INT(s->ops->campaign_counts(s, "none", &c, err, sizeof(err)), 0);
	CHECK_INT(c.total, 0);
	wa_store_close(s);
}

void su_case_failure_codes(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_failure_count top[4];
	wa_message_rec c[1];
	char id[16], err[256] = "";
	size_t n;

	/* three fail with E42 (su_finish sets it for errors), one created
	 * before the window */
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "fc%d", i);
		su_insert_simple(s, id, id, i ? 1000 + i : 10);
		n = su_claim(s, 2000, 3000, 1, c);
		CHECK_INT(n, 1);
		if (n == 1)
			su_finish(s, c[0].id, WA_OUT_FAILED, 2001, 0, NULL,
			          "HTTP 400");
		su_free_recs(c, n);
	}
	CHECK_INT(s->ops->failure_codes(s, 1000, 4, top, &n, err, sizeof(err)),
	          0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(top[0].code, "E42");
		CHECK_INT(top[0].n, 3);
	}
	CHECK_INT(s->ops->failure_codes(s, 5000, 4, top, &n, err, sizeof(err)),
	          0);
	CHECK_INT(n, 0);
	wa_store_close(s);
}
