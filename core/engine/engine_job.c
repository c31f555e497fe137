/* engine_job.c - one claimed message: build it, judge the answer, record it,
 * tell waiters */
#include "base/metrics.h"
#include "base/ratelimit.h"
#include "engine/engine_int.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/content.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "engine/early.h"

/* Fill the template fields of msg from template_json (best effort: the
 * API validated it on the way in). */
static void parse_template(wa_job *j)
{
	json_object *o, *v;
	size_t n;

	if (!j->rec.template_json || !*j->rec.template_json)
		return;
	o = json_tokener_parse(j->rec.template_json);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	j->tpl = o;
	if (json_object_object_get_ex(o, "name", &v) &&
	    json_object_is_type(v, json_type_string))
		j->msg.template_name = json_object_get_string(v);
	if (json_object_object_get_ex(o, "language", &v) &&
	    json_object_is_type(v, json_type_string))
		j->msg.template_language = json_object_get_string(v);
	if (!json_object_object_get_ex(o, "variables", &v) ||
	    !json_object_is_type(v, json_type_array))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	j->vars = calloc(n, sizeof(*j->vars));
	if (!j->vars)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *s =
		    json_object_get_string(json_object_array_get_idx(v, i));

		j->vars[i] = s ? s : "";
	}
	j->msg.template_variables = j->vars;
	j->msg.n_template_variables = n;
}

wa_job *wa_job_new(wa_engine *e, wa_message_rec *rec)
{
	wa_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->e = e;
	j->rec = *rec; /* takes over the record's allocations */
	atomic_init(&j->fence, j->rec.claim_seq);
	memset(rec, 0, sizeof(*rec));
	j->msg.struct_size = sizeof(j->msg);
	j->msg.message_id = j->rec.id;
	j->msg.external_id = j->rec.external_id;
	j->msg.recipient_phone = j->rec.phone;
	j->msg.message_body = j->rec.body ? j->rec.body : "";
	j->msg.attempt = j->rec.attempts > 0 ? (uint32_t)j->rec.attempts : 1;
	j->msg.media_url = j->rec.media_url;
	parse_template(j);
	if (j->rec.content_json && *j->rec.content_json) {
		j->msg.content_json = j->rec.content_json;
		j->msg.content_kinds = wa_content_kinds(j->rec.content_json);
	}
	j->res.struct_size = sizeof(j->res);
	return j;
}

void wa_job_free(wa_job *j)
{
	if (!j)
		return;
	wa_message_rec_free(&j->rec);
	json_object_put(j->tpl);
	free(j->vars);
	free(j);
}

void wa_job_run_send(wa_job *j)
{
	const wa_loaded_provider *p = j->e->prov;

	j->called = true;
	j->call_start_us = wa_mono_us();
	p->table->send(p->state, &j->msg, &j->res);
	wa_job_complete(j);
}

static const char *class_error(const wa_result *r, char *buf, size_t len)
{
	if (r->error[0]) {
		snprintf(buf, len, "%.*s", (int)(WA_ERROR_MAX - 1), r->error);
		return buf;
	}
	if (r->upstream_status)
		snprintf(buf, len, "provider answered HTTP %ld",
		         r->upstream_status);
	else
		snprintf(buf, len, "provider error");
	return buf;
}

void wa_engine_unpause(wa_engine *e, const char *why)
{
	e->paused = false;
	e->pause_error[0] = 0;
	wa_log(WA_LOG_INFO, "engine", "Provider %s%s.", e->prov->table->name,
	       why);
	pthread_cond_signal(&e->claim_cond);
}

/* The provider said CONFIG (or a probe came back): the pause state. */
static void update_pause(wa_job *j, bool config)
{
	wa_engine *e = j->e;
	int64_t now = wa_mono_ms();

	pthread_mutex_lock(&e->mu);
	if (config) {
		snprintf(e->pause_error, sizeof(e->pause_error), "%s",
		         j->error);
		if (j->probe) {
			e->probe_out = false;
			e->probe_interval =
			    e->probe_interval * 2 > WA_ENGINE_PROBE_MAX_MS
			        ? WA_ENGINE_PROBE_MAX_MS
			        : e->probe_interval * 2;
			e->probe_at = now + e->probe_interval;
			j->share_pause = true;
		} else if (!e->paused) {
			e->paused = true;
			e->probe_out = false;
			e->probe_interval = e->cfg.probe_interval_ms;
			e->probe_at = now + e->probe_interval;
			j->share_pause = true;
			wa_log(WA_LOG_ERROR, "engine",
			       "Provider %s paused after a configuration "
			       "error: %s. A probe follows in %lld ms.",
			       e->prov->table->name, j->error,
			       (long long)e->probe_interval);
		}
	} else if (j->probe) {
		e->probe_out = false;
		if (j->called && e->paused) {
			wa_engine_unpause(
			    e, " answered the probe; delivery resumes");
			wa_engine_share_lift_locked(e);
		}
	}
	if (j->share_pause) { /* the next probe, on the wall clock */
		j->pause_until = wa_now_ms() + (e->probe_at - now);
		e->share_lift = false; /* a lift not yet sent is moot */
	}
	pthread_mutex_unlock(&e->mu);
}

