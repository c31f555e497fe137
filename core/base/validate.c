/* validate.c - the seed's request field rules: phone, required fields, limits
 */
#include "base/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/content.h"
#include "base/isotime.h"

int wa_phone_normalize(const char *in, char *out, size_t out_len)
{
	size_t digits = 0;
	const char *p = in;

	if (!in || out_len < 17)
		return -1;
	out[0] = '+';
	while (*p == ' ')
		p++;
	if (*p == '+') /* one '+', only before everything else */
		p++;
	for (; *p; p++) {
		if (*p == ' ' || *p == '-' || *p == '(' || *p == ')' ||
		    *p == '.')
			continue;
		if (*p < '0' || *p > '9')
			return -1;
		if (digits >= 15)
			return -1;
		out[1 + digits++] = *p;
	}
	/* No country code starts with 0: a leading 0 is a trunk or an
	 * international prefix ("00"), or no number at all. */
	if (digits < 10 || out[1] == '0')
		return -1;
	out[1 + digits] = 0;
	return 0;
}

long wa_utf8_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	long n = 0;

	while (p < end) {
		size_t k;
		unsigned cp;
		if (*p < 0x80) {
			p++;
			n++;
			continue;
		} else if ((*p & 0xE0) == 0xC0) {
			k = 1;
			cp = *p & 0x1F;
		} else if ((*p & 0xF0) == 0xE0) {
			k = 2;
			cp = *p & 0x0F;
		} else if ((*p & 0xF8) == 0xF0) {
			k = 3;
			cp = *p & 0x07;
		} else {
			return -1;
		}
		if ((size_t)(end - p) <= k)
			return -1;
		for (size_t i = 1; i <= k; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		/* overlong, surrogates, out of range */
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		p += k + 1;
		n++;
	}
	return n;
}

