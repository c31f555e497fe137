/* ratelimit.c - token bucket pacing */
#include "base/ratelimit.h"

#include <time.h>

int64_t wa_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double wa_ratelimit_default_burst(double rate)
{
	double b = rate / 10.0, low = rate / 4.0 < 16.0 ? rate / 4.0 : 16.0;

	if (b < low) /* a low rate: up to a quarter second, 16 at most */
		b = low;
	return b > 1.0 ? b : 1.0;
}

#define MICRO 1000000

void wa_ratelimit_init(wa_ratelimit *rl, double rate, double burst,
                       int64_t now_us)
{
	rl->rate = rate > 0 ? rate : 0;
	rl->burst = burst >= 1.0 ? burst : 1.0;
	rl->cap = (int64_t)(rl->burst * MICRO);
	rl->micro = rl->cap;
	rl->tokens = rl->burst;
	rl->last_us = now_us;
}

static void sync_view(wa_ratelimit *rl)
{
	rl->tokens = (double)rl->micro / MICRO;
}

static void refill(wa_ratelimit *rl, int64_t now_us)
{
	if (now_us <= rl->last_us)
		return; /* a clock that did not move (or went back) adds nothing
		         */
	/* us * tokens/s = millionths of a token */
	rl->micro += (int64_t)((double)(now_us - rl->last_us) * rl->rate);
	if (rl->micro > rl->cap)
		rl->micro = rl->cap;
	rl->last_us = now_us;
	sync_view(rl);
}

size_t wa_ratelimit_take(wa_ratelimit *rl, int64_t now_us, size_t want)
{
	size_t n = 0;

	if (rl->rate <= 0)
		return want;
	refill(rl, now_us);
	while (n < want && rl->micro >= MICRO) {
		rl->micro -= MICRO;
		n++;
	}
	sync_view(rl);
	return n;
}

void wa_ratelimit_put_back(wa_ratelimit *rl, size_t n)
{
	if (rl->rate <= 0)
		return;
	rl->micro += (int64_t)n * MICRO;
	if (rl->micro > rl->cap)
		rl->micro = rl->cap;
	sync_view(rl);
}

double wa_ratelimit_available(wa_ratelimit *rl, int64_t now_us)
{
	if (rl->rate <= 0)
		return rl->burst;
	refill(rl, now_us);
	return rl->tokens;
}

int64_t wa_ratelimit_wait_us(wa_ratelimit *rl, int64_t now_us)
{
	if (rl->rate <= 0)
		return 0;
	refill(rl, now_us);
	if (rl->micro >= MICRO)
		return 0;
	/* round up so the caller wakes when the token is really there */
	return (int64_t)((double)(MICRO - rl->micro) / rl->rate) + 1;
}
