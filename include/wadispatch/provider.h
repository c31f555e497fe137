/* provider.h - the wadispatch provider plugin ABI, version 1
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
#define WA_PROVIDER_ABI_MINOR 2

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
/* ABI 1.2: inbound messages and contact events. */
#define WA_ADDRESS_MAX 64         /* "+<E.164 digits>", NUL included */
#define WA_INBOUND_TEXT_MAX 16388 /* 4096 characters of <= 4 bytes + NUL */
#define WA_REPLY_ID_MAX 512       /* button payload, reply or row id */
#define WA_MIME_MAX 128           /* media MIME type, NUL included */
#define WA_FILE_NAME_MAX 256      /* document file name, NUL included */
#define WA_NAME_MAX 128           /* sender's profile name, NUL included */
#define WA_SOURCE_MAX 64          /* contact event source, NUL included */
#define WA_INBOUND_MAX 8          /* inbound messages per callback request */
#define WA_CONTACT_EVENTS_MAX 8   /* contact events per callback request */

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

/* ABI 1.2: how a late failure (a FAILED status update) should be judged.
 * The plugin knows its provider's codes; the host never guesses. */
typedef enum wa_failure_class {
	WA_FAILURE_UNSPECIFIED = 0, /* not said (a 1.0/1.1 plugin): permanent */
	WA_FAILURE_PERMANENT = 1, /* resending the same message will not help */
	WA_FAILURE_RETRYABLE = 2  /* throttling, pair rate, outage: retry */
} wa_failure_class;

/* ABI 1.2: what an inbound message is. Numeric values are ABI. */
typedef enum wa_inbound_type {
	WA_INBOUND_OTHER = 0, /* location, contacts, sticker, reaction... */
	WA_INBOUND_TEXT = 1,
	WA_INBOUND_IMAGE = 2,
	WA_INBOUND_DOCUMENT = 3,
	WA_INBOUND_AUDIO = 4,
	WA_INBOUND_VIDEO = 5,
	WA_INBOUND_BUTTON = 6,       /* quick-reply button of a template */
	WA_INBOUND_BUTTON_REPLY = 7, /* reply button of an interactive msg */
	WA_INBOUND_LIST_REPLY = 8    /* row chosen in an interactive list */
} wa_inbound_type;

/* ABI 1.2: a change of a contact's consent. Numeric values are ABI. */
typedef enum wa_contact_event_kind {
	WA_CONTACT_UNKNOWN = 0, /* the host ignores it */
	WA_CONTACT_OPTED_OUT = 1,
	WA_CONTACT_OPTED_IN = 2
} wa_contact_event_kind;

/* ABI 1.2: content kinds a provider can send (wa_provider.content_kinds)
 * and a message needs (wa_message.content_kinds). The host refuses, at
 * accept time, a send whose "content" needs a kind the provider did not
 * declare. A table that declares none (0, e.g. a 1.0/1.1 plugin) is refused
 * every "content" and gets what every provider got before 1.2: text and
 * the 1.1 template and media_url fields. */
#define WA_CONTENT_TEXT 0x01u
#define WA_CONTENT_TEMPLATE 0x02u
#define WA_CONTENT_IMAGE 0x04u
#define WA_CONTENT_DOCUMENT 0x08u
#define WA_CONTENT_AUDIO 0x10u
#define WA_CONTENT_VIDEO 0x20u
#define WA_CONTENT_BUTTONS 0x40u /* interactive reply buttons (up to 3) */
#define WA_CONTENT_LIST 0x80u    /* interactive list */
/* A template whose header is media (image, document, video) given per
 * message; such a message needs TEMPLATE and this bit. */
#define WA_CONTENT_TEMPLATE_MEDIA 0x100u

/* Flags of an inbound message. */
#define WA_INBOUND_TRUNCATED 0x1u /* a field did not fit and was cut */

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
	/* -- ABI 1.2 -- rich content (the send's "content" object) */
	/* The WA_CONTENT_* bits this message needs (0: no content object;
	 * then it is text, or the 1.1 template/media fields above). The host
	 * only hands a provider content whose bits it declared. */
	uint32_t content_kinds;
	/* The content as canonical JSON, validated by the host against the
	 * schema in docs/content.md: exactly one of "template", "media" or
	 * "interactive", known members only. NULL when none. message_body
	 * is still set: the text, the caption or the interactive body. */
	const char *content_json;
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

/* ---- Callbacks: status updates, inbound messages, contact events -------- */

