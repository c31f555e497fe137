/* provider_v1_1.h - FROZEN copy of the provider ABI as released at v1.1.
 * Never edit: tests/abi builds a plugin against it that every later host
 * must still load. (Original header comment follows.)
 *
 * provider.h - the wadispatch provider plugin ABI, version 1
 *
 * This is the one page a provider author reads. It stands alone: it needs
 * only the C standard headers and compiles in an empty C11 translation unit.
 *
 * A provider is a shared object that exports exactly one symbol,
 * wa_provider_entry_v1, returning a pointer to a static const wa_provider
 * table. The daemon (the "host") dlopen()s it with RTLD_NOW|RTLD_LOCAL at
 * startup, checks the table, calls init() once, delivers messages through
 * it, and calls destroy() once at shutdown. It is never dlclose()d.
 *
 * Versioning promise
 *   - The major version is in the entry symbol's name. A new major is a new
 *     symbol and a new table; hosts refuse plugins of another major.
 *   - A minor version only ever APPENDS fields to the end of structs. It
 *     never removes, reorders, resizes or changes the meaning of a field.
 *   - The host accepts a plugin whose minor is <= its own. A plugin built
 *     against a newer minor than the host is refused (it may rely on fields
 *     the host does not fill).
 *   - Structs the host passes in carry struct_size; a plugin built for a
 *     newer minor may test it before reading an appended field.
 *
 * Threads
 *   - init() runs once, on the main thread, before any delivery.
 *   - build_request(), parse_response(), send() and on_callback() run
 *     concurrently from several host threads on the same state: keep the
 *     state read-only after init(), or lock it yourself.
 *   - destroy() runs once, after every delivery thread has been joined.
 *
 * Ownership
 *   - Everything the host passes in is owned by the host and valid only for
 *     the duration of the call. Copy what you want to keep.
 *   - Everything the plugin fills (request, result, callback reply) lives in
 *     host-owned fixed-size buffers. Nothing crosses the boundary to be
 *     freed by the other side.
 *
 * Two ways to deliver (a provider implements exactly one)
 *   1. The HTTP pair (preferred): build_request() fills a wa_http_request;
 *      the host performs the exchange on its own libcurl loop (timeouts,
 *      TLS verification, connection reuse, response size cap, secrets
 *      redacted from logs) and hands the reply to parse_response(), which
 *      classifies it. The plugin does no I/O. A transport failure (no
 *      connection, timeout, reply too large) never reaches parse_response():
 *      the host classifies it as WA_RESULT_RETRY itself.
 *   2. A blocking send(), for providers that are not plain HTTP. The host
 *      calls it from its worker pool; it may block (bounded, please).
 *
 * Result classes
 *   WA_RESULT_OK      accepted upstream; provider_message_id filled.
 *   WA_RESULT_RETRY   transient (timeout, 5xx, 429...); retry_after_ms is an
 *                     optional hint (0: the host's backoff decides).
 *   WA_RESULT_REJECT  permanent for this message; the host marks it failed.
 *   WA_RESULT_CONFIG  credentials or set-up are wrong: the host pauses the
 *                     provider and reports not-ready instead of burning
 *                     retries. Messages stay queued.
 *   Always fill upstream_status (HTTP status, 0 if none) and, when the
 *   provider has one, upstream_code (its own error code as text) and error.
 *
 * Building
 *   cc -std=c11 -fPIC -shared -fvisibility=hidden -Wl,-z,defs \
 *      $(pkg-config --cflags wadispatch-provider) -o acme.so acme.c
 *   and mark only the entry function WA_PROVIDER_EXPORT.
 */
#ifndef WADISPATCH_PROVIDER_H
#define WADISPATCH_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WA_PROVIDER_ABI_MAJOR 1
#define WA_PROVIDER_ABI_MINOR 1

/* The entry symbol's name, for dlsym(). */
#define WA_PROVIDER_ENTRY_SYMBOL "wa_provider_entry_v1"

#if defined(__GNUC__) || defined(__clang__)
#define WA_PROVIDER_EXPORT __attribute__((visibility("default")))
#define WA_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define WA_PROVIDER_EXPORT
#define WA_PRINTF_LIKE(fmt, args)
#endif

/* ---- Fixed buffer sizes (part of the ABI) ------------------------------ */

