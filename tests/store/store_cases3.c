/* store_cases3.c - store suite: claim ownership across handles (SQLite and
 * PostgreSQL), and PostgreSQL's multi-instance rules (fencing token,
 * parallel idempotency, schema version) */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

void su_cases3_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}

/* release_all at stop gives back only what this handle (process) claimed:
 * another instance's claims are its own. */
void su_case_release_own(void)
{
	wa_store *a = su_open(NULL, 0), *b = su_open_again();
	wa_message_rec c[2];
	char mine[WA_ID_MAX] = "", theirs[WA_ID_MAX] = "";
	size_t n;

	su_insert_simple(a, "o1", "e1", 100);
	su_insert_simple(a, "o2", "e2", 110);
	n = su_claim(a, 200, 9000, 1, c);
	CHECK_INT(n, 1);
	if (n == 1)
		snprintf(mine, sizeof(mine), "%s", c[0].id);
	su_free_recs(c, n);
	n = su_claim(b, 200, 9000, 1, c);
	CHECK_INT(n, 1);
	if (n == 1)
		snprintf(theirs, sizeof(theirs), "%s", c[0].id);
	su_free_recs(c, n);
	CHECK_INT(su_release_all(a, 300), 1);
	CHECK_INT(su_status(a, mine), WA_MSG_QUEUED);
	CHECK_INT(su_status(a, theirs), WA_MSG_SENDING);
	CHECK_INT(su_release_all(b, 301), 1);
	CHECK_INT(su_status(a, theirs), WA_MSG_QUEUED);
	wa_store_close(b);
	wa_store_close(a);
}

/* An outcome from a claim whose lease expired and that was claimed again
 * never overwrites the newer claim. */
void su_case_pg_fence(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[2], m;
	wa_outcome o;
	char err[256] = "";
	int64_t old_seq = 0, new_seq = 0;
	size_t n;
	int rc;

	su_insert_simple(s, "f1", "e1", 100);
	n = su_claim(s, 200, 1000, 1, c);
	CHECK_INT(n, 1);
	if (n == 1)
		old_seq = c[0].claim_seq;
	su_free_recs(c, n);
	CHECK(old_seq > 0);
	n = su_claim(s, 2000, 9000, 1, c); /* the lease ran out */
	CHECK_INT(n, 1);
	if (n == 1)
		new_seq = c[0].claim_seq;
	su_free_recs(c, n);
	CHECK(new_seq > old_seq);

	memset(&o, 0, sizeof(o));
	o.kind = WA_OUT_SENT;
	o.at_ms = 2100;
	o.provider_message_id = "OLD";
	o.claim_seq = old_seq;
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	rc = s->ops->finish(s, "f1", &o, err, sizeof(err));
	CHECK_INT(rc, 1); /* fenced: ignored */
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(su_status(s, "f1"), WA_MSG_SENDING);

	o.provider_message_id = "NEW";
	o.claim_seq = new_seq;
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->finish(s, "f1", &o, err, sizeof(err)), 0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->get(s, "f1", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_SENT);
	CHECK_STR(m.provider_message_id, "NEW");
	CHECK_INT(m.attempts, 2);
	wa_message_rec_free(&m);
	wa_store_close(s);
}

#define N_PAR 50

typedef struct par {
	wa_store *s;
	pthread_barrier_t *go;
	wa_insert_result r;
	int rc;
} par;

static void *par_insert(void *arg)
{
	par *p = arg;
	wa_new_message m;
	char err[256] = "";

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "msg-par-%p", (void *)p);
	m.external_id = "same-key";
	m.phone = "+5511999990000";
	m.body = "hi";
	m.provider = "mock";
	m.created_ms = 100;
	m.expires_ms = 100000;
	pthread_barrier_wait(p->go);
	p->rc = p->s->ops->begin(p->s, err, sizeof(err));
	if (p->rc == 0)
		p->rc = p->s->ops->insert(p->s, &m, &p->r, err, sizeof(err));
	if (p->rc == 0)
		p->rc = p->s->ops->commit(p->s, err, sizeof(err));
	else
		p->s->ops->rollback(p->s);
	if (p->rc != 0)
		fprintf(stderr, "parallel insert: %s\n", err);
	return NULL;
}

