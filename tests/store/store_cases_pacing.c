/* store_cases_pacing.c - store suite: campaign-safe sending (issue 14): the
 * claim rules per recipient (order, one in flight, interval), the tier budget,
 * and late retryable failures put back in the queue */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#define A "+5511900000061"
#define B "+5511900000062"
#define C "+5511900000063"

void su_cases_pacing_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

/* The status counters (ops counters, kept per group commit) agree with
 * the rows: pacing's writes (held messages, late requeues, the recipients
 * table) must keep them exact. */
static void counts_exact(wa_store *s, const char *where)
{
	wa_message_rec *recs = calloc(64, sizeof(*recs));
	wa_store_stats st;
	char err[256] = "";
	bool same = true;

	CHECK(recs != NULL);
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	for (int i = 0; recs && i < 7; i++) {
		wa_msg_filter f;
		size_t n = 0;

		memset(&f, 0, sizeof(f));
		f.status = i;
		CHECK_INT(s->ops->list(s, &f, 64, recs, &n, err, sizeof(err)),
		          0);
		if (st.count[i] != (long long)n) {
			fprintf(stderr,
			        "counts after %s: %s stats %lld rows %zu\n",
			        where, wa_msg_status_name((wa_msg_status)i),
			        st.count[i], n);
			same = false;
		}
		su_free_recs(recs, n);
	}
	free(recs);
	CHECK(same);
}

static void pace(wa_store *s, bool order, int64_t interval, long limit,
                 int64_t window)
{
	wa_store_pacing p = {.per_recipient = order,
	                     .interval_ms = interval,
	                     .messaging_limit = limit,
	                     .window_ms = window,
	                     .max_attempts = 3,
	                     .retry_base_ms = 100,
	                     .retry_max_ms = 1000};

	CHECK(s->ops->set_pacing != NULL);
	CHECK(s->ops->budget != NULL);
	if (s->ops->set_pacing)
		s->ops->set_pacing(s, &p);
}

static void ins(wa_store *s, const char *id, const char *phone, int64_t t)
{
	char ext[64];

	snprintf(ext, sizeof(ext), "ext-%s", id);
	CHECK_INT(su_insert(s, id, ext, phone, "hi", NULL, NULL, t).kind,
	          WA_INSERT_CREATED);
}

/* Claim at now; the claimed ids, sorted by id, space-separated. */
static const char *claim(wa_store *s, int64_t now, char *out, size_t len)
{
	wa_message_rec r[16];
	size_t n = su_claim(s, now, now + 5000, 16, r);
	const char *ids[16];
	size_t used = 0;

	for (size_t i = 0; i < n; i++)
		ids[i] = r[i].id;
	for (size_t i = 1; i < n; i++) /* insertion sort */
		for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0;
		     j--) {
			const char *t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		                         i ? " " : "", ids[i]);
	su_free_recs(r, n);
	return out;
}

/* A phone's messages go in the order accepted, one at a time, at least the
 * interval apart; other phones are not held up; a retried message keeps
 * its place. */
