/* metrics.c - the process's counters and histograms, and the pieces of the
 * Prometheus text that only they know (http/routes_metrics.c composes the
 * whole page). */
#include "base/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/minutes.h"

#define MAX_ROUTES WA_METRICS_MAX_ROUTES

const double wa_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,  0.1,    0.25,  0.5,
                                    1,      2.5,   5,      10};
const size_t wa_latency_n_bounds =
    sizeof(wa_latency_bounds) / sizeof(wa_latency_bounds[0]);
static const double batch_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

static const unsigned codes[] = {200, 400, 401, 403, 404, 405, 409,
                                 413, 415, 429, 431, 500, 503};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static atomic_ullong http_count[MAX_ROUTES + 1][N_CODES + 1];
static wa_histo http_latency[MAX_ROUTES + 1];
static atomic_ullong accepted;
static atomic_ullong callback_status[7];
static atomic_ullong provider_class[5]; /* OK RETRY REJECT CONFIG transport */
static wa_histo provider_latency, commit_latency, commit_batch;
static atomic_int initialized;

void wa_histo_init(wa_histo *h, const double *bounds, size_t n_bounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->n_bounds =
	    n_bounds > WA_HISTO_MAX_BUCKETS ? WA_HISTO_MAX_BUCKETS : n_bounds;
}

void wa_histo_observe(wa_histo *h, double v)
{
	size_t i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	atomic_fetch_add(&h->buckets[i], 1);
	atomic_fetch_add(&h->count, 1);
	atomic_fetch_add(&h->sum_micro, (unsigned long long)(v * 1e6));
}

static void init_once(void)
{
	int expect = 0;
	if (!atomic_compare_exchange_strong(&initialized, &expect, 1))
		return;
	for (int i = 0; i <= MAX_ROUTES; i++)
		wa_histo_init(&http_latency[i], wa_latency_bounds,
		              wa_latency_n_bounds);
	wa_histo_init(&provider_latency, wa_latency_bounds,
	              wa_latency_n_bounds);
	wa_histo_init(&commit_latency, wa_latency_bounds, wa_latency_n_bounds);
	wa_histo_init(&commit_batch, batch_bounds,
	              sizeof(batch_bounds) / sizeof(batch_bounds[0]));
	atomic_store(&initialized, 2);
}

/* Counters are usable before init: histograms need their bounds first. */
static int ready(void)
{
	if (atomic_load(&initialized) != 2)
		init_once();
	return atomic_load(&initialized) == 2;
}

void wa_metrics_http(int route, unsigned status, double seconds)
{
	size_t r =
	    (route < 0 || route >= MAX_ROUTES) ? MAX_ROUTES : (size_t)route;
	size_t c = N_CODES;

	for (size_t i = 0; i < N_CODES; i++)
		if (codes[i] == status)
			c = i;
	atomic_fetch_add(&http_count[r][c], 1);
	if (ready())
		wa_histo_observe(&http_latency[r], seconds);
}

void wa_metrics_accepted(size_t n)
{
	atomic_fetch_add(&accepted, n);
	wa_minutes_add(WA_MIN_ACCEPTED, n);
}

void wa_metrics_callback_status(int status)
{
	if (status >= 0 && status < 7)
		atomic_fetch_add(&callback_status[status], 1);
	/* wa_msg_status: 3 delivered, 4 read, 5 failed */
	if (status == 3)
		wa_minutes_add(WA_MIN_DELIVERED, 1);
	else if (status == 4)
		wa_minutes_add(WA_MIN_READ, 1);
	else if (status == 5)
		wa_minutes_add(WA_MIN_FAILED, 1);
}

void wa_metrics_provider_call(int cls, double seconds)
{
	atomic_fetch_add(&provider_class[(cls >= 0 && cls < 4) ? cls : 4], 1);
	/* WA_RESULT_OK: accepted by the provider; REJECT: failed for good */
	if (cls == 0)
		wa_minutes_add(WA_MIN_SENT, 1);
	else if (cls == 2)
		wa_minutes_add(WA_MIN_FAILED, 1);
	if (ready())
		wa_histo_observe(&provider_latency, seconds);
}

double wa_metrics_provider_quantile(double q, unsigned long long *count)
{
	const wa_histo *h = &provider_latency;
	unsigned long long n, want, seen = 0;

	*count = 0;
	if (!ready())
		return 0;
	n = atomic_load(&h->count);
	*count = n;
	if (n == 0)
		return 0;
	want = (unsigned long long)(q * (double)n + 0.5);
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < h->n_bounds; i++) {
		seen += atomic_load(&h->buckets[i]);
		if (seen >= want)
			return h->bounds[i];
	}
	return h->bounds[h->n_bounds - 1]; /* beyond the largest bound */
}