void wa_job_complete(wa_job *j)
{
	wa_engine *e = j->e;
	const wa_result *r = &j->res;
	int64_t now = wa_now_ms();
	int64_t delay;

	if (j->called) {
		/* Host-classified transport failures carry "curl_<code>". */
		bool transport = r->upstream_status == 0 &&
		                 strncmp(r->upstream_code, "curl_", 5) == 0;
		wa_metrics_provider_call(
		    transport ? -1 : (int)r->result_class,
		    (double)(wa_mono_us() - j->call_start_us) / 1e6);
	}
	class_error(r, j->error, sizeof(j->error));
	/* The account is throttled for quality or at its tier: sending
	 * pauses, and this message is tried again once the pause is over
	 * (whatever class the plugin gave: it could be delivered then). */
	if (r->result_class != WA_RESULT_OK &&
	    r->result_class != WA_RESULT_CONFIG &&
	    wa_engine_quality_pause_job(j)) {
		j->res.result_class = WA_RESULT_RETRY;
		if ((int64_t)j->res.retry_after_ms < e->cfg.quality_pause_ms)
			j->res.retry_after_ms =
			    e->cfg.quality_pause_ms > UINT32_MAX
			        ? UINT32_MAX
			        : (uint32_t)e->cfg.quality_pause_ms;
	}
	memset(&j->out, 0, sizeof(j->out));
	j->out.at_ms = now;
	j->out.upstream_status = r->upstream_status;
	j->out.upstream_code = r->upstream_code[0] ? r->upstream_code : NULL;
	switch (r->result_class) {
	case WA_RESULT_OK:
		j->out.kind = WA_OUT_SENT;
		j->out.provider_message_id =
		    r->provider_message_id[0] ? r->provider_message_id : NULL;
		j->error[0] = 0;
		j->reached = WA_MSG_SENT;
		atomic_fetch_add(&e->n_sent, 1);
		break;
	case WA_RESULT_RETRY:
		delay = wa_backoff_ms(j->rec.attempts, e->cfg.retry_base_ms,
		                      e->cfg.retry_max_ms,
		                      (int64_t)r->retry_after_ms, wa_rand01());
		if (j->rec.attempts >= e->cfg.max_attempts ||
		    (j->rec.expires_ms > 0 &&
		     now + delay >= j->rec.expires_ms)) {
			j->out.kind = WA_OUT_FAILED;
			j->reached = WA_MSG_FAILED;
			atomic_fetch_add(&e->n_failed, 1);
		} else {
			j->out.kind = WA_OUT_RETRY;
			j->out.next_attempt_ms = now + delay;
			j->reached = WA_MSG_QUEUED;
			atomic_fetch_add(&e->n_retried, 1);
		}
		break;
	case WA_RESULT_CONFIG:
		j->out.kind = WA_OUT_RELEASE;
		j->out.next_attempt_ms = now;
		j->reached = WA_MSG_QUEUED;
		atomic_fetch_add(&e->n_config, 1);
		break;
	case WA_RESULT_REJECT:
	default:
		j->out.kind = WA_OUT_FAILED;
		j->reached = WA_MSG_FAILED;
		atomic_fetch_add(&e->n_failed, 1);
		break;
	}
	if (j->out.kind != WA_OUT_SENT)
		j->out.error = j->error;
	if (j->out.kind == WA_OUT_FAILED)
		wa_log(WA_LOG_INFO, "engine",
		       "Message %s failed at attempt %d: %s", j->rec.id,
		       j->rec.attempts, j->error);
	else if (j->out.kind == WA_OUT_RETRY &&
	         wa_log_get_level() <= WA_LOG_DEBUG)
		wa_log(WA_LOG_DEBUG, "engine",
		       "Message %s attempt %d: %s; next try in %lld ms.",
		       j->rec.id, j->rec.attempts, j->error,
		       (long long)(j->out.next_attempt_ms - now));
	update_pause(j, r->result_class == WA_RESULT_CONFIG);
	wa_job_finish(j);
}