/* A required field: present, a string, not empty. */
static const char *req_string(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

/* A JSON string holding an escaped NUL ("\u0000"): C code downstream would
 * cut it short there. */
static int string_has_nul(json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       strlen(json_object_get_string(v)) !=
	           (size_t)json_object_get_string_len(v);
}

static int has_nul(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) && string_has_nul(v);
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Optional "template": {"name": str, "language": str, "variables": [str]}
 * -> canonical JSON text (malloc'd) or an error sentence. */
static int check_template(json_object *t, char **out, const char **error)
{
	json_object *name, *lang = NULL, *vars = NULL, *canon;
	const char *text;

	*out = NULL;
	if (!json_object_is_type(t, json_type_object)) {
		*error = "template must be an object";
		return -1;
	}
	if (!json_object_object_get_ex(t, "name", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    json_object_get_string_len(name) == 0 ||
	    json_object_get_string_len(name) > 512) {
		*error = "template.name must be a non-empty string";
		return -1;
	}
	if (string_has_nul(name)) {
		*error = "template.name must not contain NUL characters";
		return -1;
	}
	if (json_object_object_get_ex(t, "language", &lang) &&
	    (!json_object_is_type(lang, json_type_string) ||
	     json_object_get_string_len(lang) > 32 || string_has_nul(lang))) {
		*error = "template.language must be a string";
		return -1;
	}
	if (json_object_object_get_ex(t, "variables", &vars)) {
		size_t n;
		if (!json_object_is_type(vars, json_type_array) ||
		    (n = json_object_array_length(vars)) > 64) {
			*error = "template.variables must be an array of at "
			         "most 64 strings";
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (!json_object_is_type(
			        json_object_array_get_idx(vars, i),
			        json_type_string) ||
			    string_has_nul(
			        json_object_array_get_idx(vars, i))) {
				*error = "template.variables must be an array "
				         "of at most 64 strings";
				return -1;
			}
	}
	canon = json_object_new_object();
	if (!canon)
		return -1;
	json_object_object_add(canon, "name", json_object_get(name));
	if (lang)
		json_object_object_add(canon, "language",
		                       json_object_get(lang));
	if (vars)
		json_object_object_add(canon, "variables",
		                       json_object_get(vars));
	text = json_object_to_json_string_ext(
	    canon, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*out = text ? strdup(text) : NULL;
	json_object_put(canon);
	if (!*out) {
		*error = "out of memory";
		return -1;
	}
	return 0;
}

int wa_validate_send(json_object *obj, wa_send_fields *f, const char **error,
                     char *msgbuf, size_t msgbuf_len)
{
	const char *phone, *body, *ext, *media = NULL, *campaign = NULL;
	json_object *t, *m;
	long chars;

	memset(f, 0, sizeof(*f));
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		*error = "Request body must be a JSON object";
		return -1;
	}
	phone = req_string(obj, "recipient_phone");
	body = req_string(obj, "message_body");
	ext = req_string(obj, "external_id");
	if (!phone || !body || !ext) {
		*error = WA_ERR_MISSING_FIELDS;
		return -1;
	}
	/* "\u0000" inside a value would silently cut it short downstream. */
	if (has_nul(obj, "recipient_phone") || has_nul(obj, "message_body") ||
	    has_nul(obj, "external_id")) {
		*error = "recipient_phone, message_body and external_id must "
		         "not contain NUL characters";
		return -1;
	}
	if (wa_phone_normalize(phone, f->phone, sizeof(f->phone)) != 0) {
		*error = WA_ERR_BAD_PHONE;
		return -1;
	}
	chars = wa_utf8_chars(body, strlen(body));
	if (chars < 0) {
		*error = "message_body must be valid UTF-8";
		return -1;
	}
	if (chars > WA_BODY_MAX_CHARS) {
		snprintf(msgbuf, msgbuf_len,
		         "message_body exceeds %d characters",
		         WA_BODY_MAX_CHARS);
		*error = msgbuf;
		return -1;
	}
	if (strlen(ext) > WA_EXTERNAL_ID_MAX_BYTES || !printable(ext)) {
		snprintf(
		    msgbuf, msgbuf_len,
		    "external_id must be at most %d bytes of printable text",
		    WA_EXTERNAL_ID_MAX_BYTES);
		*error = msgbuf;
		return -1;
	}
	if (json_object_object_get_ex(obj, "media_url", &m) &&
	    !json_object_is_type(m, json_type_null)) {
		const char *u = json_object_get_string(m);
		if (!json_object_is_type(m, json_type_string) ||
		    json_object_get_string_len(m) > 2000 ||
		    strlen(u) != (size_t)json_object_get_string_len(m) ||
		    (strncmp(u, "https://", 8) != 0 &&
		     strncmp(u, "http://", 7) != 0) ||
		    !printable(u)) {
			*error = "media_url must be an http(s) URL of at most "
			         "2000 bytes";
			return -1;
		}
		media = u;
	}
	if (json_object_object_get_ex(obj, "template", &t) &&
	    !json_object_is_type(t, json_type_null)) {
		char *canon;
		if (check_template(t, &canon, error) != 0)
			return -1;
		f->template_json = canon;
	}
	if (json_object_object_get_ex(obj, "content", &t) &&
	    !json_object_is_type(t, json_type_null)) {
		char *canon;
		if (f->template_json || media) {
			free((char *)f->template_json);
			f->template_json = NULL;
			*error =
			    "content replaces template and media_url: give "
			    "one or the other";
			return -1;
		}
		if (wa_content_check(t, body, &canon, &f->content_kinds, msgbuf,
		                     msgbuf_len) != 0) {
			f->content_kinds = 0;
			*error = msgbuf;
			return -1;
		}
		f->content_json = canon;
	}
	if (json_object_object_get_ex(obj, "campaign_id", &m) &&
	    !json_object_is_type(m, json_type_null)) {
		const char *c = json_object_get_string(m);
		if (!json_object_is_type(m, json_type_string) || !*c ||
		    json_object_get_string_len(m) > WA_CAMPAIGN_ID_MAX_BYTES ||
		    strlen(c) != (size_t)json_object_get_string_len(m) ||
		    !printable(c)) {
			snprintf(msgbuf, msgbuf_len,
			         "campaign_id must be 1 to %d bytes of "
			         "printable text",
			         WA_CAMPAIGN_ID_MAX_BYTES);
			*error = msgbuf;
			free((char *)f->template_json);
			free((char *)f->content_json);
			f->template_json = f->content_json = NULL;
			return -1;
		}
		campaign = c;
	}
	if (json_object_object_get_ex(obj, "send_at", &m) &&
	    !json_object_is_type(m, json_type_null)) {
		if (!json_object_is_type(m, json_type_string) ||
		    wa_iso8601_parse(json_object_get_string(m),
		                     &f->send_at_ms) != 0) {
			*error = "send_at must be an ISO 8601 date-time with a "
			         "time zone, e.g. 2026-01-31T09:00:00Z";
			free((char *)f->template_json);
			free((char *)f->content_json);
			f->template_json = f->content_json = NULL;
			return -1;
		}
		if (f->send_at_ms <= 0)
			f->send_at_ms = 1; /* the epoch itself: in the past */
	}
	/* Copies, so the caller can drop the parse tree (and whatever
	 * members it held) before the request is parked. */
	f->body = strdup(body);
	f->external_id = strdup(ext);
	f->media_url = media ? strdup(media) : NULL;
	f->campaign_id = campaign ? strdup(campaign) : NULL;
	if (!f->body || !f->external_id || (media && !f->media_url) ||
	    (campaign && !f->campaign_id)) {
		wa_send_fields_clear(f);
		*error = "out of memory";
		return -1;
	}
	return 0;
}

void wa_send_fields_clear(wa_send_fields *f)
{
	free((char *)f->template_json);
	free((char *)f->body);
	free((char *)f->external_id);
	free((char *)f->media_url);
	free((char *)f->campaign_id);
	free((char *)f->content_json);
	f->template_json = f->body = f->external_id = f->media_url = NULL;
	f->campaign_id = f->content_json = NULL;
	f->content_kinds = 0;
}