typedef struct wa_status_update {
	char provider_message_id[WA_PROVIDER_ID_MAX];
	wa_message_status status;
	int64_t occurred_at_ms; /* 0: now */
	char error_code[WA_CODE_MAX];
	char error[WA_ERROR_MAX];
} wa_status_update;

/* ABI 1.2: a message a user sent us (a reply, a button tap, media). An
 * array element of wa_callback_reply: its size never changes. Strings are
 * NUL-terminated UTF-8; "" when absent. */
typedef struct wa_inbound_message {
	char provider_message_id[WA_PROVIDER_ID_MAX]; /* dedup key; required */
	wa_inbound_type type;
	uint32_t flags;                /* WA_INBOUND_* */
	int64_t occurred_at_ms;        /* when the user sent it; 0: now */
	char from[WA_ADDRESS_MAX];     /* the user, "+<digits>"; required */
	char to[WA_ADDRESS_MAX];       /* our number, "+<digits>" or "" */
	char sender_name[WA_NAME_MAX]; /* the user's profile name, or "" */
	/* Text body; for media the caption; for a button or list reply the
	 * title the user saw. */
	char text[WA_INBOUND_TEXT_MAX];
	/* Button payload (template quick reply) or the id of the reply button
	 * or list row the user chose. */
	char reply_id[WA_REPLY_ID_MAX];
	/* Provider id of the message this one replies to (ours when the user
	 * answered one of our sends), or "". */
	char context_id[WA_PROVIDER_ID_MAX];
	/* Media reference: the provider's media id (Cloud API: fetched with
	 * its token) and/or a URL (Twilio, Evolution), never the bytes. */
	char media_id[WA_PROVIDER_ID_MAX];
	char media_url[WA_URL_MAX];
	char media_mime[WA_MIME_MAX];
	char media_file_name[WA_FILE_NAME_MAX]; /* documents */
} wa_inbound_message;

/* ABI 1.2: a user opted out of (or back into) our messages through the
 * provider. An array element of wa_callback_reply: its size never
 * changes. */
typedef struct wa_contact_event {
	wa_contact_event_kind kind;
	int64_t occurred_at_ms;     /* 0: now */
	char phone[WA_ADDRESS_MAX]; /* "+<digits>"; required */
	/* Where it came from, "<provider>:<what>", e.g.
	 * "cloudapi:user_preferences:marketing_messages". */
	char source[WA_SOURCE_MAX];
	char detail[WA_ERROR_MAX]; /* the provider's wording, or "" */
} wa_contact_event;

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
 * Reject forged or unsigned requests with 401/403 and no updates, no
 * inbound messages and no contact events: the host takes them only from a
 * 2xx reply. Items that do not fit the arrays are dropped (log it). */
typedef struct wa_callback_reply {
	size_t struct_size;
	int http_status;
	char content_type[WA_CONTENT_TYPE_MAX]; /* default text/plain */
	char body[WA_REPLY_BODY_MAX];
	size_t n_updates;
	wa_status_update updates[WA_STATUS_UPDATES_MAX];
	/* -- ABI 1.2 -- (a 1.0/1.1 plugin leaves them zero) */
	/* The class of updates[i] when its status is FAILED. */
	wa_failure_class failure_class[WA_STATUS_UPDATES_MAX];
	size_t n_inbound;
	wa_inbound_message inbound[WA_INBOUND_MAX];
	size_t n_contact_events;
	wa_contact_event contact_events[WA_CONTACT_EVENTS_MAX];
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

	/* Optional: verify and parse an inbound callback: status updates and,
	 * from ABI 1.2, inbound messages and contact events (NULL: the host
	 * answers 404 on the callback route). */
	void (*on_callback)(void *state, const wa_callback_request *req,
	                    wa_callback_reply *reply);

	/* -- ABI 1.2 -- */
	/* WA_CONTENT_* kinds this provider can send; 0: not declared (no rich
	 * content; text and the 1.1 template/media_url fields, what 1.0/1.1
	 * providers did). */
	uint32_t content_kinds;
} wa_provider;

/* The entry point every provider exports. host_major/host_minor tell the
 * plugin which ABI the host speaks; return NULL to refuse. */
typedef const wa_provider *(*wa_provider_entry_fn)(uint32_t host_major,
                                                   uint32_t host_minor);

#ifdef __cplusplus
}
#endif

#endif /* WADISPATCH_PROVIDER_H */
