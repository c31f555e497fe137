/* guard.h - limits on callers: per-key rate limits and the in-flight cap */
#ifndef WA_GUARD_H
#define WA_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wa_guard wa_guard;

/* rps <= 0 turns rate limiting off. burst <= 0 means max(1, rps). */
wa_guard *wa_guard_create(size_t n_keys, double rps, double burst);
void wa_guard_destroy(wa_guard *g); /* accepts NULL */

/* Take n tokens from key's bucket. true when allowed; else false and
 * *retry_after_s says when n tokens will be there (at least 1). A request
 * for more than the burst can never pass: *retry_after_s is then 0. */
bool wa_guard_take(wa_guard *g, size_t key, size_t n, int64_t now_us,
                   long *retry_after_s);

#endif
