/* validate.h - the seed's request field rules: phone, required fields, limits
 */
#ifndef WA_VALIDATE_H
#define WA_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define WA_BODY_MAX_CHARS 4096 /* WhatsApp's text limit, in characters */
#define WA_EXTERNAL_ID_MAX_BYTES 256
#define WA_CAMPAIGN_ID_MAX_BYTES 64

/* The seed's error sentences, byte for byte. */
#define WA_ERR_MISSING_FIELDS                                                  \
	"Missing required fields: recipient_phone, message_body, external_id"
#define WA_ERR_BAD_PHONE "Invalid phone number format"

/* An optional '+' as the first character (after spaces); then drop spaces,
 * '-', '(', ')', '.'; the rest must be 10-15 digits, the first not 0.
 * Writes "+<digits>" (E.164) to out (>= 17 bytes). 0, or -1 if invalid. */
int wa_phone_normalize(const char *in, char *out, size_t out_len);

/* Number of UTF-8 code points in s, or -1 if s is not valid UTF-8. */
long wa_utf8_chars(const char *s, size_t len);

/* A validated send request. Every string is a malloc'd copy (nothing
 * borrows from the JSON object, which the caller may free at once); free
 * them with wa_send_fields_clear. */
typedef struct wa_send_fields {
	char phone[20]; /* normalised */
	const char *body;
	const char *external_id;
	const char *template_json; /* canonical JSON or NULL */
	const char *media_url;     /* or NULL */
	/* Appended (issue 15). */
	const char *campaign_id; /* or NULL */
	int64_t send_at_ms;      /* 0 when not given */
	/* Appended (issue 14 item 5): the "content" object, base/content.h. */
	const char *content_json; /* canonical JSON or NULL */
	uint32_t content_kinds;   /* WA_CONTENT_* bits it needs; 0 if none */
} wa_send_fields;

/* Validate one message object. 0 when valid; else -1 with the HTTP status
 * (400) and the error sentence (static string or written into msgbuf), and
 * nothing allocated. On success, free f with wa_send_fields_clear. */
int wa_validate_send(json_object *obj, wa_send_fields *f, const char **error,
                     char *msgbuf, size_t msgbuf_len);
void wa_send_fields_clear(wa_send_fields *f);

#endif
