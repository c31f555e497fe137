/* content.c - the provider-neutral rich content of a send (issue 14 item 5):
 * strict validation, canonical JSON and the WA_CONTENT_* kinds it needs */
#include "base/content.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/validate.h"
#include "wadispatch/provider.h"

typedef struct ck {
	char *msg;
	size_t len;
} ck;

static int bad(ck *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(ck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, c->len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Members other than those allowed (NULL-terminated) are refused, so a
 * misspelt member is a 400, not a message sent without it. */
static int only(json_object *o, const char *path, const char *const *allowed,
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

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* Text flags. */
#define T_LINES 0x1 /* newlines and tabs allowed (captions) */
#define T_BYTES 0x2 /* limits count bytes, not characters */

/* A string member: min..max characters (or bytes), no NUL, valid UTF-8,
 * no control characters (but \n and \t with T_LINES). NULL when absent
 * and not required; *err set on an invalid value. */
static const char *text(json_object *o, const char *key, const char *path,
                        bool required, long min, long max, int flags, ck *c,
                        int *err)
{
	json_object *v = member(o, key);
	const char *s;
	size_t n;
	long chars;

	if (!v) {
		if (required) {
			*err = bad(c, "%s is required", path);
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*err = bad(c, "%s must be a string", path);
		return NULL;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	chars = (flags & T_BYTES) ? (long)n : wa_utf8_chars(s, n);
	if (strlen(s) != n || chars < 0) {
		*err = bad(c, "%s must be valid UTF-8 without NUL characters",
		           path);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if ((b < 0x20 || b == 0x7f) &&
		    !((flags & T_LINES) && (b == '\n' || b == '\t'))) {
			*err = bad(c, "%s must not contain control characters",
			           path);
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
static const char *url(json_object *o, const char *path, ck *c, int *err)
{
	const char *u =
	    text(o, "url", path, true, 9, WA_CONTENT_URL_MAX, T_BYTES, c, err);

	if (!u)
		return NULL;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			*err = bad(c,
			           "%s must not contain spaces or non-ASCII "
			           "bytes (percent-encode them)",
			           path);
			return NULL;
		}
	if (strncmp(u, "https://", 8) != 0 || u[8] == '/' || u[8] == 0) {
		*err = bad(c, "%s must be an https:// URL", path);
		return NULL;
	}
	return u;
}

static const char *file_name(json_object *o, const char *path, ck *c, int *err)
{
	const char *f = text(o, "file_name", path, false, 1,
	                     WA_CONTENT_FILE_NAME_MAX, T_BYTES, c, err);

	if (f && (strchr(f, '/') || strchr(f, '\\'))) {
		*err = bad(c, "%s must be a file name without / or \\", path);
		return NULL;
	}
	return f;
}

static int add_str(json_object *o, const char *key, const char *s)
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

static int add_obj(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int media_type(const char *t, uint32_t *kind)
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

/* ---- media ----------------------------------------------------------- */

static json_object *check_media(json_object *m, const char *body, ck *c,
                                uint32_t *kinds)
{
	static const char *const allowed[] = {"type", "url", "caption",
	                                      "file_name", NULL};
	const char *type, *u, *cap = NULL, *fn = NULL;
	json_object *out;
	uint32_t kind = 0;
	int err = 0;

	if (!json_object_is_type(m, json_type_object))
		return bad(c, "%s must be an object", "content.media"), NULL;
	if (only(m, "content.media", allowed, c) != 0)
		return NULL;
	type = text(m, "type", "content.media.type", true, 1, 16, 0, c, &err);
	if (err)
		return NULL;
	if (media_type(type, &kind) != 0)
		return bad(c, "%s must be image, document, audio or video",
		           "content.media.type"),
		       NULL;
	u = url(m, "content.media.url", c, &err);
	if (!err)
		cap = text(m, "caption", "content.media.caption", false, 1,
		           WA_CONTENT_CAPTION_MAX, T_LINES, c, &err);
	if (!err)
		fn = file_name(m, "content.media.file_name", c, &err);
	if (err)
		return NULL;
	if (kind == WA_CONTENT_AUDIO && cap)
		return bad(c,
		           "%s is not allowed: WhatsApp audio has no caption",
		           "content.media.caption"),
		       NULL;
	if (kind != WA_CONTENT_DOCUMENT && fn)
		return bad(c, "%s is only for documents",
		           "content.media.file_name"),
		       NULL;
	if (!cap && kind != WA_CONTENT_AUDIO &&
	    wa_utf8_chars(body, strlen(body)) > WA_CONTENT_CAPTION_MAX) {
		snprintf(c->msg, c->len,
		         "message_body is the caption and must be at most %d "
		         "characters (or give content.media.caption)",
		         WA_CONTENT_CAPTION_MAX);
		return NULL;
	}
	out = json_object_new_object();
	if (!out || add_str(out, "type", type) || add_str(out, "url", u) ||
	    add_str(out, "caption", cap) || add_str(out, "file_name", fn)) {
		json_object_put(out);
		return bad(c, "%s", "out of memory"), NULL;
	}
	*kinds = kind;
	return out;
}

/* ---- template -------------------------------------------------------- */

static json_object *check_header(json_object *h, ck *c, uint32_t *kinds)
{
	static const char *const allowed[] = {"type", "text", "url",
	                                      "file_name", NULL};
	const char *type, *t = NULL, *u = NULL, *fn = NULL;
	json_object *out;
	uint32_t kind = 0;
	int err = 0;

	if (!json_object_is_type(h, json_type_object))
		return bad(c, "%s must be an object",
		           "content.template.header"),
		       NULL;
	if (only(h, "content.template.header", allowed, c) != 0)
		return NULL;
	type = text(h, "type", "content.template.header.type", true, 1, 16, 0,
	            c, &err);
	if (err)
		return NULL;
	if (strcmp(type, "text") == 0) {
		t = text(h, "text", "content.template.header.text", true, 1, 60,
		         0, c, &err);
		if (!err && (member(h, "url") || member(h, "file_name")))
			return bad(c, "%s of type text takes only text",
			           "content.template.header"),
			       NULL;
	} else if (media_type(type, &kind) == 0 && kind != WA_CONTENT_AUDIO) {
		if (member(h, "text"))
			return bad(c, "%s with media takes url, not text",
			           "content.template.header"),
			       NULL;
		u = url(h, "content.template.header.url", c, &err);
		if (!err)
			fn = file_name(h, "content.template.header.file_name",
			               c, &err);
		if (!err && fn && kind != WA_CONTENT_DOCUMENT)
			return bad(c, "%s is only for documents",
			           "content.template.header.file_name"),
			       NULL;
		*kinds |= WA_CONTENT_TEMPLATE_MEDIA;
	} else {
		return bad(c, "%s must be text, image, document or video",
		           "content.template.header.type"),
		       NULL;
	}
	if (err)
		return NULL;
	out = json_object_new_object();
	if (!out || add_str(out, "type", type) || add_str(out, "text", t) ||
	    add_str(out, "url", u) || add_str(out, "file_name", fn)) {
		json_object_put(out);
		return bad(c, "%s", "out of memory"), NULL;
	}
	return out;
}

static json_object *check_body_params(json_object *a, ck *c)
{
	json_object *out;
	size_t n;

	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) > WA_CONTENT_PARAMS_MAX) {
		snprintf(c->msg, c->len,
		         "content.template.body_parameters must be an array of "
		         "at most %d strings",
		         WA_CONTENT_PARAMS_MAX);
		return NULL;
	}
	out = json_object_new_array();
	for (size_t i = 0; out && i < n; i++) {
		json_object *holder = json_object_new_object();
		const char *s;
		char path[64];
		int err = 0;

		snprintf(path, sizeof(path),
		         "content.template.body_parameters[%zu]", i);
		if (holder)
			json_object_object_add(
			    holder, "v",
			    json_object_get(json_object_array_get_idx(a, i)));
		s = holder ? text(holder, "v", path, true, 1,
		                  WA_CONTENT_PARAM_MAX, 0, c, &err)
		           : NULL;
		if (!s || json_object_array_add(
		              out, json_object_new_string(s)) != 0) {
			if (!holder)
				bad(c, "%s", "out of memory");
			json_object_put(holder);
			json_object_put(out);
			return NULL;
		}
		json_object_put(holder);
	}
	if (!out)
		bad(c, "%s", "out of memory");
	return out;
}

static json_object *check_button_params(json_object *a, ck *c)
{
	static const char *const allowed[] = {"index", "sub_type", "value",
	                                      NULL};
	json_object *out;
	unsigned seen = 0;
	size_t n;

	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) > WA_CONTENT_BUTTON_PARAMS_MAX) {
		snprintf(c->msg, c->len,
		         "content.template.button_parameters must be an array "
		         "of at most %d objects",
		         WA_CONTENT_BUTTON_PARAMS_MAX);
		return NULL;
	}
	out = json_object_new_array();
	for (size_t i = 0; out && i < n; i++) {
		json_object *b = json_object_array_get_idx(a, i), *idx, *o;
		const char *st, *v = NULL;
		char path[64], p2[80];
		int err = 0;
		int64_t k;

		snprintf(path, sizeof(path),
		         "content.template.button_parameters[%zu]", i);
		if (!json_object_is_type(b, json_type_object)) {
			bad(c, "%s must be an object", path);
			goto fail;
		}
		if (only(b, path, allowed, c) != 0)
			goto fail;
		idx = member(b, "index");
		k = idx && json_object_is_type(idx, json_type_int)
		        ? json_object_get_int64(idx)
		        : -1;
		if (k < 0 || k > 9 || (seen & (1u << k))) {
			bad(c,
			    "%s.index must be a distinct integer from 0 to 9",
			    path);
			goto fail;
		}
		seen |= 1u << k;
		snprintf(p2, sizeof(p2), "%s.sub_type", path);
		st = text(b, "sub_type", p2, true, 1, 16, 0, c, &err);
		if (!err && strcmp(st, "quick_reply") != 0 &&
		    strcmp(st, "url") != 0) {
			bad(c, "%s must be quick_reply or url", p2);
			goto fail;
		}
		snprintf(p2, sizeof(p2), "%s.value", path);
		if (!err)
			v = text(b, "value", p2, true, 1, 256, 0, c, &err);
		if (err)
			goto fail;
		o = json_object_new_object();
		if (!o ||
		    add_obj(o, "index", json_object_new_int((int)k)) != 0 ||
		    add_str(o, "sub_type", st) || add_str(o, "value", v) ||
		    json_object_array_add(out, o) != 0) {
			json_object_put(o);
			bad(c, "%s", "out of memory");
			goto fail;
		}
	}
	if (!out)
		bad(c, "%s", "out of memory");
	return out;
fail:
	json_object_put(out);
	return NULL;
}

static json_object *check_template(json_object *t, ck *c, uint32_t *kinds)
{
	static const char *const allowed[] = {"name",
	                                      "language",
	                                      "header",
	                                      "body_parameters",
	                                      "button_parameters",
	                                      NULL};
	const char *name, *lang = NULL;
	json_object *out, *v, *part;
	int err = 0;

	*kinds = WA_CONTENT_TEMPLATE;
	if (!json_object_is_type(t, json_type_object))
		return bad(c, "%s must be an object", "content.template"), NULL;
	if (only(t, "content.template", allowed, c) != 0)
		return NULL;
	name = text(t, "name", "content.template.name", true, 1, 512, T_BYTES,
	            c, &err);
	if (!err)
		lang = text(t, "language", "content.template.language", false,
		            2, 15, T_BYTES, c, &err);
	if (err)
		return NULL;
	for (const char *p = lang; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      *p == '_' || *p == '-'))
			return bad(c,
			           "%s must be a language code such as pt_BR",
			           "content.template.language"),
			       NULL;
	out = json_object_new_object();
	if (!out || add_str(out, "name", name) ||
	    add_str(out, "language", lang)) {
		json_object_put(out);
		return bad(c, "%s", "out of memory"), NULL;
	}
	if ((v = member(t, "header"))) {
		part = check_header(v, c, kinds);
		if (!part || add_obj(out, "header", part) != 0)
			goto fail;
	}
	if ((v = member(t, "body_parameters"))) {
		part = check_body_params(v, c);
		if (!part || add_obj(out, "body_parameters", part) != 0)
			goto fail;
	}
	if ((v = member(t, "button_parameters"))) {
		part = check_button_params(v, c);
		if (!part || add_obj(out, "button_parameters", part) != 0)
			goto fail;
	}
	return out;
fail:
	json_object_put(out);
	return NULL;
}

/* ---- interactive ----------------------------------------------------- */

static json_object *check_buttons(json_object *a, ck *c)
{
	static const char *const allowed[] = {"id", "title", NULL};
	json_object *out;
	size_t n;

	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) < 1 ||
	    n > WA_CONTENT_BUTTONS_MAX) {
		snprintf(c->msg, c->len,
		         "content.interactive.buttons must be an array of 1 "
		         "to %d buttons",
		         WA_CONTENT_BUTTONS_MAX);
		return NULL;
	}
	out = json_object_new_array();
	for (size_t i = 0; out && i < n; i++) {
		json_object *b = json_object_array_get_idx(a, i), *o;
		const char *id, *title = NULL;
		char path[48], p2[64];
		int err = 0;

		snprintf(path, sizeof(path), "content.interactive.buttons[%zu]",
		         i);
		if (!json_object_is_type(b, json_type_object)) {
			bad(c, "%s must be an object", path);
			goto fail;
		}
		if (only(b, path, allowed, c) != 0)
			goto fail;
		snprintf(p2, sizeof(p2), "%s.id", path);
		id = text(b, "id", p2, true, 1, 256, T_BYTES, c, &err);
		snprintf(p2, sizeof(p2), "%s.title", path);
		if (!err)
			title = text(b, "title", p2, true, 1, 20, 0, c, &err);
		if (err)
			goto fail;
		for (size_t k = 0; k < i; k++)
			if (strcmp(
			        json_object_get_string(json_object_object_get(
			            json_object_array_get_idx(out, k), "id")),
			        id) == 0) {
				bad(c, "%s.id repeats an earlier button's id",
				    path);
				goto fail;
			}
		o = json_object_new_object();
		if (!o || add_str(o, "id", id) || add_str(o, "title", title) ||
		    json_object_array_add(out, o) != 0) {
			json_object_put(o);
			bad(c, "%s", "out of memory");
			goto fail;
		}
	}
	if (!out)
		bad(c, "%s", "out of memory");
	return out;
fail:
	json_object_put(out);
	return NULL;
}

/* Is id already a row id in the sections built so far (or in rows)? */
static bool row_id_seen(json_object *sections, json_object *rows,
                        const char *id)
{
	size_t ns = json_object_array_length(sections);

	for (size_t s = 0; s <= ns; s++) {
		json_object *r =
		    s < ns ? json_object_object_get(
		                 json_object_array_get_idx(sections, s), "rows")
		           : rows;
		size_t nr = r ? json_object_array_length(r) : 0;

		for (size_t k = 0; k < nr; k++)
			if (strcmp(
			        json_object_get_string(json_object_object_get(
			            json_object_array_get_idx(r, k), "id")),
			        id) == 0)
				return true;
	}
	return false;
}

static json_object *check_rows(json_object *a, const char *spath,
                               json_object *sections, size_t *total, ck *c)
{
	static const char *const allowed[] = {"id", "title", "description",
	                                      NULL};
	json_object *out;
	size_t n;

	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) < 1 ||
	    (*total += n) > WA_CONTENT_ROWS_MAX) {
		snprintf(c->msg, c->len,
		         "%.60s.rows must be an array of rows, at least one, "
		         "and a list has at most %d rows in all",
		         spath, WA_CONTENT_ROWS_MAX);
		return NULL;
	}
	out = json_object_new_array();
	for (size_t i = 0; out && i < n; i++) {
		json_object *r = json_object_array_get_idx(a, i), *o;
		const char *id, *title = NULL, *desc = NULL;
		char path[96], p2[112];
		int err = 0;

		snprintf(path, sizeof(path), "%.60s.rows[%zu]", spath, i);
		if (!json_object_is_type(r, json_type_object)) {
			bad(c, "%s must be an object", path);
			goto fail;
		}
		if (only(r, path, allowed, c) != 0)
			goto fail;
		snprintf(p2, sizeof(p2), "%s.id", path);
		id = text(r, "id", p2, true, 1, 200, T_BYTES, c, &err);
		snprintf(p2, sizeof(p2), "%s.title", path);
		if (!err)
			title = text(r, "title", p2, true, 1, 24, 0, c, &err);
		snprintf(p2, sizeof(p2), "%s.description", path);
		if (!err)
			desc = text(r, "description", p2, false, 1, 72, 0, c,
			            &err);
		if (err)
			goto fail;
		if (row_id_seen(sections, out, id)) {
			bad(c, "%s.id repeats an earlier row's id", path);
			goto fail;
		}
		o = json_object_new_object();
		if (!o || add_str(o, "id", id) || add_str(o, "title", title) ||
		    add_str(o, "description", desc) ||
		    json_object_array_add(out, o) != 0) {
			json_object_put(o);
			bad(c, "%s", "out of memory");
			goto fail;
		}
	}
	if (!out)
		bad(c, "%s", "out of memory");
	return out;
