/* writer.c - the single store writer thread: group commit of every write */
#include "store/writer.h"

#include "base/metrics.h"
#include "base/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

typedef struct job {
	struct job *next;
	wa_writer_fn fn;
	void *ud;
	wa_writer_done done;
	void *done_ud;
	char err[WA_ERR_MAX];
} job;

struct wa_writer {
	wa_store *store;
	size_t queue_max;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *head, *tail; /* waiting jobs, oldest first */
	size_t depth;
	size_t writing; /* jobs in the group commit under way */
	bool stopping;  /* no new jobs; the thread ends once drained */
	bool here;      /* a caller runs a group on its own thread (run_here) */
	int64_t idle_since_us; /* mono: the last group ended; 0: none yet */
	int64_t here_idle_us;  /* run_here runs on its caller after this idle */
	bool joined; /* wa_writer_stop has joined (or is joining) it */
	void (*hook)(void *ud);
	void *hook_ud;
	atomic_ullong batches, jobs;
};

/* A wa_writer_run caller waiting for its job. */
typedef struct sync_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;
	char err[WA_ERR_MAX];
} sync_wait;

static void finish_job(job *j, int rc)
{
	if (j->done)
		j->done(j->done_ud, rc, rc == 0 ? NULL : j->err);
	free(j);
}

static void committed(wa_writer *w, size_t n)
{
	void (*hook)(void *ud);
	void *hook_ud;

	atomic_fetch_add(&w->batches, 1);
	atomic_fetch_add(&w->jobs, n);
	pthread_mutex_lock(&w->mu);
	hook = w->hook;
	hook_ud = w->hook_ud;
	pthread_mutex_unlock(&w->mu);
	if (hook)
		hook(hook_ud);
}

/* One job in a transaction of its own. */
static void run_alone(wa_writer *w, job *j)
{
	wa_store *s = w->store;
	int rc;

	int64_t t0 = wa_mono_us();

	j->err[0] = '\0';
	rc = s->ops->begin(s, j->err, sizeof(j->err));
	if (rc == 0) {
		rc = j->fn(s, j->ud, j->err, sizeof(j->err));
		if (rc == 0)
			rc = s->ops->commit(s, j->err, sizeof(j->err));
		if (rc != 0)
			s->ops->rollback(s);
	}
	if (rc != 0 && !j->err[0])
		snprintf(j->err, sizeof(j->err), "The store write failed.");
	if (rc == 0) {
		wa_metrics_commit(1, (double)(wa_mono_us() - t0) / 1e6);
		committed(w, 1);
	}
	finish_job(j, rc == 0 ? 0 : -1);
}

/* All jobs in one transaction; on any failure roll back and give every job
 * a transaction of its own, so only the bad one fails. */
static void run_batch(wa_writer *w, job *batch)
{
	wa_store *s = w->store;
	char err[WA_ERR_MAX];
	size_t n = 0;
	job *j, *next;
	int rc;

	if (!batch->next) {
		run_alone(w, batch);
		return;
	}
	int64_t t0 = wa_mono_us();

	err[0] = '\0';
	rc = s->ops->begin(s, err, sizeof(err));
	for (j = batch; rc == 0 && j; j = j->next, n++) {
		j->err[0] = '\0';
		rc = j->fn(s, j->ud, j->err, sizeof(j->err));
	}
	if (rc == 0)
		rc = s->ops->commit(s, err, sizeof(err));
	if (rc != 0) {
		s->ops->rollback(s);
		for (j = batch; j; j = next) {
			next = j->next;
			run_alone(w, j);
		}
		return;
	}
	wa_metrics_commit(n, (double)(wa_mono_us() - t0) / 1e6);
	committed(w, n);
	for (j = batch; j; j = next) {
		next = j->next;
		finish_job(j, 0);
	}
}

static void *writer_main(void *arg)
{
	wa_writer *w = arg;
	job *batch;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->here || (!w->head && !w->stopping))
			pthread_cond_wait(&w->cv, &w->mu);
		batch = w->head;
		w->head = w->tail = NULL;
		w->writing = w->depth;
		w->depth = 0;
		pthread_mutex_unlock(&w->mu);
		if (!batch)
			break; /* stopping and drained */
		run_batch(w, batch);
		pthread_mutex_lock(&w->mu);
		w->writing = 0;
		w->idle_since_us = wa_mono_us();
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