/* ---- the store write ------------------------------------------------------
 */

static int finish_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	wa_job *j = ud;

	j->out.claim_seq = atomic_load(&j->fence);
	/* read in finish_done, after the commit: the store may fill it then */
	j->out.result = &j->finish_rc;
	j->finish_rc = s->ops->finish(s, j->rec.id, &j->out, err, err_len);
	if (j->finish_rc < 0 ||
	    wa_engine_share_pause_fn(s, j, err, err_len) != 0)
		return -1;
	return 0;
}

void wa_engine_fly_locked(wa_engine *e, wa_job *j)
{
	j->fl_prev = NULL;
	j->fl_next = e->flying;
	if (e->flying)
		e->flying->fl_prev = j;
	e->flying = j;
	e->in_flight++;
}

void wa_engine_land_locked(wa_engine *e, wa_job *j)
{
	if (j->fl_prev)
		j->fl_prev->fl_next = j->fl_next;
	else
		e->flying = j->fl_next;
	if (j->fl_next)
		j->fl_next->fl_prev = j->fl_prev;
	j->fl_prev = j->fl_next = NULL;
	e->in_flight--;
}

#define REREC_FIRST_MS 100
#define REREC_MAX_MS 5000

/* The outcome of j is in the store: hand it to the claimer to tell its
 * waiters. Under mu. */
static void recorded_locked(wa_engine *e, wa_job *j)
{
	wa_engine_share_recorded_locked(e, j);
	j->next = e->done_head;
	e->done_head = j;
	wa_engine_land_locked(e, j);
	if (j->out.kind == WA_OUT_RETRY || j->out.kind == WA_OUT_RELEASE)
		e->kicked = true; /* a new due time the claimer has not seen */
	pthread_cond_signal(&e->claim_cond);
	if (e->in_flight == 0)
		pthread_cond_broadcast(&e->idle_cond);
}

/* The store refused the outcome of j: keep it for wa_engine_rerecord.
 * Under mu. */
static void unrecorded_locked(wa_engine *e, wa_job *j)
{
	if (!e->unrecorded) {
		e->rerecord_wait = REREC_FIRST_MS;
		e->rerecord_at = wa_mono_ms() + e->rerecord_wait;
		e->rerecord_kicked = false;
	}
	j->next = e->unrecorded;
	e->unrecorded = j;
	pthread_cond_signal(&e->claim_cond);
}

/* A group of outcomes in one transaction. Any failure fails the group:
 * each is then written again on its own (wa_engine_rerecord). */
int wa_engine_finish_group_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	for (wa_job *j = ud; j; j = j->next)
		if (finish_fn(s, j, err, err_len) != 0)
			return -1;
	return 0;
}

void wa_engine_finish_group_done(void *ud, int rc, const char *err)
{
	wa_job *list = ud, *next;
	wa_engine *e = list->e;

	for (wa_job *j = list; rc != 0 && j; j = j->next)
		wa_log(WA_LOG_ERROR, "engine",
		       "Cannot record the attempt of %s yet (it is written "
		       "again later, and the message is not sent again): %s",
		       j->rec.id, err ? err : "store error.");
	pthread_mutex_lock(&e->mu);
	for (wa_job *j = list; j; j = next) {
		next = j->next;
		e->pending_finish--;
		if (rc == 0)
			recorded_locked(e, j);
		else
			unrecorded_locked(e, j);
	}
	if (e->pending_finish == 0)
		pthread_cond_broadcast(&e->idle_cond);
	pthread_mutex_unlock(&e->mu);
}

/* Under mu: the lingering group, taken. */
static wa_job *take_locked(wa_engine *e)
{
	wa_job *list = e->fin_head;

	e->fin_head = e->fin_tail = NULL;
	e->fin_n = 0;
	return list;
}

wa_job *wa_engine_take_finishes(wa_engine *e)
{
	wa_job *list;

	pthread_mutex_lock(&e->mu);
	list = take_locked(e);
	pthread_mutex_unlock(&e->mu);
	return list;
}

