/* metrics.h - the process's counters and histograms (a leaf: the engine, the
 * writer and the HTTP layer bump them; http/routes_metrics.c renders them)
 */
#ifndef WA_METRICS_H
#define WA_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

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

/* The q-quantile (0..1) of provider call durations in seconds, to the
 * histogram's resolution (the upper bound of the bucket that holds it);
 * *count: how many calls it is drawn from (0: none yet, result 0). */
double wa_metrics_provider_quantile(double q, unsigned long long *count);

/* Status callbacks applied so far with this status. */
unsigned long long wa_metrics_callback_count(int status);

/* ---- rendering: a growing text buffer and the counters' own sections ---- */

/* Routes beyond this many are counted as "unknown". */
#define WA_METRICS_MAX_ROUTES 32

typedef struct wa_text {
	char *p; /* malloc'd by the caller */
	size_t len, cap;
	int oom; /* set once an allocation failed; later puts do nothing */
} wa_text;

__attribute__((format(printf, 2, 3))) void wa_text_put(wa_text *b,
                                                       const char *fmt, ...);
/* "# HELP" and "# TYPE" lines. */
void wa_metrics_help(wa_text *b, const char *name, const char *type,
                     const char *text);
/* Requests by route and code, and their latency (route_names[i] names route
 * index i as passed to wa_metrics_http). */
void wa_metrics_render_http(wa_text *b, const char *const *route_names,
                            size_t n_routes);
void wa_metrics_render_accepted(wa_text *b, const char *prov);
/* Provider calls by class, and their duration. */
void wa_metrics_render_provider_calls(wa_text *b, const char *prov);
/* Store transaction duration and size. */
void wa_metrics_render_commits(wa_text *b);

#endif