void su_case_pace_order(void)
{
	char path[512], got[256];
	wa_store *s = su_open(path, sizeof(path));

	pace(s, true, 1000, 0, 0);
	ins(s, "a1", A, 100);
	ins(s, "a2", A, 101);
	ins(s, "a3", A, 102);
	ins(s, "b1", B, 103);
	/* a1 and b1 only: a2 waits for a1 */
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1 b1");
	/* nothing more while a1 is in flight, b1 too */
	CHECK_STR(claim(s, 300, got, sizeof(got)), "");
	counts_exact(s, "held messages");
	/* a1 is to be retried at 400: it keeps its place before a2 */
	CHECK_INT(su_finish(s, "a1", WA_OUT_RETRY, 350, 400, NULL, "busy"), 0);
	CHECK_INT(su_finish(s, "b1", WA_OUT_SENT, 360, 0, "pb1", NULL), 0);
	/* a1's retry is due at 400, but its recipient's interval runs to
	 * 1200 (claimed at 200) at least: nothing */
	CHECK_STR(claim(s, 500, got, sizeof(got)), "");
	CHECK_INT(su_status(s, "a2"), WA_MSG_QUEUED);
	/* nor before its retry's outcome (350) + 1000 */
	CHECK_STR(claim(s, 1300, got, sizeof(got)), "");
	CHECK_STR(claim(s, 1400, got, sizeof(got)), "a1");
	CHECK_INT(su_finish(s, "a1", WA_OUT_SENT, 1450, 0, "pa1", NULL), 0);
	/* a2 next, not before 1450 + 1000 */
	CHECK_STR(claim(s, 2400, got, sizeof(got)), "");
	CHECK_STR(claim(s, 2500, got, sizeof(got)), "a2");
	/* a failed message lets the next one go */
	CHECK_INT(su_finish(s, "a2", WA_OUT_FAILED, 2550, 0, NULL, "no"), 0);
	CHECK_STR(claim(s, 3600, got, sizeof(got)), "a3");
	counts_exact(s, "paced claims and outcomes");
	wa_store_close(s);
}

/* A lease that ran out is claimed again (the same message); the next one
 * of its phone still waits. Order off: the fire-hose. */
void su_case_pace_lease_and_off(void)
{
	char path[512], got[256];
	wa_store *s = su_open(path, sizeof(path));

	pace(s, true, 0, 0, 0);
	ins(s, "a1", A, 100);
	ins(s, "a2", A, 101);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1");
	/* the lease (200 + 5000) ran out: a1 again, never a2 beside it */
	CHECK_STR(claim(s, 5300, got, sizeof(got)), "a1");
	CHECK_INT(su_status(s, "a2"), WA_MSG_QUEUED);
	/* canceling the head lets the next one go */
	CHECK_INT(su_finish(s, "a1", WA_OUT_RELEASE, 5400, 5400, NULL, NULL),
	          0);
	{
		wa_msg_status st;

		CHECK_INT(su_cancel(s, "a1", 5500, &st), WA_CANCEL_DONE);
	}
	CHECK_STR(claim(s, 5600, got, sizeof(got)), "a2");
	wa_store_close(s);

	s = su_open(path, sizeof(path));
	pace(s, false, 1000, 0, 0);
	ins(s, "a1", A, 100);
	ins(s, "a2", A, 101);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1 a2");
	wa_store_close(s);
}

/* At most limit distinct recipients per window; a phone counted in the
 * window and a phone whose 24-hour window is open do not count again. */