void wa_engine_flush_finishes(wa_engine *e, bool force)
{
	wa_job *list;
	char err[WA_ERR_MAX];
	int rc;

	pthread_mutex_lock(&e->mu);
	if (!e->fin_head ||
	    (!force && !e->stopping && wa_mono_ms() < e->fin_due)) {
		pthread_mutex_unlock(&e->mu);
		return;
	}
	list = take_locked(e);
	pthread_mutex_unlock(&e->mu);
	if (wa_writer_submit(e->writer, wa_engine_finish_group_fn, list,
	                     wa_engine_finish_group_done, list) == 0)
		return;
	/* the queue is full: wait for our turn instead of losing outcomes */
	err[0] = 0;
	rc = wa_writer_run(e->writer, wa_engine_finish_group_fn, list, err,
	                   sizeof(err));
	wa_engine_finish_group_done(list, rc, err);
}

void wa_engine_rerecord(wa_engine *e, bool force)
{
	wa_job *list, *j;
	char err[WA_ERR_MAX];
	int ok = 0, failed = 0;

	pthread_mutex_lock(&e->mu);
	if (!e->unrecorded || (!force && wa_mono_ms() < e->rerecord_at)) {
		pthread_mutex_unlock(&e->mu);
		return;
	}
	list = e->unrecorded;
	e->unrecorded = NULL;
	pthread_mutex_unlock(&e->mu);
	while ((j = list)) {
		list = j->next;
		err[0] = 0;
		int rc =
		    wa_writer_run(e->writer, finish_fn, j, err, sizeof(err));
		pthread_mutex_lock(&e->mu);
		if (rc == 0) {
			recorded_locked(e, j);
			ok++;
		} else {
			j->next = e->unrecorded;
			e->unrecorded = j;
			failed++;
		}
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_lock(&e->mu);
	if (e->unrecorded) {
		e->rerecord_wait = e->rerecord_wait * 2 > REREC_MAX_MS
		                       ? REREC_MAX_MS
		                       : e->rerecord_wait * 2;
		e->rerecord_at = wa_mono_ms() + e->rerecord_wait;
	}
	pthread_mutex_unlock(&e->mu);
	if (ok)
		wa_log(WA_LOG_INFO, "engine",
		       "Recorded %d attempt%s the store had refused; %d "
		       "still waiting.",
		       ok, ok == 1 ? "" : "s", failed);
}

/* The outcome joins the lingering group, committed with the claimer's next
 * claim, or by the claimer when the group is WA_ENGINE_FINISH_LINGER_MS
 * old, or here at once when it is WA_ENGINE_FINISH_GROUP_MAX long, when
 * someone waits for an attempt (Prefer: wait) or when stopping. Lingering
 * is as safe as a provider call that takes that much longer: until the
 * commit the message stays "sending" under its lease and counted in flight
 * (the claimer never calls it again meanwhile), no waiter or webhook hears
 * of it, and a crash leaves it to be claimed again after its lease, exactly
 * as a crash during the call would. */
void wa_job_finish(wa_job *j)
{
	wa_engine *e = j->e;
	bool now;

	pthread_mutex_lock(&e->mu);
	if (e->abandon) {
		/* stop gave up on in-flight work: release_all covers it */
		wa_engine_land_locked(e, j);
		pthread_cond_broadcast(&e->idle_cond);
		pthread_mutex_unlock(&e->mu);
		wa_job_free(j);
		return;
	}
	e->pending_finish++;
	j->next = NULL;
	if (e->fin_tail)
		e->fin_tail->next = j;
	else
		e->fin_head = j;
	e->fin_tail = j;
	if (++e->fin_n == 1) { /* the claimer learns the group's due time */
		e->fin_due = wa_mono_ms() + e->linger_ms;
		/* not when it wakes before then anyway (for the next claim,
		 * which takes the group along): a wake-up per group saved */
		if (e->claimer_until && e->fin_due < e->claimer_until)
			pthread_cond_signal(&e->claim_cond);
	}
	/* A release (CONFIG) is written at once: the pause's probe logic
	 * reads the store, and a message still "sending" there looks like no
	 * message due, which would lift the pause. */
	now = e->fin_n >= WA_ENGINE_FINISH_GROUP_MAX || e->stopping ||
	      e->waiters || j->out.kind == WA_OUT_RELEASE;
	pthread_mutex_unlock(&e->mu);
	if (now)
		wa_engine_flush_finishes(e, true);
}

/* ---- status updates that came first ------------------------------------ */

#define EARLY_PER_SEND 8

typedef struct early_job {
	size_t n, applied;
	wa_early_change c[EARLY_PER_SEND];
} early_job;

static int early_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	early_job *x = ud;

	x->applied = 0;
	for (size_t i = 0; i < x->n; i++) {
		const wa_early_change *k = &x->c[i];
		wa_status_change c = {
		    k->provider, k->provider_message_id,        k->status,
		    k->at_ms,    k->error[0] ? k->error : NULL, k->retryable};
		wa_apply_kind kind;

		if (s->ops->apply_status(s, &c, &kind, NULL, err, err_len) != 0)
			return -1;
		if (kind == WA_APPLY_APPLIED) {
			x->applied++;
			wa_metrics_callback_status((int)c.status);
		}
	}
	return 0;
}

