/* test_webhook_e2e.c - outbox to a signature-checking receiver: retries, order,
 * stop */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "engine/webhook.h"
#include "receiver.h"
#include "store/writer.h"
#include "testing.h"

#define SECRET "test-webhook-secret-0123456789"
#define N_OK 4 /* messages going sent -> delivered -> read */
#define K_FAIL 5

/* ---- store operations, each run through the writer ---- */

enum op_kind { OP_INSERT, OP_CANCEL, OP_CLAIM, OP_SENT, OP_FAILED, OP_APPLY };

typedef struct op {
	enum op_kind kind;
	char id[WA_ID_MAX];
	char pmid[32];
	wa_msg_status status;
	int n; /* OP_CLAIM: messages claimed */
} op;

/* "spring-<n>" for msg-<n> with n even, NULL otherwise. */
static const char *camp_of(const char *id)
{
	static _Thread_local char c[32];
	int n = atoi(id + 4);

	if (n % 2)
		return NULL;
	snprintf(c, sizeof(c), "spring-%d", n);
	return c;
}

static int op_fn(wa_store *s, void *ud, char *err, size_t len)
{
	op *o = ud;
	int64_t now = wa_now_ms();

	switch (o->kind) {
	case OP_INSERT: {
		wa_new_message m;
		wa_insert_result r;
		char ext[64];

		memset(&m, 0, sizeof(m));
		snprintf(m.id, sizeof(m.id), "%s", o->id);
		snprintf(ext, sizeof(ext), "ext-%s", o->id);
		m.external_id = ext;
		m.phone = "+5511999990000";
		m.body = "hello";
		m.provider = "mock";
		m.created_ms = now;
		m.expires_ms = now + 3600000;
		/* every other message in a campaign: its webhooks carry it */
		m.campaign_id = camp_of(o->id);
		return wa_store_insert_full(s, &m, &r, err, len);
	}
	case OP_CANCEL: {
		wa_cancel_kind k;
		wa_msg_status st;

		return s->ops->cancel(s, o->id, now, &k, &st, err, len);
	}
	case OP_CLAIM: {
		wa_message_rec recs[32];
		size_t n = 0;
		int rc =
		    s->ops->claim(s, now, now + 600000, 32, recs, &n, err, len);

		for (size_t i = 0; i < n; i++)
			wa_message_rec_free(&recs[i]);
		o->n = (int)n;
		return rc;
	}
	case OP_SENT:
	case OP_FAILED: {
		wa_outcome oc;

		memset(&oc, 0, sizeof(oc));
		oc.kind = o->kind == OP_SENT ? WA_OUT_SENT : WA_OUT_FAILED;
		oc.at_ms = now;
		oc.provider_message_id = o->kind == OP_SENT ? o->pmid : NULL;
		oc.error = o->kind == OP_FAILED ? "invalid number" : NULL;
		return s->ops->finish(s, o->id, &oc, err, len) < 0 ? -1 : 0;
	}
	case OP_APPLY: {
		wa_status_change c = {"mock", o->pmid, o->status,
		                      now,    NULL,    false};
		wa_apply_kind k;
		char mid[WA_ID_MAX];

		if (s->ops->apply_status(s, &c, &k, mid, err, len) < 0)
			return -1;
		return k == WA_APPLY_APPLIED ? 0 : -1;
	}
	}
	return -1;
}

static int run_op(wa_writer *wr, enum op_kind kind, int i, wa_msg_status st)
{
	op o;
	char err[256] = "";
	int rc;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.status = st;
	snprintf(o.id, sizeof(o.id), "msg-%02d", i);
	snprintf(o.pmid, sizeof(o.pmid), "pm-%02d", i);
	rc = wa_writer_run(wr, op_fn, &o, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "op %d on msg-%02d failed: %s\n", kind, i, err);
	return rc == 0 ? (kind == OP_CLAIM ? o.n : 0) : -1;
}

static int noop_fn(wa_store *s, void *ud, char *err, size_t len)
{
	(void)s;
	(void)ud;
	(void)err;
	(void)len;
	return 0;
}

/* ---- helpers ---- */

static void on_commit(void *ud)
{
	wa_webhook_kick(ud);
}

/* Point the writer's commit hook at w (NULL: none); afterwards no call
 * with the old pointer is in progress. */
static void hook_to(wa_writer *wr, wa_webhook *w)
{
	char err[256];

	wa_writer_on_commit(wr, w ? on_commit : NULL, w);
	wa_writer_run(wr, noop_fn, NULL, err, sizeof(err));
}

