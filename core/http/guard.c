/* guard.c - limits on callers: per-key rate limits */
#include "http/guard.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/ratelimit.h"

struct wa_guard {
	pthread_mutex_t lock;
	double rps, burst;
	size_t n;
	wa_ratelimit *buckets; /* one per API key */
};

wa_guard *wa_guard_create(size_t n_keys, double rps, double burst)
{
	wa_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->rps = rps;
	g->burst = burst > 0 ? burst : (rps > 1 ? rps : 1);
	g->n = n_keys;
	g->buckets = calloc(n_keys ? n_keys : 1, sizeof(*g->buckets));
	if (!g->buckets) {
		free(g);
		return NULL;
	}
	for (size_t i = 0; i < n_keys; i++)
		wa_ratelimit_init(&g->buckets[i], rps, g->burst, wa_mono_us());
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

void wa_guard_destroy(wa_guard *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g->buckets);
	free(g);
}

bool wa_guard_take(wa_guard *g, size_t key, size_t n, int64_t now_us,
                   long *retry_after_s)
{
	wa_ratelimit *b;
	size_t got;
	double missing;

	*retry_after_s = 0;
	if (!g || g->rps <= 0 || key >= g->n)
		return true;
	if ((double)n > g->burst)
		return false; /* can never fit: the caller says why */
	pthread_mutex_lock(&g->lock);
	b = &g->buckets[key];
	got = wa_ratelimit_take(b, now_us, n);
	if (got == n) {
		pthread_mutex_unlock(&g->lock);
		return true;
	}
	/* All or nothing: give back a partial take. */
	wa_ratelimit_put_back(b, got);
	missing = (double)n - wa_ratelimit_available(b, now_us);
	pthread_mutex_unlock(&g->lock);
	*retry_after_s = (long)ceil(missing / g->rps);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return false;
}