static void early_done(void *ud, int rc, const char *err)
{
	early_job *x = ud;

	if (rc != 0)
		wa_log(WA_LOG_ERROR, "engine",
		       "Cannot apply %zu status update(s) for %s that came "
		       "before its send was recorded: %s",
		       x->n, x->c[0].provider_message_id, err ? err : "");
	else if (x->applied)
		wa_log(WA_LOG_INFO, "engine",
		       "Applied %zu status update(s) for %s that came before "
		       "its send was recorded.",
		       x->applied, x->c[0].provider_message_id);
	free(x);
}

/* j's send is recorded: apply what its provider said about it before. */
static void apply_early(wa_engine *e, const wa_job *j)
{
	wa_early_change got[EARLY_PER_SEND];
	early_job *x;
	size_t n;

	if (j->finish_rc != 0 || j->out.kind != WA_OUT_SENT ||
	    !j->out.provider_message_id || !j->out.provider_message_id[0])
		return;
	if (e->store->ops->early_take) { /* kept in the store: shared */
		wa_engine_early_soon(e);
		return;
	}
	if (!e->cfg.early)
		return;
	n = wa_early_take(e->cfg.early, e->prov->table->name,
	                  j->out.provider_message_id, wa_mono_ms(), got,
	                  EARLY_PER_SEND);
	if (n == 0 || !(x = calloc(1, sizeof(*x))))
		return;
	x->n = n;
	memcpy(x->c, got, n * sizeof(got[0]));
	if (wa_writer_submit(e->writer, early_fn, x, early_done, x) != 0) {
		wa_log(WA_LOG_WARN, "engine",
		       "The store writer refused %zu early status update(s) "
		       "for %s (queue full or stopping); they are dropped.",
		       n, j->out.provider_message_id);
		free(x);
	}
}

/* ---- waiters ------------------------------------------------------------ */

void wa_engine_notify_done(wa_engine *e, wa_job *list)
{
	while (list) {
		wa_job *j = list;
		wa_waiter *mine = NULL, **pp;

		list = j->next;
		apply_early(e, j);
		if (j->finish_rc == 0) {
			pthread_mutex_lock(&e->mu);
			for (pp = &e->waiters; *pp;) {
				wa_waiter *w = *pp;

				if (strcmp(w->id, j->rec.id) == 0) {
					*pp = w->next;
					w->next = mine;
					mine = w;
				} else {
					pp = &w->next;
				}
			}
			pthread_mutex_unlock(&e->mu);
		}
		while (mine) {
			wa_waiter *w = mine;

			mine = w->next;
			w->rep.finished = true;
			w->rep.status = j->reached;
			snprintf(w->rep.provider_message_id,
			         sizeof(w->rep.provider_message_id), "%s",
			         j->out.kind == WA_OUT_SENT &&
			                 j->out.provider_message_id
			             ? j->out.provider_message_id
			             : "");
			snprintf(w->rep.error, sizeof(w->rep.error), "%s",
			         j->out.kind == WA_OUT_SENT ? "" : j->error);
			w->cb(w->ud, &w->rep);
			free(w);
		}
		wa_job_free(j);
	}
}

int64_t wa_engine_expire_waiters(wa_engine *e, bool everything)
{
	int64_t now = wa_now_ms(), next = INT64_MAX;
	wa_waiter *due = NULL, **pp;

	pthread_mutex_lock(&e->mu);
	for (pp = &e->waiters; *pp;) {
		wa_waiter *w = *pp;

		if (everything || w->deadline_ms <= now) {
			*pp = w->next;
			w->next = due;
			due = w;
		} else {
			if (w->deadline_ms < next)
				next = w->deadline_ms;
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&e->mu);
	while (due) {
		wa_waiter *w = due;

		due = w->next;
		memset(&w->rep, 0, sizeof(w->rep));
		w->rep.finished = false;
		w->cb(w->ud, &w->rep);
		free(w);
	}
	return next;
}
