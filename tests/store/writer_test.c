/* writer_test.c - the group-commit writer: concurrency, idempotency under
 * races, batching, per-job failure isolation, back-pressure, draining */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/writer.h"
#include "store_util.h"
#include "testing.h"

#define THREADS 8
#define PER_THREAD 200
#define SHARED 100 /* each thread submits every shared external id once */

/* a gate_fn is blocked in its transaction */
static atomic_bool in_gate;

/* A job that blocks the writer thread until opened, so the test controls
 * what is waiting when it lets go. */
typedef struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
	pthread_t ran_on;
} gate;

static void gate_init(gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->entered = g->open = false;
}

static int gate_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	gate *g = ud;

	pthread_mutex_lock(&g->mu);
	g->entered = true;
	g->ran_on = pthread_self();
	atomic_store(&in_gate, true);
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	atomic_store(&in_gate, false);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static void gate_wait_entered(gate *g)
{
	pthread_mutex_lock(&g->mu);
	while (!g->entered)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void gate_destroy(gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

/* One insert job and its outcome. */
typedef struct ins_job {
	wa_new_message m;
	char ext[64];
	bool fail_after; /* insert, then fail: must leave no trace */
	wa_insert_result res;
	int rc;
	char err[WA_ERR_MAX];
	pthread_t ran_on; /* the thread that ran ins_fn */
	bool saw_gate;    /* ins_fn ran while a gate_fn was blocked */
} ins_job;

/* Completion counting shared by all jobs of a test. */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static size_t n_done;

static int ins_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	ins_job *j = ud;

	j->ran_on = pthread_self();
	j->saw_gate = atomic_load(&in_gate);
	if (s->ops->insert(s, &j->m, &j->res, err, err_len) < 0)
		return -1;
	if (j->fail_after) {
		snprintf(err, err_len, "boom");
		return -1;
	}
	return 0;
}

static void ins_done(void *ud, int rc, const char *err)
{
	ins_job *j = ud;

	j->rc = rc;
	snprintf(j->err, sizeof(j->err), "%s", err ? err : "");
	pthread_mutex_lock(&done_mu);
	n_done++;
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
}

static void wait_done(size_t n)
{
	pthread_mutex_lock(&done_mu);
	while (n_done < n)
		pthread_cond_wait(&done_cv, &done_mu);
	pthread_mutex_unlock(&done_mu);
}

static void reset_done(void)
{
	pthread_mutex_lock(&done_mu);
	n_done = 0;
	pthread_mutex_unlock(&done_mu);
}

static void job_init(ins_job *j, const char *id, const char *ext)
{
	memset(j, 0, sizeof(*j));
	j->rc = 99;
	snprintf(j->m.id, sizeof(j->m.id), "%s", id);
	snprintf(j->ext, sizeof(j->ext), "%s", ext);
	j->m.external_id = j->ext;
	j->m.phone = "+5511999990000";
	j->m.body = "same body";
	j->m.provider = "mock";
	j->m.created_ms = 1000;
	j->m.expires_ms = 2000;
}

typedef struct submitter {
	wa_writer *w;
	int t;
	ins_job *jobs; /* PER_THREAD */
	int refused;
} submitter;

static void *submit_main(void *arg)
{
	submitter *sb = arg;
	char id[WA_ID_MAX], ext[64];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "msg-%d-%d", sb->t, i);
		if (i < SHARED)
			snprintf(ext, sizeof(ext), "shared-%d", i);
		else
			snprintf(ext, sizeof(ext), "own-%d-%d", sb->t, i);
		job_init(&sb->jobs[i], id, ext);
		if (wa_writer_submit(sb->w, ins_fn, &sb->jobs[i], ins_done,
		                     &sb->jobs[i]) < 0)
			sb->refused++;
	}
	return NULL;
}

static atomic_ullong hooks;

static void on_commit(void *ud)
{
	atomic_fetch_add(&hooks, 1);
}