void su_case_pace_budget(void)
{
	char path[512], got[256], err[256];
	wa_store *s = su_open(path, sizeof(path));
	wa_store_budget b;
	wa_inbound_rec in;
	bool created = false;

	pace(s, false, 0, 2, 10000);
	ins(s, "a1", A, 100);
	ins(s, "b1", B, 101);
	ins(s, "c1", C, 102);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1 b1");
	s->ops->budget(s, &b);
	CHECK_INT((int)b.limit, 2);
	CHECK_INT((int)b.used, 2);
	CHECK_INT((int)b.held, 1);
	CHECK(b.frees_ms == 200 + 10000 + 1);
	CHECK_INT(su_status(s, "c1"), WA_MSG_QUEUED);
	/* a second message to A (counted) goes; C still waits */
	ins(s, "a2", A, 300);
	CHECK_STR(claim(s, 400, got, sizeof(got)), "a2");
	CHECK_INT(su_finish(s, "a1", WA_OUT_SENT, 410, 0, "pa1", NULL), 0);
	CHECK_INT(su_finish(s, "b1", WA_OUT_SENT, 410, 0, "pb1", NULL), 0);
	CHECK_INT(su_finish(s, "a2", WA_OUT_SENT, 410, 0, "pa2", NULL), 0);
	CHECK_STR(claim(s, 5000, got, sizeof(got)), "");
	/* the window moves: C goes */
	CHECK_STR(claim(s, 10300, got, sizeof(got)), "c1");
	s->ops->budget(s, &b);
	CHECK_INT((int)b.used, 1);
	wa_store_close(s);

	/* an open service window: the phone never counts */
	s = su_open(path, sizeof(path));
	pace(s, false, 0, 1, 10000);
	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "in-1");
	snprintf(in.provider, sizeof(in.provider), "mock");
	snprintf(in.provider_message_id, sizeof(in.provider_message_id), "w1");
	snprintf(in.phone, sizeof(in.phone), "%s", B);
	in.occurred_ms = in.received_ms = 50;
	in.json = "{}";
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->inbound_add(s, &in, &created, err, sizeof(err)), 0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK(created);
	ins(s, "a1", A, 100);
	/* 40 new recipients the budget turns away come before b1: the
	 * claim reads past them (SQLite reads candidates a chunk at a time) */
	for (int i = 0; i < 40; i++) {
		char id[16], phone[24];

		snprintf(id, sizeof(id), "h%02d", i);
		snprintf(phone, sizeof(phone), "+5511900000%03d", i);
		ins(s, id, phone, 100);
	}
	ins(s, "b1", B, 101);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1 b1");
	s->ops->budget(s, &b);
	CHECK_INT((int)b.used, 1);
	CHECK_INT((int)b.held, 40);
	wa_store_close(s);
}

static wa_apply_kind late(wa_store *s, const char *pmid, bool retryable,
                          int64_t at)
{
	wa_status_change c = {"mock",          pmid,     WA_MSG_FAILED, at,
	                      "130429: limit", retryable};
	wa_apply_kind k = WA_APPLY_UNKNOWN;
	char err[256] = "";

	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->apply_status(s, &c, &k, NULL, err, sizeof(err)), 0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	return k;
}

static int64_t next_of(wa_store *s, const char *id)
{
	wa_message_rec r;
	char err[256] = "";
	int64_t next = -1;

	memset(&r, 0, sizeof(r));
	CHECK_INT(s->ops->get(s, id, &r, err, sizeof(err)), 0);
	if (r.status == WA_MSG_QUEUED)
		next = r.next_attempt_ms;
	wa_message_rec_free(&r);
	return next;
}

/* A retryable late failure puts the message back in the queue, in its
 * place, due after the backoff; within max_attempts only. */