fail:
	json_object_put(out);
	return NULL;
}

static json_object *check_sections(json_object *a, ck *c)
{
	static const char *const allowed[] = {"title", "rows", NULL};
	json_object *out;
	size_t n, total = 0;

	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) < 1 ||
	    n > WA_CONTENT_SECTIONS_MAX) {
		snprintf(c->msg, c->len,
		         "content.interactive.sections must be an array of 1 "
		         "to %d sections",
		         WA_CONTENT_SECTIONS_MAX);
		return NULL;
	}
	out = json_object_new_array();
	for (size_t i = 0; out && i < n; i++) {
		json_object *s = json_object_array_get_idx(a, i), *o, *rows;
		const char *title;
		char path[48], p2[64];
		int err = 0;

		snprintf(path, sizeof(path),
		         "content.interactive.sections[%zu]", i);
		if (!json_object_is_type(s, json_type_object)) {
			bad(c, "%s must be an object", path);
			goto fail;
		}
		if (only(s, path, allowed, c) != 0)
			goto fail;
		snprintf(p2, sizeof(p2), "%s.title", path);
		title = text(s, "title", p2, true, 1, 24, 0, c, &err);
		if (err)
			goto fail;
		rows = check_rows(member(s, "rows"), path, out, &total, c);
		if (!rows)
			goto fail;
		o = json_object_new_object();
		if (!o || add_str(o, "title", title) ||
		    add_obj(o, "rows", rows) != 0 ||
		    json_object_array_add(out, o) != 0) {
			json_object_put(o);
			bad(c, "%s", "out of memory");
			goto fail;
		}
	}
	if (!out)
		bad(c, "%s", "out of memory");
	return out;