/* 8 threads x 200 inserts, half racing on shared external ids. */
static void test_concurrent(wa_store *s, bool gated)
{
	static ins_job jobs[THREADS][PER_THREAD];
	submitter sb[THREADS];
	pthread_t th[THREADS];
	unsigned long long batches = 0, njobs = 0;
	int created[SHARED] = {0}, t, i, refused = 0, own_created = 0;
	wa_store_stats st;
	char err[256] = "";
	gate g;
	wa_writer *w = wa_writer_create(s, 100000, err, sizeof(err));
	struct timespec a, b;

	CHECK(w != NULL);
	if (!w)
		return;
	atomic_store(&hooks, 0);
	wa_writer_on_commit(w, on_commit, NULL);
	reset_done();
	gate_init(&g);
	if (gated) {
		CHECK_INT(wa_writer_submit(w, gate_fn, &g, NULL, NULL), 0);
		gate_wait_entered(&g);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (t = 0; t < THREADS; t++) {
		sb[t] = (submitter){.w = w, .t = t, .jobs = jobs[t]};
		pthread_create(&th[t], NULL, submit_main, &sb[t]);
	}
	for (t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		refused += sb[t].refused;
	}
	CHECK_INT(refused, 0);
	if (gated) {
		CHECK_INT(wa_writer_depth(w, NULL), THREADS * PER_THREAD);
		gate_open(&g);
	}
	wait_done(THREADS * PER_THREAD);
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (t = 0; t < THREADS; t++) {
		for (i = 0; i < PER_THREAD; i++) {
			ins_job *j = &jobs[t][i];

			CHECK_INT(j->rc, 0);
			if (i < SHARED) {
				if (j->res.kind == WA_INSERT_CREATED)
					created[i]++;
				else
					CHECK_INT(j->res.kind,
					          WA_INSERT_REPLAYED);
			} else if (j->res.kind == WA_INSERT_CREATED) {
				own_created++;
			}
		}
	}
	for (i = 0; i < SHARED; i++)
		CHECK_INT(created[i], 1);
	CHECK_INT(own_created, THREADS * (PER_THREAD - SHARED));
	CHECK_INT(s->ops->stats(s, &st, err, sizeof(err)), 0);
	CHECK_INT(st.count[WA_MSG_QUEUED],
	          SHARED + THREADS * (PER_THREAD - SHARED));
	wa_writer_counts(w, &batches, &njobs);
	CHECK_INT(njobs, THREADS * PER_THREAD + (gated ? 1 : 0));
	CHECK(batches < njobs);
	CHECK_INT(atomic_load(&hooks), batches);
	printf("%s %s: %d inserts in %.1f ms, %llu batches (%.0f inserts/s)\n",
	       su_backend(), gated ? "gated" : "free", THREADS * PER_THREAD,
	       (double)(b.tv_sec - a.tv_sec) * 1e3 +
	           (double)(b.tv_nsec - a.tv_nsec) / 1e6,
	       batches,
	       THREADS * PER_THREAD /
	           ((double)(b.tv_sec - a.tv_sec) +
	            (double)(b.tv_nsec - a.tv_nsec) / 1e9));
	wa_writer_destroy(w);
	gate_destroy(&g);
}

/* One failing job in a batch fails alone, and leaves nothing behind. */
static void test_failure_isolation(wa_store *s)
{
	ins_job j[3];
	wa_message_rec m;
	char err[256] = "";
	gate g;
	wa_writer *w = wa_writer_create(s, 16, err, sizeof(err));

	CHECK(w != NULL);
	if (!w)
		return;
	reset_done();
	gate_init(&g);
	CHECK_INT(wa_writer_submit(w, gate_fn, &g, NULL, NULL), 0);
	gate_wait_entered(&g);
	job_init(&j[0], "iso-a", "iso-a");
	job_init(&j[1], "iso-b", "iso-b");
	j[1].fail_after = true;
	job_init(&j[2], "iso-c", "iso-c");
	CHECK_INT(wa_writer_submit(w, ins_fn, &j[0], ins_done, &j[0]), 0);
	CHECK_INT(wa_writer_submit(w, ins_fn, &j[1], ins_done, &j[1]), 0);
	CHECK_INT(wa_writer_submit(w, ins_fn, &j[2], ins_done, &j[2]), 0);
	gate_open(&g);
	wait_done(3);
	CHECK_INT(j[0].rc, 0);
	CHECK_INT(j[1].rc, -1);
	CHECK_STR(j[1].err, "boom");
	CHECK_INT(j[2].rc, 0);
	CHECK_INT(s->ops->get_by_external(s, "iso-a", &m, err, sizeof(err)), 0);
	wa_message_rec_free(&m);
	CHECK_INT(s->ops->get_by_external(s, "iso-b", &m, err, sizeof(err)), 1);
	CHECK_INT(s->ops->get_by_external(s, "iso-c", &m, err, sizeof(err)), 0);
	wa_message_rec_free(&m);
	wa_writer_destroy(w);
	gate_destroy(&g);
}

typedef struct run_arg {
	wa_writer *w;
	ins_job job;
	int rc;
	char err[256];
} run_arg;

static void *run_main(void *arg)
{
	run_arg *ra = arg;

	ra->rc =
	    wa_writer_run(ra->w, ins_fn, &ra->job, ra->err, sizeof(ra->err));
	return NULL;
}

static int reenter_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	wa_writer *w = ud;
	char e[128];

	/* wa_writer_run from the writer thread must refuse, not deadlock */
	if (wa_writer_run(w, ins_fn, NULL, e, sizeof(e)) != -1) {
		snprintf(err, err_len, "re-entry was accepted");
		return -1;
	}
	return 0;
}