#define WA_URL_MAX 2048          /* request URL, NUL included */
#define WA_METHOD_MAX 8          /* "POST", NUL included */
#define WA_HEADER_MAX 1024       /* one "Name: value" line, NUL included */
#define WA_HEADERS_MAX 16        /* header lines per request */
#define WA_PROVIDER_ID_MAX 128   /* provider's message id, NUL included */
#define WA_ERROR_MAX 256         /* error text, NUL included */
#define WA_CODE_MAX 32           /* provider's error code as text */
#define WA_STATUS_UPDATES_MAX 32 /* status updates per callback request */
#define WA_REPLY_BODY_MAX 512    /* callback reply body, NUL included */
#define WA_CONTENT_TYPE_MAX 64

/* ---- Enumerations ---------------------------------------------------------
 */

typedef enum wa_result_class {
	WA_RESULT_OK = 0,
	WA_RESULT_RETRY = 1,
	WA_RESULT_REJECT = 2,
	WA_RESULT_CONFIG = 3
} wa_result_class;

typedef enum wa_log_level {
	WA_LOG_DEBUG = 0,
	WA_LOG_INFO = 1,
	WA_LOG_WARN = 2,
	WA_LOG_ERROR = 3
} wa_log_level;

/* Message status reported by status callbacks. Numeric values are ABI. */
typedef enum wa_message_status {
	WA_STATUS_UNKNOWN = 0, /* not a status we track: the host ignores it */
	WA_STATUS_SENT = 3,
	WA_STATUS_DELIVERED = 4,
	WA_STATUS_READ = 5,
	WA_STATUS_FAILED = 6
} wa_message_status;

/* Flags of a declared configuration key. */
#define WA_CONFIG_REQUIRED 0x1u /* daemon refuses to start without it */
#define WA_CONFIG_SECRET 0x2u   /* never logged; redacted in debug output */

/* ---- Host services ------------------------------------------------------ */

/* The table of functions the host lends the plugin (at init, keep the
 * pointer: it is valid until destroy() returns). All are thread-safe. */
typedef struct wa_host {
	uint32_t abi_major;
	uint32_t abi_minor;
	size_t struct_size;
	/* Log one line; the host adds time, level and provider name. Never log
	 * secrets or full phone numbers. */
	void (*log)(const struct wa_host *host, wa_log_level level,
	            const char *fmt, ...) WA_PRINTF_LIKE(3, 4);
	/* Value of a configuration key (environment or env file), or NULL when
	 * unset. The string lives as long as the process. */
	const char *(*config_get)(const struct wa_host *host, const char *key);
	void *host_data; /* the host's; do not touch */
} wa_host;

/* A configuration key the plugin reads. Arrays end with { NULL }. */
typedef struct wa_config_key {
	const char *name;          /* e.g. "TWILIO_AUTH_TOKEN" */
	const char *default_value; /* NULL: no default */
	uint32_t flags;            /* WA_CONFIG_* */
	const char *description;   /* one line, for --help and docs */
} wa_config_key;

/* ---- Delivery -------------------------------------------------------------
 */

/* One message to deliver. Host-owned, valid during the call. */
typedef struct wa_message {
	size_t struct_size;
	const char *message_id;      /* "msg-<uuid>" */
	const char *external_id;     /* the caller's id */
	const char *recipient_phone; /* E.164: "+" and 10-15 digits */
	const char *message_body;    /* UTF-8, NUL-terminated */
	uint32_t attempt;            /* 1 for the first try */
	/* -- ABI 1.1 -- (check struct_size before reading when built for 1.1
	 * and loaded by a 1.0 host; the host refuses that case anyway) */
	const char *template_name;     /* NULL when no template */
	const char *template_language; /* e.g. "pt_BR"; NULL when none */
	const char *const *template_variables; /* n_template_variables items */
	size_t n_template_variables;
	const char *media_url; /* NULL when none */
} wa_message;

/* The request a plugin builds; the host executes it. Zeroed by the host,
 * body points to a host buffer of body_cap bytes. */
typedef struct wa_http_request {
	size_t struct_size;
	char method[WA_METHOD_MAX]; /* "POST" when left empty */
	char url[WA_URL_MAX];       /* http:// or https:// only */
	size_t n_headers;
	char headers[WA_HEADERS_MAX][WA_HEADER_MAX]; /* "Name: value" */
	char *body;                                  /* host-owned buffer */
	size_t body_cap;                             /* its size */
	size_t body_len;     /* bytes the plugin wrote */
	uint32_t timeout_ms; /* 0: host default */
} wa_http_request;

