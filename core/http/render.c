/* render.c - JSON renderings of messages for the HTTP API */
#include "http/render.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"

char *wa_render_send(const wa_app *app, const char *status, const char *id,
                     int64_t queued_ms, const char *pmid, const char *error,
                     size_t *len)
{
	char ts[32], epmid[WA_PMID_MAX * 6], eerr[WA_ERR_MAX * 6 + 16];
	char idpart[WA_PMID_MAX * 6 + 80] = "";
	const char *pname = app->provider->table->name;
	char *out;
	int n;

	wa_iso8601(queued_ms, ts, sizeof(ts));
	if (pmid && *pmid) {
		wa_json_escape(pmid, epmid, sizeof(epmid));
		snprintf(idpart, sizeof(idpart), "\"%s\":\"%s\",",
		         wa_provider_id_name(app->provider), epmid);
	}
	eerr[0] = 0;
	if (error && *error) {
		char e[WA_ERR_MAX * 6];
		wa_json_escape(error, e, sizeof(e));
		snprintf(eerr, sizeof(eerr), ",\"error\":\"%s\"", e);
	}
	n = snprintf(
	    NULL, 0,
	    "{\"status\":\"%s\",\"message_id\":\"%s\",\"provider_details\":"
	    "{%s\"provider\":\"%s\",\"queued_at\":\"%s\"}%s}",
	    status, id, idpart, pname, ts, eerr);
	if (n < 0 || !(out = malloc((size_t)n + 1)))
		return NULL;
	snprintf(
	    out, (size_t)n + 1,
	    "{\"status\":\"%s\",\"message_id\":\"%s\",\"provider_details\":"
	    "{%s\"provider\":\"%s\",\"queued_at\":\"%s\"}%s}",
	    status, id, idpart, pname, ts, eerr);
	*len = (size_t)n;
	return out;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v && *v ? json_object_new_string(v) : json_object_new_null());
}

static void add_time(json_object *o, const char *k, int64_t ms)
{
	char ts[32];
	if (ms > 0)
		json_object_object_add(
		    o, k,
		    json_object_new_string(wa_iso8601(ms, ts, sizeof(ts))));
	else
		json_object_object_add(o, k, json_object_new_null());
}

json_object *wa_render_message_obj(const wa_app *app, const wa_message_rec *m,
                                   bool with_history)
{
	json_object *o = json_object_new_object(), *pd, *hist;

	if (!o)
		return NULL;
	add_str(o, "message_id", m->id);
	add_str(o, "external_id", m->external_id);
	add_str(o, "status", wa_msg_status_name(m->status));
	add_str(o, "recipient_phone", m->phone);
	json_object_object_add(o, "attempts", json_object_new_int(m->attempts));
	add_str(o, "provider", m->provider);
	add_str(o, "provider_message_id", m->provider_message_id);
	pd = json_object_new_object();
	if (m->provider_message_id[0])
		add_str(pd, wa_provider_id_name(app->provider),
		        m->provider_message_id);
	add_str(pd, "provider", m->provider);
	add_time(pd, "queued_at", m->created_ms);
	if (m->upstream_status)
		json_object_object_add(
		    pd, "upstream_status",
		    json_object_new_int64(m->upstream_status));
	if (m->upstream_code[0])
		add_str(pd, "upstream_code", m->upstream_code);
	json_object_object_add(o, "provider_details", pd);
	add_str(o, "last_error", m->last_error);
	add_time(o, "created_at", m->created_ms);
	add_time(o, "updated_at", m->updated_ms);
	add_time(o, "next_attempt_at",
	         m->status == WA_MSG_QUEUED ? m->next_attempt_ms : 0);
	add_time(o, "expires_at", m->expires_ms);
	add_str(o, "campaign_id", m->campaign_id);
	if (!with_history)
		return o;
	/* The rich content as accepted (canonical), on the message's own
	 * page only, not in listings. */
	if (m->content_json && *m->content_json) {
		json_object *c = json_tokener_parse(m->content_json);

		if (c)
			json_object_object_add(o, "content", c);
	}
	hist = json_object_new_array();
	for (size_t i = 0; i < m->n_history; i++) {
		json_object *h = json_object_new_object();
		add_str(h, "status", wa_msg_status_name(m->history[i].status));
		add_time(h, "at", m->history[i].at_ms);
		add_str(h, "detail", m->history[i].detail);
		json_object_array_add(hist, h);
	}
	json_object_object_add(o, "history", hist);
	return o;
}

char *wa_render_message(const wa_app *app, const wa_message_rec *m, size_t *len)
{
	json_object *o = wa_render_message_obj(app, m, true);
	const char *text;
	char *out;

	if (!o)
		return NULL;
	text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	out = text ? strdup(text) : NULL;
	if (out)
		*len = strlen(out);
	json_object_put(o);
	return out;
}

json_object *wa_render_counts(const long long count[7])
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < 7; i++)
		json_object_object_add(o, wa_msg_status_name((wa_msg_status)i),
		                       json_object_new_int64(count[i]));
	return o;
}