void su_case_pace_late_failure(void)
{
	char path[512], got[256], err[256];
	wa_store *s = su_open(path, sizeof(path));
	wa_message_rec m;

	pace(s, true, 0, 0, 0);
	ins(s, "a1", A, 100);
	ins(s, "a2", A, 101);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1");
	CHECK_INT(su_finish(s, "a1", WA_OUT_SENT, 210, 0, "p1", NULL), 0);
	CHECK_STR(claim(s, 300, got, sizeof(got)), "a2");
	CHECK_INT(su_finish(s, "a2", WA_OUT_SENT, 310, 0, "p2", NULL), 0);
	ins(s, "a3", A, 320); /* nothing before it pending: due at once */
	/* a1 fails late, retryable: queued again, due at 400 + 100 */
	CHECK_INT(late(s, "p1", true, 400), WA_APPLY_APPLIED);
	memset(&m, 0, sizeof(m));
	CHECK_INT(s->ops->get(s, "a1", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_QUEUED);
	CHECK(m.next_attempt_ms == 500);
	CHECK_STR(m.provider_message_id, "");
	CHECK(m.n_history >= 1 &&
	      strstr(m.history[m.n_history - 1].detail,
	             "late failure, retrying: 130429") != NULL);
	wa_message_rec_free(&m);
	counts_exact(s, "a late requeue");
	if (su_is_pg()) /* held by the requeue itself (pg_pace.c) */
		CHECK_INT(next_of(s, "a3"), 400 + WA_PACE_HOLD_MS);
	/* a3 now waits for a1, held (PostgreSQL holds it with the requeue,
	 * so that a claim on another instance cannot take it meanwhile) */
	CHECK_STR(claim(s, 450, got, sizeof(got)), "");
	CHECK(next_of(s, "a3") >= 400 + WA_PACE_HOLD_MS);
	CHECK_STR(claim(s, 500, got, sizeof(got)), "a1");
	CHECK_INT(su_finish(s, "a1", WA_OUT_SENT, 510, 0, "p3", NULL), 0);
	CHECK_STR(claim(s, 520, got, sizeof(got)), "a3");
	CHECK_INT(su_finish(s, "a3", WA_OUT_SENT, 530, 0, "p4", NULL), 0);
	/* a permanent late failure ends it as before */
	CHECK_INT(late(s, "p3", false, 600), WA_APPLY_APPLIED);
	CHECK_INT(su_status(s, "a1"), WA_MSG_FAILED);
	/* attempts used up (max 3): a retryable one fails too */
	ins(s, "b1", B, 700);
	for (int i = 0; i < 3; i++) {
		char pmid[16];

		CHECK_STR(claim(s, 1000 + i * 2000, got, sizeof(got)), "b1");
		snprintf(pmid, sizeof(pmid), "pb%d", i);
		CHECK_INT(su_finish(s, "b1", WA_OUT_SENT, 1010 + i * 2000, 0,
		                    pmid, NULL),
		          0);
		CHECK_INT(late(s, pmid, true, 1020 + i * 2000),
		          WA_APPLY_APPLIED);
	}
	CHECK_INT(su_status(s, "b1"), WA_MSG_FAILED);
	counts_exact(s, "late failures");
	wa_store_close(s);
}

/* A message behind an earlier one of its phone is held from insert (the
 * claim never looks at it until that one's outcome brings it back), a
 * send_at survives that release, and a hold nobody ends is looked at again
 * after as long as the message has waited (30 s at least). */
void su_case_pace_held_at_insert(void)
{
	char got[256];
	wa_message_rec r[4];
	wa_store *s = su_open(NULL, 0);
	size_t n;

	pace(s, true, 1000, 0, 0);
	ins(s, "a1", A, 100);
	ins(s, "a2", A, 101);
	CHECK_INT(next_of(s, "a1"), 100);
	CHECK_INT(next_of(s, "a2"), 101 + WA_PACE_HOLD_MS);
	/* b2's send_at (50 s) lies beyond the hold: it stays */
	CHECK_INT(su_insert_at(s, "b1", B, 100, 0).kind, WA_INSERT_CREATED);
	CHECK_INT(su_insert_at(s, "b2", B, 101, 50000).kind, WA_INSERT_CREATED);
	CHECK_INT(next_of(s, "b2"), 50000);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1 b1");
	counts_exact(s, "held at insert");
	/* a1's outcome brings a2 back after the interval */
	CHECK_INT(su_finish(s, "a1", WA_OUT_SENT, 300, 0, "pa1", NULL), 0);
	CHECK_INT(next_of(s, "a2"), 1300);
	/* b1's does not bring b2 before its send_at */
	CHECK_INT(su_finish(s, "b1", WA_OUT_SENT, 300, 0, "pb1", NULL), 0);
	CHECK_INT(next_of(s, "b2"), 50000);
	CHECK_STR(claim(s, 1299, got, sizeof(got)), "");
	CHECK_STR(claim(s, 1300, got, sizeof(got)), "a2");
	CHECK_INT(su_finish(s, "a2", WA_OUT_SENT, 1400, 0, "pa2", NULL), 0);
	CHECK_STR(claim(s, 49999, got, sizeof(got)), "");
	CHECK_STR(claim(s, 50000, got, sizeof(got)), "b2");
	wa_store_close(s);

	/* c1 in flight with a long lease and no outcome: c2's hold ends at
	 * 30,101, is renewed for as long as c2 waited (30 s), then 60 s */
	s = su_open(NULL, 0);
	pace(s, true, 1000, 0, 0);
	ins(s, "c1", C, 100);
	ins(s, "c2", C, 101);
	n = su_claim(s, 200, 10000000, 4, r);
	CHECK_INT((int)n, 1);
	if (n == 1)
		CHECK_STR(r[0].id, "c1");
	su_free_recs(r, n);
	CHECK_STR(claim(s, 30100, got, sizeof(got)), "");
	CHECK_INT(next_of(s, "c2"), 30101);
	CHECK_STR(claim(s, 30101, got, sizeof(got)), "");
	CHECK_INT(next_of(s, "c2"), 30101 + 30000);
	CHECK_STR(claim(s, 60101, got, sizeof(got)), "");
	CHECK_INT(next_of(s, "c2"), 60101 + 60000);
	counts_exact(s, "renewed holds");
	wa_store_close(s);

	/* two messages to one phone in one group commit: the second is held
	 * (PostgreSQL inserts a commit's messages in one statement) */
	s = su_open(NULL, 0);
	pace(s, true, 1000, 0, 0);
	{
		wa_new_message m[2];
		wa_insert_result res;
		char err[256] = "";

		memset(m, 0, sizeof(m));
		for (int i = 0; i < 2; i++) {
			snprintf(m[i].id, sizeof(m[i].id), "d%d", i + 1);
			m[i].external_id = i ? "ext-d2" : "ext-d1";
			m[i].phone = A;
			m[i].body = "hi";
			m[i].provider = "mock";
			m[i].created_ms = 100;
			m[i].expires_ms = 100000;
		}
		CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
		CHECK_INT(s->ops->insert(s, &m[0], &res, err, sizeof(err)), 0);
		CHECK_INT(s->ops->insert(s, &m[1], &res, err, sizeof(err)), 0);
		CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	}
	CHECK_INT(next_of(s, "d1"), 100);
	CHECK_INT(next_of(s, "d2"), 100 + WA_PACE_HOLD_MS);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "d1");
	wa_store_close(s);
}

