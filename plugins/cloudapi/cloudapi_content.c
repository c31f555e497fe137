/* cloudapi_content.c - the Cloud API /messages body of a message with rich
 * content (ABI 1.2): template components, media by link, interactive
 * buttons and lists (docs/providers/cloudapi.md) */
#include "cloudapi.h"

#include <stdio.h>
#include <string.h>

/* Add v under k (v NULL: out of memory); *rc becomes -1 on failure. */
static void put(json_object *o, const char *k, json_object *v, int *rc)
{
	if (!o || !v || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		*rc = -1;
	}
}

static void put_str(json_object *o, const char *k, const char *s, int *rc)
{
	if (s)
		put(o, k, json_object_new_string(s), rc);
}

static void push(json_object *a, json_object *v, int *rc)
{
	if (!a || !v || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		*rc = -1;
	}
}

/* {"type":"text","text":s} */
static json_object *text_param(const char *s, int *rc)
{
	json_object *p = json_object_new_object();

	put_str(p, "type", "text", rc);
	put_str(p, "text", s, rc);
	return p;
}

/* {"link":url[,"caption":c][,"filename":f]} */
static json_object *media_object(const char *url, const char *caption,
                                 const char *file_name, int *rc)
{
	json_object *m = json_object_new_object();

	put_str(m, "link", url, rc);
	put_str(m, "caption", caption, rc);
	put_str(m, "filename", file_name, rc);
	return m;
}

static json_object *header_component(json_object *h, int *rc)
{
	const char *type = wa_pc_cstr(h, "type");
	json_object *c = json_object_new_object(),
	            *params = json_object_new_array();

	put_str(c, "type", "header", rc);
	if (type && strcmp(type, "text") == 0) {
		push(params, text_param(wa_pc_cstr(h, "text"), rc), rc);
	} else {
		json_object *p = json_object_new_object();

		put_str(p, "type", type, rc);
		put(p, type ? type : "image",
		    media_object(wa_pc_cstr(h, "url"), NULL,
		                 wa_pc_cstr(h, "file_name"), rc),
		    rc);
		push(params, p, rc);
	}
	put(c, "parameters", params, rc);
	return c;
}

static json_object *template_object(const ca_state *st, json_object *t, int *rc)
{
	json_object *o = json_object_new_object(),
	            *lang = json_object_new_object();
	json_object *comps = json_object_new_array(), *v;
	const char *code = wa_pc_cstr(t, "language");

	put_str(o, "name", wa_pc_cstr(t, "name"), rc);
	put_str(lang, "code", code ? code : st->language, rc);
	put(o, "language", lang, rc);
	if ((v = wa_pc_json_path(t, "header")))
		push(comps, header_component(v, rc), rc);
	if ((v = wa_pc_json_path(t, "body_parameters")) &&
	    json_object_array_length(v) > 0) {
		json_object *c = json_object_new_object();
		json_object *params = json_object_new_array();

		put_str(c, "type", "body", rc);
		for (size_t i = 0; i < json_object_array_length(v); i++)
			push(params,
			     text_param(json_object_get_string(
			                    json_object_array_get_idx(v, i)),
			                rc),
			     rc);
		put(c, "parameters", params, rc);
		push(comps, c, rc);
	}
	if ((v = wa_pc_json_path(t, "button_parameters")))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *b = json_object_array_get_idx(v, i);
			json_object *c = json_object_new_object();
			json_object *params = json_object_new_array();
			json_object *p = json_object_new_object();
			const char *st_ = wa_pc_cstr(b, "sub_type");
			bool quick = st_ && strcmp(st_, "quick_reply") == 0;
			int64_t idx = 0;
			char index[8];

			wa_pc_json_int(b, "index", &idx);
			snprintf(index, sizeof(index), "%d", (int)idx);
			put_str(c, "type", "button", rc);
			put_str(c, "sub_type", st_, rc);
			put_str(c, "index", index, rc);
			put_str(p, "type", quick ? "payload" : "text", rc);
			put_str(p, quick ? "payload" : "text",
			        wa_pc_cstr(b, "value"), rc);
			push(params, p, rc);
			put(c, "parameters", params, rc);
			push(comps, c, rc);
		}
	if (json_object_array_length(comps) > 0)
		put(o, "components", comps, rc);
	else
		json_object_put(comps);
	return o;
}

