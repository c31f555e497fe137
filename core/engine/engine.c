/* engine.c - the delivery engine: claimer, worker pool, pause, stop */
#include "engine_int.h"
#include "ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "timeutil.h"

#define CLAIM_SAFETY_MS 1000 /* the longest the claimer sleeps unasked */
#define CLAIM_RECHECK_MS 20  /* store says due but gave nothing: look again */

/* ---- claiming --------------------------------------------------------- */

typedef struct claim_ctx {
	int64_t now, lease_until;
	size_t max, n;
	wa_message_rec *out;
} claim_ctx;

static int claim_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	claim_ctx *c = ud;

	c->n = 0;
	return s->ops->claim(s, c->now, c->lease_until, c->max, c->out, &c->n,
	                     err, err_len);
}

typedef struct release_ctx {
	wa_message_rec *recs;
	size_t n;
	int64_t now;
} release_ctx;

static int release_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	release_ctx *c = ud;
	wa_outcome o = {
	    .kind = WA_OUT_RELEASE, .at_ms = c->now, .next_attempt_ms = c->now};

	for (size_t i = 0; i < c->n; i++)
		if (s->ops->finish(s, c->recs[i].id, &o, err, err_len) < 0)
			return -1;
	return 0;
}

static void http_done(void *ud, bool completed)
{
	wa_job *j = ud;

	if (completed) {
		wa_job_complete(j);
	} else { /* abandoned at stop: release_all gives it back */
		wa_engine *e = j->e;

		pthread_mutex_lock(&e->mu);
		wa_engine_land_locked(e, j);
		pthread_cond_broadcast(&e->idle_cond);
		pthread_mutex_unlock(&e->mu);
		wa_job_free(j);
	}
}

/* The job whose outcome the store refused for message id, taken off the
 * unrecorded list; NULL if none. Under mu. */
static wa_job *take_unrecorded_locked(wa_engine *e, const char *id)
{
	for (wa_job **pp = &e->unrecorded; *pp; pp = &(*pp)->next) {
		wa_job *j = *pp;

		if (strcmp(j->rec.id, id) == 0) {
			*pp = j->next;
			return j;
		}
	}
	return NULL;
}

/* Is a job for message id in flight here? Under mu. */
static bool flying_locked(wa_engine *e, const char *id)
{
	for (wa_job *j = e->flying; j; j = j->fl_next)
		if (strcmp(j->rec.id, id) == 0)
			return true;
	return false;
}

/* Hand a claimed job to the pool or the HTTP loop. Under mu. */
static void dispatch_locked(wa_engine *e, wa_job *j)
{
	if (e->http) {
		j->called = true;
		j->call_start_us = wa_mono_us();
		if (wa_httpexec_submit(e->hx, &j->msg, &j->res, http_done, j) ==
		    0)
			return;
		/* not expected while running; a worker completes it as RETRY */
		j->res.result_class = WA_RESULT_RETRY;
		snprintf(j->res.error, sizeof(j->res.error),
		         "HTTP executor stopped");
	}
	j->next = NULL;
	if (e->work_tail)
		e->work_tail->next = j;
	else
		e->work_head = j;
	e->work_tail = j;
	pthread_cond_signal(&e->work_cond);
}

/* Claim up to want messages and start them. Called without mu; returns the
 * number started, or -1 on a store error. */
