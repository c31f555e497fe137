/* pc.h - helpers shared by the in-tree provider plugins (compiled into each,
 * hidden) */
#ifndef WA_PC_H
#define WA_PC_H

/*
 * This code is linked statically INTO every provider .so and built with
 * -fvisibility=hidden, so none of these names leave a plugin: each plugin
 * still exports only wa_provider_entry_v1. Nothing here does I/O or keeps
 * global state; every function is safe to call from several threads.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "wadispatch/provider.h"

/* ---- bounded byte buffer (caller memory, never grows) ------------------ */

typedef struct wa_pc_buf {
	char *data; /* caller's storage, always NUL-terminated when cap > 0 */
	size_t cap; /* its size */
	size_t len; /* bytes written, NUL excluded */
	bool overflow; /* set once anything did not fit; data stays truncated */
} wa_pc_buf;

void wa_pc_buf_init(wa_pc_buf *b, char *data, size_t cap);
void wa_pc_buf_add(wa_pc_buf *b, const char *s, size_t n);
void wa_pc_buf_adds(wa_pc_buf *b, const char *s);

/* ---- encodings ---------------------------------------------------------- */

/* Percent-encode n bytes of s for a form body or a URL path segment:
 * everything but ALPHA / DIGIT / "-._~" becomes %XX (space is %20). */
void wa_pc_buf_add_pct(wa_pc_buf *b, const char *s, size_t n);
/* Append "name=value" (both encoded), with '&' first unless b is empty. */
void wa_pc_form_add(wa_pc_buf *b, const char *name, const char *value);

/* Decode form/query encoding ('+' is a space, %XX a byte) of in[0..n) into
 * out (cap bytes, NUL-terminated). Returns the decoded length, or -1 when
 * out is too small or a %-escape is malformed. */
long wa_pc_pct_decode(const char *in, size_t n, char *out, size_t cap);

/* Standard base64 (with padding) of n bytes into out; -1 if too small. */
int wa_pc_base64(const unsigned char *in, size_t n, char *out, size_t cap);
/* Lower-case hex of n bytes into out (2n+1 bytes); -1 if too small. */
int wa_pc_hex(const unsigned char *in, size_t n, char *out, size_t cap);

/* Number of UTF-8 code points in s (continuation bytes are not counted). */
size_t wa_pc_utf8_len(const char *s);

/* Copy the digits of s into out (NUL-terminated); -1 if out is too small
 * or there are none. "+55 (11) 9999" -> "55119999". */
int wa_pc_digits(const char *s, char *out, size_t cap);

/* Copy s into out (truncating), replacing control bytes by spaces and
 * masking every number of 6+ digits except its last 2 digits, also when
 * spaces, '-', '.', '(', ')' or '/' (at most two in a row) break it up
 * ("+55119******99", "55** **** **88"), so upstream error texts never carry
 * a full phone number into our logs or the API. */
void wa_pc_copy_masked(char *out, size_t cap, const char *s);

/* Does s match ^<prefix>[0-9a-fA-F]{nhex}$ ? */
bool wa_pc_is_sid(const char *s, const char *prefix, size_t nhex);
/* s is non-empty and only 0-9. */
bool wa_pc_is_digits(const char *s);

/* ---- form / query parsing ----------------------------------------------- */

#define WA_PC_FORM_MAX 64      /* fields kept per request */
#define WA_PC_FORM_BYTES 16384 /* decoded bytes kept per request */

typedef struct wa_pc_form {
	size_t n;
	const char *name[WA_PC_FORM_MAX];
	const char *value[WA_PC_FORM_MAX];
	char store[WA_PC_FORM_BYTES];
} wa_pc_form;

/* Parse "a=1&b=2" (n bytes) into f (decoded, NUL-terminated copies). Empty
 * pieces are skipped; a piece without '=' has value "". Returns 0, or -1
 * when the input is malformed or exceeds the fixed limits. */
