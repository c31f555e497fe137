/* retention_test.c - the retention thread: old finished messages go in
 * small batches while accepts keep being committed; queued and young
 * messages stay. Then (two-way messaging) old inbound messages and idle
 * contacts go; an opted-out contact and a recent message stay. argv[1]:
 * "sqlite" (default) or "postgresql" (under tests/lib/pgtmp.sh). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "store/retention.h"
#include "store/writer.h"
#include "store_util.h"
#include "testing.h"

enum { OLD = 300, OLD_QUEUED = 5, ACCEPTS = 200, OLD_IN = 40 };

#define OPTED_OUT "+5511920000000"

typedef struct acc {
	wa_writer *w;
	int ok;
} acc;

typedef struct one {
	wa_new_message m;
	wa_insert_result r;
} one;

static int insert_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	one *o = ud;

	return s->ops->insert(s, &o->m, &o->r, err, err_len);
}

static void fill(wa_new_message *m, const char *id, const char *ext, int64_t t)
{
	su_new_message(m, id, ext, "+5511999990000", "hi", t);
}

/* Accepts while retention runs: each must be committed. */
static void *accepter(void *arg)
{
	acc *a = arg;

	for (int i = 0; i < ACCEPTS; i++) {
		one o;
		char id[48], ext[48], err[256];

		snprintf(id, sizeof(id), "new-%d", i);
		snprintf(ext, sizeof(ext), "new-%d", i);
		fill(&o.m, id, ext, wa_now_ms());
		if (wa_writer_run(a->w, insert_fn, &o, err, sizeof(err)) == 0 &&
		    o.r.kind == WA_INSERT_CREATED)
			a->ok++;
	}
	return NULL;
}

/* OLD finished and OLD_QUEUED queued messages, all created at t=1000. */
static void populate(wa_store *s)
{
	static wa_new_message m[OLD + OLD_QUEUED];
	static wa_insert_result r[OLD + OLD_QUEUED];
	static char ids[OLD + OLD_QUEUED][2][32];
	wa_message_rec *c = calloc(OLD, sizeof(*c));
	wa_outcome o = {.kind = WA_OUT_SENT, .at_ms = 1001};
	char err[256] = "";
	size_t n = 0;
	int rc;

	rc = s->ops->begin(s, err, sizeof(err));
	for (int i = 0; i < OLD && rc == 0; i++) {
		snprintf(ids[i][0], 32, "old-%d", i);
		snprintf(ids[i][1], 32, "old-%d", i);
		fill(&m[i], ids[i][0], ids[i][1], 1000);
		rc = s->ops->insert(s, &m[i], &r[i], err, sizeof(err));
	}
	if (rc == 0)
		rc = s->ops->claim(s, 1000, 2000, OLD, c, &n, err, sizeof(err));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = s->ops->finish(s, c[i].id, &o, err, sizeof(err));
	for (int i = OLD; i < OLD + OLD_QUEUED && rc == 0; i++) {
		snprintf(ids[i][0], 32, "oldq-%d", i);
		snprintf(ids[i][1], 32, "oldq-%d", i);
		fill(&m[i], ids[i][0], ids[i][1], 1000);
		rc = s->ops->insert(s, &m[i], &r[i], err, sizeof(err));
	}
	if (rc == 0)
		rc = s->ops->commit(s, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "populate: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_INT(n, OLD);
	su_free_recs(c, n);
	free(c);
}

static int add_in(wa_store *s, const char *id, const char *phone, int64_t at,
                  char *err, size_t err_len)
{
	wa_inbound_rec r;
	bool created;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.provider, sizeof(r.provider), "mock");
	snprintf(r.provider_message_id, sizeof(r.provider_message_id), "%s",
	         id);
	snprintf(r.phone, sizeof(r.phone), "%s", phone);
	r.occurred_ms = at;
	r.received_ms = at;
	r.json = "{}";
	return s->ops->inbound_add(s, &r, &created, err, err_len);
}

/* Two-way data: OLD_IN old messages from as many idle contacts, an old
 * message from a contact that then opted out, a message from now. */
