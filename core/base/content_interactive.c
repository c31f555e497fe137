/* content_interactive.c - content.interactive of a send (issue 14 item 5):
 * reply buttons and lists */
#include "base/content_int.h"

#include <stdio.h>
#include <string.h>

#include "wadispatch/provider.h"

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
			wa_ct_bad(c, "%s must be an object", path);
			goto fail;
		}
		if (wa_ct_only(b, path, allowed, c) != 0)
			goto fail;
		snprintf(p2, sizeof(p2), "%s.id", path);
		id = wa_ct_text(b, "id", p2, true, 1, 256, T_BYTES, c, &err);
		snprintf(p2, sizeof(p2), "%s.title", path);
		if (!err)
			title =
			    wa_ct_text(b, "title", p2, true, 1, 20, 0, c, &err);
		if (err)
			goto fail;
		for (size_t k = 0; k < i; k++)
			if (strcmp(
			        json_object_get_string(json_object_object_get(
			            json_object_array_get_idx(out, k), "id")),
			        id) == 0) {
				wa_ct_bad(
				    c, "%s.id repeats an earlier button's id",
				    path);
				goto fail;
			}
		o = json_object_new_object();
		if (!o || wa_ct_add_str(o, "id", id) ||
		    wa_ct_add_str(o, "title", title) ||
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
			wa_ct_bad(c, "%s must be an object", path);
			goto fail;
		}
		if (wa_ct_only(r, path, allowed, c) != 0)
			goto fail;
		snprintf(p2, sizeof(p2), "%s.id", path);
		id = wa_ct_text(r, "id", p2, true, 1, 200, T_BYTES, c, &err);
		snprintf(p2, sizeof(p2), "%s.title", path);
		if (!err)
			title =
			    wa_ct_text(r, "title", p2, true, 1, 24, 0, c, &err);
		snprintf(p2, sizeof(p2), "%s.description", path);
		if (!err)
			desc = wa_ct_text(r, "description", p2, false, 1, 72, 0,
			                  c, &err);
		if (err)
			goto fail;
		if (row_id_seen(sections, out, id)) {
			wa_ct_bad(c, "%s.id repeats an earlier row's id", path);
			goto fail;
		}
		o = json_object_new_object();
		if (!o || wa_ct_add_str(o, "id", id) ||
		    wa_ct_add_str(o, "title", title) ||
		    wa_ct_add_str(o, "description", desc) ||
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
			wa_ct_bad(c, "%s must be an object", path);
			goto fail;
		}
		if (wa_ct_only(s, path, allowed, c) != 0)
			goto fail;
		snprintf(p2, sizeof(p2), "%s.title", path);
		title = wa_ct_text(s, "title", p2, true, 1, 24, 0, c, &err);
		if (err)
			goto fail;
		rows =
		    check_rows(wa_ct_member(s, "rows"), path, out, &total, c);
		if (!rows)
			goto fail;
		o = json_object_new_object();
		if (!o || wa_ct_add_str(o, "title", title) ||
		    wa_ct_add_obj(o, "rows", rows) != 0 ||
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

json_object *wa_ct_check_interactive(json_object *it, const char *body, ck *c,
                                     uint32_t *kinds)
{
	static const char *const allowed[] = {
	    "type", "header", "footer", "buttons", "button", "sections", NULL};
	const char *type, *header = NULL, *footer = NULL, *button = NULL;
	json_object *out, *part;
	bool list;
	int err = 0;

	if (!json_object_is_type(it, json_type_object))
		return wa_ct_bad(c, "%s must be an object",
		                 "content.interactive"),
		       NULL;
	if (wa_ct_only(it, "content.interactive", allowed, c) != 0)
		return NULL;
	type = wa_ct_text(it, "type", "content.interactive.type", true, 1, 16,
	                  0, c, &err);
	if (err)
		return NULL;
	if (strcmp(type, "buttons") != 0 && strcmp(type, "list") != 0)
		return wa_ct_bad(c, "%s must be buttons or list",
		                 "content.interactive.type"),
		       NULL;
	list = strcmp(type, "list") == 0;
	if (wa_ct_member(it, list ? "buttons" : "sections") ||
	    (!list && wa_ct_member(it, "button")))
		return wa_ct_bad(c,
		                 "%s: buttons go with type buttons; button and "
		                 "sections with type list",
		                 "content.interactive"),
		       NULL;
	header = wa_ct_text(it, "header", "content.interactive.header", false,
	                    1, 60, 0, c, &err);
	if (!err)
		footer = wa_ct_text(it, "footer", "content.interactive.footer",
		                    false, 1, 60, 0, c, &err);
	if (!err && list)
		button = wa_ct_text(it, "button", "content.interactive.button",
		                    true, 1, 20, 0, c, &err);
	if (err)
		return NULL;
	if (wa_ct_chars(body, strlen(body)) > WA_CONTENT_BODY_MAX) {
		snprintf(c->msg, c->len,
		         "message_body is the body of an interactive message "
		         "and must be at most %d characters",
		         WA_CONTENT_BODY_MAX);
		return NULL;
	}
	part = list ? check_sections(wa_ct_member(it, "sections"), c)
	            : check_buttons(wa_ct_member(it, "buttons"), c);
	if (!part)
		return NULL;
	out = json_object_new_object();
	if (!out || wa_ct_add_str(out, "type", type) ||
	    wa_ct_add_str(out, "header", header) ||
	    wa_ct_add_str(out, "footer", footer) ||
	    wa_ct_add_str(out, "button", button) ||
	    wa_ct_add_obj(out, list ? "sections" : "buttons", part) != 0) {
		json_object_put(out);
		return wa_ct_bad(c, "%s", "out of memory"), NULL;
	}
	*kinds = list ? WA_CONTENT_LIST : WA_CONTENT_BUTTONS;
	return out;
}
