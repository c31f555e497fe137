/* minutes.h - per-minute event counts of this process over the last hour
 * (GET /v1/stats): a ring of 60 one-minute slots, kept as events happen */
#ifndef WA_MINUTES_H
#define WA_MINUTES_H

#include <stddef.h>
#include <stdint.h>

enum {
	WA_MIN_ACCEPTED = 0,
	WA_MIN_SENT = 1,
	WA_MIN_DELIVERED = 2,
	WA_MIN_READ = 3,
	WA_MIN_FAILED = 4,
	WA_MIN_KINDS = 5
};
#define WA_MIN_SLOTS 60

/* Count n events of kind now. */
void wa_minutes_add(int kind, size_t n);
/* The last 60 minutes up to now_ms, oldest first: out[i] covers the minute
 * starting at *first_ms + i * 60000 (the last one is the current, partial
 * minute). */
void wa_minutes_series(int64_t now_ms,
                       unsigned long long out[WA_MIN_SLOTS][WA_MIN_KINDS],
                       int64_t *first_ms);

#endif
