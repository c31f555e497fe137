/* early.h - status updates that arrive before their send is recorded
 *
 * A provider can call back about a message before the daemon has written
 * the outcome of the call that sent it (its provider message id is not in
 * the store yet): a fast provider on the same network, or a store write
 * that had to be retried. Such updates are kept here for a while, and the
 * engine applies them once it records the send. Memory only: bounded in
 * count and age, lost at a restart. Thread-safe.
 */
#ifndef WA_EARLY_H
#define WA_EARLY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* What the daemon uses: room for bursts, and far longer than a send takes
 * to be recorded. */
#define WA_EARLY_MAX 1024
#define WA_EARLY_TTL_MS (10 * 60 * 1000)

typedef struct wa_early wa_early;

/* One kept update, with its own copies of the strings. */
typedef struct wa_early_change {
	char provider[WA_PROVIDER_NAME_MAX];
	char provider_message_id[WA_PMID_MAX];
	wa_msg_status status;
	int64_t at_ms;
	char error[WA_ERR_MAX]; /* "" for none */
	int64_t kept_mono_ms;
	bool retryable; /* a late failure to requeue (wa_status_change) */
} wa_early_change;

/* Keep at most max updates, each for ttl_ms. NULL when out of memory. */
wa_early *wa_early_new(size_t max, int64_t ttl_ms);
void wa_early_free(wa_early *b);

/* Keep a copy of c; when full, the oldest update is dropped. */
void wa_early_keep(wa_early *b, const wa_status_change *c, int64_t now_mono);

/* Move up to max kept updates for (provider, provider_message_id), oldest
 * first and not older than the ttl, into out; the count. */
size_t wa_early_take(wa_early *b, const char *provider,
                     const char *provider_message_id, int64_t now_mono,
                     wa_early_change *out, size_t max);

#endif
