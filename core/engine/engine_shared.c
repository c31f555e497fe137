/* engine_shared.c - what the engine shares with other instances through a
 * store several instances use (PostgreSQL): the provider's pauses (bad
 * credentials here, the quality pause in quality.c), the
 * answers to Prefer: wait whichever instance delivered, and status updates
 * that came before their send was recorded. Each is a no-op when the store
 * has one instance (its ops are NULL): the engine's memory holds it then. */
#include "base/metrics.h"
#include "engine/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "engine/early.h"

#define PAUSE_READ_MS 1000 /* the shared pause is read this often */
#define PEEK_MS 50         /* parked waits look at the store this often */
#define PEEK_MAX 128       /* messages looked at per round */
#define EARLY_SWEEP_MS 1000
#define EARLY_SOON_MS 100 /* after recorded sends, at most this often */
#define EARLY_MAX 64      /* kept updates taken per transaction */

void wa_engine_share_lift_locked(wa_engine *e)
{
	if (!e->store->ops->pause_set)
		return;
	e->share_lift = true;
	e->shared_seen = false;
	pthread_cond_signal(&e->claim_cond);
}

int wa_engine_share_pause_fn(wa_store *s, wa_job *j, char *err, size_t err_len)
{
	if (!s->ops->pause_set)
		return 0;
	if (j->share_pause &&
	    s->ops->pause_set(s, j->e->prov->table->name, WA_PAUSE_CONFIG,
	                      j->error, j->pause_until, err, err_len) != 0)
		return -1;
	return wa_engine_quality_share_fn(s, j, err, err_len);
}

void wa_engine_share_recorded_locked(wa_engine *e, const wa_job *j)
{
	/* from now on its absence means another instance lifted it */
	if (j->share_pause && e->paused && !e->share_lift)
		e->shared_seen = true;
}

/* ---- the pause ---------------------------------------------------------- */

static int lift_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	wa_engine *e = ud;

	return s->ops->pause_set(s, e->prov->table->name, WA_PAUSE_CONFIG, NULL,
	                         0, err, err_len);
}

static void lift_done(void *ud, int rc, const char *err)
{
	wa_engine *e = ud;

	if (rc != 0)
		wa_log(WA_LOG_WARN, "engine",
		       "Cannot lift the provider's pause for the other "
		       "instances (tried again): %s",
		       err ? err : "store error.");
	pthread_mutex_lock(&e->mu);
	e->lift_busy = false;
	if (rc == 0 || e->paused)
		e->share_lift = false;
	pthread_mutex_unlock(&e->mu);
}

static void lift_write(wa_engine *e)
{
	bool lift;

	pthread_mutex_lock(&e->mu);
	lift = e->share_lift && !e->lift_busy && !e->stopping;
	if (lift)
		e->lift_busy = true;
	pthread_mutex_unlock(&e->mu);
	if (lift &&
	    wa_writer_submit(e->writer, lift_fn, e, lift_done, e) != 0) {
		pthread_mutex_lock(&e->mu);
		e->lift_busy = false; /* at the next round */
		pthread_mutex_unlock(&e->mu);
	}
}

/* Follow the pauses another instance recorded or lifted: the provider's
 * (CONFIG) and the quality pause (quality.c). */
