/* engine.c - the delivery engine's life: create, start, kick, wait, pause
 * state, stop and destroy (the claimer and workers are in engine_claim.c) */
#include "base/ratelimit.h"
#include "engine/engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"

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
	if (!e->cfg.http_max_inflight)
		e->cfg.http_max_inflight = WA_ENGINE_HTTP_INFLIGHT;
	e->store = store;
	e->writer = writer;
	e->prov = provider;
	e->http = wa_provider_is_http(provider);
	e->max_inflight = e->http ? e->cfg.http_max_inflight : e->cfg.workers;
	wa_ratelimit_init(&e->rl, e->cfg.rate,
	                  wa_ratelimit_default_burst(e->cfg.rate),
	                  wa_mono_us());
	e->linger_ms = WA_ENGINE_FINISH_LINGER_MS;
	if (e->cfg.rate > 0) { /* a claim period and a margin */
		int64_t period = (int64_t)(WA_ENGINE_CLAIM_SHARE * e->rl.burst *
		                           1000 / e->cfg.rate);

		if (period + WA_ENGINE_LINGER_MARGIN_MS > e->linger_ms)
			e->linger_ms = period + WA_ENGINE_LINGER_MARGIN_MS;
		if (e->linger_ms > WA_ENGINE_LINGER_MAX_MS)
			e->linger_ms = WA_ENGINE_LINGER_MAX_MS;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->claim_cond, &ca);
	pthread_cond_init(&e->idle_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&e->work_cond, NULL);
	if (e->http) {
		wa_httpexec_config hc = {
		    .max_inflight = e->cfg.http_max_inflight,
		    .timeout_ms = e->cfg.http_timeout_ms,
		    .connect_timeout_ms = e->cfg.http_connect_timeout_ms,
		    .max_response_bytes = e->cfg.http_max_response_bytes,
		};

		memcpy(hc.ca_file, e->cfg.http_ca_file, sizeof(hc.ca_file));
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
		                    wa_engine_worker_main, e);
		if (rc != 0)
			goto fail;
		pthread_setname_np(e->workers[e->n_workers], "wa-worker");
	}
	rc = pthread_create(&e->claimer, NULL, wa_engine_claimer_main, e);
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
	bool wake = e->dry;

	if (e->unrecorded && !e->rerecord_kicked) {
		e->rerecord_at = wa_mono_ms();
		e->rerecord_kicked = true;
		wake = true;
	}
	/* A claimer that knows work is due wakes on its own (tokens, a free
	 * slot, a finished job): a commit wakes it only when it is dry, not
	 * once per commit (issue 17). The flag is read before it sleeps. */
	e->kicked = true;
	if (wake)
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
	} else if (e->quality_on && wa_mono_ms() < e->quality_until) {
		snprintf(reason, len, "%s", e->quality_why);
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
		struct timespec ts = wa_mono_ts(deadline_mono_ms);
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
		struct timespec ts = wa_mono_ts(deadline_mono_ms);

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
	wa_engine_flush_finishes(e,
	                         true); /* outcomes decided before the stop */

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