static long claim_and_start(wa_engine *e, size_t want, bool probe)
{
	wa_job *rewrite = NULL; /* claimed again while unrecorded */
	size_t n_rewrite = 0;   /* claimed again while in flight */
	wa_message_rec *recs = calloc(want, sizeof(*recs));
	claim_ctx c = {0};
	char err[WA_ERR_MAX] = "";
	int64_t now;

	if (!recs)
		return -1;
	c.now = wa_now_ms();
	c.lease_until = c.now + e->cfg.lease_ms;
	c.max = want;
	c.out = recs;
	if (wa_writer_run(e->writer, claim_fn, &c, err, sizeof(err)) != 0) {
		wa_log(WA_LOG_ERROR, "engine", "Cannot claim messages: %s",
		       err);
		for (size_t i = 0; i < c.n; i++)
			wa_message_rec_free(&recs[i]);
		free(recs);
		return -1;
	}
	now = wa_now_ms();
	pthread_mutex_lock(&e->mu);
	if (e->stopping && c.n) {
		release_ctx r = {recs, c.n, now};

		pthread_mutex_unlock(&e->mu);
		if (wa_writer_run(e->writer, release_fn, &r, err,
		                  sizeof(err)) != 0)
			wa_log(WA_LOG_WARN, "engine",
			       "Cannot release claimed messages at stop: %s",
			       err);
		for (size_t i = 0; i < c.n; i++)
			wa_message_rec_free(&recs[i]);
		free(recs);
		return 0;
	}
	if (c.n < want)
		wa_ratelimit_put_back(&e->rl, want - c.n);
	for (size_t i = 0; i < c.n; i++) {
		wa_job *j = take_unrecorded_locked(e, recs[i].id);

		if (j) { /* its lease ran out: write the outcome, no new call */
			wa_message_rec_free(&recs[i]);
			wa_ratelimit_put_back(&e->rl, 1);
			j->next = rewrite;
			rewrite = j;
			n_rewrite++;
			continue;
		}
		if (flying_locked(e, recs[i].id)) {
			/* Its lease ran out during a provider call that is
			 * still running (a call longer than LEASE_SECONDS): the
			 * claim renewed the lease; the running call records the
			 * outcome. A second call would send it twice. */
			wa_log(WA_LOG_WARN, "engine",
			       "%s was claimed again during its provider call, "
			       "which has outlasted LEASE_SECONDS: not calling "
			       "again.",
			       recs[i].id);
			wa_message_rec_free(&recs[i]);
			wa_ratelimit_put_back(&e->rl, 1);
			n_rewrite++;
			continue;
		}
		j = wa_job_new(e, &recs[i]);

		if (!j) { /* its lease runs out and someone claims it again */
			wa_message_rec_free(&recs[i]);
			continue;
		}
		wa_engine_fly_locked(e, j);
		if (j->rec.expires_ms > 0 && now >= j->rec.expires_ms) {
			j->out.kind = WA_OUT_FAILED;
			j->out.at_ms = now;
			snprintf(j->error, sizeof(j->error), "expired");
			j->out.error = j->error;
			j->reached = WA_MSG_FAILED;
			atomic_fetch_add(&e->n_failed, 1);
			wa_ratelimit_put_back(&e->rl, 1);
			if (probe)
				e->probe_out =
				    false; /* no call made: probe again */
			pthread_mutex_unlock(&e->mu);
			wa_job_finish(j);
			pthread_mutex_lock(&e->mu);
			continue;
		}
		j->probe = probe;
		atomic_fetch_add(&e->n_attempts, 1);
		dispatch_locked(e, j);
	}
	pthread_mutex_unlock(&e->mu);
	free(recs);
	while (rewrite) {
		wa_job *j = rewrite;

		rewrite = j->next;
		wa_log(WA_LOG_WARN, "engine",
		       "Claimed %s again while its last attempt was still "
		       "unrecorded: recording that attempt instead of calling "
		       "the provider again.",
		       j->rec.id);
		wa_job_finish(j);
	}
	/* What was rewritten made no provider call (a probe among them
	 * included): count only what started. */
	return (long)(c.n - n_rewrite);
}

static struct timespec mono_ts(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
	                      .tv_nsec = (long)(ms % 1000) * 1000000};
	return ts;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Ask the store when work is due; under mu (dropped for the read). 1 when
 * something is due now; 0 when not, with *until (mono) set to when it is
 * (or to a safety recheck when nothing is pending); -1 when the store could
 * not say (*until set to a recheck too). */
static int due_now(wa_engine *e, int64_t *until)
{
	int64_t due = 0, in;
	char err[WA_ERR_MAX];
	int rc;

	pthread_mutex_unlock(&e->mu);
	rc = e->store->ops->next_due(e->store, &due, err, sizeof(err));
	pthread_mutex_lock(&e->mu);
	if (rc < 0) {
		wa_log(WA_LOG_WARN, "engine",
		       "Cannot read the next due time: %s", err);
		*until = wa_mono_ms() + CLAIM_SAFETY_MS;
		return -1;
	}
	if (rc != 0) {
		*until = wa_mono_ms() + CLAIM_SAFETY_MS;
		return 0;
	}
	in = due - wa_now_ms();
	if (in <= 0)
		return 1;
	*until = wa_mono_ms() + in;
	return 0;
}

