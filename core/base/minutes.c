/* minutes.c - per-minute event counts of this process over the last hour */
#include "base/minutes.h"

#include <pthread.h>
#include <string.h>

#include "base/timeutil.h"

typedef struct slot {
	int64_t minute; /* minutes since the epoch this slot holds */
	unsigned long long n[WA_MIN_KINDS];
} slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static slot ring[WA_MIN_SLOTS];

void wa_minutes_add(int kind, size_t n)
{
	int64_t minute = wa_now_ms() / 60000;
	slot *s;

	if (kind < 0 || kind >= WA_MIN_KINDS || n == 0)
		return;
	pthread_mutex_lock(&mu);
	s = &ring[minute % WA_MIN_SLOTS];
	if (s->minute != minute) {
		memset(s, 0, sizeof(*s));
		s->minute = minute;
	}
	s->n[kind] += n;
	pthread_mutex_unlock(&mu);
}

void wa_minutes_series(int64_t now_ms,
                       unsigned long long out[WA_MIN_SLOTS][WA_MIN_KINDS],
                       int64_t *first_ms)
{
	int64_t last = now_ms / 60000, first = last - (WA_MIN_SLOTS - 1);

	*first_ms = first * 60000;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < WA_MIN_SLOTS; i++) {
		const slot *s = &ring[(first + i) % WA_MIN_SLOTS];

		if (s->minute == first + i)
			memcpy(out[i], s->n, sizeof(s->n));
		else
			memset(out[i], 0, sizeof(out[i]));
	}
	pthread_mutex_unlock(&mu);
}
