/* routes_stats.c - GET /v1/stats: the operators' overview (issue 15)
 *
 * Where each figure comes from, so that it stays cheap on a store of
 * millions of messages:
 *   - counts per status, queue depth, oldest queued: the store's stats op
 *     (counters kept as messages change, applied once per group commit on
 *     every backend; the oldest queued: the first entry of the queued
 *     range of the (status, created_ms, id) index);
 *   - per-minute accepted/sent/delivered/read/failed over the last hour:
 *     counters this process keeps as events happen (base/minutes.c), so
 *     they cover this instance since its start;
 *   - provider latency percentiles: this process's provider call histogram
 *     (bucket resolution);
 *   - top failure reasons: failed messages created in the last 24 hours,
 *     an index range on (status, created_ms).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/metrics.h"
#include "base/minutes.h"
#include "base/timeutil.h"
#include "http/render.h"
#include "http/routes.h"

#define TOP_FAILURES 10
#define FAILURE_WINDOW_MS (24LL * 3600 * 1000)

static json_object *iso(int64_t ms)
{
	char ts[32];

	return json_object_new_string(wa_iso8601(ms, ts, sizeof(ts)));
}

static json_object *per_minute(int64_t now)
{
	static const char *const kinds[WA_MIN_KINDS] = {
	    "accepted", "sent", "delivered", "read", "failed"};
	unsigned long long series[WA_MIN_SLOTS][WA_MIN_KINDS];
	json_object *arr = json_object_new_array_ext(WA_MIN_SLOTS);
	int64_t first;

	wa_minutes_series(now, series, &first);
	for (int i = 0; i < WA_MIN_SLOTS; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "minute", iso(first + i * 60000LL));
		for (int k = 0; k < WA_MIN_KINDS; k++)
			json_object_object_add(
			    o, kinds[k],
			    json_object_new_int64((int64_t)series[i][k]));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *latency(void)
{
	static const double qs[] = {0.5, 0.9, 0.99};
	static const char *const names[] = {"p50", "p90", "p99"};
	json_object *o = json_object_new_object();
	unsigned long long calls = 0;

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double v = wa_metrics_provider_quantile(qs[i], &calls);

		json_object_object_add(
		    o, names[i], calls ? json_object_new_double(v) : NULL);
	}
	json_object_object_add(o, "calls",
	                       json_object_new_int64((int64_t)calls));
	return o;
}

/* Issue 14: the tier budget as the claims last saw it, and the quality
 * pause. */
static json_object *budget(wa_req *r, int64_t now)
{
	wa_store *s = r->app->store;
	json_object *o = json_object_new_object();
	wa_store_budget b = {0};

	if (s->ops->budget)
		s->ops->budget(s, &b);
	json_object_object_add(
	    o, "limit", b.limit > 0 ? json_object_new_int64(b.limit) : NULL);
	json_object_object_add(o, "used", json_object_new_int64(b.used));
	json_object_object_add(o, "held", json_object_new_int64(b.held));
	json_object_object_add(o, "frees_at",
	                       b.limit > 0 && b.used >= b.limit && b.frees_ms
	                           ? iso(b.frees_ms)
	                           : NULL);
	json_object_object_add(
	    o, "quality_paused",
	    json_object_new_boolean(r->app->engine &&
	                            wa_engine_quality_active(r->app->engine)));
	(void)now;
	return o;
}

void wa_route_stats(wa_req *r)
{
	wa_store *s = r->app->store;
	wa_failure_count top[TOP_FAILURES];
	wa_store_stats st;
	json_object *o, *counts, *q, *fails;
	char err[256];
	int64_t now = wa_now_ms();
	size_t n = 0;

	if (s->ops->stats(s, &st, err, sizeof(err)) != 0 ||
	    s->ops->failure_codes(s, now - FAILURE_WINDOW_MS, TOP_FAILURES, top,
	                          &n, err, sizeof(err)) != 0) {
		wa_req_store_unavailable(r, err);
		return;
	}
	o = json_object_new_object();
	counts = wa_render_counts(st.count);
	json_object_object_add(o, "at", iso(now));
	json_object_object_add(o, "counts", counts);
	q = json_object_new_object();
	json_object_object_add(q, "depth",
	                       json_object_new_int64(st.count[WA_MSG_QUEUED]));
	json_object_object_add(
	    q, "oldest_queued_age_seconds",
	    st.oldest_queued_ms
	        ? json_object_new_double((double)(now - st.oldest_queued_ms) /
	                                 1000.0)
	        : NULL);
	json_object_object_add(q, "webhooks_pending",
	                       json_object_new_int64(st.outbox_pending));
	json_object_object_add(o, "queue", q);
	json_object_object_add(o, "messaging_limit", budget(r, now));
	json_object_object_add(o, "per_minute", per_minute(now));
	json_object_object_add(o, "provider_latency_seconds", latency());
	fails = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "code",
		                       json_object_new_string(top[i].code));
		json_object_object_add(f, "count",
		                       json_object_new_int64(top[i].n));
		json_object_array_add(fails, f);
	}
	json_object_object_add(o, "top_failures", fails);
	wa_req_json_obj(r, 200, o);
}