void wa_metrics_commit(size_t n, double seconds)
{
	if (!ready())
		return;
	wa_histo_observe(&commit_latency, seconds);
	wa_histo_observe(&commit_batch, (double)n);
}

unsigned long long wa_metrics_callback_count(int status)
{
	return (status >= 0 && status < 7)
	           ? atomic_load(&callback_status[status])
	           : 0;
}

/* ---- rendering ---------------------------------------------------------- */

void wa_text_put(wa_text *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static void histo(wa_text *b, const char *name, const char *labels, wa_histo *h)
{
	unsigned long long cum = 0;
	const char *sep = labels[0] ? "," : "";

	for (size_t i = 0; i <= h->n_bounds; i++) {
		cum += atomic_load(&h->buckets[i]);
		if (i < h->n_bounds)
			wa_text_put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
			            labels, sep, h->bounds[i], cum);
		else
			wa_text_put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
			            name, labels, sep, cum);
	}
	wa_text_put(b, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "",
	            labels, labels[0] ? "}" : "",
	            (double)atomic_load(&h->sum_micro) / 1e6);
	wa_text_put(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "",
	            labels, labels[0] ? "}" : "", cum);
}

void wa_metrics_help(wa_text *b, const char *name, const char *type,
                     const char *text)
{
	wa_text_put(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void wa_metrics_render_http(wa_text *b, const char *const *route_names,
                            size_t n_routes)
{
	char labels[128];

	ready();
	if (n_routes > MAX_ROUTES)
		n_routes = MAX_ROUTES;
	wa_metrics_help(b, "wadispatch_http_requests_total", "counter",
	                "HTTP requests by route and status code.");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r >= n_routes && r != MAX_ROUTES)
			continue;
		const char *rn = r == MAX_ROUTES ? "unknown" : route_names[r];
		for (size_t c = 0; c <= N_CODES; c++) {
			unsigned long long v = atomic_load(&http_count[r][c]);
			if (!v)
				continue;
			if (c < N_CODES)
				wa_text_put(
				    b,
				    "wadispatch_http_requests_total{route="
				    "\"%s\",code=\"%u\"} %llu\n",
				    rn, codes[c], v);
			else
				wa_text_put(
				    b,
				    "wadispatch_http_requests_total{route="
				    "\"%s\",code=\"other\"} %llu\n",
				    rn, v);
		}
	}
	wa_metrics_help(
	    b, "wadispatch_http_request_duration_seconds", "histogram",
	    "Time from request arrival until the answer is queued.");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r >= n_routes && r != MAX_ROUTES)
			continue;
		if (!atomic_load(&http_latency[r].count))
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"",
		         r == MAX_ROUTES ? "unknown" : route_names[r]);
		histo(b, "wadispatch_http_request_duration_seconds", labels,
		      &http_latency[r]);
	}
}

void wa_metrics_render_accepted(wa_text *b, const char *prov)
{
	wa_metrics_help(b, "wadispatch_messages_accepted_total", "counter",
	                "Messages accepted (stored as new) by the API.");
	wa_text_put(b,
	            "wadispatch_messages_accepted_total{provider=\"%s\"} "
	            "%llu\n",
	            prov, atomic_load(&accepted));
}

void wa_metrics_render_provider_calls(wa_text *b, const char *prov)
{
	static const char *const cls_names[] = {"ok", "retry", "reject",
	                                        "config", "transport"};
	char labels[128];

	ready();
	wa_metrics_help(
	    b, "wadispatch_provider_calls_total", "counter",
	    "Provider attempts by outcome class (transport: no HTTP reply).");
	for (int c = 0; c < 5; c++)
		wa_text_put(b,
		            "wadispatch_provider_calls_total{provider=\"%s\","
		            "class=\"%s\"} %llu\n",
		            prov, cls_names[c],
		            atomic_load(&provider_class[c]));
	wa_metrics_help(b, "wadispatch_provider_call_duration_seconds",
	                "histogram", "Duration of one provider attempt.");
	snprintf(labels, sizeof(labels), "provider=\"%s\"", prov);
	histo(b, "wadispatch_provider_call_duration_seconds", labels,
	      &provider_latency);
}

void wa_metrics_render_commits(wa_text *b)
{
	ready();
	wa_metrics_help(b, "wadispatch_store_commit_duration_seconds",
	                "histogram",
	                "Duration of one store transaction (BEGIN to COMMIT).");
	histo(b, "wadispatch_store_commit_duration_seconds", "",
	      &commit_latency);
	wa_metrics_help(b, "wadispatch_store_commit_batch_size", "histogram",
	                "Writes grouped in one store transaction.");
	histo(b, "wadispatch_store_commit_batch_size", "", &commit_batch);
}
