/* metrics.c - counters and histograms, rendered in the Prometheus text format
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "http.h"
#include "routes.h"
#include "timeutil.h"
#include "webhook.h"

#define MAX_ROUTES 16

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
}

void wa_metrics_callback_status(int status)
{
	if (status >= 0 && status < 7)
		atomic_fetch_add(&callback_status[status], 1);
}

void wa_metrics_provider_call(int cls, double seconds)
{
	atomic_fetch_add(&provider_class[(cls >= 0 && cls < 4) ? cls : 4], 1);
	if (ready())
		wa_histo_observe(&provider_latency, seconds);
}

void wa_metrics_commit(size_t n, double seconds)
{
	if (!ready())
		return;
	wa_histo_observe(&commit_latency, seconds);
	wa_histo_observe(&commit_batch, (double)n);
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void put(sbuf *b, const char *fmt,
                                                      ...)
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

static void histo(sbuf *b, const char *name, const char *labels, wa_histo *h)
{
	unsigned long long cum = 0;
	const char *sep = labels[0] ? "," : "";

	for (size_t i = 0; i <= h->n_bounds; i++) {
		cum += atomic_load(&h->buckets[i]);
		if (i < h->n_bounds)
			put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
			    sep, h->bounds[i], cum);
		else
			put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
			    labels, sep, cum);
	}
	put(b, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (double)atomic_load(&h->sum_micro) / 1e6);
	put(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", cum);
}

static void help(sbuf *b, const char *name, const char *type, const char *text)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

char *wa_metrics_render(wa_app *app, size_t *len)
{
	sbuf b = {malloc(16384), 0, 16384, 0};
	const char *prov = app->provider->table->name;
	static const char *const cls_names[] = {"ok", "retry", "reject",
	                                        "config", "transport"};
	wa_store_stats st;
	char err[256], labels[128], reason[256];
	size_t n_routes = 0;
	unsigned long long batches = 0, jobs = 0;
	wa_engine_counts ec;

	if (!b.p)
		return NULL;
	ready();
	while (wa_routes[n_routes].pattern && n_routes < MAX_ROUTES)
		n_routes++;

	help(&b, "wadispatch_build_info", "gauge",
	     "Build and provider information.");
	put(&b,
	    "wadispatch_build_info{version=\"%s\",provider=\"%s\",provider_"
	    "version=\"%s\",abi=\"%d.%d\"} 1\n",
	    WA_VERSION, prov, app->provider->table->version,
	    WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR);
	help(&b, "wadispatch_start_time_seconds", "gauge",
	     "Start time of the process.");
	put(&b, "wadispatch_start_time_seconds %.3f\n",
	    (double)app->started_ms / 1000);

	help(&b, "wadispatch_http_requests_total", "counter",
	     "HTTP requests by route and status code.");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r >= n_routes && r != MAX_ROUTES)
			continue;
		const char *rn =
		    r == MAX_ROUTES ? "unknown" : wa_routes[r].name;
		for (size_t c = 0; c <= N_CODES; c++) {
			unsigned long long v = atomic_load(&http_count[r][c]);
			if (!v)
				continue;
			if (c < N_CODES)
				put(&b,
				    "wadispatch_http_requests_total{route=\"%"
				    "s\",code=\"%u\"} %llu\n",
				    rn, codes[c], v);
			else
				put(&b,
				    "wadispatch_http_requests_total{route=\"%"
				    "s\",code=\"other\"} %llu\n",
				    rn, v);
		}
	}
	help(&b, "wadispatch_http_request_duration_seconds", "histogram",
	     "Time from request arrival until the answer is queued.");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r >= n_routes && r != MAX_ROUTES)
			continue;
		if (!atomic_load(&http_latency[r].count))
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"",
		         r == MAX_ROUTES ? "unknown" : wa_routes[r].name);
		histo(&b, "wadispatch_http_request_duration_seconds", labels,
		      &http_latency[r]);
	}

	help(&b, "wadispatch_messages_accepted_total", "counter",
	     "Messages accepted (stored as new) by the API.");
	put(&b, "wadispatch_messages_accepted_total{provider=\"%s\"} %llu\n",
	    prov, atomic_load(&accepted));
	memset(&ec, 0, sizeof(ec));
	if (app->engine)
		wa_engine_get_counts(app->engine, &ec);
	help(&b, "wadispatch_messages_total", "counter",
	     "Message status changes: sent and failed by the engine, "
	     "delivered/read/failed by provider callbacks.");
	put(&b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"sent\"} %llu\n",
	    prov, ec.sent);
	put(&b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"delivered\"} "
	    "%llu\n",
	    prov, atomic_load(&callback_status[WA_MSG_DELIVERED]));
	put(&b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"read\"} %llu\n",
	    prov, atomic_load(&callback_status[WA_MSG_READ]));
	put(&b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"failed\"} "
	    "%llu\n",
	    prov, ec.failed + atomic_load(&callback_status[WA_MSG_FAILED]));
	help(&b, "wadispatch_retries_total", "counter",
	     "Attempts that will be retried.");
	put(&b, "wadispatch_retries_total{provider=\"%s\"} %llu\n", prov,
	    ec.retried);
	help(&b, "wadispatch_provider_calls_total", "counter",
	     "Provider attempts by outcome class (transport: no HTTP reply).");
	for (int c = 0; c < 5; c++)
		put(&b,
		    "wadispatch_provider_calls_total{provider=\"%s\",class=\"%"
		    "s\"} %llu\n",
		    prov, cls_names[c], atomic_load(&provider_class[c]));
	help(&b, "wadispatch_provider_call_duration_seconds", "histogram",
	     "Duration of one provider attempt.");
	snprintf(labels, sizeof(labels), "provider=\"%s\"", prov);
	histo(&b, "wadispatch_provider_call_duration_seconds", labels,
	      &provider_latency);
	help(&b, "wadispatch_provider_in_flight", "gauge",
	     "Provider attempts under way.");
	put(&b, "wadispatch_provider_in_flight{provider=\"%s\"} %llu\n", prov,
	    ec.in_flight);
	help(&b, "wadispatch_provider_paused", "gauge",
	     "1 while the provider is paused by a credentials/configuration "
	     "error.");
	put(&b, "wadispatch_provider_paused{provider=\"%s\"} %d\n", prov,
	    app->engine && !wa_engine_ready(app->engine, reason, sizeof(reason))
	        ? 1
	        : 0);

	memset(&st, 0, sizeof(st));
	if (app->store->ops->stats(app->store, &st, err, sizeof(err)) == 0) {
		help(&b, "wadispatch_messages", "gauge",
		     "Stored messages by current status.");
		for (int s = 0; s < 7; s++)
			put(&b, "wadispatch_messages{status=\"%s\"} %lld\n",
			    wa_msg_status_name((wa_msg_status)s), st.count[s]);
		help(&b, "wadispatch_queue_depth", "gauge",
		     "Messages queued or being sent.");
		put(&b, "wadispatch_queue_depth %lld\n",
		    st.count[WA_MSG_QUEUED] + st.count[WA_MSG_SENDING]);
		help(&b, "wadispatch_queue_oldest_age_seconds", "gauge",
		     "Age of the oldest queued message (0 when none).");
		put(&b, "wadispatch_queue_oldest_age_seconds %.3f\n",
		    st.oldest_queued_ms
		        ? (double)(wa_now_ms() - st.oldest_queued_ms) / 1000
		        : 0.0);
		help(&b, "wadispatch_outbox_depth", "gauge",
		     "Status webhooks waiting to be delivered.");
		put(&b, "wadispatch_outbox_depth %lld\n", st.outbox_pending);
	}
	if (app->webhook) {
		unsigned long long wd = 0, wf = 0;
		wa_webhook_counts(app->webhook, &wd, &wf, NULL);
		help(&b, "wadispatch_webhooks_delivered_total", "counter",
		     "Status webhooks the receiver accepted (2xx).");
		put(&b, "wadispatch_webhooks_delivered_total %llu\n", wd);
		help(
		    &b, "wadispatch_webhook_failures_total", "counter",
		    "Status webhook attempts that failed and will be retried.");
		put(&b, "wadispatch_webhook_failures_total %llu\n", wf);
	}
	help(&b, "wadispatch_store_up", "gauge",
	     "1 when the store is writable.");
	put(&b, "wadispatch_store_up %d\n",
	    app->store->ops->ping(app->store, err, sizeof(err)) == 0);
	wa_writer_counts(app->writer, &batches, &jobs);
	help(&b, "wadispatch_store_writer_queue", "gauge",
	     "Writes waiting for the writer thread.");
	put(&b, "wadispatch_store_writer_queue %zu\n",
	    wa_writer_depth(app->writer));
	help(&b, "wadispatch_store_commit_duration_seconds", "histogram",
	     "Duration of one store transaction (BEGIN to COMMIT).");
	histo(&b, "wadispatch_store_commit_duration_seconds", "",
	      &commit_latency);
	help(&b, "wadispatch_store_commit_batch_size", "histogram",
	     "Writes grouped in one store transaction.");
	histo(&b, "wadispatch_store_commit_batch_size", "", &commit_batch);

	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

void wa_route_metrics(wa_req *r)
{
	size_t len = 0;
	char *text = wa_metrics_render(r->app, &len);

	if (!text) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	snprintf(r->content_type, sizeof(r->content_type),
	         "text/plain; version=0.0.4; charset=utf-8");
	wa_req_json_take(r, 200, text, len);
}
