/* quality.c - the quality pause (issue 14): a provider answer saying the
 * account is throttled for quality or hit its tier (Cloud API 131048,
 * Twilio 63018: QUALITY_PAUSE_CODES) stops claims for QUALITY_PAUSE. Not a
 * CONFIG pause: no probe, the credentials are fine; it simply ends. Each
 * instance learns it from its own answers and callbacks; on a store
 * several instances share (PostgreSQL) the instance that learns it records
 * it (wadispatch_pause, kind 'quality', until its end), no instance claims
 * until then, and each reads it at most once a second (engine_shared.c)
 * and pauses too, until the same end. */
#include "engine/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"

bool wa_engine_quality_code(const wa_engine *e, const char *code)
{
	const char *p = e->cfg.quality_codes;
	size_t n;

	if (!p || !code || !*code || e->cfg.quality_pause_ms <= 0)
		return false;
	n = strlen(code);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && strncmp(p, code, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

#define WHY_PREFIX "sending paused for quality: "

/* What the instances share: "the provider answered <code> (<detail>)". */
static void answer_text(char *buf, size_t len, const char *code,
                        const char *detail)
{
	snprintf(buf, len, "the provider answered %s (%.120s)", code,
	         detail && *detail ? detail : "no detail");
}

/* Under mu: hold claims until `until` (mono ms), /ready saying "sending
 * paused for quality: <answer>"; a pause under way is extended, never
 * shortened. Returns whether one was under way (one that is over is ended
 * first, its end logged). */
static bool hold_locked(wa_engine *e, int64_t until, const char *answer)
{
	bool was;

	wa_engine_quality_until_locked(e, wa_mono_ms());
	was = e->quality_on;
	if (!was || until > e->quality_until) {
		e->quality_until = until;
		snprintf(e->quality_why, sizeof(e->quality_why),
		         WHY_PREFIX "%s", answer);
	}
	e->quality_on = true;
	pthread_cond_signal(&e->claim_cond);
	return was;
}

static bool quality_pause(wa_engine *e, const char *code, const char *detail,
                          wa_job *j)
{
	char answer[WA_ERR_MAX];
	int64_t ms;

	if (!e || !wa_engine_quality_code(e, code))
		return false;
	ms = e->cfg.quality_pause_ms;
	answer_text(answer, sizeof(answer), code, detail);
	pthread_mutex_lock(&e->mu);
	if (!hold_locked(e, wa_mono_ms() + ms, answer))
		wa_log(WA_LOG_WARN, "engine",
		       "Sending paused for %lld s: provider %s answered %s "
		       "(%.120s), the account is throttled for quality or at "
		       "its messaging tier; credentials are fine. Messages "
		       "stay queued.",
		       (long long)(ms / 1000), e->prov->table->name, code,
		       detail && *detail ? detail : "no detail");
	if (e->store->ops->pause_set) { /* the other instances pause too */
		if (j) {
			j->share_quality = true;
			j->quality_until = wa_now_ms() + ms;
		} else {
			e->quality_write = true;
		}
	}
	pthread_mutex_unlock(&e->mu);
	return true;
}

bool wa_engine_quality_pause(wa_engine *e, const char *code, const char *detail)
{
	return quality_pause(e, code, detail, NULL);
}

bool wa_engine_quality_pause_job(wa_job *j)
{
	return quality_pause(j->e, j->res.upstream_code, j->error, j);
}

/* ---- shared with the other instances ----------------------------------- */

int wa_engine_quality_share_fn(wa_store *s, wa_job *j, char *err,
                               size_t err_len)
{
	char answer[WA_ERR_MAX];

	if (!j->share_quality || !s->ops->pause_set)
		return 0;
	answer_text(answer, sizeof(answer), j->res.upstream_code, j->error);
	return s->ops->pause_set(s, j->e->prov->table->name, WA_PAUSE_QUALITY,
	                         answer, j->quality_until, err, err_len);
}

typedef struct quality_job {
	wa_engine *e;
	int64_t until; /* wall ms */
	char answer[WA_ERR_MAX];
} quality_job;

static int write_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	quality_job *x = ud;

	return s->ops->pause_set(s, x->e->prov->table->name, WA_PAUSE_QUALITY,
	                         x->answer, x->until, err, err_len);
}

static void write_done(void *ud, int rc, const char *err)
{
	quality_job *x = ud;
	wa_engine *e = x->e;

	if (rc != 0)
		wa_log(WA_LOG_WARN, "engine",
		       "Cannot record the quality pause for the other "
		       "instances (tried again): %s",
		       err ? err : "store error.");
	pthread_mutex_lock(&e->mu);
	e->quality_busy = false;
	if (rc != 0)
		e->quality_write = true;
	pthread_mutex_unlock(&e->mu);
	free(x);
}

void wa_engine_quality_share_write(wa_engine *e)
{
	quality_job *x;
	int64_t now;

	pthread_mutex_lock(&e->mu);
	now = wa_mono_ms();
	if (!e->quality_write || e->quality_busy || e->stopping) {
		pthread_mutex_unlock(&e->mu);
		return;
	}
	e->quality_write = false;
	if (!e->quality_on || now >= e->quality_until ||
	    !(x = calloc(1, sizeof(*x)))) {
		pthread_mutex_unlock(&e->mu);
		return; /* over already (or no memory: this instance only) */
	}
	x->e = e;
	x->until = wa_now_ms() + (e->quality_until - now);
	snprintf(x->answer, sizeof(x->answer), "%s",
	         e->quality_why + strlen(WHY_PREFIX));
	e->quality_busy = true;
	pthread_mutex_unlock(&e->mu);
	if (wa_writer_submit(e->writer, write_fn, x, write_done, x) != 0) {
		pthread_mutex_lock(&e->mu);
		e->quality_busy = false;
		e->quality_write = true; /* at the next round */
		pthread_mutex_unlock(&e->mu);
		free(x);
	}
}

void wa_engine_quality_follow_locked(wa_engine *e, const wa_shared_pause *q)
{
	int64_t in, until;

	if (!q->on || (in = q->until_ms - wa_now_ms()) <= 0)
		return; /* none, or over */
	until = wa_mono_ms() + in;
	if (e->quality_on && until <= e->quality_until)
		return; /* known (this instance's own, most often) */
	if (!hold_locked(e, until, q->reason))
		wa_log(WA_LOG_WARN, "engine",
		       "Sending paused for quality for %lld s by another "
		       "instance: %s. Messages stay queued.",
		       (long long)((in + 999) / 1000), q->reason);
}

int64_t wa_engine_quality_until_locked(wa_engine *e, int64_t now_mono)
{
	if (!e->quality_on)
		return 0;
	if (now_mono < e->quality_until)
		return e->quality_until;
	e->quality_on = false;
	e->quality_why[0] = 0;
	wa_log(WA_LOG_INFO, "engine",
	       "The quality pause is over: sending resumes.");
	return 0;
}

bool wa_engine_quality_active(wa_engine *e)
{
	bool on;

	pthread_mutex_lock(&e->mu);
	on = e->quality_on && wa_mono_ms() < e->quality_until;
	pthread_mutex_unlock(&e->mu);
	return on;
}