/* The claimer: claims what can start now, tells waiters, keeps time. It
 * consults next_due (a read) before claiming (a write), so a kick after
 * every commit never turns into a loop of empty claims. */
static void *claimer_main(void *arg)
{
	wa_engine *e = arg;
	bool dry = false;      /* nothing due before dry_until */
	bool check = true;     /* ask next_due before the next claim */
	int64_t dry_until = 0; /* mono */

	pthread_mutex_lock(&e->mu);
	while (!e->shutdown) {
		int64_t now = wa_mono_ms(), wake = now + CLAIM_SAFETY_MS;
		int64_t next_deadline;
		wa_job *done = e->done_head;
		size_t cap = 0, want = 0;
		bool probe = false;
		long got;

		e->done_head = NULL;
		if (e->kicked) {
			e->kicked = false;
			dry = false;
			check = true;
		}
		if (dry && now >= dry_until) {
			dry = false;
			check = true;
		}
		pthread_mutex_unlock(&e->mu);
		wa_engine_notify_done(e, done);
		wa_engine_rerecord(e, false);
		next_deadline = wa_engine_expire_waiters(e, false);
		if (next_deadline != INT64_MAX)
			wake = min64(wake, now + (next_deadline - wa_now_ms()));
		pthread_mutex_lock(&e->mu);

		if (!e->stopping && e->in_flight < e->max_inflight)
			cap = e->max_inflight - e->in_flight;
		if (e->unrecorded)
			wake = min64(wake, e->rerecord_at);
		if (cap && e->paused) {
			if (e->probe_out) {
				cap = 0;
			} else if (now < e->probe_at) {
				wake = min64(wake, e->probe_at);
				cap = 0;
			} else {
				cap = 1;
				probe = true;
			}
		}
		if (cap && !dry && check) {
			int due = due_now(e, &dry_until);

			if (due > 0)
				check = false;
			else
				dry = true;
			/* A probe is due but no message is: the message that
			 * paused it was canceled or expired, and there is
			 * nothing to probe with. Resume; the next message sent
			 * is the test, and CONFIG pauses again. Otherwise
			 * /ready would stay 503 until a message came, which a
			 * load balancer reading /ready would never send.
			 * (Re-read: due_now let go of the lock.) */
			if (due == 0 && probe && e->paused && !e->probe_out &&
			    wa_mono_ms() >= e->probe_at)
				wa_engine_unpause(
				    e, ": no message is due to probe with; "
				       "delivery resumes and the next message "
				       "sent is the test");
			if (e->kicked || e->done_head)
				continue;
		}
		if (cap && !dry) {
			int64_t now_us = wa_mono_us();

			want = wa_ratelimit_take(&e->rl, now_us, cap);
			if (!want)
				wake = min64(wake, now +
				                       wa_ratelimit_wait_us(
				                           &e->rl, now_us) /
				                           1000 +
				                       1);
		}
		if (want) {
			if (probe)
				e->probe_out = true;
			pthread_mutex_unlock(&e->mu);
			got = claim_and_start(e, want, probe);
			pthread_mutex_lock(&e->mu);
			if (probe && got <= 0)
				e->probe_out = false;
			if (got <
			    0) { /* store trouble: try again a bit later */
				wa_ratelimit_put_back(&e->rl, want);
				dry = true;
				dry_until = wa_mono_ms() + CLAIM_SAFETY_MS;
				continue;
			}
			if ((size_t)got == want)
				continue; /* maybe more is due: go again */
			check = true; /* ran dry: ask when the next is due */
			if (got ==
			    0) { /* said due, gave nothing: do not spin */
				dry = true;
				dry_until = wa_mono_ms() + CLAIM_RECHECK_MS;
			}
			continue;
		}
		if (dry)
			wake = min64(wake, dry_until);
		if (e->done_head || e->kicked || e->shutdown)
			continue;
		{
			struct timespec ts =
			    mono_ts(wake > now ? wake : now + 1);

			pthread_cond_timedwait(&e->claim_cond, &e->mu, &ts);
		}
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* ---- the blocking-send worker pool ------------------------------------- */

static void *worker_main(void *arg)
{
	wa_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		wa_job *j;

		while (!e->work_head && !e->shutdown)
			pthread_cond_wait(&e->work_cond, &e->mu);
		if (!e->work_head)
			break;
		j = e->work_head;
		e->work_head = j->next;
		if (!e->work_head)
			e->work_tail = NULL;
		pthread_mutex_unlock(&e->mu);
		if (e->http) /* a job the HTTP loop refused */
			wa_job_complete(j);
		else
			wa_job_run_send(j);
		pthread_mutex_lock(&e->mu);
	}
	e->n_exited++;
	pthread_cond_broadcast(&e->idle_cond);
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* ---- public ------------------------------------------------------------- */

wa_engine *wa_engine_create(const wa_engine_config *cfg, wa_store *store,
                            wa_writer *writer, wa_loaded_provider *provider,
                            char *err, size_t err_len)
{
	wa_engine *e;
	pthread_condattr_t ca;

	if (!cfg || !store || !writer || !provider || !provider->table) {
		snprintf(err, err_len,
		         "The engine needs a store, a writer and a provider.");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, err_len, "Out of memory creating the engine.");
		return NULL;
	}
	e->cfg = *cfg;
	if (!e->cfg.workers)
		e->cfg.workers = 1;
	if (e->cfg.max_attempts < 1)
		e->cfg.max_attempts = 1;
	if (e->cfg.lease_ms <= 0)
		e->cfg.lease_ms = 60000;
	if (e->cfg.probe_interval_ms <= 0)
		e->cfg.probe_interval_ms = 5000;
	if (e->cfg.http_timeout_ms <= 0)
		e->cfg.http_timeout_ms = 15000;
	if (e->cfg.http_connect_timeout_ms <= 0)
		e->cfg.http_connect_timeout_ms = 5000;
	if (e->cfg.http_max_response_bytes <= 0)
		e->cfg.http_max_response_bytes = 1048576;
	e->store = store;
	e->writer = writer;
	e->prov = provider;
	e->http = wa_provider_is_http(provider);
	e->max_inflight = e->http ? WA_ENGINE_HTTP_INFLIGHT : e->cfg.workers;
	wa_ratelimit_init(&e->rl, e->cfg.rate,
	                  wa_ratelimit_default_burst(e->cfg.rate),
	                  wa_mono_us());
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->claim_cond, &ca);
	pthread_cond_init(&e->idle_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&e->work_cond, NULL);
	if (e->http) {
		wa_httpexec_config hc = {
		    .max_inflight = WA_ENGINE_HTTP_INFLIGHT,
		    .timeout_ms = e->cfg.http_timeout_ms,
		    .connect_timeout_ms = e->cfg.http_connect_timeout_ms,
		    .max_response_bytes = e->cfg.http_max_response_bytes,
		};

		e->hx = wa_httpexec_create(provider, &hc, err, err_len);
		if (!e->hx) {
			wa_engine_destroy(e);
			return NULL;
		}
	}
	return e;
}