wa_writer *wa_writer_create(wa_store *store, size_t queue_max, char *err,
                            size_t err_len)
{
	wa_writer *w;
	int rc;

	if (!store || queue_max == 0) {
		snprintf(err, err_len,
		         "The writer needs a store and a queue bound above 0.");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, err_len, "Out of memory.");
		return NULL;
	}
	w->store = store;
	w->queue_max = queue_max;
	w->here_idle_us = WA_WRITER_HERE_IDLE_US;
	atomic_init(&w->batches, 0);
	atomic_init(&w->jobs, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc == 0)
		pthread_setname_np(w->thread, "wa-writer");
	if (rc != 0) {
		snprintf(err, err_len, "Cannot start the writer thread: %s.",
		         strerror(rc));
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

/* Queue a (and then b, when not NULL) in one step; under w->mu. */
static int enqueue2_locked(wa_writer *w, job *a, job *b, bool bounded)
{
	if (w->stopping || (bounded && w->depth >= w->queue_max))
		return -1;
	a->next = b;
	if (b)
		b->next = NULL;
	if (w->tail)
		w->tail->next = a;
	else
		w->head = a;
	w->tail = b ? b : a;
	w->depth += b ? 2 : 1;
	pthread_cond_signal(&w->cv);
	return 0;
}

static int enqueue(wa_writer *w, job *j, bool bounded)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = enqueue2_locked(w, j, NULL, bounded);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static job *new_job(wa_writer_fn fn, void *ud, wa_writer_done done,
                    void *done_ud)
{
	job *j = calloc(1, sizeof(*j));

	if (j) {
		j->fn = fn;
		j->ud = ud;
		j->done = done;
		j->done_ud = done_ud;
	}
	return j;
}

int wa_writer_submit(wa_writer *w, wa_writer_fn fn, void *ud,
                     wa_writer_done done, void *done_ud)
{
	job *j = new_job(fn, ud, done, done_ud);

	if (!j)
		return -1;
	if (enqueue(w, j, true) < 0) {
		free(j);
		return -1;
	}
	return 0;
}

static void sync_done(void *ud, int rc, const char *err)
{
	sync_wait *sw = ud;

	pthread_mutex_lock(&sw->mu);
	sw->rc = rc;
	snprintf(sw->err, sizeof(sw->err), "%s", err ? err : "");
	sw->done = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
}

/* fn, run synchronously, behind first (an asynchronous job) when given;
 * on the calling thread when here and the writer is idle. */
static int run_sync(wa_writer *w, job *first, wa_writer_fn fn, void *ud,
                    char *err, size_t err_len, bool here, bool *queued)
{
	sync_wait sw;
	job *j;
	int rc;

	*queued = false;
	if (pthread_equal(pthread_self(), w->thread)) {
		snprintf(err, err_len,
		         "wa_writer_run called from the writer thread.");
		return -1;
	}
	j = new_job(fn, ud, sync_done, &sw);
	if (!j) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	memset(&sw, 0, sizeof(sw));
	pthread_mutex_init(&sw.mu, NULL);
	pthread_cond_init(&sw.cv, NULL);
	pthread_mutex_lock(&w->mu);
	if (here && !w->stopping && !w->head && !w->writing && !w->here &&
	    wa_mono_us() - w->idle_since_us >= w->here_idle_us) {
		/* Nothing waits, no group is under way and none ended lately:
		 * the writer thread would wake only to run this, while this
		 * thread waits. The writer thread stays off the store until
		 * it is done. */
		w->here = true;
		w->writing = first ? 2 : 1;
		pthread_mutex_unlock(&w->mu);
		*queued = true;
		if (first)
			first->next = j;
		run_batch(w, first ? first : j);
		pthread_mutex_lock(&w->mu);
		w->here = false;
		w->writing = 0;
		w->idle_since_us = wa_mono_us();
		if (w->head || w->stopping) /* queued meanwhile, or a stop */
			pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	} else {
		rc = enqueue2_locked(w, first ? first : j, first ? j : NULL,
		                     false);
		pthread_mutex_unlock(&w->mu);
		if (rc < 0) {
			free(j);
			snprintf(err, err_len, "The store writer is stopping.");
			sw.rc = -1;
			goto out;
		}
		*queued = true;
	}
	pthread_mutex_lock(&sw.mu);
	while (!sw.done)
		pthread_cond_wait(&sw.cv, &sw.mu);
	pthread_mutex_unlock(&sw.mu);
	if (sw.rc != 0)
		snprintf(err, err_len, "%s", sw.err);
out:
	pthread_cond_destroy(&sw.cv);
	pthread_mutex_destroy(&sw.mu);
	return sw.rc;
}

int wa_writer_run(wa_writer *w, wa_writer_fn fn, void *ud, char *err,
                  size_t err_len)
{
	bool queued;

	return run_sync(w, NULL, fn, ud, err, err_len, false, &queued);
}

int wa_writer_run_here(wa_writer *w, wa_writer_fn first, void *first_ud,
                       wa_writer_done first_done, void *first_done_ud,
                       wa_writer_fn fn, void *ud, char *err, size_t err_len)
{
	job *a = NULL;
	bool queued;
	int rc;

	if (first &&
	    !(a = new_job(first, first_ud, first_done, first_done_ud))) {
		snprintf(err, err_len, "Out of memory.");
		if (first_done)
			first_done(first_done_ud, -1, err);
		return -1;
	}
	rc = run_sync(w, a, fn, ud, err, err_len, true, &queued);
	if (a && !queued) { /* stopping (or the writer thread): a is ours */
		snprintf(a->err, sizeof(a->err), "%s", err);
		finish_job(a, -1);
	}
	return rc;
}

void wa_writer_set_here_idle(wa_writer *w, int64_t us)
{
	pthread_mutex_lock(&w->mu);
	w->here_idle_us = us;
	pthread_mutex_unlock(&w->mu);
}

void wa_writer_on_commit(wa_writer *w, void (*hook)(void *ud), void *ud)
{
	pthread_mutex_lock(&w->mu);
	w->hook = hook;
	w->hook_ud = ud;
	pthread_mutex_unlock(&w->mu);
}

size_t wa_writer_depth(wa_writer *w, size_t *writing)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->depth;
	if (writing)
		*writing = w->writing;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void wa_writer_counts(wa_writer *w, unsigned long long *batches,
                      unsigned long long *jobs)
{
	if (batches)
		*batches = atomic_load(&w->batches);
	if (jobs)
		*jobs = atomic_load(&w->jobs);
}

void wa_writer_stop(wa_writer *w)
{
	bool joined;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	joined = w->joined;
	w->joined = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (!joined)
		pthread_join(w->thread, NULL);
}

void wa_writer_destroy(wa_writer *w)
{
	if (!w)
		return;
	wa_writer_stop(w);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
