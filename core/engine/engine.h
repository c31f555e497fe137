/* engine.h - the delivery engine: claim due messages, pace, deliver, record
 *
 * Workers claim due messages from the store (through the writer, with a
 * lease), pace them with a token bucket at the provider rate, deliver them
 * (HTTP pair on a libcurl multi loop owned by the engine; blocking send on
 * the worker pool), and record the outcome: OK -> sent; RETRY -> queued
 * again after exponential backoff with full jitter (honouring retry-after),
 * until max_attempts or the message's TTL -> failed; REJECT -> failed;
 * CONFIG -> the provider is paused, the message released, and a probe
 * retries after a backoff.
 */
#ifndef WA_ENGINE_H
#define WA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider/loader.h"
#include "store/store.h"
#include "store/writer.h"

/* The longest a decided outcome waits to be committed with others (the
 * claimer's next claim); a message whose provider call has ended stays
 * "sending" under its lease that much longer at most. */
#define WA_ENGINE_LINGER_MAX_MS 250

typedef struct wa_engine_config {
	unsigned workers; /* blocking-send threads */
	double rate;      /* msgs/s; 0 = unlimited */
	int max_attempts;
	int64_t lease_ms;
	int64_t retry_base_ms;
	int64_t retry_max_ms;
	long http_timeout_ms;
	long http_connect_timeout_ms;
	long http_max_response_bytes;
	/* HTTP providers: transfers in flight at most (0: 1024). The token
	 * bucket keeps it near rate x latency; this bounds the memory. */
	size_t http_max_inflight;
	/* HTTP providers: PEM file of the CAs to verify against; "": the
	 * system's */
	char http_ca_file[1024];
	int64_t probe_interval_ms;
	/* Status updates that came before their send was recorded: applied
	 * when it is. NULL: none kept. */
	struct wa_early *early;
	/* Appended (issue 14): an answer whose code is in quality_codes
	 * (comma-separated, e.g. "131048,63018") pauses sending for
	 * quality_pause_ms (0: never); the message is retried after it. */
	int64_t quality_pause_ms;
	const char *quality_codes;
} wa_engine_config;

typedef struct wa_engine wa_engine;

/* Result of a delivery attempt, for Prefer: wait. */
typedef struct wa_attempt_report {
	bool finished;        /* false: the wait timed out */
	wa_msg_status status; /* status reached after the attempt */
	char provider_message_id[WA_PMID_MAX];
	char error[WA_ERR_MAX];
} wa_attempt_report;

typedef void (*wa_engine_wait_cb)(void *ud, const wa_attempt_report *r);

wa_engine *wa_engine_create(const wa_engine_config *cfg, wa_store *store,
                            wa_writer *writer, wa_loaded_provider *provider,
                            char *err, size_t err_len);
int wa_engine_start(wa_engine *e, char *err, size_t err_len);

/* New work was committed: tell the claimer; it is woken only when it found
 * nothing due (else it claims at its next turn anyway). Thread-safe,
 * cheap. */
void wa_engine_kick(wa_engine *e);

/* Call cb once, from an engine thread, when the next attempt of message id
 * finishes or at deadline_ms (wall clock), whichever comes first. */
int wa_engine_wait(wa_engine *e, const char *id, int64_t deadline_ms,
                   wa_engine_wait_cb cb, void *ud);

/* Issue 14: is code one of the quality codes? Then pause sending for the
 * quality pause (extending a pause under way), with one log line saying
 * why (detail: the provider's words) and /ready saying so. Returns whether
 * it paused. Thread-safe. */
bool wa_engine_quality_pause(wa_engine *e, const char *code,
                             const char *detail);

/* Is a quality pause under way? */
bool wa_engine_quality_active(wa_engine *e);

/* Provider usable? Otherwise reason says why (paused: CONFIG error). */
bool wa_engine_ready(wa_engine *e, char *reason, size_t len);

/* Stop claiming; let in-flight attempts finish until deadline_ms (mono),
 * then release what is left; pending waits are answered (not finished).
 * Returns true when every thread was joined. Returns false when blocking
 * send() calls were still running half a second past the deadline: their
 * messages are released and those threads left running. The caller may
 * then exit the process at once, or call wa_engine_destroy, which waits
 * for them. */
bool wa_engine_stop(wa_engine *e, int64_t deadline_mono_ms);

/* Accepts NULL. Call after wa_engine_stop (waits for threads an
 * incomplete stop left running). */
void wa_engine_destroy(wa_engine *e);

/* Counters for metrics (monotonic). */
typedef struct wa_engine_counts {
	unsigned long long attempts, sent, retried, failed, config_errors;
	unsigned long long in_flight;
} wa_engine_counts;
void wa_engine_get_counts(wa_engine *e, wa_engine_counts *out);

/* Backoff: full jitter in [0, min(max, base * 2^(attempt-1))], at least
 * retry_after_ms when given. rnd in [0,1). Exposed for tests. */
int64_t wa_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                      int64_t retry_after_ms, double rnd);

#endif