int wa_engine_start(wa_engine *e, char *err, size_t err_len)
{
	unsigned n = e->http ? 1 : e->cfg.workers; /* http: one for refusals */
	int rc;

	if (e->started) {
		snprintf(err, err_len, "The engine is already started.");
		return -1;
	}
	e->workers = calloc(n, sizeof(*e->workers));
	if (!e->workers) {
		snprintf(err, err_len, "Out of memory starting the engine.");
		return -1;
	}
	if (e->hx && wa_httpexec_start(e->hx, err, err_len) != 0)
		return -1;
	e->started = true; /* from here stop() joins whatever runs */
	for (; e->n_workers < n; e->n_workers++) {
		rc = pthread_create(&e->workers[e->n_workers], NULL,
		                    worker_main, e);
		if (rc != 0)
			goto fail;
		pthread_setname_np(e->workers[e->n_workers], "wa-worker");
	}
	rc = pthread_create(&e->claimer, NULL, claimer_main, e);
	if (rc == 0)
		pthread_setname_np(e->claimer, "wa-claimer");
	if (rc != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, err_len, "Cannot start an engine thread: %s.",
	         strerror(rc));
	pthread_mutex_lock(&e->mu);
	e->stopping = e->shutdown = true;
	pthread_cond_broadcast(&e->work_cond);
	pthread_mutex_unlock(&e->mu);
	for (unsigned i = 0; i < e->n_workers; i++)
		pthread_join(e->workers[i], NULL);
	e->n_workers = 0;
	wa_httpexec_stop(e->hx);
	e->started = false;
	e->stopped = true;
	return -1;
}

