/* cloudapi_inbound.c - the users' side of a Meta webhook: messages[] (replies,
 * media, button and list taps) and user_preferences[] (marketing stop/resume)
 */
#include "cloudapi.h"

#include <stdio.h>
#include <string.h>

static json_object *array_at(json_object *o, const char *path)
{
	json_object *a = wa_pc_json_path(o, path);

	return (a && json_object_is_type(a, json_type_array)) ? a : NULL;
}

/* Unix seconds (a string in Meta's payloads) as ms; 0 when absent/odd. */
static int64_t seconds_ms(json_object *o, const char *path)
{
	int64_t ts = 0;

	if (!wa_pc_json_int(o, path, &ts) || ts < 0 || ts > (int64_t)1 << 40)
		return 0;
	return ts * 1000;
}

static wa_inbound_type map_type(const char *t)
{
	static const struct {
		const char *name;
		wa_inbound_type type;
	} types[] = {
	    {"text", WA_INBOUND_TEXT},         {"image", WA_INBOUND_IMAGE},
	    {"document", WA_INBOUND_DOCUMENT}, {"audio", WA_INBOUND_AUDIO},
	    {"video", WA_INBOUND_VIDEO},       {"button", WA_INBOUND_BUTTON},
	};

	for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i].name) == 0)
			return types[i].type;
	return WA_INBOUND_OTHER; /* interactive is decided by its subtype */
}

/* The profile name value.contacts[] gives for wa_id, or NULL. */
static const char *profile_name(json_object *value, const char *wa_id)
{
	json_object *cs = array_at(value, "contacts");

	for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i);
		const char *id = wa_pc_json_str(c, "wa_id");

		if (id && strcmp(id, wa_id) == 0)
			return wa_pc_json_str(c, "profile.name");
	}
	return NULL;
}

/* Media objects: {id, mime_type, sha256, caption?, filename?} (by id: the
 * bytes are fetched with GET /{media-id} and the token). */
static void media(wa_inbound_message *m, json_object *o)
{
	WA_PC_INBOUND_SET(m, media_id, wa_pc_json_str(o, "id"));
	WA_PC_INBOUND_SET(m, media_url, wa_pc_json_str(o, "url"));
	WA_PC_INBOUND_SET(m, media_mime, wa_pc_json_str(o, "mime_type"));
	WA_PC_INBOUND_SET(m, media_file_name, wa_pc_json_str(o, "filename"));
	WA_PC_INBOUND_SET(m, text, wa_pc_json_str(o, "caption"));
}

static void interactive(wa_inbound_message *m, json_object *o)
{
	const char *sub = wa_pc_json_str(o, "type");
	json_object *r = NULL;

	if (sub && strcmp(sub, "button_reply") == 0) {
		m->type = WA_INBOUND_BUTTON_REPLY;
		r = wa_pc_json_path(o, "button_reply");
	} else if (sub && strcmp(sub, "list_reply") == 0) {
		m->type = WA_INBOUND_LIST_REPLY;
		r = wa_pc_json_path(o, "list_reply");
	}
	if (!r)
		return; /* nfm_reply (flows) and others: OTHER, no fields */
	WA_PC_INBOUND_SET(m, reply_id, wa_pc_json_str(r, "id"));
	WA_PC_INBOUND_SET(m, text, wa_pc_json_str(r, "title"));
}

static void one_message(json_object *value, json_object *msg, const char *to,
                        wa_callback_reply *reply, size_t *dropped)
{
	const char *id = wa_pc_json_str(msg, "id");
	const char *from = wa_pc_json_str(msg, "from");
	const char *type = wa_pc_json_str(msg, "type");
	wa_inbound_type t = map_type(type);
	char phone[WA_ADDRESS_MAX];
	wa_inbound_message *m;
	bool full;

	if (!json_object_is_type(msg, json_type_object) || !id || !*id ||
	    strlen(id) >= WA_PROVIDER_ID_MAX ||
	    wa_pc_phone(from, phone, sizeof(phone)) != 0)
		return;
	m = wa_pc_reply_inbound(reply, id, t, phone, &full);
	if (!m) {
		*dropped += full;
		return;
	}
	m->occurred_at_ms = seconds_ms(msg, "timestamp");
	if (to)
		WA_PC_INBOUND_SET(m, to, to);
	WA_PC_INBOUND_SET(m, sender_name, profile_name(value, from));
	WA_PC_INBOUND_SET(m, context_id, wa_pc_json_str(msg, "context.id"));
	if (t == WA_INBOUND_TEXT) {
		WA_PC_INBOUND_SET(m, text, wa_pc_json_str(msg, "text.body"));
	} else if (t == WA_INBOUND_BUTTON) {
		WA_PC_INBOUND_SET(m, reply_id,
		                  wa_pc_json_str(msg, "button.payload"));
		WA_PC_INBOUND_SET(m, text, wa_pc_json_str(msg, "button.text"));
	} else if (t != WA_INBOUND_OTHER) {
		media(m, wa_pc_json_path(msg, type));
	} else if (type && strcmp(type, "interactive") == 0) {
		interactive(m, wa_pc_json_path(msg, "interactive"));
	} else if (type && strcmp(type, "sticker") == 0) {
		media(m, wa_pc_json_path(msg, "sticker"));
	}
}

/* user_preferences[]: {wa_id, detail, category, value, timestamp}; only
 * the marketing_messages category's stop/resume is a consent change. */
static void one_preference(json_object *p, wa_callback_reply *reply,
                           size_t *dropped)
{
	const char *cat = wa_pc_json_str(p, "category");
	const char *v = wa_pc_json_str(p, "value");
	char phone[WA_ADDRESS_MAX];
	wa_contact_event_kind kind;

	if (!cat || strcmp(cat, "marketing_messages") != 0 || !v ||
	    wa_pc_phone(wa_pc_json_str(p, "wa_id"), phone, sizeof(phone)) != 0)
		return;
	if (strcmp(v, "stop") == 0)
		kind = WA_CONTACT_OPTED_OUT;
	else if (strcmp(v, "resume") == 0)
		kind = WA_CONTACT_OPTED_IN;
	else
		return;
	if (!wa_pc_reply_contact(reply, kind, phone, seconds_ms(p, "timestamp"),
	                         "cloudapi:user_preferences:marketing_messages",
	                         wa_pc_json_str(p, "detail")))
		(*dropped)++;
}

void wa_cloudapi_inbound(json_object *value, wa_callback_reply *reply,
                         size_t *dropped)
{
	json_object *msgs = array_at(value, "messages");
	json_object *prefs = array_at(value, "user_preferences");
	char to[WA_ADDRESS_MAX];
	bool have_to;

	if (!wa_pc_reply_has_inbound(reply))
		return;
	have_to =
	    wa_pc_phone(wa_pc_json_str(value, "metadata.display_phone_number"),
	                to, sizeof(to)) == 0;
	for (size_t i = 0; msgs && i < json_object_array_length(msgs); i++)
		one_message(value, json_object_array_get_idx(msgs, i),
		            have_to ? to : NULL, reply, dropped);
	for (size_t i = 0; prefs && i < json_object_array_length(prefs); i++)
		one_preference(json_object_array_get_idx(prefs, i), reply,
		               dropped);
}
