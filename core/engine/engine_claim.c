/* engine_claim.c - the claimer thread (claim due messages, pace them, hand
 * them to the executor or the worker pool) and the blocking-send workers */
#include "base/ratelimit.h"
#include "engine/engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"

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

	/* A group that failed to commit is run again job by job: what the
	 * first run claimed was rolled back, and its records go. */
	for (size_t i = 0; i < c->n; i++)
		wa_message_rec_free(&c->out[i]);
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

	for (size_t i = 0; i < c->n; i++) {
		o.claim_seq = c->recs[i].claim_seq;
		if (s->ops->finish(s, c->recs[i].id, &o, err, err_len) < 0)
			return -1;
	}
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

/* The job for message id in flight here, or NULL. Under mu. */
static wa_job *flying_locked(wa_engine *e, const char *id)
{
	for (wa_job *j = e->flying; j; j = j->fl_next)
		if (strcmp(j->rec.id, id) == 0)
			return j;
	return NULL;
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

/* Which claimed messages go to a phone that is opted out (committed data,
 * one store read for the batch): a message claimed after its phone opted
 * out (retried, released, requeued, or accepted by another instance just
 * before the opt-out) is never sent. NULL with *failed false when none
 * is; NULL with *failed true when the store could not tell. */
static bool *opted_out(wa_engine *e, const wa_message_rec *recs, size_t n,
                       bool *failed)
{
	const char **phones;
	bool *out, any = false;
	char err[WA_ERR_MAX] = "";

	*failed = false;
	if (n == 0 || !e->store->ops->suppressed)
		return NULL;
	phones = calloc(n, sizeof(*phones));
	out = calloc(n, sizeof(*out));
	if (!phones || !out) {
		snprintf(err, sizeof(err), "Out of memory.");
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		phones[i] = recs[i].phone;
	if (e->store->ops->suppressed(e->store, phones, n, out, err,
	                              sizeof(err)) != 0)
		goto fail;
	free(phones);
	for (size_t i = 0; i < n; i++)
		any = any || out[i];
	if (any)
		return out;
	free(out);
	return NULL;
fail:
	wa_log(WA_LOG_ERROR, "engine",
	       "Cannot check the claimed messages' recipients for opt-outs: "
	       "%s; giving them back.",
	       err);
	free(phones);
	free(out);
	*failed = true;
	return NULL;
}

/* A claimed message that is not sent (expired, or its phone opted out):
 * failed with why, no provider call. Under mu (dropped for the finish). */
static void fail_unsent_locked(wa_engine *e, wa_job *j, int64_t now,
                               const char *why, bool probe)
{
	j->out.kind = WA_OUT_FAILED;
	j->out.at_ms = now;
	snprintf(j->error, sizeof(j->error), "%s", why);
	j->out.error = j->error;
	j->reached = WA_MSG_FAILED;
	atomic_fetch_add(&e->n_failed, 1);
	wa_ratelimit_put_back(&e->rl, 1);
	if (probe)
		e->probe_out = false; /* no call made: probe again */
	pthread_mutex_unlock(&e->mu);
	wa_job_finish(j);
	pthread_mutex_lock(&e->mu);
}

/* Claim up to want messages and start them. Called without mu; returns the
 * number started, or -1 on a store error. */
static long claim_and_start(wa_engine *e, size_t want, bool probe)
{
	wa_job *rewrite = NULL; /* claimed again while unrecorded */
	size_t n_rewrite = 0;   /* claimed again while in flight */
	wa_message_rec *recs = calloc(want, sizeof(*recs));
	wa_job *fin;
	claim_ctx c = {0};
	char err[WA_ERR_MAX] = "";
	int64_t now;
	bool *sup, unknown;

	if (!recs)
		return -1;
	/* the lingering outcomes go first, queued with the claim in one step
	 * so that the writer takes both as one transaction (queued apart, a
	 * writer woken by the outcomes often committed them alone first: two
	 * commits per claim period instead of one) */
	fin = wa_engine_take_finishes(e);
	c.now = wa_now_ms();
	c.lease_until = c.now + e->cfg.lease_ms;
	c.max = want;
	c.out = recs;
	if (wa_writer_run_here(e->writer,
	                       fin ? wa_engine_finish_group_fn : NULL, fin,
	                       wa_engine_finish_group_done, fin, claim_fn, &c,
	                       err, sizeof(err)) != 0) {
		wa_log(WA_LOG_ERROR, "engine", "Cannot claim messages: %s",
		       err);
		for (size_t i = 0; i < c.n; i++)
			wa_message_rec_free(&recs[i]);
		free(recs);
		return -1;
	}
	sup = opted_out(e, recs, c.n, &unknown);
	now = wa_now_ms();
	pthread_mutex_lock(&e->mu);
	if ((e->stopping || unknown) && c.n) {
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
		free(sup);
		return unknown ? -1 : 0;
	}
	if (c.n < want)
		wa_ratelimit_put_back(&e->rl, want - c.n);
	for (size_t i = 0; i < c.n; i++) {
		wa_job *j = take_unrecorded_locked(e, recs[i].id);

		if (j) { /* its lease ran out: write the outcome, no new call */
			/* under the new claim (its fencing token) */
			atomic_store(&j->fence, recs[i].claim_seq);
			wa_message_rec_free(&recs[i]);
			wa_ratelimit_put_back(&e->rl, 1);
			j->next = rewrite;
			rewrite = j;
			n_rewrite++;
			continue;
		}
		if ((j = flying_locked(e, recs[i].id)) != NULL) {
			/* Its lease ran out during a provider call that is
			 * still running (a call longer than LEASE_SECONDS): the
			 * claim renewed the lease; the running call records the
			 * outcome. A second call would send it twice. */
			wa_log(WA_LOG_WARN, "engine",
			       "%s was claimed again during its provider call, "
			       "which has outlasted LEASE_SECONDS: not calling "
			       "again.",
			       recs[i].id);
			/* The running call records under the new claim. A
			 * finish already queued in the writer with the old
			 * token is ignored (the lease then expires again). */
			atomic_store(&j->fence, recs[i].claim_seq);
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
			fail_unsent_locked(e, j, now, "expired", probe);
			continue;
		}
		if (sup && sup[i]) {
			wa_log(WA_LOG_INFO, "engine",
			       "Message %s not sent: its recipient opted out.",
			       j->rec.id);
			fail_unsent_locked(e, j, now,
			                   "not sent: the recipient opted out",
			                   probe);
			continue;
		}
		j->probe = probe;
		atomic_fetch_add(&e->n_attempts, 1);
		dispatch_locked(e, j);
	}
	pthread_mutex_unlock(&e->mu);
	free(recs);
	free(sup);
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
void *wa_engine_claimer_main(void *arg)
{
	wa_engine *e = arg;
	bool check = true;     /* ask next_due before the next claim */
	int64_t dry_until = 0; /* mono: e->dry, nothing due before this */

	pthread_mutex_lock(&e->mu);
	while (!e->shutdown) {
		int64_t now = wa_mono_ms(), wake = now + CLAIM_SAFETY_MS;
		int64_t next_deadline;
		wa_job *done = e->done_head;
		size_t cap = 0, want = 0;
		bool probe = false;
		long got;

		e->done_head = NULL;
		/* A kick (a commit: maybe a new message, a retry's new due
		 * time) matters only when the claimer believes nothing is due:
		 * while it claims what is due anyway, another next_due read
		 * per commit would only cost CPU (issue 17). */
		if (e->kicked) {
			e->kicked = false;
			if (e->dry) {
				e->dry = false;
				check = true;
			}
		}
		if (e->dry && now >= dry_until) {
			e->dry = false;
			check = true;
		}
		pthread_mutex_unlock(&e->mu);
		wa_engine_notify_done(e, done);
		wa_engine_flush_finishes(e, false);
		wa_engine_rerecord(e, false);
		next_deadline = wa_engine_expire_waiters(e, false);
		if (next_deadline != INT64_MAX)
			wake = min64(wake, now + (next_deadline - wa_now_ms()));
		wake = min64(wake, wa_engine_shared_tick(e));
		pthread_mutex_lock(&e->mu);

		if (!e->stopping && e->in_flight < e->max_inflight)
			cap = e->max_inflight - e->in_flight;
		if (e->unrecorded)
			wake = min64(wake, e->rerecord_at);
		if (e->fin_head)
			wake = min64(wake, e->fin_due);
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
		if (cap) { /* the quality pause: no claim until it ends */
			int64_t q = wa_engine_quality_until_locked(e, now);

			if (q) {
				cap = 0;
				wake = min64(wake, q);
			}
		}
		if (cap && !e->dry && check) {
			int due = due_now(e, &dry_until);

			if (due > 0)
				check = false;
			else
				e->dry = true;
			/* A probe is due but no message is: the message that
			 * paused it was canceled or expired, and there is
			 * nothing to probe with. Resume; the next message sent
			 * is the test, and CONFIG pauses again. Otherwise
			 * /ready would stay 503 until a message came, which a
			 * load balancer reading /ready would never send.
			 * (Re-read: due_now let go of the lock.) Not while an
			 * outcome is still on its way to the store: the message
			 * that paused it may be one of them, not yet due. */
			if (due == 0 && probe && e->paused && !e->probe_out &&
			    e->pending_finish == 0 && !e->fin_head &&
			    wa_mono_ms() >= e->probe_at) {
				wa_engine_unpause(
				    e, ": no message is due to probe with; "
				       "delivery resumes and the next message "
				       "sent is the test");
				wa_engine_share_lift_locked(e);
			}
			if (e->kicked || e->done_head)
				continue;
		}
		if (cap && !e->dry) {
			int64_t now_us = wa_mono_us();
			double group = WA_ENGINE_CLAIM_SHARE * e->rl.burst;
			double least = group < 1             ? 1
			               : group > (double)cap ? (double)cap
			                                     : group;
			double have = wa_ratelimit_available(&e->rl, now_us);

			/* Under a rate limit, claim a group's worth of tokens
			 * at a time (a bucket left full by a quiet spell claims
			 * at once): one claim transaction per group instead of
			 * one per token. */
			if (e->cfg.rate <= 0 || have >= least)
				want = wa_ratelimit_take(&e->rl, now_us, cap);
			/* the first whole ms at which the group's tokens are
			 * there, from when they were counted: counted from the
			 * loop's start, truncated to ms, the wait ended early
			 * in about 4 claims of 10 and was followed by a second
			 * wait of a ms (a wake-up each: issue 17) */
			if (!want)
				wake =
				    min64(wake, (now_us +
				                 (int64_t)((least - have) *
				                           1e6 / e->cfg.rate) +
				                 1 + 999) /
				                    1000);
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
				e->dry = true;
				dry_until = wa_mono_ms() + CLAIM_SAFETY_MS;
				continue;
			}
			if ((size_t)got == want)
				continue; /* maybe more is due: go again */
			check = true; /* ran dry: ask when the next is due */
			if (got ==
			    0) { /* said due, gave nothing: do not spin */
				e->dry = true;
				dry_until = wa_mono_ms() + CLAIM_RECHECK_MS;
			}
			continue;
		}
		if (e->dry)
			wake = min64(wake, dry_until);
		if (e->done_head || e->kicked || e->shutdown)
			continue;
		/* an outcome may have joined a new group while mu was let go:
		 * its due time, and from here wa_job_finish knows ours */
		if (e->fin_head)
			wake = min64(wake, e->fin_due);
		{
			struct timespec ts;

			e->claimer_until = wake > now ? wake : now + 1;
			ts = wa_mono_ts(e->claimer_until);
			pthread_cond_timedwait(&e->claim_cond, &e->mu, &ts);
			e->claimer_until = 0;
		}
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* ---- the blocking-send worker pool ------------------------------------- */

void *wa_engine_worker_main(void *arg)
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
