/* inbound.c - two-way messaging: inbound messages and contact events into
 * the store, opt-outs honoured (writer thread) */
#include "engine/inbound.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/keywords.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/validate.h"

static const char *type_name(wa_inbound_type t)
{
	static const char *const names[] = {
	    "other", "text",   "image",        "document",  "audio",
	    "video", "button", "button_reply", "list_reply"};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t]
	                                                      : "other";
}

/* A plugin-filled string as JSON: "" stays "", invalid UTF-8 bytes become
 * '?' so receivers always get valid JSON. */
static json_object *jstr(const char *s)
{
	json_object *o;
	char *copy;
	size_t n = strlen(s);

	if (wa_utf8_chars(s, n) >= 0)
		return json_object_new_string(s);
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	o = json_object_new_string(copy);
	free(copy);
	return o;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, jstr(v));
}

static void add_opt(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v[0] ? jstr(v) : NULL);
}

static void add_time(json_object *o, const char *k, int64_t ms)
{
	char ts[40];

	json_object_object_add(
	    o, k, json_object_new_string(wa_iso8601(ms, ts, sizeof(ts))));
}

/* A copy of obj's JSON text (malloc'd), or NULL. */
static char *dump(json_object *obj)
{
	const char *t = json_object_to_json_string_ext(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return t ? strdup(t) : NULL;
}

/* The stored form of m (what GET /v1/inbound lists and message.received
 * carries). Our message it answers, when known, as in_reply_to. */
static json_object *inbound_json(wa_store *s, const wa_inbound_rec *r,
                                 const wa_inbound_message *m)
{
	json_object *o = json_object_new_object(), *media = NULL;
	wa_message_rec ours;
	char err[WA_ERR_MAX];

	if (!o)
		return NULL;
	add_str(o, "id", r->id);
	add_str(o, "provider", r->provider);
	add_str(o, "provider_message_id", r->provider_message_id);
	add_str(o, "from", r->phone);
	add_opt(o, "to", m->to);
	add_opt(o, "sender_name", m->sender_name);
	json_object_object_add(o, "type",
	                       json_object_new_string(type_name(m->type)));
	add_opt(o, "text", m->text);
	add_opt(o, "reply_id", m->reply_id);
	add_opt(o, "context_id", m->context_id);
	json_object_object_add(o, "in_reply_to", NULL);
	if (m->context_id[0] &&
	    s->ops->get_by_provider_id(s, r->provider, m->context_id, &ours,
	                               err, sizeof(err)) == 0) {
		json_object *ref = json_object_new_object();

		if (ref) {
			add_str(ref, "message_id", ours.id);
			add_str(ref, "external_id", ours.external_id);
			json_object_object_add(o, "in_reply_to", ref);
		}
		wa_message_rec_free(&ours);
	}
	if (m->media_id[0] || m->media_url[0]) {
		media = json_object_new_object();
		if (media) {
			add_opt(media, "id", m->media_id);
			add_opt(media, "url", m->media_url);
			add_opt(media, "mime_type", m->media_mime);
			add_opt(media, "file_name", m->media_file_name);
		}
	}
	json_object_object_add(o, "media", media);
	json_object_object_add(
	    o, "truncated",
	    json_object_new_boolean((m->flags & WA_INBOUND_TRUNCATED) != 0));
	add_time(o, "occurred_at", r->occurred_ms);
	add_time(o, "received_at", r->received_ms);
	return o;
}

static int queue_event(wa_store *s, const char *key, const char *event,
                       json_object *body, int64_t at_ms, char *err,
                       size_t err_len)
{
	char *text = dump(body);
	int rc;

	if (!text) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	rc = s->ops->outbox_add(s, key, event, text, at_ms, err, err_len);
	free(text);
	return rc;
}

int wa_optout_set(wa_store *s, const char *phone, bool opted_out,
                  const char *source, const char *detail, int64_t at_ms,
                  bool *changed, long *canceled, char *err, size_t err_len)
{
	const char *event =
	    opted_out ? "contact.opted_out" : "contact.opted_in";
	json_object *body;
	char why[WA_ERR_MAX];
	long n = 0;
	int rc;

	*changed = false;
	if (canceled)
		*canceled = 0;
	if (s->ops->contact_set_opt(s, phone, opted_out, source, at_ms, changed,
	                            err, err_len) != 0)
		return -1;
	if (!*changed)
		return 0;
	if (opted_out) {
		snprintf(why, sizeof(why),
		         "Canceled: the recipient opted out (%s).", source);
		if (s->ops->cancel_phone(s, phone, at_ms, why, &n, err,
		                         err_len) != 0)
			return -1;
		if (canceled)
			*canceled = n;
	}
	body = json_object_new_object();
	if (!body) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	json_object_object_add(body, "event", json_object_new_string(event));
	add_str(body, "phone", phone);
	add_str(body, "source", source);
	add_opt(body, "detail", detail ? detail : "");
	if (opted_out)
		json_object_object_add(body, "canceled_messages",
		                       json_object_new_int64(n));
	add_time(body, "occurred_at", at_ms);
	rc = queue_event(s, phone, event, body, at_ms, err, err_len);
	json_object_put(body);
	return rc;
}

/* wa_optout_set, counted in c when the state changed. */
static int optout_counted(wa_store *s, const char *phone, bool out,
                          const char *source, const char *detail, int64_t at_ms,
                          wa_twoway_counts *c, char *err, size_t err_len)
{
	bool changed = false;
	long n = 0;

	if (wa_optout_set(s, phone, out, source, detail, at_ms, &changed, &n,
	                  err, err_len) != 0)
		return -1;
	if (changed) {
		if (out)
			c->opted_out++;
		else
			c->opted_in++;
		c->canceled += n;
	}
	return 0;
}

/* A new text that is a keyword changes its sender's consent; so does a
 * tapped quick-reply button, reply button or list row whose title or
 * payload (id) is one (plugins hand the title as text, the payload as
 * reply_id: Cloud API button.text/payload, button_reply title/id,
 * Twilio ButtonText/ButtonPayload, Evolution's button and list replies).
 * A media caption is not a keyword. */
static int keyword(wa_store *s, const wa_twoway_config *cfg,
                   const wa_inbound_rec *r, const wa_inbound_message *m,
                   wa_twoway_counts *c, char *err, size_t err_len)
{
	char word[64], source[WA_OPT_SOURCE_MAX];
	const char *texts[2] = {m->text, NULL};
	wa_keyword_kind k;

	switch (m->type) {
	case WA_INBOUND_TEXT:
		break;
	case WA_INBOUND_BUTTON:
	case WA_INBOUND_BUTTON_REPLY:
	case WA_INBOUND_LIST_REPLY:
		texts[1] = m->reply_id;
		break;
	default:
		return 0;
	}
	k = wa_keyword_classify(cfg->stop_keywords, cfg->start_keywords, texts,
	                        2, word, sizeof(word));
	if (k == WA_KEYWORD_NONE)
		return 0;
	snprintf(source, sizeof(source), "keyword:%s", word);
	return optout_counted(s, r->phone, k == WA_KEYWORD_STOP, source, NULL,
	                      r->occurred_ms, c, err, err_len);
}

int wa_inbound_store(wa_store *s, const wa_twoway_config *cfg,
                     const char *provider, const wa_inbound_message *m,
                     int64_t now_ms, wa_twoway_counts *c, char *err,
                     size_t err_len)
{
	wa_inbound_rec r;
	json_object *o, *body;
	bool created = false;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (!m->provider_message_id[0] ||
	    strlen(m->provider_message_id) >= sizeof(r.provider_message_id) ||
	    wa_phone_normalize(m->from, r.phone, sizeof(r.phone)) != 0) {
		c->invalid++;
		return 0;
	}
	{
		char u[WA_ID_MAX]; /* "msg-<uuid v7>": time-ordered */

		if (wa_message_id_new(u, sizeof(u)) != 0) {
			snprintf(err, err_len, "Cannot make an id.");
			return -1;
		}
		snprintf(r.id, sizeof(r.id), "in-%s", u + 4);
	}
	snprintf(r.provider, sizeof(r.provider), "%s", provider);
	snprintf(r.provider_message_id, sizeof(r.provider_message_id), "%s",
	         m->provider_message_id);
	r.received_ms = now_ms;
	r.occurred_ms = m->occurred_at_ms > 0 ? m->occurred_at_ms : now_ms;
	o = inbound_json(s, &r, m);
	r.json = o ? dump(o) : NULL;
	if (!r.json) {
		snprintf(err, err_len, "Out of memory.");
		goto out;
	}
	if (s->ops->inbound_add(s, &r, &created, err, err_len) != 0)
		goto out;
	if (!created) {
		c->duplicates++;
		rc = 0;
		goto out;
	}
	c->stored++;
	body = json_object_new_object();
	if (!body) {
		snprintf(err, err_len, "Out of memory.");
		goto out;
	}
	json_object_object_add(body, "event",
	                       json_object_new_string("message.received"));
	json_object_object_add(body, "message", json_object_get(o));
	rc = queue_event(s, r.phone, "message.received", body, r.occurred_ms,
	                 err, err_len);
	json_object_put(body);
	if (rc == 0)
		rc = keyword(s, cfg, &r, m, c, err, err_len);
out:
	json_object_put(o);
	free(r.json);
	return rc;
}

int wa_contact_event_store(wa_store *s, const char *provider,
                           const wa_contact_event *e, int64_t now_ms,
                           wa_twoway_counts *c, char *err, size_t err_len)
{
	char phone[WA_PHONE_MAX], source[WA_OPT_SOURCE_MAX];
	bool out = e->kind == WA_CONTACT_OPTED_OUT;

	if ((e->kind != WA_CONTACT_OPTED_OUT &&
	     e->kind != WA_CONTACT_OPTED_IN) ||
	    wa_phone_normalize(e->phone, phone, sizeof(phone)) != 0) {
		c->invalid++;
		return 0;
	}
	snprintf(source, sizeof(source), "%s",
	         e->source[0] ? e->source : provider);
	return optout_counted(s, phone, out, source, e->detail,
	                      e->occurred_at_ms > 0 ? e->occurred_at_ms
	                                            : now_ms,
	                      c, err, err_len);
}