static void populate_twoway(wa_store *s)
{
	char err[256] = "", id[32], phone[24];
	bool changed;
	int rc = s->ops->begin(s, err, sizeof(err));

	for (int i = 0; i < OLD_IN && rc == 0; i++) {
		snprintf(id, sizeof(id), "in-old-%d", i);
		snprintf(phone, sizeof(phone), "+55119100%05d", i);
		rc = add_in(s, id, phone, 1000, err, sizeof(err));
	}
	if (rc == 0)
		rc = add_in(s, "in-old-out", OPTED_OUT, 1000, err, sizeof(err));
	if (rc == 0)
		rc = s->ops->contact_set_opt(s, OPTED_OUT, true, "keyword:STOP",
		                             1000, &changed, err, sizeof(err));
	if (rc == 0)
		rc = add_in(s, "in-new", "+5511930000000", wa_now_ms(), err,
		            sizeof(err));
	if (rc == 0)
		rc = s->ops->commit(s, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "populate_twoway: %s\n", err);
	CHECK_INT(rc, 0);
}

static void check_twoway(wa_store *s)
{
	wa_inbound_rec got[4];
	wa_inbound_query q;
	wa_contact c;
	char err[256] = "";
	size_t n = 0;

	memset(&q, 0, sizeof(q));
	CHECK_INT(s->ops->inbound_list(s, &q, got, 4, &n, err, sizeof(err)), 0);
	CHECK(n == 1);
	if (n == 1)
		CHECK_STR(got[0].id, "in-new");
	for (size_t i = 0; i < n; i++)
		wa_inbound_rec_free(&got[i]);
	CHECK_INT(
	    s->ops->contact_get(s, "+5511910000000", &c, err, sizeof(err)), 1);
	CHECK_INT(s->ops->contact_get(s, OPTED_OUT, &c, err, sizeof(err)), 0);
	CHECK(c.opted_out);
	CHECK_INT(
	    s->ops->contact_get(s, "+5511930000000", &c, err, sizeof(err)), 0);
}

int main(int argc, char **argv)
{
	const char *backend = argc > 1 ? argv[1] : "sqlite";
	wa_store_stats st;
	wa_retention *ret;
	wa_writer *w;
	pthread_t t;
	acc a = {0};
	char err[256] = "";
	int64_t deadline;

	su_init(backend);
	wa_store *s = su_open(NULL, 0);
	populate(s);
	populate_twoway(s);
	w = wa_writer_create(s, 10000, err, sizeof(err));
	CHECK(w != NULL);
	a.w = w;
	pthread_create(&t, NULL, accepter, &a);
	ret = wa_retention_start(s, w, 60000, 20, 16, err, sizeof(err));
	CHECK(ret != NULL);
	deadline = wa_mono_ms() + 20000;
	/* poll until retention has caught up (or the deadline) */
	for (;;) {
		struct timespec ts = {0, 2000000};

		if (s->ops->stats(s, &st, err, sizeof(err)) != 0 ||
		    wa_mono_ms() > deadline)
			break;
		/* OLD_IN + 1 inbound messages and OLD_IN idle contacts */
		if (st.count[WA_MSG_SENT] == 0 &&
		    wa_retention_deleted_twoway(ret) >= 2 * OLD_IN + 1)
			break;
		nanosleep(&ts, NULL);
	}
	pthread_join(t, NULL);
	CHECK_INT(st.count[WA_MSG_SENT], 0);
	CHECK_INT(wa_retention_deleted(ret), OLD);
	CHECK_INT(wa_retention_deleted_twoway(ret), 2 * OLD_IN + 1);
	wa_retention_stop(ret);
	CHECK_INT(a.ok, ACCEPTS);
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.count[WA_MSG_QUEUED], OLD_QUEUED + ACCEPTS);
	CHECK_INT(st.oldest_ms, 1000); /* the old queued ones stay */
	check_twoway(s);
	printf("%s: %d old finished messages deleted in batches of 16 "
	       "while %d accepts were committed\n",
	       backend, OLD, a.ok);
	wa_writer_destroy(w);
	wa_store_close(s);
	su_cleanup();
	return su_report();
}
