/* retention.c - the retention thread: deletes finished messages older than
 * RETENTION (with their history and webhook events), then inbound messages
 * and idle contacts that are not opted out (two-way messaging), in small
 * batches, each batch one writer job, so accepts queued behind it wait for
 * one small delete at most */
#include "store/retention.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"

struct wa_retention {
	wa_store *store;
	wa_writer *writer;
	int64_t keep_ms, interval_ms;
	size_t batch;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool stopping;
	atomic_ullong deleted, deleted_twoway;
};

typedef struct purge_job {
	int64_t before_ms;
	size_t max;
	long n;  /* finished messages deleted */
	long n2; /* inbound messages and contacts deleted (purge_twoway) */
} purge_job;

/* One batch in one writer job: finished messages, and once those come
 * back short, inbound messages and idle contacts in the same job (so a
 * pass with nothing to delete is still one job). */
static int purge_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	purge_job *j = ud;

	j->n = s->ops->purge(s, j->before_ms, j->max, err, err_len);
	if (j->n < 0)
		return -1;
	if ((size_t)j->n >= j->max || !s->ops->purge_twoway)
		return 0;
	j->n2 = s->ops->purge_twoway(s, j->before_ms, j->max, err, err_len);
	return j->n2 < 0 ? -1 : 0;
}

static bool stopping(wa_retention *r)
{
	bool v;

	pthread_mutex_lock(&r->mu);
	v = r->stopping;
	pthread_mutex_unlock(&r->mu);
	return v;
}

/* One pass: batches until both kinds come back short (purge_twoway counts
 * two tables, each up to max). */
static void pass(wa_retention *r)
{
	purge_job j = {.before_ms = wa_now_ms() - r->keep_ms, .max = r->batch};
	unsigned long long total = 0, total2 = 0;
	char err[WA_ERR_MAX] = "";

	do {
		j.n = j.n2 = 0;
		if (wa_writer_run(r->writer, purge_fn, &j, err, sizeof(err)) !=
		    0) {
			wa_log(WA_LOG_WARN, "retention",
			       "Cannot delete old messages: %s", err);
			break;
		}
		total += (unsigned long long)j.n;
		total2 += (unsigned long long)j.n2;
		atomic_fetch_add(&r->deleted, (unsigned long long)j.n);
		atomic_fetch_add(&r->deleted_twoway, (unsigned long long)j.n2);
	} while (((size_t)j.n >= r->batch || (size_t)j.n2 >= r->batch) &&
	         !stopping(r));
	if (total)
		wa_log(WA_LOG_INFO, "retention",
		       "Deleted %llu finished messages older than %lld s",
		       total, (long long)(r->keep_ms / 1000));
	if (total2)
		wa_log(WA_LOG_INFO, "retention",
		       "Deleted %llu inbound messages and idle contacts older "
		       "than %lld s",
		       total2, (long long)(r->keep_ms / 1000));
}

static void *retention_main(void *arg)
{
	wa_retention *r = arg;

	for (;;) {
		struct timespec ts;
		int64_t until;

		pass(r);
		until = wa_mono_ms() + r->interval_ms;
		ts = wa_mono_ts(until);
		pthread_mutex_lock(&r->mu);
		while (!r->stopping && wa_mono_ms() < until)
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		if (r->stopping) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		pthread_mutex_unlock(&r->mu);
	}
}

wa_retention *wa_retention_start(wa_store *store, wa_writer *w, int64_t keep_ms,
                                 int64_t interval_ms, size_t batch, char *err,
                                 size_t err_len)
{
	wa_retention *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int rc;

	if (!r) {
		snprintf(err, err_len, "Out of memory.");
		return NULL;
	}
	r->store = store;
	r->writer = w;
	r->keep_ms = keep_ms;
	r->interval_ms = interval_ms > 0 ? interval_ms : 60000;
	r->batch = batch ? batch : 500;
	atomic_init(&r->deleted, 0);
	atomic_init(&r->deleted_twoway, 0);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!store->ops->purge || keep_ms <= 0)
		return r; /* nothing to do: no thread */
	rc = pthread_create(&r->thread, NULL, retention_main, r);
	if (rc != 0) {
		snprintf(err, err_len, "Cannot start the retention thread: %s.",
		         strerror(rc));
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	pthread_setname_np(r->thread, "wa-retention");
	return r;
}

unsigned long long wa_retention_deleted(wa_retention *r)
{
	return r ? atomic_load(&r->deleted) : 0;
}

unsigned long long wa_retention_deleted_twoway(wa_retention *r)
{
	return r ? atomic_load(&r->deleted_twoway) : 0;
}

void wa_retention_stop(wa_retention *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->store->ops->purge && r->keep_ms > 0)
		pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