int wa_pc_form_parse(wa_pc_form *f, const char *in, size_t n);
/* First value of name, or NULL. */
const char *wa_pc_form_get(const wa_pc_form *f, const char *name);

/* ---- crypto (OpenSSL libcrypto) ----------------------------------------- */

/* Constant-time equality of two strings (time depends only on lengths). */
bool wa_pc_ct_streq(const char *a, const char *b);

/* HMAC-SHA1 / HMAC-SHA256. out must hold 20 / 32 bytes. 0 or -1. */
int wa_pc_hmac_sha1(const char *key, const void *msg, size_t n,
                    unsigned char out[20]);
int wa_pc_hmac_sha256(const char *key, const void *msg, size_t n,
                      unsigned char out[32]);

/* Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token, url + for each
 * name in byte order, its de-duplicated values in byte order, name+value)).
 * f may be NULL (no parameters). out gets the 28-char base64. 0 or -1. */
int wa_pc_twilio_signature(const char *token, const char *url,
                           const wa_pc_form *f, char *out, size_t cap);

/* ---- JSON (json-c) ------------------------------------------------------- */

/* Parse exactly n bytes as one JSON value with nesting depth <= 32; any
 * trailing non-space byte, embedded NUL or error gives NULL. Caller frees
 * with json_object_put(). */
json_object *wa_pc_json_parse(const char *s, size_t n);
/* Walk a dotted path of object keys ("error.code"); NULL if absent. */
json_object *wa_pc_json_path(json_object *o, const char *path);
/* String at path, or NULL (not a string or absent). */
const char *wa_pc_json_str(json_object *o, const char *path);
/* Integer at path into *out (accepts a JSON int or a decimal string). */
bool wa_pc_json_int(json_object *o, const char *path, int64_t *out);
/* Serialise compactly without escaping '/'. Valid while o lives. */
const char *wa_pc_json_text(json_object *o);

/* ---- plugin <-> host glue ----------------------------------------------- */

/* config_get(key) treating "" as unset. */
const char *wa_pc_config(const wa_host *host, const char *key);

/* Copy an http(s) base URL into out without trailing '/'. -1 with a
 * sentence naming key in err when it is not http:// or https://, has
 * spaces/controls, or is too long. */
int wa_pc_base_url(const char *key, const char *value, char *out, size_t cap,
                   char *err, size_t err_len);

/* Add one "Name: value" header; -1 when the table or line is full. */
int wa_pc_req_header(wa_http_request *req, const char *name, const char *value);

/* Make req a JSON POST of o to url with the header auth_name: auth_value
 * (plus Content-Type and Accept). 0, or -1 with res filled (RETRY when out
 * of memory, REJECT when the body does not fit the host's buffer, CONFIG
 * when the headers do not fit). */
int wa_pc_json_post(wa_http_request *req, wa_result *res, const char *url,
                    json_object *o, const char *auth_name,
                    const char *auth_value);