/* queue_max bounds submit, not run; stop drains the queue, then refuses. */
static void test_backpressure_and_drain(wa_store *s)
{
	ins_job j[40];
	run_arg ra;
	pthread_t th;
	char err[256] = "";
	gate g;
	wa_writer *w = wa_writer_create(s, 4, err, sizeof(err));
	int i, accepted = 0;

	CHECK(w != NULL);
	if (!w)
		return;
	reset_done();
	gate_init(&g);
	CHECK_INT(wa_writer_submit(w, gate_fn, &g, NULL, NULL), 0);
	gate_wait_entered(&g);
	for (i = 0; i < 5; i++) {
		char id[32];

		snprintf(id, sizeof(id), "bp-%d", i);
		job_init(&j[i], id, id);
		if (wa_writer_submit(w, ins_fn, &j[i], ins_done, &j[i]) == 0)
			accepted++;
	}
	CHECK_INT(accepted, 4);
	CHECK_INT(wa_writer_depth(w, NULL), 4);
	/* the blocking run ignores the bound */
	memset(&ra, 0, sizeof(ra));
	ra.w = w;
	job_init(&ra.job, "bp-run", "bp-run");
	CHECK_INT(pthread_create(&th, NULL, run_main, &ra), 0);
	while (wa_writer_depth(w, NULL) < 5)
		sched_yield();
	CHECK_INT(wa_writer_depth(w, NULL), 5);
	gate_open(&g);
	pthread_join(th, NULL);
	CHECK_INT(ra.rc, 0);
	CHECK_INT(ra.job.res.kind, WA_INSERT_CREATED);
	wait_done(4);
	CHECK_INT(wa_writer_run(w, reenter_fn, w, err, sizeof(err)), 0);
	wa_writer_destroy(w);
	gate_destroy(&g);

	/* destroy runs everything still queued */
	w = wa_writer_create(s, 64, err, sizeof(err));
	CHECK(w != NULL);
	if (!w)
		return;
	reset_done();
	gate_init(&g);
	CHECK_INT(wa_writer_submit(w, gate_fn, &g, NULL, NULL), 0);
	gate_wait_entered(&g);
	for (i = 0; i < 30; i++) {
		char id[32];

		snprintf(id, sizeof(id), "drain-%d", i);
		job_init(&j[i], id, id);
		CHECK_INT(wa_writer_submit(w, ins_fn, &j[i], ins_done, &j[i]),
		          0);
	}
	gate_open(&g);
	wa_writer_stop(w);
	pthread_mutex_lock(&done_mu);
	CHECK_INT(n_done, 30);
	pthread_mutex_unlock(&done_mu);
	for (i = 0; i < 30; i++)
		CHECK_INT(j[i].rc, 0);
	/* stopped, not yet freed: late writers are refused, not lost */
	job_init(&j[30], "late", "late");
	CHECK_INT(wa_writer_submit(w, ins_fn, &j[30], ins_done, &j[30]), -1);
	CHECK_INT(wa_writer_run(w, ins_fn, &j[30], err, sizeof(err)), -1);
	CHECK_STR(err, "The store writer is stopping.");
	wa_writer_stop(w); /* a second stop does nothing */
	wa_writer_destroy(w);
	gate_destroy(&g);
	CHECK(wa_writer_create(s, 0, err, sizeof(err)) == NULL);
	wa_writer_destroy(NULL);
}