static long long pending(wa_store *s)
{
	wa_store_stats st;
	char err[256];

	return s->ops->stats(s, &st, err, sizeof(err)) == 0 ? st.outbox_pending
	                                                    : -1;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Poll (readiness, bounded) until the outbox holds want events. */
static bool wait_pending(wa_store *s, long long want, int64_t timeout_ms)
{
	int64_t end = wa_mono_ms() + timeout_ms;

	while (pending(s) != want) {
		if (wa_mono_ms() > end)
			return false;
		pause_ms(5);
	}
	return true;
}

static wa_webhook *make_webhook(receiver *r, wa_store *s, wa_writer *wr)
{
	char url[128], err[256] = "";
	wa_webhook_config c = {url, SECRET, 3000, 5, 40, 0};
	wa_webhook *w;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/wa", rcv_port(r));
	w = wa_webhook_create(&c, s, wr, err, sizeof(err));
	if (!w || wa_webhook_start(w, err, sizeof(err)) != 0) {
		fprintf(stderr, "webhook: %s\n", err);
		exit(2);
	}
	hook_to(wr, w);
	return w;
}

static int status_rank(const char *s)
{
	static const char *const order[] = {"sent", "delivered", "read",
	                                    "failed", "canceled"};

	for (int i = 0; i < 5; i++)
		if (strcmp(s, order[i]) == 0)
			return i;
	return -1;
}

/* ---- scenario 1: K failures, then everything, in order, once ---- */

static void test_retries_and_order(wa_store *s, wa_writer *wr)
{
	receiver *r = rcv_start(SECRET, K_FAIL);
	static rcv_req log[RCV_MAX];
	const int total = N_OK * 3 + 2; /* + one failed, one canceled */
	unsigned long long delivered = 0, failed = 0, b0, b1;
	long long pend = -2;
	wa_webhook *w;
	int n, i, j;
	int64_t now_s = wa_now_ms() / 1000;

	CHECK(r != NULL);
	if (!r)
		return;
	w = make_webhook(r, s, wr);

	for (i = 0; i < N_OK + 2; i++)
		CHECK_INT(run_op(wr, OP_INSERT, i, 0), 0);
	CHECK_INT(run_op(wr, OP_CANCEL, N_OK + 1, 0), 0);
	CHECK_INT(run_op(wr, OP_CLAIM, 0, 0), N_OK + 1);
	for (i = 0; i < N_OK; i++)
		CHECK_INT(run_op(wr, OP_SENT, i, 0), 0);
	CHECK_INT(run_op(wr, OP_FAILED, N_OK, 0), 0);
	for (i = 0; i < N_OK; i++)
		CHECK_INT(run_op(wr, OP_APPLY, i, WA_MSG_DELIVERED), 0);
	for (i = 0; i < N_OK; i++)
		CHECK_INT(run_op(wr, OP_APPLY, i, WA_MSG_READ), 0);

	CHECK_INT(rcv_wait(r, total + K_FAIL, 20000), total + K_FAIL);
	CHECK(wait_pending(s, 0, 10000));
	n = rcv_log(r, log, RCV_MAX);
	CHECK_INT(n, total + K_FAIL);

	for (i = 0; i < n; i++) {
		CHECK(log[i].sig_ok);
		CHECK(log[i].json_ok);
		CHECK(log[i].ctype_ok);
		CHECK(log[i].event_id > 0);
		CHECK(log[i].ts >= now_s - 5 && log[i].ts <= now_s + 60);
		CHECK_INT(log[i].answer, i < K_FAIL ? 500 : 200);
	}
	/* Per message: the 2xx-answered statuses in order, and never a
	 * request for an older event after a newer one was sent. */
	for (int m = 0; m < N_OK + 2; m++) {
		char id[16], seq[64] = "";
		long long last_ev = -1;
		bool order_ok = true;

		snprintf(id, sizeof(id), "msg-%02d", m);
		for (i = 0; i < n; i++) {
			if (strcmp(log[i].message_id, id) != 0)
				continue;
			if (log[i].event_id < last_ev)
				order_ok = false;
			last_ev = log[i].event_id;
			if (log[i].answer == 200) {
				size_t l = strlen(seq);

				snprintf(seq + l, sizeof(seq) - l, "%s%s",
				         l ? "," : "", log[i].status);
			}
		}
		CHECK(order_ok);
		if (m < N_OK)
			CHECK_STR(seq, "sent,delivered,read");
		else if (m == N_OK)
			CHECK_STR(seq, "failed");
		else
			CHECK_STR(seq, "canceled");
	}
	/* Nothing delivered twice after a 2xx; fields as stored. */
	for (i = 0; i < n; i++) {
		if (log[i].answer != 200)
			continue;
		for (j = 0; j < i; j++)
			CHECK(!(log[j].answer == 200 &&
			        log[j].event_id == log[i].event_id));
		/* the signed body names the message's campaign, or null */
		if (camp_of(log[i].message_id)) {
			CHECK(!log[i].campaign_null);
			CHECK_STR(log[i].campaign_id,
			          camp_of(log[i].message_id));
		} else {
			CHECK(log[i].campaign_null);
		}
		if (strcmp(log[i].status, "failed") == 0) {
			CHECK_STR(log[i].error, "invalid number");
			CHECK(log[i].pmid_null);
		} else if (strcmp(log[i].status, "canceled") == 0) {
			CHECK(log[i].pmid_null);
			CHECK(log[i].error_null);
		} else {
			CHECK(status_rank(log[i].status) >= 0);
			CHECK(strncmp(log[i].provider_message_id, "pm-", 3) ==
			      0);
			CHECK(log[i].error_null);
		}
	}
	wa_webhook_counts(w, &delivered, &failed, &pend);
	CHECK_INT(delivered, total);
	CHECK_INT(failed, K_FAIL);
	CHECK_INT(pend, 0);

	/* Idle: no busy loop. Our own claims commit too (and kick us); at
	 * most a safety look per second should reach the writer. */
	wa_writer_counts(wr, &b0, NULL);
	pause_ms(1500);
	wa_writer_counts(wr, &b1, NULL);
	CHECK(b1 - b0 <= 3);
	CHECK_INT(rcv_wait(r, 0, 0), total + K_FAIL); /* nothing new sent */

	wa_webhook_stop(w, wa_mono_ms() + 2000);
	hook_to(wr, NULL);
	wa_webhook_destroy(w);
	rcv_stop(r);
}

/* ---- scenario 2: stop returns by its deadline; the event survives ---- */

static void test_stop_deadline(wa_store *s, wa_writer *wr)
{
	receiver *r = rcv_start(SECRET, 0);
	static rcv_req log[RCV_MAX];
	wa_webhook *w;
	int64_t t0, took;
	int n;

	CHECK(r != NULL);
	if (!r)
		return;
	rcv_set_stall(r, true);
	w = make_webhook(r, s, wr);
	CHECK_INT(run_op(wr, OP_INSERT, 40, 0), 0);
	CHECK_INT(run_op(wr, OP_CLAIM, 0, 0), 1);
	CHECK_INT(run_op(wr, OP_SENT, 40, 0), 0);
	CHECK_INT(rcv_wait(r, 1, 10000), 1); /* held by the receiver */

	t0 = wa_mono_ms();
	wa_webhook_stop(w, t0 + 300);
	took = wa_mono_ms() - t0;
	CHECK(took >= 250 && took < 1500);
	CHECK_INT(pending(s), 1); /* not lost */
	hook_to(wr, NULL);
	wa_webhook_destroy(w);

	/* The next run sends it again (at least once), signed afresh. */
	rcv_set_stall(r, false);
	rcv_release(r);
	w = make_webhook(r, s, wr);
	CHECK(wait_pending(s, 0, 10000));
	n = rcv_log(r, log, RCV_MAX);
	CHECK(n >= 2);
	if (n >= 2) {
		CHECK_INT(log[0].event_id, log[n - 1].event_id);
		CHECK_STR(log[n - 1].message_id, "msg-40");
		CHECK_STR(log[n - 1].status, "sent");
		CHECK(log[n - 1].sig_ok);
	}
	wa_webhook_stop(w, wa_mono_ms() + 2000);
	hook_to(wr, NULL);
	wa_webhook_destroy(w);
	rcv_stop(r);
}

int main(void)
{
	char dir[] = "/tmp/wa-webhook-XXXXXX", path[256], err[256] = "";
	wa_store *s;
	wa_writer *wr;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/store.db", dir);
	s = wa_store_open_sqlite(path, false, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "store: %s\n", err);
		return 2;
	}
	s->ops->set_outbox(s, true);
	wr = wa_writer_create(s, 1024, err, sizeof(err));
	if (!wr) {
		fprintf(stderr, "writer: %s\n", err);
		return 2;
	}

	test_retries_and_order(s, wr);
	test_stop_deadline(s, wr);

	wa_writer_destroy(wr);
	wa_store_close(s);
	snprintf(path, sizeof(path), "%s/store.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/store.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/store.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return wa_t_report();
}