static void pause_read(wa_engine *e)
{
	wa_shared_pause sp[WA_PAUSE_KINDS];
	char err[WA_ERR_MAX];
	const char *reason = sp[WA_PAUSE_CONFIG].reason;
	int rc = e->store->ops->pause_get(e->store, e->prov->table->name, sp,
	                                  err, sizeof(err));

	if (rc < 0)
		return; /* the store is unwell: /ready says so already */
	rc = sp[WA_PAUSE_CONFIG].on ? 0 : 1;
	pthread_mutex_lock(&e->mu);
	if (!e->stopping)
		wa_engine_quality_follow_locked(e, &sp[WA_PAUSE_QUALITY]);
	if (e->share_lift || e->lift_busy || e->stopping) {
		/* our own lift is not written yet: it decides */
	} else if (rc == 0 && !e->paused) {
		int64_t in = sp[WA_PAUSE_CONFIG].until_ms - wa_now_ms();

		e->paused = true;
		e->shared_seen = true;
		e->probe_out = false;
		e->probe_interval = e->cfg.probe_interval_ms;
		e->probe_at = wa_mono_ms() + (in > 0 ? in : 0);
		snprintf(e->pause_error, sizeof(e->pause_error), "%s", reason);
		wa_log(WA_LOG_ERROR, "engine",
		       "Provider %s paused by another instance after a "
		       "configuration error: %s. A probe follows in %lld ms.",
		       e->prov->table->name, reason,
		       (long long)(in > 0 ? in : 0));
	} else if (rc == 0) {
		e->shared_seen = true;
	} else if (e->paused && e->shared_seen && !e->probe_out) {
		/* as wa_engine_unpause (engine_job.c calls this file) */
		e->shared_seen = false;
		e->paused = false;
		e->pause_error[0] = 0;
		wa_log(WA_LOG_INFO, "engine",
		       "Provider %s: another instance lifted the pause; "
		       "delivery resumes.",
		       e->prov->table->name);
		pthread_cond_signal(&e->claim_cond);
	}
	pthread_mutex_unlock(&e->mu);
}

/* ---- Prefer: wait, answered from the store ----------------------------- */

static bool attempt_over(const wa_msg_peek *p)
{
	if (!p->found)
		return false;
	if (p->status == WA_MSG_SENDING)
		return false;
	/* queued: only once an attempt was made and gave it back (retry) */
	return p->status != WA_MSG_QUEUED || p->attempts > 0;
}

/* Answer the waits whose message an attempt finished with, wherever it
 * ran: the store's row says so (the local path, wa_engine_notify_done,
 * answers its own sends as soon as they are recorded). */
static void peek_waiters(wa_engine *e)
{
	const char *ids[PEEK_MAX];
	char(*copy)[WA_ID_MAX] = calloc(PEEK_MAX, WA_ID_MAX);
	wa_msg_peek *st = calloc(PEEK_MAX, sizeof(*st));
	char err[WA_ERR_MAX];
	wa_waiter *mine = NULL;
	size_t n = 0;

	if (!copy || !st)
		goto out;
	pthread_mutex_lock(&e->mu);
	for (wa_waiter *w = e->waiters; w && n < PEEK_MAX; w = w->next) {
		snprintf(copy[n], WA_ID_MAX, "%s", w->id);
		ids[n] = copy[n];
		n++;
	}
	pthread_mutex_unlock(&e->mu);
	if (n == 0 ||
	    e->store->ops->peek(e->store, ids, n, st, err, sizeof(err)) != 0)
		goto out;
	pthread_mutex_lock(&e->mu);
	for (size_t i = 0; i < n; i++) {
		if (!attempt_over(&st[i]))
			continue;
		for (wa_waiter **pp = &e->waiters; *pp;) {
			wa_waiter *w = *pp;
			wa_attempt_report *r = &w->rep;
			bool ok = st[i].status == WA_MSG_SENT ||
			          st[i].status == WA_MSG_DELIVERED ||
			          st[i].status == WA_MSG_READ;

			if (strcmp(w->id, ids[i]) != 0) {
				pp = &w->next;
				continue;
			}
			*pp = w->next;
			r->finished = true;
			r->status = st[i].status;
			snprintf(r->provider_message_id,
			         sizeof(r->provider_message_id), "%s",
			         ok ? st[i].provider_message_id : "");
			snprintf(r->error, sizeof(r->error), "%s",
			         ok ? "" : st[i].last_error);
			w->next = mine;
			mine = w;
		}
	}
	pthread_mutex_unlock(&e->mu);
	while (mine) {
		wa_waiter *w = mine;

		mine = w->next;
		w->cb(w->ud, &w->rep);
		free(w);
	}
out:
	free(copy);
	free(st);
}

/* ---- status updates that came first ------------------------------------ */

