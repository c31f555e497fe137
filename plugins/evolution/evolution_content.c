/* evolution_content.c - Evolution API v2 bodies of messages with rich
 * content (ABI 1.2): sendMedia, sendButtons, sendList
 * (docs/providers/evolution.md) */
#include "evolution.h"

#include <string.h>

static void put_str(json_object *o, const char *k, const char *s, int *rc)
{
	json_object *v;

	if (!s)
		return;
	v = json_object_new_string(s);
	if (!o || !v || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		*rc = -1;
	}
}

static void put(json_object *o, const char *k, json_object *v, int *rc)
{
	if (!o || !v || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		*rc = -1;
	}
}

static void push(json_object *a, json_object *v, int *rc)
{
	if (!a || !v || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		*rc = -1;
	}
}

/* {"number","mediatype","media":<url>[,"caption"][,"fileName"]}: the
 * caption is content.media.caption, else message_body; audio has none. */
static void media(json_object *o, json_object *part, const char *body, int *rc)
{
	const char *type = wa_pc_cstr(part, "type");
	const char *cap = wa_pc_cstr(part, "caption");
	bool audio = type && strcmp(type, "audio") == 0;

	put_str(o, "mediatype", type, rc);
	put_str(o, "media", wa_pc_cstr(part, "url"), rc);
	if (!audio)
		put_str(o, "caption", cap ? cap : body, rc);
	put_str(o, "fileName", wa_pc_cstr(part, "file_name"), rc);
}

/* The title is the header when there is one (the body then goes in
 * description), else the body itself. */
static void title(json_object *o, json_object *it, const char *body, int *rc)
{
	const char *header = wa_pc_cstr(it, "header");

	put_str(o, "title", header ? header : body, rc);
	if (header)
		put_str(o, "description", body, rc);
}

static void buttons(json_object *o, json_object *it, const char *body, int *rc)
{
	json_object *v = wa_pc_json_path(it, "buttons");
	json_object *arr = json_object_new_array();

	title(o, it, body, rc);
	put_str(o, "footer", wa_pc_cstr(it, "footer"), rc);
	for (size_t i = 0; v && i < json_object_array_length(v); i++) {
		json_object *src = json_object_array_get_idx(v, i);
		json_object *b = json_object_new_object();

		put_str(b, "type", "reply", rc);
		put_str(b, "displayText", wa_pc_cstr(src, "title"), rc);
		put_str(b, "id", wa_pc_cstr(src, "id"), rc);
		push(arr, b, rc);
	}
	put(o, "buttons", arr, rc);
}

static void list(json_object *o, json_object *it, const char *body, int *rc)
{
	json_object *v = wa_pc_json_path(it, "sections");
	json_object *arr = json_object_new_array();
	const char *footer = wa_pc_cstr(it, "footer");

	title(o, it, body, rc);
	/* footerText is required by Evolution's list schema. */
	put_str(o, "footerText", footer ? footer : "", rc);
	put_str(o, "buttonText", wa_pc_cstr(it, "button"), rc);
	for (size_t i = 0; v && i < json_object_array_length(v); i++) {
		json_object *src = json_object_array_get_idx(v, i);
		json_object *sec = json_object_new_object();
		json_object *rows = json_object_new_array();
		json_object *r = wa_pc_json_path(src, "rows");

		put_str(sec, "title", wa_pc_cstr(src, "title"), rc);
		for (size_t k = 0; r && k < json_object_array_length(r); k++) {
			json_object *rs = json_object_array_get_idx(r, k);
			json_object *row = json_object_new_object();

			put_str(row, "title", wa_pc_cstr(rs, "title"), rc);
			/* an empty description is refused: leave it out */
			put_str(row, "description",
			        wa_pc_cstr(rs, "description"), rc);
			put_str(row, "rowId", wa_pc_cstr(rs, "id"), rc);
			push(rows, row, rc);
		}
		put(sec, "rows", rows, rc);
		push(arr, sec, rc);
	}
	put(o, "sections", arr, rc);
}

json_object *wa_evolution_content(const wa_message *msg, json_object *part,
                                  const char *which, const char *number,
                                  const char **route)
{
	const char *body = msg->message_body ? msg->message_body : "";
	const char *type = wa_pc_cstr(part, "type");
	json_object *o = json_object_new_object();
	int rc = 0;

	put_str(o, "number", number, &rc);
	if (strcmp(which, "media") == 0) {
		*route = "sendMedia";
		media(o, part, body, &rc);
	} else if (type && strcmp(type, "list") == 0) {
		*route = "sendList";
		list(o, part, body, &rc);
	} else {
		*route = "sendButtons";
		buttons(o, part, body, &rc);
	}
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