/* Fill res: class, HTTP status, code and a formatted error sentence. */
void wa_pc_result(wa_result *res, wa_result_class cls, long status,
                  const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same for RETRY on an HTTP answer: also takes the delay from the
 * answer's Retry-After (wa_pc_retry_after_ms), so no retry path forgets it. */
void wa_pc_retry(wa_result *res, const wa_http_response *resp, long status,
                 const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The exported entry point of an HTTP-pair plugin: its table, for a host
 * speaking this ABI major at this minor or later (the HTTP pair came with
 * 1.1). Use once, at file scope, after the table. */
#define WA_PC_PROVIDER_ENTRY(table)                                            \
	WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(            \
	    uint32_t host_major, uint32_t host_minor);                         \
	WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(            \
	    uint32_t host_major, uint32_t host_minor)                          \
	{                                                                      \
		if (host_major != WA_PROVIDER_ABI_MAJOR ||                     \
		    host_minor < WA_PROVIDER_ABI_MINOR)                        \
			return NULL;                                           \
		return &(table);                                               \
	}

/* Retry-After -> milliseconds to wait from now (capped at one hour): either
 * delta-seconds or an HTTP-date (IMF-fixdate, RFC 850 or asctime form, as
 * RFC 9110 requires recipients to accept). 0 when absent, unparsable or a
 * date already past. */
uint32_t wa_pc_retry_after_ms(const char *value);
/* The same against a given wall-clock time (Unix ms), for tests. */
uint32_t wa_pc_retry_after_ms_at(const char *value, int64_t now_ms);

/* Add one status update to reply; false (and nothing added) when full. */
bool wa_pc_reply_update(wa_callback_reply *reply, const char *provider_id,
                        wa_message_status status, int64_t occurred_at_ms,
                        const char *error_code, const char *error);
/* Set the reply status and a short text/plain body. */
void wa_pc_reply(wa_callback_reply *reply, int http_status, const char *body);

/* ---- inbound messages and contact events (ABI 1.2; pc_inbound.c) ------- */

/* Does the host's reply hold the 1.2 arrays? (It always does when the
 * loader accepted this plugin; checked anyway, it is cheap.) */
bool wa_pc_reply_has_inbound(const wa_callback_reply *reply);

/* Judge the update just added by wa_pc_reply_update (no-op when none). */
void wa_pc_reply_update_class(wa_callback_reply *reply, wa_failure_class cls);

/* Copy s into out (cap bytes) as valid UTF-8: invalid bytes become '?',
 * control bytes other than tab and newline become spaces, and a cut never
 * splits a character. Returns false when s did not fit (truncated). s NULL
 * copies "". */
bool wa_pc_copy_utf8(char *out, size_t cap, const char *s);

/* "+<digits>" of a user address: "whatsapp:+5511...", "+5511...",
 * "5511..." or "5511...@s.whatsapp.net" (8 to 15 digits). -1 when s is not
 * such an address (a group, a @lid, garbage). */
int wa_pc_phone(const char *s, char *out, size_t cap);

/* A new inbound message in reply with its id, type and sender set (the
 * rest zeroed), or NULL: *dropped is set when the reply is full; an id
 * already in this reply (the provider repeated it) gives NULL without. */
wa_inbound_message *wa_pc_reply_inbound(wa_callback_reply *reply,
                                        const char *provider_id,
                                        wa_inbound_type type, const char *from,
                                        bool *dropped);
/* Set a text field of m (wa_pc_copy_utf8), flagging a truncation. */
void wa_pc_inbound_set(wa_inbound_message *m, char *field, size_t cap,
                       const char *s);
#define WA_PC_INBOUND_SET(m, field, s)                                         \
	wa_pc_inbound_set((m), (m)->field, sizeof((m)->field), (s))

/* Add one contact event; false (nothing added) when full. */
bool wa_pc_reply_contact(wa_callback_reply *reply, wa_contact_event_kind kind,
                         const char *phone, int64_t occurred_at_ms,
                         const char *source, const char *detail);

/* Inbound type of a MIME type: image/, audio/, video/ or a document. */
wa_inbound_type wa_pc_media_type(const char *mime);

/* ---- rich content (ABI 1.2; pc_host.c) --------------------------------- */

/* The message's rich content: 0 when it has none (text, or the 1.1
 * template/media_url fields); 1 with *content (a new reference: the parsed
 * canonical JSON, docs/content.md) and *part (borrowed: the "template",
 * "media" or "interactive" member, named in *which); -1 with res filled
 * when the content cannot be sent by a provider declaring `declared`
 * (REJECT: a kind it did not declare, e.g. after a change of provider with
 * messages queued) or is unreadable. */
int wa_pc_content(const wa_message *msg, uint32_t declared,
                  const char *provider, wa_result *res, json_object **content,
                  json_object **part, const char **which);
/* String member of a content object, or NULL. */
const char *wa_pc_cstr(json_object *o, const char *key);

#endif