/* 50 identical sends at once, each on its own connection (as from many
 * instances): one message; the others replay it. */
void su_case_pg_parallel_insert(void)
{
	static par p[N_PAR];
	pthread_t t[N_PAR];
	pthread_barrier_t go;
	wa_store *first = su_open(NULL, 0);
	wa_store_stats st;
	char err[256];
	int created = 0, replayed = 0;

	pthread_barrier_init(&go, NULL, N_PAR);
	for (int i = 0; i < N_PAR; i++) {
		p[i].s = i == 0 ? first : su_open_again();
		p[i].go = &go;
	}
	for (int i = 0; i < N_PAR; i++)
		pthread_create(&t[i], NULL, par_insert, &p[i]);
	for (int i = 0; i < N_PAR; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N_PAR; i++) {
		CHECK_INT(p[i].rc, 0);
		created += p[i].r.kind == WA_INSERT_CREATED;
		replayed += p[i].r.kind == WA_INSERT_REPLAYED;
		CHECK_STR(p[i].r.id, p[0].r.id);
	}
	CHECK_INT(created, 1);
	CHECK_INT(replayed, N_PAR - 1);
	CHECK_INT(first->ops->stats(first, &st, err, sizeof(err)), 0);
	CHECK_INT(st.count[WA_MSG_QUEUED], 1);
	for (int i = N_PAR - 1; i >= 0; i--)
		wa_store_close(p[i].s);
	pthread_barrier_destroy(&go);
}

/* A database written by a newer wadispatch stops us with a sentence. */
void su_case_pg_newer_schema(void)
{
	wa_store *s = su_open(NULL, 0);
	char err[256] = "";
	PGconn *c;
	PGresult *r;

	wa_store_close(s);
	c = PQconnectdb(su_last_db());
	CHECK_INT(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "INSERT INTO wadispatch_schema (version) VALUES (999)");
	CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
	s = wa_store_open_pg(su_last_db(), err, sizeof(err));
	CHECK(s == NULL);
	CHECK_CONTAINS(err, "schema version 999 is newer than this program");
	wa_store_close(s);
}

static void new_msg(wa_new_message *m, const char *id, const char *ext,
                    const char *body, const char *tmpl, int64_t t)
{
	su_new_message(m, id, ext, "+5511999990000", body, t);
	m->template_json = tmpl;
}

/* Many inserts in one transaction (a group commit): new keys, a key twice
 * (replay and conflict within the batch), a key stored before, and text
 * that needs quoting anywhere it is sent (quotes, backslashes, braces,
 * commas, the word NULL, non-ASCII). Results are final after commit. */
