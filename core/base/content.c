/* content.c - the provider-neutral rich content of a send (issue 14 item 5):
 * strict validation, canonical JSON and the WA_CONTENT_* kinds it needs
 * (media and templates here, interactive in content_interactive.c, shared
 * checks in content_util.c) */
#include "base/content_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wadispatch/provider.h"

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
		return wa_ct_bad(c, "%s must be an object", "content.media"),
		       NULL;
	if (wa_ct_only(m, "content.media", allowed, c) != 0)
		return NULL;
	type = wa_ct_text(m, "type", "content.media.type", true, 1, 16, 0, c,
	                  &err);
	if (err)
		return NULL;
	if (wa_ct_media_type(type, &kind) != 0)
		return wa_ct_bad(c,
		                 "%s must be image, document, audio or video",
		                 "content.media.type"),
		       NULL;
	u = wa_ct_url(m, "content.media.url", c, &err);
	if (!err)
		cap = wa_ct_text(m, "caption", "content.media.caption", false,
		                 1, WA_CONTENT_CAPTION_MAX, T_LINES, c, &err);
	if (!err)
		fn = wa_ct_file_name(m, "content.media.file_name", c, &err);
	if (err)
		return NULL;
	if (kind == WA_CONTENT_AUDIO && cap)
		return wa_ct_bad(
		           c,
		           "%s is not allowed: WhatsApp audio has no caption",
		           "content.media.caption"),
		       NULL;
	if (kind != WA_CONTENT_DOCUMENT && fn)
		return wa_ct_bad(c, "%s is only for documents",
		                 "content.media.file_name"),
		       NULL;
	if (!cap && kind != WA_CONTENT_AUDIO &&
	    wa_ct_chars(body, strlen(body)) > WA_CONTENT_CAPTION_MAX) {
		snprintf(c->msg, c->len,
		         "message_body is the caption and must be at most %d "
		         "characters (or give content.media.caption)",
		         WA_CONTENT_CAPTION_MAX);
		return NULL;
	}
	out = json_object_new_object();
	if (!out || wa_ct_add_str(out, "type", type) ||
	    wa_ct_add_str(out, "url", u) ||
	    wa_ct_add_str(out, "caption", cap) ||
	    wa_ct_add_str(out, "file_name", fn)) {
		json_object_put(out);
		return wa_ct_bad(c, "%s", "out of memory"), NULL;
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
		return wa_ct_bad(c, "%s must be an object",
		                 "content.template.header"),
		       NULL;
	if (wa_ct_only(h, "content.template.header", allowed, c) != 0)
		return NULL;
	type = wa_ct_text(h, "type", "content.template.header.type", true, 1,
	                  16, 0, c, &err);
	if (err)
		return NULL;
	if (strcmp(type, "text") == 0) {
		t = wa_ct_text(h, "text", "content.template.header.text", true,
		               1, 60, 0, c, &err);
		if (!err &&
		    (wa_ct_member(h, "url") || wa_ct_member(h, "file_name")))
			return wa_ct_bad(c, "%s of type text takes only text",
			                 "content.template.header"),
			       NULL;
	} else if (wa_ct_media_type(type, &kind) == 0 &&
	           kind != WA_CONTENT_AUDIO) {
		if (wa_ct_member(h, "text"))
			return wa_ct_bad(c, "%s with media takes url, not text",
			                 "content.template.header"),
			       NULL;
		u = wa_ct_url(h, "content.template.header.url", c, &err);
		if (!err)
			fn = wa_ct_file_name(
			    h, "content.template.header.file_name", c, &err);
		if (!err && fn && kind != WA_CONTENT_DOCUMENT)
			return wa_ct_bad(c, "%s is only for documents",
			                 "content.template.header.file_name"),
			       NULL;
		*kinds |= WA_CONTENT_TEMPLATE_MEDIA;
	} else {
		return wa_ct_bad(c, "%s must be text, image, document or video",
		                 "content.template.header.type"),
		       NULL;
	}
	if (err)
		return NULL;
	out = json_object_new_object();
	if (!out || wa_ct_add_str(out, "type", type) ||
	    wa_ct_add_str(out, "text", t) || wa_ct_add_str(out, "url", u) ||
	    wa_ct_add_str(out, "file_name", fn)) {
		json_object_put(out);
		return wa_ct_bad(c, "%s", "out of memory"), NULL;
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
		s = holder ? wa_ct_text(holder, "v", path, true, 1,
		                        WA_CONTENT_PARAM_MAX, 0, c, &err)
		           : NULL;
		if (!s || json_object_array_add(
		              out, json_object_new_string(s)) != 0) {
			if (!holder)
				wa_ct_bad(c, "%s", "out of memory");
			json_object_put(holder);
			json_object_put(out);
			return NULL;
		}
		json_object_put(holder);
	}
	if (!out)
		wa_ct_bad(c, "%s", "out of memory");
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
			wa_ct_bad(c, "%s must be an object", path);
			goto fail;
		}
		if (wa_ct_only(b, path, allowed, c) != 0)
			goto fail;
		idx = wa_ct_member(b, "index");
		k = idx && json_object_is_type(idx, json_type_int)
		        ? json_object_get_int64(idx)
		        : -1;
		if (k < 0 || k > 9 || (seen & (1u << k))) {
			wa_ct_bad(
			    c,
			    "%s.index must be a distinct integer from 0 to 9",
			    path);
			goto fail;
		}
		seen |= 1u << k;
		snprintf(p2, sizeof(p2), "%s.sub_type", path);
		st = wa_ct_text(b, "sub_type", p2, true, 1, 16, 0, c, &err);
		if (!err && strcmp(st, "quick_reply") != 0 &&
		    strcmp(st, "url") != 0) {
			wa_ct_bad(c, "%s must be quick_reply or url", p2);
			goto fail;
		}
		snprintf(p2, sizeof(p2), "%s.value", path);
		if (!err)
			v = wa_ct_text(b, "value", p2, true, 1, 256, 0, c,
			               &err);
		if (err)
			goto fail;
		o = json_object_new_object();
		if (!o ||
		    wa_ct_add_obj(o, "index", json_object_new_int((int)k)) !=
		        0 ||
		    wa_ct_add_str(o, "sub_type", st) ||
		    wa_ct_add_str(o, "value", v) ||
		    json_object_array_add(out, o) != 0) {
			json_object_put(o);
			wa_ct_bad(c, "%s", "out of memory");
			goto fail;
		}
	}
	if (!out)
		wa_ct_bad(c, "%s", "out of memory");
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
		return wa_ct_bad(c, "%s must be an object", "content.template"),
		       NULL;
	if (wa_ct_only(t, "content.template", allowed, c) != 0)
		return NULL;
	name = wa_ct_text(t, "name", "content.template.name", true, 1, 512,
	                  T_BYTES, c, &err);
	if (!err)
		lang = wa_ct_text(t, "language", "content.template.language",
		                  false, 2, 15, T_BYTES, c, &err);
	if (err)
		return NULL;
	for (const char *p = lang; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      *p == '_' || *p == '-'))
			return wa_ct_bad(
			           c,
			           "%s must be a language code such as pt_BR",
			           "content.template.language"),
			       NULL;
	out = json_object_new_object();
	if (!out || wa_ct_add_str(out, "name", name) ||
	    wa_ct_add_str(out, "language", lang)) {
		json_object_put(out);
		return wa_ct_bad(c, "%s", "out of memory"), NULL;
	}
	if ((v = wa_ct_member(t, "header"))) {
		part = check_header(v, c, kinds);
		if (!part || wa_ct_add_obj(out, "header", part) != 0)
			goto fail;
	}
	if ((v = wa_ct_member(t, "body_parameters"))) {
		part = check_body_params(v, c);
		if (!part || wa_ct_add_obj(out, "body_parameters", part) != 0)
			goto fail;
	}
	if ((v = wa_ct_member(t, "button_parameters"))) {
		part = check_button_params(v, c);
		if (!part || wa_ct_add_obj(out, "button_parameters", part) != 0)
			goto fail;
	}
	return out;
