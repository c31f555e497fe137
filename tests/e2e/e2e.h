/* e2e.h - small helpers shared by the end-to-end tests */
#ifndef WA_E2E_H
#define WA_E2E_H

#include "harness.h"

#define E2E_KEY "e2e-test-key-0123456789"

/* POST a JSON body to path on d with the test key; extra: NULL-terminated
 * extra header lines or NULL. Returns the HTTP status (-1 on failure). */
long e2e_post(const wa_daemon *d, const char *path, const char *body,
              const char *const *extra, wa_http_reply *r);
/* POST /v1/messages/send for (external_id, phone, text). */
long e2e_send(const wa_daemon *d, const char *ext, const char *phone,
              const char *text, const char *const *extra, wa_http_reply *r);
/* GET path with the test key. */
long e2e_get(const wa_daemon *d, const char *path, wa_http_reply *r);
/* The number after name in d's /metrics (a leading "\n" in name matches a
 * line's start); -1 when absent or not answered. */
long long e2e_metric(const wa_daemon *d, const char *name);
/* Copy the string value of "key" in a flat JSON text into out ("" if absent).
 */
const char *e2e_field(const char *json, const char *key, char *out, size_t len);
/* Poll GET /v1/messages/{id} until status == want (timeout_ms). */
int e2e_wait_status(const wa_daemon *d, const char *id, const char *want,
                    int timeout_ms);
/* Current status of id into out. */
const char *e2e_status(const wa_daemon *d, const char *id, char *out,
                       size_t len);

#endif