void su_case_batch_insert(void)
{
	static const char body[] = "he said \"hi\" \\ {a,b} NULL ção ✓";
	static const char tmpl[] = "{\"name\":\"x\",\"params\":[\"1\",\"2\"]}";
	static const char ext_q[] = "ext \"quoted\", {braces} \\";
	wa_store *s = su_open(NULL, 0);
	wa_new_message m[6];
	wa_insert_result r[6];
	wa_message_rec g;
	char err[256] = "";
	int rc = 0;

	su_insert_simple(s, "b0", "old", 50);
	new_msg(&m[0], "b1", "k1", body, NULL, 100);
	new_msg(&m[1], "b2", ext_q, "two", tmpl, 101);
	new_msg(&m[2], "b3", "k1", body, NULL, 102);     /* replay of b1 */
	new_msg(&m[3], "b4", ext_q, "other", tmpl, 103); /* conflict */
	new_msg(&m[4], "b5", "old", "hi", NULL, 104);    /* replay of b0 */
	new_msg(&m[5], "b6", "k0", "last", NULL, 105);
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	for (int i = 0; i < 6 && rc == 0; i++)
		rc = s->ops->insert(s, &m[i], &r[i], err, sizeof(err));
	CHECK_INT(rc, 0);
	rc = s->ops->commit(s, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "batch commit: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_INT(r[0].kind, WA_INSERT_CREATED);
	CHECK_STR(r[0].id, "b1");
	CHECK_INT(r[1].kind, WA_INSERT_CREATED);
	CHECK_STR(r[1].id, "b2");
	CHECK_INT(r[2].kind, WA_INSERT_REPLAYED);
	CHECK_STR(r[2].id, "b1");
	CHECK_INT(r[2].created_ms, 100);
	CHECK_INT(r[3].kind, WA_INSERT_CONFLICT);
	CHECK_STR(r[3].id, "b2");
	CHECK_INT(r[4].kind, WA_INSERT_REPLAYED);
	CHECK_STR(r[4].id, "b0");
	CHECK_INT(r[4].created_ms, 50);
	CHECK_INT(r[5].kind, WA_INSERT_CREATED);
	CHECK_INT(r[5].status, WA_MSG_QUEUED);
	CHECK_INT(s->ops->get(s, "b1", &g, err, sizeof(err)), 0);
	CHECK_STR(g.body, body);
	CHECK(g.template_json == NULL);
	wa_message_rec_free(&g);
	CHECK_INT(s->ops->get_by_external(s, ext_q, &g, err, sizeof(err)), 0);
	CHECK_STR(g.id, "b2");
	CHECK_STR(g.template_json ? g.template_json : "", tmpl);
	wa_message_rec_free(&g);
	CHECK_INT(su_status(s, "b3"), -1);
	CHECK_INT(su_status(s, "b4"), -1);
	wa_store_close(s);
}

/* Retention: only finished messages created before the cut, oldest first,
 * with their history and webhook events; a deleted key can be used again
 * (the idempotency window is the retention). */
void su_case_purge(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_outbox_event ev[4];
	wa_store_stats st;
	wa_insert_result ir;
	char err[256] = "";
	long n;

	s->ops->set_outbox(s, true);
	su_make_sent(s, "p1", "e1", "P1", 100);
	su_make_sent(s, "p2", "e2", "P2", 200);
	su_make_sent(s, "p4", "e4", "P4", 10000);
	su_insert_simple(s, "q1", "e3", 150); /* after: make_sent claims */
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	n = s->ops->purge(s, 5000, 1, err, sizeof(err));
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(n, 1);
	CHECK_INT(su_status(s, "p1"), -1); /* the oldest went first */
	CHECK_INT(su_status(s, "p2"), WA_MSG_SENT);
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	n = s->ops->purge(s, 5000, 10, err, sizeof(err));
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(n, 1);
	CHECK_INT(su_status(s, "p2"), -1);
	CHECK_INT(su_status(s, "q1"), WA_MSG_QUEUED); /* not finished */
	CHECK_INT(su_status(s, "p4"), WA_MSG_SENT);   /* too young */
	/* their webhook events went with them */
	CHECK_INT(su_outbox_claim(s, 20000, 30000, 4, ev), 1);
	CHECK_STR(ev[0].message_id, "p4");
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.oldest_ms, 150);
	CHECK_INT(st.count[WA_MSG_SENT], 1);
	ir = su_insert_simple(s, "p1b", "e1", 20000);
	CHECK_INT(ir.kind, WA_INSERT_CREATED);
	wa_store_close(s);
}

/* Outcomes whose caller reads the result after the commit (the engine
 * does): a backend may send them with the commit; the results are the
 * same as one by one, and a later statement in the same transaction sees
 * them. */