typedef struct closed_arg {
	wa_writer *w;
	wa_store *s;
	int t, failures;
} closed_arg;

/* Like HTTP clients: each waits for its commit before the next insert. */
static void *closed_main(void *arg)
{
	closed_arg *ca = arg;
	char id[WA_ID_MAX], err[256];
	ins_job j;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "cl-%d-%d", ca->t, i);
		job_init(&j, id, id);
		if (wa_writer_run(ca->w, ins_fn, &j, err, sizeof(err)) != 0 ||
		    j.res.kind != WA_INSERT_CREATED)
			ca->failures++;
	}
	return NULL;
}

static atomic_bool readers_stop;

/* Readers run against committed data while the writer works. */
static void *reader_main(void *arg)
{
	closed_arg *ca = arg;
	wa_store_stats st;
	wa_message_rec m;
	char err[256], id[WA_ID_MAX];
	int i = 0;

	while (!atomic_load(&readers_stop)) {
		snprintf(id, sizeof(id), "cl-%d-%d", i % THREADS, i % 50);
		if (ca->s->ops->get_by_external(ca->s, id, &m, err,
		                                sizeof(err)) == 0) {
			if (strcmp(m.external_id, id) != 0 || m.n_history < 1)
				ca->failures++;
			wa_message_rec_free(&m);
		}
		if (ca->s->ops->stats(ca->s, &st, err, sizeof(err)) != 0)
			ca->failures++;
		i++;
	}
	return NULL;
}