static long purge(wa_store *s, int64_t before)
{
	char err[256] = "";
	long n;

	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	n = s->ops->purge_twoway(s, before, 100, err, sizeof(err));
	if (n < 0)
		fprintf(stderr, "purge: %s\n", err);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	return n;
}

/* Retention deletes a recipient's pacing row only once no rule needs it:
 * its next claim allowed before the cutoff and its tier count older than
 * the cutoff minus the window (24 h at least). */
void su_case_pace_purge(void)
{
	char got[256];
	const int64_t day = 24LL * 3600 * 1000;
	wa_store *s = su_open(NULL, 0);

	CHECK(s->ops->purge_twoway != NULL);
	if (!s->ops->purge_twoway) {
		wa_store_close(s);
		return;
	}
	pace(s, true, 1000, 5, 3600000);
	ins(s, "a1", A, 100);
	CHECK_STR(claim(s, 200, got, sizeof(got)), "a1"); /* counted at 200 */
	CHECK_INT(su_finish(s, "a1", WA_OUT_SENT, 300, 0, "pa1", NULL), 0);
	CHECK_INT(purge(s, 1000), 0);      /* next claim not before 1300 */
	CHECK_INT(purge(s, 2000), 0);      /* counted within a day of it */
	CHECK_INT(purge(s, 200 + day), 0); /* counted at 200: not before */
	CHECK_INT(purge(s, 201 + day), 1); /* no rule needs it */
	CHECK_INT(purge(s, 10 * day), 0);
	/* the phone is a new recipient again: counted anew */
	ins(s, "a2", A, 11 * day);
	CHECK_STR(claim(s, 11 * day, got, sizeof(got)), "a2");
	wa_store_close(s);
}
