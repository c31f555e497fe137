/* metrics.h - counters and histograms, rendered in the Prometheus text format
 */
#ifndef WA_METRICS_H
#define WA_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

#define WA_HISTO_MAX_BUCKETS 16

/* A histogram with fixed upper bounds (ascending; +Inf is implicit). All
 * updates are lock-free. */
typedef struct wa_histo {
	const double *bounds;
	size_t n_bounds;
	atomic_ullong buckets[WA_HISTO_MAX_BUCKETS + 1]; /* last: +Inf */
	atomic_ullong count;
	atomic_ullong sum_micro; /* sum of observations x 1e6 */
} wa_histo;

void wa_histo_init(wa_histo *h, const double *bounds, size_t n_bounds);
void wa_histo_observe(wa_histo *h, double value);

/* Bounds in seconds for latencies (0.5 ms .. 10 s). */
extern const double wa_latency_bounds[];
extern const size_t wa_latency_n_bounds;

/* HTTP: count a finished request of route index (0..n-1 or -1 unknown). */
void wa_metrics_http(int route, unsigned status, double seconds);
/* Messages accepted (new, not replays). */
void wa_metrics_accepted(size_t n);
/* Status callbacks applied, by status name index (store wa_msg_status). */
void wa_metrics_callback_status(int status);
/* One provider attempt: class is a wa_result_class, or -1 for a transport
 * error classified by the host. */
void wa_metrics_provider_call(int result_class, double seconds);
/* One store commit of n jobs taking seconds. */
void wa_metrics_commit(size_t n, double seconds);

/* Render everything for GET /metrics. malloc'd; *len set. */
char *wa_metrics_render(wa_app *app, size_t *len);

/* The /metrics handler. */
struct wa_req;
void wa_route_metrics(struct wa_req *r);

#endif