void su_case_deferred_finish(void)
{
	wa_store *s = su_open(NULL, 0);
	wa_message_rec c[3], m;
	wa_outcome o[3];
	wa_store_stats st;
	char err[256] = "";
	int r[3];
	size_t n;

	su_insert_simple(s, "d1", "e1", 100);
	su_insert_simple(s, "d2", "e2", 101);
	su_insert_simple(s, "d3", "e3", 102);
	n = su_claim(s, 200, 9000, 2, c); /* d1, d2 */
	CHECK_INT(n, 2);
	memset(o, 0, sizeof(o));
	o[0].kind = WA_OUT_SENT;
	o[0].provider_message_id = "PD1";
	o[1].kind = WA_OUT_RETRY;
	o[1].next_attempt_ms = 5000;
	o[1].error = "HTTP 503";
	o[2].kind = WA_OUT_SENT; /* d3 is queued, not sending: ignored */
	for (int i = 0; i < 3; i++) {
		o[i].at_ms = 300;
		o[i].claim_seq = i < 2 && (size_t)i < n ? c[i].claim_seq : 0;
		o[i].result = &r[i];
	}
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	r[0] = s->ops->finish(s, "d1", &o[0], err, sizeof(err));
	r[1] = s->ops->finish(s, "d2", &o[1], err, sizeof(err));
	r[2] = s->ops->finish(s, "d3", &o[2], err, sizeof(err));
	/* a claim in the same transaction comes after them */
	n = 0;
	CHECK_INT(s->ops->claim(s, 4000, 9000, 1, &c[2], &n, err, sizeof(err)),
	          0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(r[0], 0);
	CHECK_INT(r[1], 0);
	CHECK_INT(r[2], 1);
	CHECK_INT(n, 1); /* d3 (d2 is due at 5000) */
	if (n == 1)
		CHECK_STR(c[2].id, "d3");
	su_free_recs(&c[2], n);
	su_free_recs(c, 2);
	CHECK_INT(s->ops->get(s, "d1", &m, err, sizeof(err)), 0);
	CHECK_INT(m.status, WA_MSG_SENT);
	CHECK_STR(m.provider_message_id, "PD1");
	wa_message_rec_free(&m);
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.count[WA_MSG_SENT], 1);
	CHECK_INT(st.count[WA_MSG_SENDING], 1);
	wa_store_close(s);
}

/* Webhook events across two instances: per message only its oldest event
 * is handed out, to one instance at a time, and the next one only after
 * it was delivered. */
void su_case_outbox_two(void)
{
	wa_store *a = su_open(NULL, 0), *b = su_open_again();
	wa_outbox_event ea[4], eb[4];
	size_t na, nb;

	a->ops->set_outbox(a, true);
	b->ops->set_outbox(b, true);
	su_make_sent(a, "w1", "e1", "PW1", 100);
	CHECK_INT(su_apply(a, "mock", "PW1", WA_MSG_DELIVERED, 200, NULL, NULL),
	          WA_APPLY_APPLIED);
	/* two events of w1: sent, then delivered */
	na = su_outbox_claim(a, 1000, 5000, 4, ea);
	CHECK_INT(na, 1);
	if (na == 1)
		CHECK_INT(ea[0].status, WA_MSG_SENT);
	nb = su_outbox_claim(b, 1000, 5000, 4, eb);
	CHECK_INT(nb, 0); /* leased by a; the next waits for it */
	if (na == 1)
		CHECK_INT(su_outbox_finish(a, ea[0].seq, true, 0, NULL), 0);
	nb = su_outbox_claim(b, 1001, 5000, 4, eb);
	CHECK_INT(nb, 1);
	if (nb == 1)
		CHECK_INT(eb[0].status, WA_MSG_DELIVERED);
	na = su_outbox_claim(a, 1002, 5000, 4, ea);
	CHECK_INT(na, 0);
	wa_store_close(b);
	wa_store_close(a);
}
