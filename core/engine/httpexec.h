/* httpexec.h - the libcurl multi loop that runs a provider's HTTP pair */
#ifndef WA_HTTPEXEC_H
#define WA_HTTPEXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "provider/loader.h"

typedef struct wa_httpexec wa_httpexec;

typedef struct wa_httpexec_config {
	size_t max_inflight; /* transfers at once */
	long timeout_ms;     /* total, unless the request sets one */
	long connect_timeout_ms;
	long max_response_bytes;
	char ca_file[1024]; /* PEM CAs to verify the provider by; "": system */
} wa_httpexec_config;

/* Called on the loop thread when a delivery ends. completed: res holds the
 * answer (from build_request, parse_response or a transport error, which
 * is RETRY); false: the transfer was abandoned by wa_httpexec_stop and res
 * means nothing. */
typedef void (*wa_httpexec_done)(void *ud, bool completed);

/* p must implement the HTTP pair and outlive the executor. */
wa_httpexec *wa_httpexec_create(const wa_loaded_provider *p,
                                const wa_httpexec_config *cfg, char *err,
                                size_t err_len);
int wa_httpexec_start(wa_httpexec *hx, char *err, size_t err_len);

/* Queue one delivery. msg and res (zeroed by the caller, struct_size set)
 * stay the caller's and must stay valid until done is called. Returns 0,
 * or -1 when the executor is stopped (done is not called). Thread-safe. */
int wa_httpexec_submit(wa_httpexec *hx, const wa_message *msg, wa_result *res,
                       wa_httpexec_done done, void *ud);

/* Abandon whatever is queued or in flight (done(ud, false) for each) and
 * join the loop thread. */
void wa_httpexec_stop(wa_httpexec *hx);

/* Accepts NULL. After wa_httpexec_stop (or if never started). */
void wa_httpexec_destroy(wa_httpexec *hx);

/* A request line for the debug log with secrets hidden: "Authorization"
 * and "apikey" header values, and every value of a configuration key the
 * provider declares secret (secrets: NULL-terminated list of values), are
 * replaced by "[redacted]". Exposed for tests. */
void wa_httpexec_redact(const char *line, const char *const *secrets, char *out,
                        size_t out_len);

/* One debug log line for req, redacted as above (httpexec_log.c). */
void wa_httpexec_log_request(const wa_http_request *req,
                             const char *const *secrets);

#endif
