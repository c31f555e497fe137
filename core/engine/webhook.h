/* webhook.h - signed status webhooks out, delivered from the store's outbox
 *
 * One sender thread claims due outbox events (per message only the oldest
 * pending one, so a message's events go out in order), POSTs each as JSON
 * signed with HMAC-SHA256, and finishes it: 2xx removes the event, anything
 * else schedules a retry with exponential backoff and jitter. Events are
 * never dropped. Store writes go through the writer thread.
 *
 * Lifecycle: create -> start -> (kick ...) -> stop -> destroy. Stop before
 * the writer is destroyed.
 */
#ifndef WA_WEBHOOK_H
#define WA_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/writer.h"

typedef struct wa_webhook wa_webhook;

typedef struct wa_webhook_config {
	const char *url;       /* http:// or https:// (copied) */
	const char *secret;    /* HMAC key, >= 16 chars (copied) */
	long timeout_ms;       /* per request, total; <= 0: 10 s */
	int64_t retry_base_ms; /* first retry delay; <= 0: 1 s */
	int64_t retry_max_ms;  /* cap; < base: base */
	int64_t lease_ms;      /* claim lease; raised to timeout + 5 s */
} wa_webhook_config;

/* Validate cfg and allocate. The store must have its outbox enabled by the
 * caller (set_outbox). NULL with one sentence in err on failure. */
wa_webhook *wa_webhook_create(const wa_webhook_config *cfg, wa_store *store,
                              wa_writer *writer, char *err, size_t err_len);
/* Start the sender thread. 0, or -1 with err. */
int wa_webhook_start(wa_webhook *w, char *err, size_t err_len);
/* New events may exist (call after a commit, e.g. from the writer's
 * on-commit hook). Cheap; any thread. */
void wa_webhook_kick(wa_webhook *w);
/* Start no new deliveries; let in-flight requests finish, abandoning them
 * (retried later) at deadline_mono_ms (wa_mono_ms clock); join the thread.
 * Safe to call twice or without start. */
void wa_webhook_stop(wa_webhook *w, int64_t deadline_mono_ms);
/* Stops if needed (deadline now), frees. Accepts NULL. */
void wa_webhook_destroy(wa_webhook *w);

/* The JSON body for ev into out (NUL-terminated). Returns its length, or -1
 * if len is too small. 8 KiB always suffices for a status event; an event
 * queued with outbox_add (two-way messaging) is its stored body, at most
 * 128 KiB. */
int wa_webhook_body(const wa_outbox_event *ev, char *out, size_t len);
/* The same into *buf, grown (realloc) to what ev needs; *cap is its size.
 * Returns the length, or -1 when out of memory. */
int wa_webhook_body_grow(const wa_outbox_event *ev, char **buf, size_t *cap);
/* "sha256=<64 lowercase hex>" = HMAC-SHA256(secret, timestamp "." body)
 * into out (>= 72 bytes). 0, or -1 on failure. */
int wa_webhook_sign(const char *secret, const char *timestamp, const char *body,
                    size_t body_len, char *out, size_t len);
/* Counters (any argument may be NULL): events delivered, failed delivery
 * attempts (monotonic), and events pending in the outbox now (-1 if the
 * store cannot tell). */
void wa_webhook_counts(wa_webhook *w, unsigned long long *delivered,
                       unsigned long long *failed_attempts, long long *pending);

#endif