fail:
	json_object_put(out);
	return NULL;
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
		return wa_ct_bad(&c, "%s must be an object", "content");
	if (wa_ct_only(content, "content", allowed, &c) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (wa_ct_member(content, kinds_of[i])) {
			which = kinds_of[i];
			n++;
		}
	if (n != 1)
		return wa_ct_bad(
		    &c,
		    "%s must hold exactly one of template, media or "
		    "interactive",
		    "content");
	v = wa_ct_member(content, which);
	if (which[0] == 't')
		part = check_template(v, &c, kinds);
	else if (which[0] == 'm')
		part = check_media(v, body, &c, kinds);
	else
		part = wa_ct_check_interactive(v, body, &c, kinds);
	if (!part)
		return -1;
	out = json_object_new_object();
	if (!out || wa_ct_add_obj(out, which, part) != 0) {
		json_object_put(out);
		return wa_ct_bad(&c, "%s", "out of memory");
	}
	text_out = json_object_to_json_string_ext(
	    out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*canon = text_out ? strdup(text_out) : NULL;
	json_object_put(out);
	if (!*canon) {
		*kinds = 0;
		return wa_ct_bad(&c, "%s", "out of memory");
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
	if ((v = wa_ct_member(o, "template"))) {
		k = WA_CONTENT_TEMPLATE;
		const char *ht = (t = wa_ct_member(v, "header"))
		                     ? json_object_get_string(
		                           json_object_object_get(t, "type"))
		                     : NULL;

		if (ht && strcmp(ht, "text") != 0)
			k |= WA_CONTENT_TEMPLATE_MEDIA;
	} else if ((v = wa_ct_member(o, "media"))) {
		wa_ct_media_type(
		    json_object_get_string(json_object_object_get(v, "type")),
		    &k);
	} else if ((v = wa_ct_member(o, "interactive"))) {
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