fail:
	json_object_put(out);
	return NULL;
}

static json_object *check_interactive(json_object *it, const char *body, ck *c,
                                      uint32_t *kinds)
{
	static const char *const allowed[] = {
	    "type", "header", "footer", "buttons", "button", "sections", NULL};
	const char *type, *header = NULL, *footer = NULL, *button = NULL;
	json_object *out, *part;
	bool list;
	int err = 0;

	if (!json_object_is_type(it, json_type_object))
		return bad(c, "%s must be an object", "content.interactive"),
		       NULL;
	if (only(it, "content.interactive", allowed, c) != 0)
		return NULL;
	type = text(it, "type", "content.interactive.type", true, 1, 16, 0, c,
	            &err);
	if (err)
		return NULL;
	if (strcmp(type, "buttons") != 0 && strcmp(type, "list") != 0)
		return bad(c, "%s must be buttons or list",
		           "content.interactive.type"),
		       NULL;
	list = strcmp(type, "list") == 0;
	if (member(it, list ? "buttons" : "sections") ||
	    (!list && member(it, "button")))
		return bad(c,
		           "%s: buttons go with type buttons; button and "
		           "sections with type list",
		           "content.interactive"),
		       NULL;
	header = text(it, "header", "content.interactive.header", false, 1, 60,
	              0, c, &err);
	if (!err)
		footer = text(it, "footer", "content.interactive.footer", false,
		              1, 60, 0, c, &err);
	if (!err && list)
		button = text(it, "button", "content.interactive.button", true,
		              1, 20, 0, c, &err);
	if (err)
		return NULL;
	if (wa_utf8_chars(body, strlen(body)) > WA_CONTENT_BODY_MAX) {
		snprintf(c->msg, c->len,
		         "message_body is the body of an interactive message "
		         "and must be at most %d characters",
		         WA_CONTENT_BODY_MAX);
		return NULL;
	}
	part = list ? check_sections(member(it, "sections"), c)
	            : check_buttons(member(it, "buttons"), c);
	if (!part)
		return NULL;
	out = json_object_new_object();
	if (!out || add_str(out, "type", type) ||
	    add_str(out, "header", header) || add_str(out, "footer", footer) ||
	    add_str(out, "button", button) ||
	    add_obj(out, list ? "sections" : "buttons", part) != 0) {
		json_object_put(out);
		return bad(c, "%s", "out of memory"), NULL;
	}
	*kinds = list ? WA_CONTENT_LIST : WA_CONTENT_BUTTONS;
	return out;
}

