/* pe.h - shared helpers of the provider end-to-end tests (real daemon, real
 * plugins, fake APIs) */
#ifndef WA_PE_H
#define WA_PE_H

#include <stdbool.h>
#include <stddef.h>

#include "e2e.h"
#include "fake_launch.h"

#define PE_HOOK_SECRET "pe-status-webhook-secret-0123"
#define PE_EVO_TOKEN "pe-evolution-hook-token-0123"
#define PE_META_SECRET "pe-meta-app-secret-0123"
#define PE_META_VERIFY "pe-meta-verify-token-0123"
#define PE_TWILIO_FROM "+14155552345"

/* How a status callback is delivered: genuinely, or forged. */
typedef enum pe_forge {
	PE_SIGNED,   /* what the provider sends */
	PE_BAD_SIG,  /* wrong key / wrong token */
	PE_MODIFIED, /* signed body, then altered (Evolution: wrong ?token=) */
	PE_NO_SIG,   /* no signature header / no token */
	PE_QUERY_TOKEN /* Evolution only: the right token as ?token= */
} pe_forge;

typedef struct pe_provider {
	const char *name; /* twilio | evolution | cloudapi */
	const char
	    *id_field; /* provider_details member: sid | key_id | wamid */
	const char *base_key; /* the base URL setting */
	long forged_status;   /* what a forged callback gets (401 or 403) */
} pe_provider;

/* twilio, evolution or cloudapi; NULL otherwise. */
const pe_provider *pe_find(const char *name);

/* A daemon environment being built: "KEY=VALUE" strings. */
typedef struct pe_env {
	char buf[48][1024];
	const char *list[49];
	int n;
} pe_env;

void pe_env_add(pe_env *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Remove every entry for key. */
void pe_env_drop(pe_env *e, const char *key);
/* The usual set: API key, loopback bind, PORT=port, PUBLIC_BASE_URL, fast
 * retries, PROVIDER_RATE=0, the provider, its base URL (api_base, may be
 * NULL) and the credentials the fakes expect; STATUS_WEBHOOK_* when
 * hook_port > 0. */
void pe_env_init(pe_env *e, const pe_provider *p, int port,
                 const char *api_base, int hook_port);

/* Drop provider settings this process may have inherited. */
void pe_clean_environ(void);

/* The string at a dotted path ("provider_details.sid") of a JSON text
 * into out; "" when absent. Returns out. */
const char *pe_json(const char *json, const char *path, char *out, size_t len);
/* Integer at a dotted path, or -1. */
long pe_json_int(const char *json, const char *path);
/* Statuses of the "history" array, space-separated ("queued sending sent"). */
const char *pe_history(const char *json, char *out, size_t len);

/* The "id" of record line n (1-based) of a fake's record file ("" when
 * absent). Returns out. */
const char *pe_fake_id(const wa_fake *f, int n, char *out, size_t len);

/* POST /v1/messages/send with Prefer: wait=10 (wait true) or without. */
long pe_send(const wa_daemon *d, const char *ext, const char *phone,
             const char *text, bool wait, wa_http_reply *r);

/* Deliver a status callback for provider message id pmid with the
 * provider's own status word for "delivered" or "read" (status is one of
 * those two), genuinely or forged. Returns the HTTP status, -1 on failure. */
long pe_callback(const wa_daemon *d, const pe_provider *p, const char *pmid,
                 const char *status, pe_forge forge);

/* Deliver, as the provider would (genuinely or forged), an inbound text
 * message with provider id in_id from phone ("+<digits>"). Returns the
 * HTTP status, -1 on failure. */
long pe_inbound(const wa_daemon *d, const pe_provider *p, const char *in_id,
                const char *phone, const char *text, pe_forge forge);
/* POST body to the Cloud API callback route, signed with the app secret
 * as Meta would. Returns the HTTP status, -1 on failure. */
long pe_meta_webhook(const wa_daemon *d, const char *body);
/* Deliver a signed "failed" status for pmid with the provider's error
 * code (Twilio ErrorCode, Meta errors[0].code; Evolution has none and
 * sends ERROR). Returns the HTTP status, -1 on failure. */
long pe_failed(const wa_daemon *d, const pe_provider *p, const char *pmid,
               const char *code);

/* X-Twilio-Signature over url + params sorted by name (n pairs). */
int pe_twilio_signature(const char *token, const char *url,
                        const char *const *names, const char *const *values,
                        size_t n, char *out, size_t len);
/* "sha256=" + hex HMAC-SHA256(key, body). */
int pe_hmac256_hex(const char *key, const char *body, size_t len, char *out,
                   size_t out_len);

#endif
