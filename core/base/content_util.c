/* content_util.c - the checks every part of a send's rich content uses
 * (issue 14 item 5): members, text, URLs, file names */
#include "base/content_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonutil.h"
#include "wadispatch/provider.h"

long wa_ct_chars(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	long chars = 0;

	while (p < end) {
		size_t k = *p < 0x80 ? 1 : wa_utf8_seq(p, (size_t)(end - p));

		if (!k)
			return -1;
		p += k;
		chars++;
	}
	return chars;
}

int wa_ct_bad(ck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, c->len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Members other than those allowed (NULL-terminated) are refused, so a
 * misspelt member is a 400, not a message sent without it. */
int wa_ct_only(json_object *o, const char *path, const char *const *allowed,
               ck *c)
{
	json_object_object_foreach(o, key, val)
	{
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(key, *a) == 0;
		if (!ok) {
			snprintf(c->msg, c->len,
			         "%s has an unknown member \"%.40s\"", path,
			         key);
			return -1;
		}
	}
	return 0;
}

json_object *wa_ct_member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* A string member: min..max characters (or bytes), no NUL, valid UTF-8,
 * no control characters (but \n and \t with T_LINES). NULL when absent
 * and not required; *err set on an invalid value. */
const char *wa_ct_text(json_object *o, const char *key, const char *path,
                       bool required, long min, long max, int flags, ck *c,
                       int *err)
{
	json_object *v = wa_ct_member(o, key);
	const char *s;
	size_t n;
	long chars;

	if (!v) {
		if (required) {
			*err = wa_ct_bad(c, "%s is required", path);
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*err = wa_ct_bad(c, "%s must be a string", path);
		return NULL;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	chars = (flags & T_BYTES) ? (long)n : wa_ct_chars(s, n);
	if (strlen(s) != n || chars < 0) {
		*err = wa_ct_bad(
		    c, "%s must be valid UTF-8 without NUL characters", path);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if ((b < 0x20 || b == 0x7f) &&
		    !((flags & T_LINES) && (b == '\n' || b == '\t'))) {
			*err = wa_ct_bad(
			    c, "%s must not contain control characters", path);
			return NULL;
		}
	}
	if (chars < min || chars > max) {
		snprintf(c->msg, c->len, "%s must be %ld to %ld %s", path, min,
		         max, (flags & T_BYTES) ? "bytes" : "characters");
		*err = -1;
		return NULL;
	}
	return s;
}

/* https://<host>..., printable ASCII, at most WA_CONTENT_URL_MAX bytes. */
const char *wa_ct_url(json_object *o, const char *path, ck *c, int *err)
{
	const char *u = wa_ct_text(o, "url", path, true, 9, WA_CONTENT_URL_MAX,
	                           T_BYTES, c, err);

	if (!u)
		return NULL;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			*err =
			    wa_ct_bad(c,
			              "%s must not contain spaces or non-ASCII "
			              "bytes (percent-encode them)",
			              path);
			return NULL;
		}
	if (strncmp(u, "https://", 8) != 0 || u[8] == '/' || u[8] == 0) {
		*err = wa_ct_bad(c, "%s must be an https:// URL", path);
		return NULL;
	}
	return u;
}

const char *wa_ct_file_name(json_object *o, const char *path, ck *c, int *err)
{
	const char *f = wa_ct_text(o, "file_name", path, false, 1,
	                           WA_CONTENT_FILE_NAME_MAX, T_BYTES, c, err);

	if (f && (strchr(f, '/') || strchr(f, '\\'))) {
		*err = wa_ct_bad(c, "%s must be a file name without / or \\",
		                 path);
		return NULL;
	}
	return f;
}

int wa_ct_add_str(json_object *o, const char *key, const char *s)
{
	json_object *v;

	if (!s)
		return 0;
	v = json_object_new_string(s);
	if (!v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int wa_ct_add_obj(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int wa_ct_media_type(const char *t, uint32_t *kind)
{
	static const struct {
		const char *name;
		uint32_t kind;
	} types[] = {{"image", WA_CONTENT_IMAGE},
	             {"document", WA_CONTENT_DOCUMENT},
	             {"audio", WA_CONTENT_AUDIO},
	             {"video", WA_CONTENT_VIDEO}};

	for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i].name) == 0) {
			*kind = types[i].kind;
			return 0;
		}
	return -1;
}