void wa_engine_kick(wa_engine *e)
{
	pthread_mutex_lock(&e->mu);
	/* A commit went through: the store writes again, so try now. Once per
	 * failure streak: an outcome that fails on its own while everything
	 * else commits must not be retried (and roll back a group) on every
	 * commit. */
	if (e->unrecorded && !e->rerecord_kicked) {
		e->rerecord_at = wa_mono_ms();
		e->rerecord_kicked = true;
	}
	e->kicked = true;
	pthread_cond_signal(&e->claim_cond);
	pthread_mutex_unlock(&e->mu);
}

int wa_engine_wait(wa_engine *e, const char *id, int64_t deadline_ms,
                   wa_engine_wait_cb cb, void *ud)
{
	wa_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->deadline_ms = deadline_ms;
	w->cb = cb;
	w->ud = ud;
	pthread_mutex_lock(&e->mu);
	if (e->stopping || !e->started) {
		pthread_mutex_unlock(&e->mu);
		free(w);
		return -1;
	}
	w->next = e->waiters;
	e->waiters = w;
	pthread_cond_signal(
	    &e->claim_cond); /* its deadline may be the nearest */
	pthread_mutex_unlock(&e->mu);
	return 0;
}

bool wa_engine_ready(wa_engine *e, char *reason, size_t len)
{
	bool ok = true;

	pthread_mutex_lock(&e->mu);
	if (e->stopping || !e->started) {
		snprintf(reason, len, "delivery engine %s",
		         e->stopping ? "stopping" : "not started");
		ok = false;
	} else if (e->paused) {
		snprintf(reason, len, "provider paused: %s", e->pause_error);
		ok = false;
	}
	pthread_mutex_unlock(&e->mu);
	if (ok && len)
		reason[0] = 0;
	return ok;
}

static int release_all_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	long n = s->ops->release_all(s, wa_now_ms(), err, err_len);

	*(long *)ud = n;
	return n < 0 ? -1 : 0;
}

#define STOP_GRACE_MS 500

/* Wait until every worker thread has left its loop, or deadline (monotonic
 * ms; INT64_MAX: no deadline); then join them all. True when joined. A
 * worker inside a blocking send() leaves only when send() returns. */
static bool join_workers(wa_engine *e, int64_t deadline_mono_ms)
{
	pthread_mutex_lock(&e->mu);
	while (e->n_exited < e->n_workers) {
		if (deadline_mono_ms == INT64_MAX) {
			pthread_cond_wait(&e->idle_cond, &e->mu);
			continue;
		}
		struct timespec ts = mono_ts(deadline_mono_ms);
		if (wa_mono_ms() >= deadline_mono_ms ||
		    pthread_cond_timedwait(&e->idle_cond, &e->mu, &ts) ==
		        ETIMEDOUT) {
			if (e->n_exited < e->n_workers) {
				pthread_mutex_unlock(&e->mu);
				return false;
			}
		}
	}
	pthread_mutex_unlock(&e->mu);
	if (!e->detached)
		for (; e->n_joined < e->n_workers; e->n_joined++)
			pthread_join(e->workers[e->n_joined], NULL);
	return true;
}

/* After every thread is joined: settle outstanding finishes, answer
 * waiters, mark stopped. */
static void stop_tail(wa_engine *e)
{
	wa_job *done, *lost;

	pthread_mutex_lock(&e->mu);
	while (e->pending_finish > 0) /* done callbacks touch e */
		pthread_cond_wait(&e->idle_cond, &e->mu);
	done = e->done_head;
	e->done_head = NULL;
	lost = e->unrecorded;
	e->unrecorded = NULL;
	for (wa_job *j = lost; j; j = j->next)
		wa_engine_land_locked(e, j);
	e->stopped = true;
	pthread_mutex_unlock(&e->mu);
	while (lost) { /* the store never took them back before the stop */
		wa_job *j = lost;

		lost = j->next;
		wa_log(WA_LOG_ERROR, "engine",
		       "Stopping with the attempt of %s unrecorded: the "
		       "message is tried again after the next start%s.",
		       j->rec.id,
		       j->out.kind == WA_OUT_SENT
		           ? " (the provider already accepted it, so the "
		             "recipient may get it twice)"
		           : "");
		wa_job_free(j);
	}
	wa_engine_notify_done(e, done);
	wa_engine_expire_waiters(e, true);
}

