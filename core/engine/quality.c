/* quality.c - the quality pause (issue 14): a provider answer saying the
 * account is throttled for quality or hit its tier (Cloud API 131048,
 * Twilio 63018: QUALITY_PAUSE_CODES) stops claims for QUALITY_PAUSE. Not a
 * CONFIG pause: no probe, the credentials are fine; it simply ends. Per
 * instance (each instance learns it from its own answers and callbacks). */
#include "engine/engine_int.h"

#include <stdio.h>
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

bool wa_engine_quality_pause(wa_engine *e, const char *code, const char *detail)
{
	int64_t now = wa_mono_ms(), until;
	bool was;

	if (!e || !wa_engine_quality_code(e, code))
		return false;
	until = now + e->cfg.quality_pause_ms;
	pthread_mutex_lock(&e->mu);
	was = e->quality_on;
	if (!was || until > e->quality_until)
		e->quality_until = until;
	e->quality_on = true;
	snprintf(
	    e->quality_why, sizeof(e->quality_why),
	    "sending paused for quality: the provider answered %s (%.120s)",
	    code, detail && *detail ? detail : "no detail");
	if (!was)
		wa_log(WA_LOG_WARN, "engine",
		       "Sending paused for %lld s: provider %s answered %s "
		       "(%.120s), the account is throttled for quality or at "
		       "its messaging tier; credentials are fine. Messages "
		       "stay queued.",
		       (long long)(e->cfg.quality_pause_ms / 1000),
		       e->prov->table->name, code,
		       detail && *detail ? detail : "no detail");
	pthread_cond_signal(&e->claim_cond);
	pthread_mutex_unlock(&e->mu);
	return true;
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