typedef struct early_job {
	wa_engine *e;
	size_t n, applied;
	wa_kept_status k[EARLY_MAX];
} early_job;

static int early_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	early_job *x = ud;

	x->applied = 0;
	if (s->ops->early_take(s, wa_now_ms() - WA_EARLY_TTL_MS, x->k,
	                       EARLY_MAX, &x->n, err, err_len) != 0)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		const wa_kept_status *k = &x->k[i];
		wa_status_change c = {
		    k->provider, k->provider_message_id,        k->status,
		    k->at_ms,    k->error[0] ? k->error : NULL, k->retryable};
		wa_apply_kind kind;

		if (s->ops->apply_status(s, &c, &kind, NULL, err, err_len) != 0)
			return -1;
		if (kind == WA_APPLY_APPLIED)
			x->applied++;
	}
	return 0;
}

static void early_done(void *ud, int rc, const char *err)
{
	early_job *x = ud;
	wa_engine *e = x->e;

	if (rc != 0) {
		wa_log(WA_LOG_WARN, "engine",
		       "Cannot apply the status updates that came before "
		       "their send was recorded (tried again later): %s",
		       err ? err : "store error.");
	} else if (x->n) {
		for (size_t i = 0; i < x->n; i++)
			wa_metrics_callback_status((int)x->k[i].status);
		wa_log(WA_LOG_INFO, "engine",
		       "Applied %zu of %zu status update(s) that came before "
		       "their send was recorded.",
		       x->applied, x->n);
	}
	pthread_mutex_lock(&e->mu);
	e->early_busy = false;
	if (rc == 0 && x->n == EARLY_MAX)
		e->early_due = true; /* more may be waiting */
	pthread_mutex_unlock(&e->mu);
	free(x);
}

static void early_take(wa_engine *e)
{
	early_job *x = calloc(1, sizeof(*x));

	if (!x)
		return;
	x->e = e;
	pthread_mutex_lock(&e->mu);
	e->early_busy = true;
	e->early_due = false;
	pthread_mutex_unlock(&e->mu);
	if (wa_writer_submit(e->writer, early_fn, x, early_done, x) != 0) {
		pthread_mutex_lock(&e->mu);
		e->early_busy = false;
		pthread_mutex_unlock(&e->mu);
		free(x);
	}
}

void wa_engine_early_soon(wa_engine *e)
{
	pthread_mutex_lock(&e->mu);
	e->early_due = true;
	pthread_mutex_unlock(&e->mu);
}

/* ---- the claimer's round ------------------------------------------------ */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t wa_engine_shared_tick(wa_engine *e)
{
	const wa_store_ops *ops = e->store->ops;
	int64_t now = wa_mono_ms(), next = INT64_MAX, soon;
	bool peek, early, due;

	if (ops->pause_set) {
		lift_write(e);
		wa_engine_quality_share_write(e);
		if (now >= e->pause_read_at) {
			e->pause_read_at = now + PAUSE_READ_MS;
			pause_read(e);
		}
		next = min64(next, e->pause_read_at);
	}
	/* after recorded sends, soon; else every EARLY_SWEEP_MS (the sweep
	 * also catches an update kept while its send was being recorded) */
	soon = e->early_at - EARLY_SWEEP_MS + EARLY_SOON_MS;
	pthread_mutex_lock(&e->mu);
	peek = ops->peek && e->waiters;
	due = e->early_due;
	early = ops->early_take && !e->early_busy &&
	        (now >= e->early_at || (due && now >= soon));
	pthread_mutex_unlock(&e->mu);
	if (peek) {
		if (now >= e->peek_at) {
			e->peek_at = now + PEEK_MS;
			peek_waiters(e);
		}
		next = min64(next, e->peek_at);
	}
	if (ops->early_take) {
		if (early) {
			e->early_at = now + EARLY_SWEEP_MS;
			early_take(e);
		} else if (due)
			next = min64(next, soon);
		next = min64(next, e->early_at);
	}
	return next;
}