/* The reply the host received. Host-owned, valid during the call. */
typedef struct wa_http_response {
	size_t struct_size;
	long status;              /* HTTP status code */
	const char *content_type; /* may be NULL */
	const char *retry_after;  /* Retry-After header value or NULL */
	const char *body;         /* NUL-terminated; may contain NULs */
	size_t body_len;
} wa_http_response;

/* The outcome of a delivery. Zeroed by the host. */
typedef struct wa_result {
	size_t struct_size;
	wa_result_class result_class;
	long upstream_status;    /* HTTP status, 0 if none */
	uint32_t retry_after_ms; /* RETRY hint, 0: host decides */
	char upstream_code[WA_CODE_MAX];
	char provider_message_id[WA_PROVIDER_ID_MAX];
	char error[WA_ERROR_MAX];
} wa_result;

/* ---- Inbound status callbacks ------------------------------------------- */

typedef struct wa_status_update {
	char provider_message_id[WA_PROVIDER_ID_MAX];
	wa_message_status status;
	int64_t occurred_at_ms; /* 0: now */
	char error_code[WA_CODE_MAX];
	char error[WA_ERROR_MAX];
} wa_status_update;

/* An inbound request on /v1/providers/<name>/callback. Host-owned. */
typedef struct wa_callback_request {
	size_t struct_size;
	const char *method;     /* "GET" or "POST" */
	const char *public_url; /* PUBLIC_BASE_URL + path + "?" + query, as the
	                           provider addressed us (for signatures) */
	const char *query;      /* raw query string without '?', or "" */
	const char *content_type; /* may be NULL */
	const char *body;         /* raw bytes, NUL-terminated */
	size_t body_len;
	/* Value of a request header (case-insensitive name), or NULL. */
	const char *(*header)(const struct wa_callback_request *req,
	                      const char *name);
	void *host_ctx; /* the host's; do not touch */
} wa_callback_request;

/* What the plugin answers. Zeroed by the host. http_status 0 means 200.
 * Reject forged or unsigned requests with 401/403 and no updates. */
typedef struct wa_callback_reply {
	size_t struct_size;
	int http_status;
	char content_type[WA_CONTENT_TYPE_MAX]; /* default text/plain */
	char body[WA_REPLY_BODY_MAX];
	size_t n_updates;
	wa_status_update updates[WA_STATUS_UPDATES_MAX];
} wa_callback_reply;

/* ---- The table --------------------------------------------------------------
 */

typedef struct wa_provider {
	uint32_t abi_major;  /* WA_PROVIDER_ABI_MAJOR */
	uint32_t abi_minor;  /* WA_PROVIDER_ABI_MINOR you built against */
	size_t struct_size;  /* sizeof(wa_provider) */
	const char *name;    /* [a-z0-9_-]+, e.g. "twilio" */
	const char *version; /* the plugin's own version */
	const char *description;
	const wa_config_key *config_keys; /* ends with { NULL }; may be NULL */
	/* Key under which the provider's message id appears in the API's
	 * provider_details, e.g. "mock_id", "sid", "wamid". NULL:
	 * "provider_message_id". */
	const char *message_id_name;
	uint32_t default_rate; /* messages per second; 0 = unlimited */

	/* Mandatory. Return 0, or -1 with a sentence in err. */
	int (*init)(const wa_host *host, void **state, char *err,
	            size_t err_len);
	/* Mandatory. Accepts the state init() made (possibly NULL). */
	void (*destroy)(void *state);

	/* The HTTP pair (both or neither). build_request returns 0 when req is
	 * ready, or -1 after filling res (e.g. REJECT: body too long). */
	int (*build_request)(void *state, const wa_message *msg,
	                     wa_http_request *req, wa_result *res);
	void (*parse_response)(void *state, const wa_message *msg,
	                       const wa_http_response *resp, wa_result *res);

	/* Or a blocking send. */
	void (*send)(void *state, const wa_message *msg, wa_result *res);

	/* Optional: verify and parse an inbound status callback (NULL: the
	 * host answers 404 on the callback route). */
	void (*on_callback)(void *state, const wa_callback_request *req,
	                    wa_callback_reply *reply);
} wa_provider;

/* The entry point every provider exports. host_major/host_minor tell the
 * plugin which ABI the host speaks; return NULL to refuse. */
typedef const wa_provider *(*wa_provider_entry_fn)(uint32_t host_major,
                                                   uint32_t host_minor);

#ifdef __cplusplus
}
#endif

#endif /* WADISPATCH_PROVIDER_H */
