/* routes_metrics.c - GET /metrics: the Prometheus text page, composed from the
 * counters in base/metrics.c and what the engine, store and webhook sender
 * report about themselves */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/defaults.h"
#include "base/metrics.h"
#include "base/timeutil.h"
#include "engine/webhook.h"
#include "http/http.h"
#include "http/routes.h"
#include "http/watchdog.h"

static char *render(wa_app *app, size_t *len)
{
	wa_text b = {malloc(16384), 0, 16384, 0};
	const char *prov = app->provider->table->name;
	wa_store_stats st;
	char err[256], reason[256];
	bool stats_ok, up;
	const char *route_names[WA_METRICS_MAX_ROUTES];
	size_t n_routes = 0;
	unsigned long long batches = 0, jobs = 0;
	size_t queued, writing = 0;
	wa_engine_counts ec;
	const wa_route *routes = wa_http_routes();

	if (!b.p)
		return NULL;
	while (routes && routes[n_routes].pattern &&
	       n_routes < WA_METRICS_MAX_ROUTES) {
		route_names[n_routes] = routes[n_routes].name;
		n_routes++;
	}

	wa_metrics_help(&b, "wadispatch_build_info", "gauge",
	                "Build and provider information.");
	wa_text_put(
	    &b,
	    "wadispatch_build_info{version=\"%s\",provider=\"%s\",provider_"
	    "version=\"%s\",abi=\"%d.%d\"} 1\n",
	    WA_VERSION, prov, app->provider->table->version,
	    WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR);
	wa_metrics_help(&b, "wadispatch_start_time_seconds", "gauge",
	                "Start time of the process.");
	wa_text_put(&b, "wadispatch_start_time_seconds %.3f\n",
	            (double)app->started_ms / 1000);

	wa_metrics_render_http(&b, route_names, n_routes);

	wa_metrics_render_accepted(&b, prov);
	memset(&ec, 0, sizeof(ec));
	if (app->engine)
		wa_engine_get_counts(app->engine, &ec);
	wa_metrics_help(
	    &b, "wadispatch_messages_total", "counter",
	    "Message status changes: sent and failed by the engine, "
	    "delivered/read/failed by provider callbacks.");
	wa_text_put(
	    &b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"sent\"} %llu\n",
	    prov, ec.sent);
	wa_text_put(
	    &b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"delivered\"} "
	    "%llu\n",
	    prov, wa_metrics_callback_count(WA_MSG_DELIVERED));
	wa_text_put(
	    &b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"read\"} %llu\n",
	    prov, wa_metrics_callback_count(WA_MSG_READ));
	wa_text_put(
	    &b,
	    "wadispatch_messages_total{provider=\"%s\",status=\"failed\"} "
	    "%llu\n",
	    prov, ec.failed + wa_metrics_callback_count(WA_MSG_FAILED));
	wa_metrics_help(&b, "wadispatch_retries_total", "counter",
	                "Attempts that will be retried.");
	wa_text_put(&b, "wadispatch_retries_total{provider=\"%s\"} %llu\n",
	            prov, ec.retried);
	wa_metrics_render_provider_calls(&b, prov);
	wa_metrics_help(&b, "wadispatch_provider_in_flight", "gauge",
	                "Provider attempts under way.");
	wa_text_put(&b, "wadispatch_provider_in_flight{provider=\"%s\"} %llu\n",
	            prov, ec.in_flight);
	wa_metrics_help(
	    &b, "wadispatch_provider_paused", "gauge",
	    "1 while the provider is paused by a credentials/configuration "
	    "error.");
	wa_text_put(
	    &b, "wadispatch_provider_paused{provider=\"%s\"} %d\n", prov,
	    app->engine && !wa_engine_ready(app->engine, reason, sizeof(reason))
	        ? 1
	        : 0);

	/* the store's figures and wadispatch_store_up: one round trip where
	 * the store can (PostgreSQL), else stats, then ping */
	memset(&st, 0, sizeof(st));
	if (app->store->ops->stats_up) {
		stats_ok = app->store->ops->stats_up(app->store, &st, &up, err,
		                                     sizeof(err)) == 0;
	} else {
		stats_ok = app->store->ops->stats(app->store, &st, err,
		                                  sizeof(err)) == 0;
		up = app->store->ops->ping(app->store, err, sizeof(err)) == 0;
	}
	if (stats_ok) {
		wa_metrics_help(&b, "wadispatch_messages", "gauge",
		                "Stored messages by current status.");
		for (int s = 0; s < 7; s++)
			wa_text_put(
			    &b, "wadispatch_messages{status=\"%s\"} %lld\n",
			    wa_msg_status_name((wa_msg_status)s), st.count[s]);
		wa_metrics_help(&b, "wadispatch_queue_depth", "gauge",
		                "Messages queued or being sent.");
		wa_text_put(&b, "wadispatch_queue_depth %lld\n",
		            st.count[WA_MSG_QUEUED] + st.count[WA_MSG_SENDING]);
		wa_metrics_help(
		    &b, "wadispatch_queue_oldest_age_seconds", "gauge",
		    "Age of the oldest queued message (0 when none).");
		wa_text_put(&b, "wadispatch_queue_oldest_age_seconds %.3f\n",
		            st.oldest_queued_ms
		                ? (double)(wa_now_ms() - st.oldest_queued_ms) /
		                      1000
		                : 0.0);
		wa_metrics_help(
		    &b, "wadispatch_store_oldest_row_timestamp_seconds",
		    "gauge",
		    "Creation time (Unix seconds) of the oldest message kept; "
		    "retention deletes finished ones after RETENTION (0 when "
		    "none).");
		wa_text_put(&b,
		            "wadispatch_store_oldest_row_timestamp_seconds "
		            "%.3f\n",
		            (double)st.oldest_ms / 1000);
		wa_metrics_help(&b, "wadispatch_outbox_depth", "gauge",
		                "Status webhooks waiting to be delivered.");
		wa_text_put(&b, "wadispatch_outbox_depth %lld\n",
		            st.outbox_pending);
	}
	if (app->store->ops->budget) { /* issue 14: the messaging tier */
		wa_store_budget bu;

		app->store->ops->budget(app->store, &bu);
		wa_metrics_help(&b, "wadispatch_messaging_limit", "gauge",
		                "Distinct recipients allowed per window "
		                "(MESSAGING_LIMIT); 0 = unlimited.");
		wa_text_put(&b, "wadispatch_messaging_limit %ld\n", bu.limit);
		wa_metrics_help(&b, "wadispatch_messaging_limit_used", "gauge",
		                "Recipients counted in the current window.");
		wa_text_put(&b, "wadispatch_messaging_limit_used %ld\n",
		            bu.used);
		wa_metrics_help(
		    &b, "wadispatch_messaging_limit_held", "gauge",
		    "Queued messages held back by the limit (as the "
		    "claims saw them).");
		wa_text_put(&b, "wadispatch_messaging_limit_held %ld\n",
		            bu.held);
	}
	if (app->engine) {
		wa_metrics_help(
		    &b, "wadispatch_quality_paused", "gauge",
		    "1 while sending is paused because the provider "
		    "said the account is throttled for quality or at "
		    "its tier (QUALITY_PAUSE).");
		wa_text_put(&b, "wadispatch_quality_paused %d\n",
		            wa_engine_quality_active(app->engine));
	}
	if (app->webhook) {
		unsigned long long wd = 0, wf = 0;
		wa_webhook_counts(app->webhook, &wd, &wf, NULL);
		wa_metrics_help(&b, "wadispatch_webhooks_delivered_total",
		                "counter",
		                "Status webhooks the receiver accepted (2xx).");
		wa_text_put(&b, "wadispatch_webhooks_delivered_total %llu\n",
		            wd);
		wa_metrics_help(
		    &b, "wadispatch_webhook_failures_total", "counter",
		    "Status webhook attempts that failed and will be retried.");
		wa_text_put(&b, "wadispatch_webhook_failures_total %llu\n", wf);
	}
	wa_metrics_help(&b, "wadispatch_store_up", "gauge",
	                "1 when the store is writable.");
	wa_text_put(&b, "wadispatch_store_up %d\n", up);
	wa_writer_counts(app->writer, &batches, &jobs);
	wa_metrics_help(&b, "wadispatch_store_writer_queue", "gauge",
	                "Writes waiting for the writer thread.");
	queued = wa_writer_depth(app->writer, &writing);
	wa_text_put(&b, "wadispatch_store_writer_queue %zu\n", queued);
	wa_metrics_help(&b, "wadispatch_store_writer_writing", "gauge",
	                "Writes in the group commit under way.");
	wa_text_put(&b, "wadispatch_store_writer_writing %zu\n", writing);
	wa_metrics_render_commits(&b);
	wa_metrics_help(&b, "wadispatch_http_requests_open", "gauge",
	                "Requests under way, from their first line to their "
	                "answer (heads still arriving included).");
	wa_text_put(&b, "wadispatch_http_requests_open %ld\n",
	            atomic_load(&app->requests_open));
	wa_metrics_help(&b, "wadispatch_http_requests_active", "gauge",
	                "Requests whose head has arrived, until their answer "
	                "(what MAX_INFLIGHT caps).");
	wa_text_put(&b, "wadispatch_http_requests_active %ld\n",
	            atomic_load(&app->requests_active));
	wa_metrics_help(&b, "wadispatch_http_auth_failures_total", "counter",
	                "Requests refused 401 for a missing or wrong API key.");
	wa_text_put(&b, "wadispatch_http_auth_failures_total %lu\n",
	            atomic_load(&app->auth_failures));
	wa_metrics_help(&b, "wadispatch_callbacks_refused_total", "counter",
	                "Provider callbacks refused (bad or missing signature, "
	                "malformed).");
	wa_text_put(&b, "wadispatch_callbacks_refused_total %lu\n",
	            atomic_load(&app->callbacks_refused));
	wa_metrics_help(&b, "wadispatch_http_connections_cut_total", "counter",
	                "Connections closed before a whole request arrived "
	                "(request_timeout, unfinished_per_ip), or left idle "
	                "between requests for CONNECTION_TIMEOUT "
	                "(idle_timeout).");
	wa_text_put(&b,
	            "wadispatch_http_connections_cut_total{reason=\"request_"
	            "timeout\"} %llu\n",
	            wa_watchdog_cut_count(app->watchdog));
	wa_text_put(&b,
	            "wadispatch_http_connections_cut_total{reason=\"unfinished_"
	            "per_ip\"} %llu\n",
	            wa_watchdog_ip_cut_count(app->watchdog));
	wa_text_put(&b,
	            "wadispatch_http_connections_cut_total{reason=\"idle_"
	            "timeout\"} %llu\n",
	            wa_watchdog_idle_cut_count(app->watchdog));
	wa_metrics_help(&b, "wadispatch_http_connections_refused_total",
	                "counter",
	                "Connections past MAX_CONNECTIONS refused (503 and a "
	                "close, or a close).");
	wa_text_put(&b, "wadispatch_http_connections_refused_total %llu\n",
	            wa_watchdog_refused_count(app->watchdog));
	wa_metrics_help(&b, "wadispatch_http_connections_open", "gauge",
	                "HTTP connections open (probe slots past "
	                "MAX_CONNECTIONS included).");
	wa_text_put(&b, "wadispatch_http_connections_open %u\n",
	            wa_watchdog_open_count(app->watchdog));

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
	char *text = render(r->app, &len);

	if (!text) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	snprintf(r->content_type, sizeof(r->content_type),
	         "text/plain; version=0.0.4; charset=utf-8");
	wa_req_json_take(r, 200, text, len);
}
