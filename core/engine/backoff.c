/* backoff.c - retry backoff with full jitter, and a per-thread random source */
#include "engine/engine_int.h"

#include <sys/random.h>
#include <time.h>

int64_t wa_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                      int64_t retry_after_ms, double rnd)
{
	int64_t cap = base_ms > 0 ? base_ms : 0, d;

	if (attempt < 1)
		attempt = 1;
	if (max_ms < 0)
		max_ms = 0;
	/* base * 2^(attempt-1), stopping at max (and before overflow) */
	for (int i = 1; i < attempt && cap < max_ms; i++)
		cap = cap > INT64_MAX / 2 ? INT64_MAX : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	if (!(rnd >= 0.0)) /* also catches NaN */
		rnd = 0.0;
	if (rnd >= 1.0)
		rnd = 0.999999999;
	d = (int64_t)(rnd * (double)cap);
	if (d > cap)
		d = cap;
	if (retry_after_ms > 0 && d < retry_after_ms)
		d = retry_after_ms;
	return d;
}

static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	if (x == 0) {
		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(x)) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^
			    (uint64_t)(uintptr_t)&rng_state;
		}
		if (x == 0)
			x = 0x2545f4914f6cdd1du;
	}
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1du;
}

double wa_rand01(void)
{
	return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}
