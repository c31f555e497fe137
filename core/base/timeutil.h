/* timeutil.h - clocks and ISO 8601 timestamps */
#ifndef WA_TIMEUTIL_H
#define WA_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Wall clock, milliseconds since the epoch. */
int64_t wa_now_ms(void);
/* Monotonic clock, milliseconds. */
int64_t wa_mono_ms(void);
/* A wa_mono_ms time as the timespec of pthread_cond_timedwait on a
 * condition variable set to CLOCK_MONOTONIC. */
struct timespec wa_mono_ts(int64_t ms);
/* "2025-11-26T00:29:15.298Z" for ms since the epoch; buf >= 25 bytes. */
const char *wa_iso8601(int64_t ms, char *buf, size_t len);
const char *wa_iso8601_now(char *buf, size_t len);

#endif
