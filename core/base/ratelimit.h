/* ratelimit.h - token bucket pacing (caller locks; time is passed in) */
#ifndef WA_RATELIMIT_H
#define WA_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* A token bucket: rate tokens per second, at most burst saved up. Not
 * thread-safe: the owner serialises calls. Every call takes the current
 * time (monotonic microseconds) as an argument, so tests drive it with a
 * clock of their own. */
typedef struct wa_ratelimit {
	double rate;   /* tokens per second; <= 0: unlimited */
	double burst;  /* bucket size, >= 1 */
	double tokens; /* tokens held (read-only view of micro) */
	int64_t micro; /* tokens held, in millionths (no float drift) */
	int64_t cap;   /* burst in millionths */
	int64_t last_us;
} wa_ratelimit;

/* The bucket starts full. burst < 1 is taken as 1. */
void wa_ratelimit_init(wa_ratelimit *rl, double rate, double burst,
                       int64_t now_us);

/* The usual burst for a rate: a tenth of a second's tokens, but at a low
 * rate up to a quarter second's as long as that is at most 16 tokens:
 * max(1, rate / 10, min(16, rate / 4)). The delivery engine claims a
 * bucket's worth at a time, and every claim is a store transaction (with
 * a commit's fixed cost): at 80/s a claim takes 16 every 200 ms instead
 * of 8 every 100 ms (issue 17). From 160/s on it is rate / 10. */
double wa_ratelimit_default_burst(double rate);

/* Take up to want tokens available at now_us; returns how many were taken
 * (want when unlimited). */
size_t wa_ratelimit_take(wa_ratelimit *rl, int64_t now_us, size_t want);

/* Give back n tokens taken but not used (capped at burst). */
void wa_ratelimit_put_back(wa_ratelimit *rl, size_t n);

/* Microseconds from now_us until one token is available (0: now). */
int64_t wa_ratelimit_wait_us(wa_ratelimit *rl, int64_t now_us);

/* Tokens held after refilling to now_us (fractional). */
double wa_ratelimit_available(wa_ratelimit *rl, int64_t now_us);

/* Monotonic clock in microseconds. */
int64_t wa_mono_us(void);

#endif