static json_object *interactive_object(json_object *it, const char *body,
                                       int *rc)
{
	const char *type = wa_pc_cstr(it, "type");
	bool list = type && strcmp(type, "list") == 0;
	const char *header = wa_pc_cstr(it, "header");
	const char *footer = wa_pc_cstr(it, "footer");
	json_object *o = json_object_new_object(), *v, *action;
	json_object *b = json_object_new_object();

	put_str(o, "type", list ? "list" : "button", rc);
	if (header) {
		json_object *h = json_object_new_object();

		put_str(h, "type", "text", rc);
		put_str(h, "text", header, rc);
		put(o, "header", h, rc);
	}
	put_str(b, "text", body, rc);
	put(o, "body", b, rc);
	if (footer) {
		json_object *f = json_object_new_object();

		put_str(f, "text", footer, rc);
		put(o, "footer", f, rc);
	}
	action = json_object_new_object();
	if (!list) {
		json_object *buttons = json_object_new_array();

		v = wa_pc_json_path(it, "buttons");
		for (size_t i = 0; v && i < json_object_array_length(v); i++) {
			json_object *src = json_object_array_get_idx(v, i);
			json_object *btn = json_object_new_object();
			json_object *reply = json_object_new_object();

			put_str(btn, "type", "reply", rc);
			put_str(reply, "id", wa_pc_cstr(src, "id"), rc);
			put_str(reply, "title", wa_pc_cstr(src, "title"), rc);
			put(btn, "reply", reply, rc);
			push(buttons, btn, rc);
		}
		put(action, "buttons", buttons, rc);
	} else {
		json_object *sections = json_object_new_array();

		put_str(action, "button", wa_pc_cstr(it, "button"), rc);
		v = wa_pc_json_path(it, "sections");
		for (size_t i = 0; v && i < json_object_array_length(v); i++) {
			json_object *src = json_object_array_get_idx(v, i);
			json_object *sec = json_object_new_object();
			json_object *rows = json_object_new_array();
			json_object *r = wa_pc_json_path(src, "rows");

			put_str(sec, "title", wa_pc_cstr(src, "title"), rc);
			for (size_t k = 0; r && k < json_object_array_length(r);
			     k++) {
				json_object *rs =
				    json_object_array_get_idx(r, k);
				json_object *row = json_object_new_object();

				put_str(row, "id", wa_pc_cstr(rs, "id"), rc);
				put_str(row, "title", wa_pc_cstr(rs, "title"),
				        rc);
				put_str(row, "description",
				        wa_pc_cstr(rs, "description"), rc);
				push(rows, row, rc);
			}
			put(sec, "rows", rows, rc);
			push(sections, sec, rc);
		}
		put(action, "sections", sections, rc);
	}
	put(o, "action", action, rc);
	return o;
}

json_object *wa_cloudapi_content_json(const ca_state *st, const wa_message *msg,
                                      const char *to, json_object *part,
                                      const char *which, wa_result *res)
{
	const char *body = msg->message_body ? msg->message_body : "";
	json_object *o = json_object_new_object();
	int rc = 0;

	put_str(o, "messaging_product", "whatsapp", &rc);
	put_str(o, "recipient_type", "individual", &rc);
	put_str(o, "to", to, &rc);
	if (strcmp(which, "template") == 0) {
		const char *name = wa_pc_cstr(part, "name");

		if (!wa_cloudapi_template_name_ok(name ? name : "")) {
			json_object_put(o);
			wa_pc_result(
			    res, WA_RESULT_REJECT, 0, NULL,
			    "Template name must be lower-case letters, "
			    "digits and _.");
			return NULL;
		}
		put_str(o, "type", "template", &rc);
		put(o, "template", template_object(st, part, &rc), &rc);
	} else if (strcmp(which, "media") == 0) {
		const char *type = wa_pc_cstr(part, "type");
		const char *cap = wa_pc_cstr(part, "caption");
		bool audio = type && strcmp(type, "audio") == 0;

		put_str(o, "type", type, &rc);
		/* The caption is content.media.caption, else message_body;
		 * WhatsApp audio has none. */
		put(o, type ? type : "image",
		    media_object(wa_pc_cstr(part, "url"),
		                 audio ? NULL : (cap ? cap : body),
		                 wa_pc_cstr(part, "file_name"), &rc),
		    &rc);
	} else {
		put_str(o, "type", "interactive", &rc);
		put(o, "interactive", interactive_object(part, body, &rc), &rc);
	}
	if (rc != 0) {
		json_object_put(o);
		wa_pc_result(res, WA_RESULT_RETRY, 0, NULL,
		             "Out of memory building the request.");
		return NULL;
	}
	return o;
}