static void test_closed_loop(wa_store *s)
{
	closed_arg ca[THREADS], ra[2];
	pthread_t th[THREADS], rt[2];
	unsigned long long batches = 0, njobs = 0;
	char err[256] = "";
	wa_writer *w = wa_writer_create(s, 1024, err, sizeof(err));
	struct timespec a, b;
	double secs;
	int t, failures = 0;

	CHECK(w != NULL);
	if (!w)
		return;
	atomic_store(&readers_stop, false);
	for (t = 0; t < 2; t++) {
		ra[t] = (closed_arg){.w = w, .s = s, .t = t};
		pthread_create(&rt[t], NULL, reader_main, &ra[t]);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (t = 0; t < THREADS; t++) {
		ca[t] = (closed_arg){.w = w, .s = s, .t = t};
		pthread_create(&th[t], NULL, closed_main, &ca[t]);
	}
	for (t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		failures += ca[t].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	atomic_store(&readers_stop, true);
	for (t = 0; t < 2; t++) {
		pthread_join(rt[t], NULL);
		failures += ra[t].failures;
	}
	CHECK_INT(failures, 0);
	wa_writer_counts(w, &batches, &njobs);
	CHECK_INT(njobs, THREADS * PER_THREAD);
	secs = (double)(b.tv_sec - a.tv_sec) +
	       (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%s closed loop: %d clients x %d inserts, %llu batches, "
	       "%.0f inserts/s\n",
	       su_backend(), THREADS, PER_THREAD, batches,
	       THREADS * PER_THREAD / secs);
	wa_writer_destroy(w);
}

/* Let the writer idle past WA_WRITER_HERE_IDLE_US since its last group. */
static void writer_idle(void)
{
	struct timespec t = {0, WA_WRITER_HERE_IDLE_US * 1000L + 5000000L};

	nanosleep(&t, NULL);
}

/* The asynchronous job and the synchronous one of wa_writer_run_here go
 * into one transaction (one batch), even on an idle writer that the first
 * would wake alone; a stopped writer runs neither and tells the first. */
static void test_run_here(wa_store *s)
{
	unsigned long long b0 = 0, j0 = 0, b1 = 0, j1 = 0;
	char err[256] = "";
	wa_writer *w = wa_writer_create(s, 16, err, sizeof(err));
	ins_job j[4];
	wa_message_rec m;

	CHECK(w != NULL);
	if (!w)
		return;
	for (int round = 0; round < 20; round++) {
		char id[WA_ID_MAX], ext[64];

		reset_done();
		snprintf(id, sizeof(id), "after-a-%d", round);
		snprintf(ext, sizeof(ext), "after-a-%d", round);
		job_init(&j[0], id, ext);
		snprintf(id, sizeof(id), "after-b-%d", round);
		snprintf(ext, sizeof(ext), "after-b-%d", round);
		job_init(&j[1], id, ext);
		wa_writer_counts(w, &b0, &j0);
		/* even rounds after the writer has idled: this thread runs
		 * them; odd rounds with an idle time never reached (as when
		 * a group ended lately): the writer does */
		wa_writer_set_here_idle(
		    w, round % 2 == 0 ? WA_WRITER_HERE_IDLE_US : INT64_MAX / 2);
		if (round % 2 == 0)
			writer_idle();
		CHECK_INT(wa_writer_run_here(w, ins_fn, &j[0], ins_done, &j[0],
		                             ins_fn, &j[1], err, sizeof(err)),
		          0);
		wait_done(1);
		wa_writer_counts(w, &b1, &j1);
		CHECK_INT(j[0].rc, 0);
		CHECK_INT(j1 - j0, 2);
		CHECK_INT(b1 - b0, 1);
		CHECK(pthread_equal(j[0].ran_on, j[1].ran_on));
		CHECK(pthread_equal(j[0].ran_on, pthread_self()) ==
		      (round % 2 == 0));
	}
	/* without a first job too */
	wa_writer_set_here_idle(w, WA_WRITER_HERE_IDLE_US);
	writer_idle();
	job_init(&j[2], "here-alone", "here-alone");
	CHECK_INT(wa_writer_run_here(w, NULL, NULL, NULL, NULL, ins_fn, &j[2],
	                             err, sizeof(err)),
	          0);
	CHECK(pthread_equal(j[2].ran_on, pthread_self()));
	CHECK_INT(
	    s->ops->get_by_external(s, "after-a-19", &m, err, sizeof(err)), 0);
	wa_message_rec_free(&m);
	CHECK_INT(
	    s->ops->get_by_external(s, "here-alone", &m, err, sizeof(err)), 0);
	wa_message_rec_free(&m);
	wa_writer_stop(w);
	reset_done();
	job_init(&j[2], "after-c", "after-c");
	job_init(&j[3], "after-d", "after-d");
	CHECK_INT(wa_writer_run_here(w, ins_fn, &j[2], ins_done, &j[2], ins_fn,
	                             &j[3], err, sizeof(err)),
	          -1);
	wait_done(1);
	CHECK_INT(j[2].rc, -1);
	CHECK_INT(s->ops->get_by_external(s, "after-c", &m, err, sizeof(err)),
	          1);
	wa_writer_destroy(w);
}

/* wa_writer_run_here on a thread of its own, for the tests below. */
typedef struct here_call {
	wa_writer *w;
	wa_writer_fn fn;
	void *ud;
	int rc;
	pthread_t self;
} here_call;

static void *here_main(void *arg)
{
	here_call *c = arg;
	char err[256];

	c->self = pthread_self();
	c->rc = wa_writer_run_here(c->w, NULL, NULL, NULL, NULL, c->fn, c->ud,
	                           err, sizeof(err));
	return NULL;
}

static void *stop_main(void *arg)
{
	wa_writer_stop(arg);
	return NULL;
}

/* Wait up to ms for the writer's queue to hold want jobs, or for it to
 * differ from want when differ: whether it got there. */
static bool depth_becomes(wa_writer *w, size_t want, bool differ, int ms)
{
	struct timespec step = {0, 2 * 1000000L};

	for (int i = 0; i <= ms / 2; i++) {
		size_t d = wa_writer_depth(w, NULL);

		if (differ ? d != want : d == want)
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

/* wa_writer_run_here runs on its caller only when the writer is idle, and
 * then the writer thread keeps off the store until it is done: a job
 * queued meanwhile waits for it, and so does a stop. */
static void test_run_here_exclusive(wa_store *s)
{
	char err[256] = "";
	wa_writer *w = wa_writer_create(s, 16, err, sizeof(err));
	here_call c = {0};
	pthread_t th, st;
	ins_job j[2];
	gate g;

	CHECK(w != NULL);
	if (!w)
		return;
	/* a group under way: the call queues and the writer thread runs it */
	gate_init(&g);
	CHECK_INT(wa_writer_submit(w, gate_fn, &g, NULL, NULL), 0);
	gate_wait_entered(&g);
	job_init(&j[0], "excl-a", "excl-a");
	c = (here_call){.w = w, .fn = ins_fn, .ud = &j[0], .rc = 99};
	pthread_create(&th, NULL, here_main, &c);
	CHECK(depth_becomes(w, 1, false, 10000));
	gate_open(&g);
	pthread_join(th, NULL);
	CHECK_INT(c.rc, 0);
	CHECK(!pthread_equal(j[0].ran_on, c.self));
	gate_destroy(&g);

	/* run here (the gate blocks it): a job submitted meanwhile stays
	 * queued, and runs after it, on the writer thread */
	gate_init(&g);
	writer_idle();
	c = (here_call){.w = w, .fn = gate_fn, .ud = &g, .rc = 99};
	pthread_create(&th, NULL, here_main, &c);
	gate_wait_entered(&g);
	reset_done();
	job_init(&j[1], "excl-b", "excl-b");
	CHECK_INT(wa_writer_submit(w, ins_fn, &j[1], ins_done, &j[1]), 0);
	CHECK(!depth_becomes(w, 1, true, 100));
	/* and a stop waits for the call too */
	pthread_create(&st, NULL, stop_main, w);
	gate_open(&g);
	pthread_join(th, NULL);
	pthread_join(st, NULL);
	wait_done(1);
	CHECK_INT(c.rc, 0);
	CHECK(pthread_equal(g.ran_on, c.self));
	CHECK_INT(j[1].rc, 0);
	CHECK(!j[1].saw_gate);
	CHECK(!pthread_equal(j[1].ran_on, c.self));
	gate_destroy(&g);
	wa_writer_destroy(w);
}

int main(int argc, char **argv)
{
	/* postgresql only when asked (tests/lib/pgtmp.sh sets it up) */
	static const char *const backends[] = {"sqlite", "memory",
	                                       "postgresql"};
	size_t b;

	for (b = 0; b < 3; b++) {
		if (argc < 2 && strcmp(backends[b], "postgresql") == 0)
			continue;
		wa_store *s;

		if (argc > 1 && strcmp(argv[1], backends[b]) != 0)
			continue;
		su_init(backends[b]);
		s = su_open(NULL, 0);
		test_concurrent(s, true);
		wa_store_close(s);
		s = su_open(NULL, 0);
		test_concurrent(s, false);
		wa_store_close(s);
		s = su_open(NULL, 0);
		test_closed_loop(s);
		wa_store_close(s);
		s = su_open(NULL, 0);
		test_failure_isolation(s);
		test_backpressure_and_drain(s);
		test_run_here(s);
		test_run_here_exclusive(s);
		wa_store_close(s);
		su_cleanup();
	}
	return su_report();
}