bool wa_engine_stop(wa_engine *e, int64_t deadline_mono_ms)
{
	size_t left;
	wa_job *drop;

	if (!e)
		return true;
	pthread_mutex_lock(&e->mu);
	if (e->stopped || !e->started) {
		e->stopping = true;
		pthread_mutex_unlock(&e->mu);
		wa_engine_expire_waiters(e, true);
		return true;
	}
	e->stopping = true;
	pthread_cond_broadcast(&e->claim_cond);
	while (e->in_flight > 0) {
		struct timespec ts = mono_ts(deadline_mono_ms);

		if (wa_mono_ms() >= deadline_mono_ms)
			break;
		if (pthread_cond_timedwait(&e->idle_cond, &e->mu, &ts) ==
		    ETIMEDOUT)
			break;
	}
	/* what is still out is abandoned: its result is not recorded */
	e->abandon = true;
	drop = e->work_head;
	e->work_head = e->work_tail = NULL;
	while (drop) {
		wa_job *j = drop;

		drop = j->next;
		wa_engine_land_locked(e, j);
		wa_job_free(j);
	}
	left = e->in_flight;
	pthread_mutex_unlock(&e->mu);

	wa_httpexec_stop(e->hx);
	wa_engine_rerecord(e, true); /* a last try before releasing them */
	if (left) {
		long n = 0;
		char err[WA_ERR_MAX] = "";

		if (wa_writer_run(e->writer, release_all_fn, &n, err,
		                  sizeof(err)) != 0)
			wa_log(WA_LOG_ERROR, "engine",
			       "Cannot release in-flight messages at stop: %s",
			       err);
		else
			wa_log(WA_LOG_WARN, "engine",
			       "Stop deadline reached: %ld in-flight messages "
			       "released for a later attempt.",
			       n);
	}
	pthread_mutex_lock(&e->mu);
	e->shutdown = true;
	pthread_cond_broadcast(&e->claim_cond);
	pthread_cond_broadcast(&e->work_cond);
	pthread_mutex_unlock(&e->mu);
	if (!e->claimer_joined) {
		pthread_join(e->claimer, NULL);
		e->claimer_joined = true;
	}
	/* A worker still inside a blocking send() cannot be interrupted: past
	 * the deadline (and a short grace) it is left running, its message
	 * already released, and the caller learns the stop is incomplete. */
	if (!join_workers(e, deadline_mono_ms + STOP_GRACE_MS)) {
		unsigned busy;

		/* Detached: the process may exit under them; destroy still
		 * waits for them through n_exited. */
		if (!e->detached)
			for (unsigned i = 0; i < e->n_workers; i++)
				pthread_detach(e->workers[i]);
		pthread_mutex_lock(&e->mu);
		e->detached = true;
		busy = e->n_workers - e->n_exited;
		pthread_mutex_unlock(&e->mu);
		wa_log(
		    WA_LOG_WARN, "engine",
		    "%u provider call(s) still running at the stop deadline; "
		    "their messages were released for a later attempt.",
		    busy);
		wa_engine_expire_waiters(e, true);
		return false;
	}
	stop_tail(e);
	return true;
}

void wa_engine_destroy(wa_engine *e)
{
	if (!e)
		return;
	/* Not stopped yet, or an incomplete stop left sends running: stop
	 * now (unless that was already tried) and wait for the last sends. */
	if (e->started && !e->stopped &&
	    (e->claimer_joined || !wa_engine_stop(e, wa_mono_ms()))) {
		join_workers(e, INT64_MAX);
		stop_tail(e);
	}
	wa_httpexec_destroy(e->hx);
	free(e->workers);
	while (e->waiters) {
		wa_waiter *w = e->waiters;

		e->waiters = w->next;
		free(w);
	}
	pthread_cond_destroy(&e->claim_cond);
	pthread_cond_destroy(&e->idle_cond);
	pthread_cond_destroy(&e->work_cond);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

void wa_engine_get_counts(wa_engine *e, wa_engine_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->attempts = atomic_load(&e->n_attempts);
	out->sent = atomic_load(&e->n_sent);
	out->retried = atomic_load(&e->n_retried);
	out->failed = atomic_load(&e->n_failed);
	out->config_errors = atomic_load(&e->n_config);
	pthread_mutex_lock(&e->mu);
	out->in_flight = e->in_flight;
	pthread_mutex_unlock(&e->mu);
}