/* ---- the whole object ------------------------------------------------ */

int wa_content_check(json_object *content, const char *body, char **canon,
                     uint32_t *kinds, char *msg, size_t msg_len)
{
	static const char *const allowed[] = {"template", "media",
	                                      "interactive", NULL};
	static const char *const kinds_of[] = {"template", "media",
	                                       "interactive"};
	ck c = {msg, msg_len};
	json_object *out = NULL, *part = NULL, *v;
	const char *which = NULL, *text_out;
	int n = 0;

	*canon = NULL;
	*kinds = 0;
	if (!json_object_is_type(content, json_type_object))
		return bad(&c, "%s must be an object", "content");
	if (only(content, "content", allowed, &c) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (member(content, kinds_of[i])) {
			which = kinds_of[i];
			n++;
		}
	if (n != 1)
		return bad(&c,
		           "%s must hold exactly one of template, media or "
		           "interactive",
		           "content");
	v = member(content, which);
	if (which[0] == 't')
		part = check_template(v, &c, kinds);
	else if (which[0] == 'm')
		part = check_media(v, body, &c, kinds);
	else
		part = check_interactive(v, body, &c, kinds);
	if (!part)
		return -1;
	out = json_object_new_object();
	if (!out || add_obj(out, which, part) != 0) {
		json_object_put(out);
		return bad(&c, "%s", "out of memory");
	}
	text_out = json_object_to_json_string_ext(
	    out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*canon = text_out ? strdup(text_out) : NULL;
	json_object_put(out);
	if (!*canon) {
		*kinds = 0;
		return bad(&c, "%s", "out of memory");
	}
	return 0;
}

uint32_t wa_content_kinds(const char *canon)
{
	json_object *o, *v, *t;
	uint32_t k = 0;

	if (!canon || !*canon || !(o = json_tokener_parse(canon)))
		return 0;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;
	}
	if ((v = member(o, "template"))) {
		k = WA_CONTENT_TEMPLATE;
		const char *ht = (t = member(v, "header"))
		                     ? json_object_get_string(
		                           json_object_object_get(t, "type"))
		                     : NULL;

		if (ht && strcmp(ht, "text") != 0)
			k |= WA_CONTENT_TEMPLATE_MEDIA;
	} else if ((v = member(o, "media"))) {
		media_type(
		    json_object_get_string(json_object_object_get(v, "type")),
		    &k);
	} else if ((v = member(o, "interactive"))) {
		const char *t2 =
		    json_object_get_string(json_object_object_get(v, "type"));
		k = t2 && strcmp(t2, "list") == 0 ? WA_CONTENT_LIST
		                                  : WA_CONTENT_BUTTONS;
	}
	json_object_put(o);
	return k;
}

const char *wa_content_kind_name(uint32_t bit)
{
	switch (bit) {
	case WA_CONTENT_TEXT:
		return "text";
	case WA_CONTENT_TEMPLATE:
		return "template";
	case WA_CONTENT_IMAGE:
		return "image";
	case WA_CONTENT_DOCUMENT:
		return "document";
	case WA_CONTENT_AUDIO:
		return "audio";
	case WA_CONTENT_VIDEO:
		return "video";
	case WA_CONTENT_BUTTONS:
		return "interactive buttons";
	case WA_CONTENT_LIST:
		return "interactive list";
	case WA_CONTENT_TEMPLATE_MEDIA:
		return "template with a media header";
	default:
		return "unknown content";
	}
}

uint32_t wa_content_declared(const wa_provider *t)
{
	if (!t || t->abi_minor < 2 ||
	    t->struct_size <
	        offsetof(wa_provider, content_kinds) + sizeof(t->content_kinds))
		return 0;
	return t->content_kinds;
}

uint32_t wa_content_missing(uint32_t need, uint32_t have)
{
	uint32_t miss = need & ~have;

	return miss & (~miss + 1u); /* the lowest missing bit */
}
