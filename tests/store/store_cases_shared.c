/* store_cases_shared.c - store cases: the state several instances share
 * (PostgreSQL: pause, peek, early status updates; NULL ops elsewhere) */
#include <stdio.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

void su_cases_shared_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

static int w_pause(wa_store *s, wa_pause_kind kind, const char *reason,
                   int64_t until)
{
	char err[256] = "";
	int rc;

	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	rc =
	    s->ops->pause_set(s, "mock", kind, reason, until, err, sizeof(err));
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	return rc;
}

static void r_pause(wa_store *s, wa_shared_pause *sp)
{
	char err[256] = "";

	CHECK_INT(s->ops->pause_get(s, "mock", sp, err, sizeof(err)), 0);
}

/* One instance pauses; the other reads it, and claims nothing until the
 * next probe is due; the lift is seen by both. */
void su_case_shared_pause(void)
{
	wa_store *s = su_open(NULL, 0), *t;
	wa_shared_pause sp[WA_PAUSE_KINDS];
	wa_message_rec c[2];

	if (!s->ops->pause_get) { /* one instance: the engine's memory */
		CHECK(s->ops->pause_set == NULL && s->ops->peek == NULL &&
		      s->ops->early_keep == NULL && s->ops->early_take == NULL);
		wa_store_close(s);
		return;
	}
	t = su_open_again();
	r_pause(t, sp);
	CHECK(!sp[WA_PAUSE_CONFIG].on && !sp[WA_PAUSE_QUALITY].on);
	CHECK_INT(w_pause(s, WA_PAUSE_CONFIG, "HTTP 401: bad token", 5000), 0);
	r_pause(t, sp);
	CHECK(sp[WA_PAUSE_CONFIG].on && !sp[WA_PAUSE_QUALITY].on);
	CHECK_STR(sp[WA_PAUSE_CONFIG].reason, "HTTP 401: bad token");
	CHECK_INT(sp[WA_PAUSE_CONFIG].until_ms, 5000);
	/* a failed probe */
	CHECK_INT(w_pause(s, WA_PAUSE_CONFIG, "HTTP 401: still", 9000), 0);
	r_pause(t, sp);
	CHECK_INT(sp[WA_PAUSE_CONFIG].until_ms, 9000);
	su_insert_simple(s, "sp1", "sp1", 100);
	CHECK_INT(su_claim(t, 8000, 20000, 2, c), 0); /* before the probe */
	CHECK_INT(su_claim(t, 9001, 20000, 2, c), 1); /* the probe's turn */
	su_free_recs(c, 1);
	CHECK_INT(w_pause(t, WA_PAUSE_CONFIG, NULL, 0), 0);
	r_pause(s, sp);
	CHECK(!sp[WA_PAUSE_CONFIG].on);
	wa_store_close(t);
	wa_store_close(s);
}

/* The quality pause (issue 14) beside the CONFIG one: its own row, the
 * later end kept, claims held until it ends, and lifting the CONFIG pause
 * leaves it. */
void su_case_shared_quality(void)
{
	wa_store *s = su_open(NULL, 0), *t;
	wa_shared_pause sp[WA_PAUSE_KINDS];
	wa_message_rec c[2];

	if (!s->ops->pause_get) {
		wa_store_close(s);
		return;
	}
	t = su_open_again();
	su_insert_simple(s, "sq1", "sq1", 100);
	CHECK_INT(
	    w_pause(s, WA_PAUSE_QUALITY, "the provider answered 131048", 7000),
	    0);
	r_pause(t, sp);
	CHECK(!sp[WA_PAUSE_CONFIG].on && sp[WA_PAUSE_QUALITY].on);
	CHECK_STR(sp[WA_PAUSE_QUALITY].reason, "the provider answered 131048");
	CHECK_INT(sp[WA_PAUSE_QUALITY].until_ms, 7000);
	/* an earlier end (another instance's clock) does not shorten it */
	CHECK_INT(w_pause(t, WA_PAUSE_QUALITY, "earlier", 6000), 0);
	r_pause(s, sp);
	CHECK_INT(sp[WA_PAUSE_QUALITY].until_ms, 7000);
	CHECK_STR(sp[WA_PAUSE_QUALITY].reason, "the provider answered 131048");
	CHECK_INT(w_pause(t, WA_PAUSE_QUALITY, "later", 8000), 0);
	CHECK_INT(w_pause(s, WA_PAUSE_CONFIG, "HTTP 401", 3000), 0);
	CHECK_INT(w_pause(s, WA_PAUSE_CONFIG, NULL, 0), 0); /* a lift */
	r_pause(t, sp);
	CHECK(!sp[WA_PAUSE_CONFIG].on && sp[WA_PAUSE_QUALITY].on);
	CHECK_STR(sp[WA_PAUSE_QUALITY].reason, "later");
	CHECK_INT(sp[WA_PAUSE_QUALITY].until_ms, 8000);
	CHECK_INT(su_claim(t, 7999, 20000, 2, c), 0); /* paused */
	CHECK_INT(su_claim(s, 8001, 20000, 2, c), 1); /* over by itself */
	su_free_recs(c, 1);
	wa_store_close(t);
	wa_store_close(s);
}

