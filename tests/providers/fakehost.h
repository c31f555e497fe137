/* fakehost.h - a fake wa_host for provider unit tests: config table, captured
 * log, dlopen helper */
#ifndef WA_FAKEHOST_H
#define WA_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>

#include "wadispatch/provider.h"

#define FH_MAX_KEYS 32
#define FH_MAX_LINES 256

/* Config is a NULL-terminated list of "KEY=VALUE" strings (set per test). */
void fh_set_config(const char *const *kv);
/* The host table handed to init(). */
const wa_host *fh_host(void);
/* Captured log lines (each formatted, NUL-terminated). */
size_t fh_log_count(void);
const char *fh_log_line(size_t i);
/* Does any captured log line contain needle? */
bool fh_log_contains(const char *needle);
void fh_log_clear(void);

/* dlopen $WA_PROVIDER_BUILD_DIR/<name>.so and return its table (exits on
 * failure). */
const wa_provider *fh_load(const char *name);
/* init the provider with the current config: 0 or -1 with err. */
int fh_init(const wa_provider *p, void **state, char *err, size_t err_len);

/* $WA_SOURCE_DIR/tests/fixtures/<name>, malloc'd and NUL-terminated. */
char *fh_fixture(const char *name, size_t *len);

/* A request with a heap body buffer of cap bytes (free with fh_req_free). */
void fh_req_init(wa_http_request *req, size_t cap);
void fh_req_free(wa_http_request *req);
/* Value of header name in req (after "Name: "), or NULL. */
const char *fh_req_header(const wa_http_request *req, const char *name);

/* A message with the given phone/body; template/media fields NULL. */
wa_message fh_msg(const char *phone, const char *body);

/* Run parse_response on a canned reply. */
/* fh_parse of a NUL-terminated body, and of a fixture file's bytes. */
wa_result fh_parse_str(const wa_provider *p, void *state, long status,
                       const char *body);
wa_result fh_parse_fixture(const wa_provider *p, void *state, long status,
                           const char *fixture);
wa_result fh_parse(const wa_provider *p, void *state, long status,
                   const char *body, size_t len, const char *retry_after);

/* Run on_callback; headers is a NULL-terminated "Name", "value", ... list. */
void fh_callback(const wa_provider *p, void *state, const char *method,
                 const char *public_url, const char *query,
                 const char *content_type, const char *body, size_t body_len,
                 const char *const *headers, wa_callback_reply *reply);

/* Count captured log lines holding the configured value of a key that p
 * marks secret, or any of the extra strings (NULL-terminated; may be NULL).
 * Offending lines are printed to stderr. */
int fh_secret_leaks(const wa_provider *p, const char *const *extra);

#endif