void su_case_shared_peek(void)
{
	wa_store *s = su_open(NULL, 0);
	const char *ids[3] = {"pk1", "pk2", "nope"};
	wa_msg_peek p[3];
	wa_message_rec c[2];
	char err[256] = "";
	size_t n;

	if (!s->ops->peek) {
		wa_store_close(s);
		return;
	}
	su_make_sent(s, "pk2", "pk2", "PM2", 100);
	su_insert_simple(s, "pk1", "pk1", 200);
	CHECK_INT(s->ops->peek(s, ids, 3, p, err, sizeof(err)), 0);
	CHECK(p[0].found && p[0].status == WA_MSG_QUEUED && p[0].attempts == 0);
	CHECK(p[1].found && p[1].status == WA_MSG_SENT);
	CHECK_STR(p[1].provider_message_id, "PM2");
	CHECK(!p[2].found);
	n = su_claim(s, 300, 1000, 2, c);
	CHECK_INT(n, 1);
	if (n == 1)
		su_finish(s, c[0].id, WA_OUT_RETRY, 310, 5000, NULL,
		          "HTTP 503");
	su_free_recs(c, n);
	CHECK_INT(s->ops->peek(s, ids, 1, p, err, sizeof(err)), 0);
	CHECK(p[0].status == WA_MSG_QUEUED && p[0].attempts == 1);
	CHECK_STR(p[0].last_error, "HTTP 503");
	wa_store_close(s);
}

static int w_keep(wa_store *s, const char *pmid, wa_msg_status st, int64_t at,
                  int64_t now)
{
	wa_status_change c = {"mock", pmid, st, at, NULL, false};
	char err[256] = "";
	int rc;

	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	rc = s->ops->early_keep(s, &c, now, err, sizeof(err));
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	return rc;
}

static size_t w_take(wa_store *s, int64_t min_kept, wa_kept_status *out,
                     size_t max)
{
	char err[256] = "";
	size_t n = 0;

	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(
	    s->ops->early_take(s, min_kept, out, max, &n, err, sizeof(err)), 0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	return n;
}

/* Kept at one instance, taken at another once the send is recorded, in
 * order, once; too old ones are dropped. */
void su_case_shared_early(void)
{
	wa_store *s = su_open(NULL, 0), *t;
	wa_kept_status k[4];

	if (!s->ops->early_keep) {
		wa_store_close(s);
		return;
	}
	t = su_open_again();
	CHECK_INT(w_keep(s, "PE1", WA_MSG_DELIVERED, 500, 1000), 0);
	CHECK_INT(w_keep(s, "PE1", WA_MSG_READ, 600, 1001), 0);
	CHECK_INT(w_keep(s, "OLD", WA_MSG_DELIVERED, 500, 10), 0);
	CHECK_INT(w_take(t, 100, k, 4), 0); /* no message knows PE1 yet */
	su_make_sent(s, "pe1", "pe1", "PE1", 400);
	su_make_sent(s, "pe2", "pe2", "OLD", 400);
	CHECK_INT(w_take(t, 100, k, 4), 2);
	CHECK_STR(k[0].provider_message_id, "PE1");
	CHECK_INT(k[0].status, WA_MSG_DELIVERED);
	CHECK_INT(k[0].at_ms, 500);
	CHECK_INT(k[1].status, WA_MSG_READ);
	CHECK_STR(k[1].provider, "mock");
	CHECK_INT(w_take(s, 100, k, 4), 0); /* taken once; OLD dropped */
	CHECK_INT(w_take(s, 0, k, 4), 0);
	wa_store_close(t);
	wa_store_close(s);
}

/* /metrics's read (issue 17 item 5): the stats and ping's answer in one
 * go, the same figures as stats. */
void su_case_stats_up(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_store_stats a, b;
	wa_message_rec c[2];
	char err[256] = "";
	bool up = false;

	if (!s->ops->stats_up) { /* stats, then ping */
		wa_store_close(s);
		return;
	}
	su_insert_simple(s, "su1", "su1", 100);
	su_insert_simple(s, "su2", "su2", 200);
	su_free_recs(c, su_claim(s, 300, 9000, 1, c));
	CHECK_INT(s->ops->stats(s, &a, err, sizeof(err)), 0);
	CHECK_INT(s->ops->stats_up(s, &b, &up, err, sizeof(err)), 0);
	CHECK(up);
	CHECK_INT(b.count[WA_MSG_QUEUED], 1);
	CHECK_INT(b.count[WA_MSG_SENDING], 1);
	CHECK(memcmp(a.count, b.count, sizeof(a.count)) == 0);
	CHECK_INT(b.oldest_queued_ms, a.oldest_queued_ms);
	CHECK_INT(b.oldest_ms, 100);
	CHECK_INT(b.outbox_pending, a.outbox_pending);
	wa_store_close(s);
}
