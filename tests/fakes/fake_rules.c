/* fake_rules.c - what the fake provider servers check and answer (no sockets
 * here) */
#include "fake_rules.h"

#include "pc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer(fp_answer *a, int status, const char *body)
{
	a->status = status;
	snprintf(a->body, sizeof(a->body), "%s", body);
}

static bool starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void record(fp_answer *a, const fp_config *cfg, unsigned long n,
                   const char *to, const char *text, const char *tmpl,
                   const char *id, const fp_request *req)
{
	static const char *names[] = {"twilio", "evolution", "cloudapi",
	                              "receiver"};
	json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int64((int64_t)n));
	json_object_object_add(o, "mode",
	                       json_object_new_string(names[cfg->mode]));
	json_object_object_add(o, "to", json_object_new_string(to ? to : ""));
	json_object_object_add(o, "text",
	                       text ? json_object_new_string(text) : NULL);
	json_object_object_add(o, "template",
	                       tmpl ? json_object_new_string(tmpl) : NULL);
	json_object_object_add(o, "id", json_object_new_string(id));
	snprintf(a->record, sizeof(a->record), "%s", wa_pc_json_text(o));
	/* The request as received, so a test can assert the exact body
	 * (left out when the line would not fit the record). */
	json_object_object_add(o, "path", json_object_new_string(req->path));
	json_object_object_add(
	    o, "body",
	    json_object_new_string_len(req->body, (int)req->body_len));
	if (strlen(wa_pc_json_text(o)) < sizeof(a->record))
		snprintf(a->record, sizeof(a->record), "%s",
		         wa_pc_json_text(o));
	json_object_put(o);
}

/* ---- Twilio ----------------------------------------------------------------
 */

static void tw_error(fp_answer *a, int status, int code, const char *msg)
{
	json_object *o = json_object_new_object();
	char more[80];

	snprintf(more, sizeof(more), "https://www.twilio.com/docs/errors/%d",
	         code);
	json_object_object_add(o, "code", json_object_new_int(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "more_info", json_object_new_string(more));
	json_object_object_add(o, "status", json_object_new_int(status));
	answer(a, status, wa_pc_json_text(o));
	json_object_put(o);
}

static bool basic_is(const char *auth, const char *user, const char *pass)
{
	char pair[128], b64[200], want[220];

	snprintf(pair, sizeof(pair), "%s:%s", user, pass);
	if (wa_pc_base64((const unsigned char *)pair, strlen(pair), b64,
	                 sizeof(b64)))
		return false;
	snprintf(want, sizeof(want), "Basic %s", b64);
	return auth && strcmp(auth, want) == 0;
}

static bool wa_address(const char *s)
{
	return starts(s, "whatsapp:+") && wa_pc_is_digits(s + 10) &&
	       strlen(s + 10) >= 8 && strlen(s + 10) <= 15;
}

static void twilio(const fp_config *cfg, const fp_request *req, unsigned long n,
                   fp_answer *a)
{
	wa_pc_form *f = malloc(sizeof(*f));
	const char *to, *from, *msid, *body, *csid;
	char sid[40], text[2048];
	json_object *o;

	if (!f) {
		tw_error(a, 500, 20500, "Internal Server Error");
		return;
	}
	if (strcmp(req->path, "/2010-04-01/Accounts/" FP_TWILIO_ACCOUNT
	                      "/Messages.json") != 0 ||
	    strcmp(req->method, "POST") != 0) {
		tw_error(a, 404, 20404, "The requested resource was not found");
		goto out;
	}
	if (cfg->auth_fail || !(basic_is(req->authorization, FP_TWILIO_ACCOUNT,
	                                 FP_TWILIO_TOKEN) ||
	                        basic_is(req->authorization, FP_TWILIO_KEY_SID,
	                                 FP_TWILIO_KEY_SECRET))) {
		tw_error(a, 401, 20003, "Authenticate");
		goto out;
	}
	if (n <= cfg->outage) {
		tw_error(a, 429, 20429, "Too Many Requests");
		goto out;
	}
	if (!starts(req->content_type, "application/x-www-form-urlencoded") ||
	    wa_pc_form_parse(f, req->body, req->body_len) != 0) {
		tw_error(a, 400, 21604, "A 'To' phone number is required.");
		goto out;
	}
	to = wa_pc_form_get(f, "To");
	from = wa_pc_form_get(f, "From");
	msid = wa_pc_form_get(f, "MessagingServiceSid");
	body = wa_pc_form_get(f, "Body");
	csid = wa_pc_form_get(f, "ContentSid");
	if (!to || !*to) {
		tw_error(a, 400, 21604, "A 'To' phone number is required.");
		goto out;
	}
	if (!wa_address(to)) {
		snprintf(text, sizeof(text),
		         "The 'To' number %.64s is not a valid phone number.",
		         to);
		tw_error(a, 400, 21211, text);
		goto out;
	}
	/* [U] codes 21603 / 21602 for a missing From / Body. */
	if (!(from && wa_address(from)) &&
	    !(msid && wa_pc_is_sid(msid, "MG", 32))) {
		tw_error(a, 400, 21603, "A 'From' phone number is required.");
		goto out;
	}
	if ((!body || !*body) && !(csid && wa_pc_is_sid(csid, "HX", 32)) &&
	    !wa_pc_form_get(f, "MediaUrl")) {
		tw_error(a, 400, 21602, "Message body is required.");
		goto out;
	}
	if (body && wa_pc_utf8_len(body) > 1600) {
		tw_error(a, 400, 21617,
		         "The concatenated message body exceeds the 1600 "
		         "character limit.");
		goto out;
	}
	fp_message_id(FP_TWILIO, n, sid, sizeof(sid));
	o = json_object_new_object();
	json_object_object_add(o, "account_sid",
	                       json_object_new_string(FP_TWILIO_ACCOUNT));
	json_object_object_add(o, "api_version",
	                       json_object_new_string("2010-04-01"));
	json_object_object_add(o, "body",
	                       json_object_new_string(body ? body : ""));
	json_object_object_add(
	    o, "date_created",
	    json_object_new_string("Thu, 24 Aug 2023 05:01:45 +0000"));
	json_object_object_add(o, "date_sent", NULL);
	json_object_object_add(
	    o, "date_updated",
	    json_object_new_string("Thu, 24 Aug 2023 05:01:45 +0000"));
	json_object_object_add(o, "direction",
	                       json_object_new_string("outbound-api"));
	json_object_object_add(o, "error_code", NULL);
	json_object_object_add(o, "error_message", NULL);
	json_object_object_add(o, "from",
	                       from ? json_object_new_string(from) : NULL);
	json_object_object_add(o, "messaging_service_sid",
	                       msid ? json_object_new_string(msid) : NULL);
	json_object_object_add(
	    o, "num_media",
	    json_object_new_string(wa_pc_form_get(f, "MediaUrl") ? "1" : "0"));
	json_object_object_add(o, "num_segments", json_object_new_string("1"));
	json_object_object_add(o, "price", NULL);
	json_object_object_add(o, "price_unit", NULL);
	json_object_object_add(o, "sid", json_object_new_string(sid));
	json_object_object_add(
	    o, "status", json_object_new_string(msid ? "accepted" : "queued"));
	json_object_object_add(o, "to", json_object_new_string(to));
	answer(a, 201, wa_pc_json_text(o));
	json_object_put(o);
	record(a, cfg, n, to, body, csid, sid, req);
out:
	free(f);
}

/* ---- Evolution -------------------------------------------------------------
 */

static bool nonempty(json_object *o, const char *key)
{
	const char *s = wa_pc_json_str(o, key);

	return s && *s;
}

/* What Evolution's JSON schemas require of sendMedia, sendButtons and
 * sendList (src/validate/message.schema.ts): NULL, or the complaint. */
static const char *evo_rich_error(const char *route, json_object *o,
                                  const char **text)
{
	json_object *arr;

	if (strcmp(route, "sendMedia") == 0) {
		const char *t = wa_pc_json_str(o, "mediatype");

		*text = wa_pc_json_str(o, "caption");
		if (!t || (strcmp(t, "image") && strcmp(t, "document") &&
		           strcmp(t, "video") && strcmp(t, "audio")))
			return "mediatype must be image, document, video or "
			       "audio";
		return nonempty(o, "media") ? NULL
		                            : "media must be a url or "
		                              "base64";
	}
	*text = wa_pc_json_str(o, "title");
	if (strcmp(route, "sendButtons") == 0) {
		arr = wa_pc_json_path(o, "buttons");
		if (!arr || !json_object_is_type(arr, json_type_array) ||
		    json_object_array_length(arr) < 1)
			return "buttons is required";
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *b = json_object_array_get_idx(arr, i);
			const char *t = wa_pc_json_str(b, "type");

			if (!t || strcmp(t, "reply") != 0 ||
			    !nonempty(b, "displayText") || !nonempty(b, "id"))
				return "reply buttons need displayText and id";
		}
		return NULL;
	}
	if (!nonempty(o, "title") || !wa_pc_json_str(o, "footerText") ||
	    !nonempty(o, "buttonText"))
		return "instance requires property \"title\", "
		       "\"footerText\" and \"buttonText\"";
	arr = wa_pc_json_path(o, "sections");
	if (!arr || !json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) < 1)
		return "sections must have at least one item";
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		json_object *rows = wa_pc_json_path(s, "rows");

		if (!nonempty(s, "title") || !rows ||
		    !json_object_is_type(rows, json_type_array) ||
		    json_object_array_length(rows) < 1)
			return "a section needs a title and rows";
		for (size_t k = 0; k < json_object_array_length(rows); k++) {
			json_object *r = json_object_array_get_idx(rows, k);
			const char *d = wa_pc_json_str(r, "description");

			if (!nonempty(r, "title") || !nonempty(r, "rowId") ||
			    (d && !*d))
				return "a row needs title and rowId; "
				       "description cannot be empty";
		}
	}
	return NULL;
}

static void evolution(const fp_config *cfg, const fp_request *req,
                      unsigned long n, fp_answer *a)
{
	static const char *const routes[] = {"sendText", "sendMedia",
	                                     "sendButtons", "sendList"};
	const char *route = NULL;
	char prefix[40] = "";
	json_object *o = NULL, *r;
	const char *number, *text;
	char id[32], jid[64], buf[512];

	for (size_t i = 0; i < 4 && !route; i++) {
		snprintf(prefix, sizeof(prefix), "/message/%s/", routes[i]);
		if (starts(req->path, prefix))
			route = routes[i];
	}
	if (!route || strcmp(req->method, "POST") != 0) {
		answer(a, 404,
		       "{\"status\":404,\"error\":\"Not "
		       "Found\",\"response\":{\"message\":[\"Cannot POST\"]}}");
		return;
	}
	/* Unknown instance answers 404 before the apikey is checked. */
	if (strcmp(req->path + strlen(prefix), FP_EVOLUTION_INSTANCE) != 0) {
		snprintf(buf, sizeof(buf),
		         "{\"status\":404,\"error\":\"Not "
		         "Found\",\"response\":{\"message\":[\"The "
		         "\\\"%.64s\\\" instance does not exist\"]}}",
		         req->path + strlen(prefix));
		answer(a, 404, buf);
		return;
	}
	if (cfg->auth_fail || !req->apikey ||
	    strcmp(req->apikey, FP_EVOLUTION_KEY) != 0) {
		answer(a, 401,
		       "{\"status\":401,\"error\":\"Unauthorized\","
		       "\"response\":{\"message\":\"Unauthorized\"}}");
		return;
	}
	if (n <= cfg->outage) {
		answer(a, 500,
		       "{\"status\":500,\"error\":\"Internal Server "
		       "Error\",\"response\":{\"message\":\"Connection "
		       "Closed\"}}");
		return;
	}
	if (starts(req->content_type, "application/json"))
		o = wa_pc_json_parse(req->body, req->body_len);
	number = o ? wa_pc_json_str(o, "number") : NULL;
	text = o ? wa_pc_json_str(o, "text") : NULL;
	if (o && number && strcmp(route, "sendText") != 0) {
		const char *why = evo_rich_error(route, o, &text);

		if (why) {
			json_object *e = json_object_new_object(),
			            *rsp = json_object_new_object(),
			            *m = json_object_new_array();

			json_object_array_add(m, json_object_new_string(why));
			json_object_object_add(rsp, "message", m);
			json_object_object_add(e, "status",
			                       json_object_new_int(400));
			json_object_object_add(
			    e, "error", json_object_new_string("Bad Request"));
			json_object_object_add(e, "response", rsp);
			answer(a, 400, wa_pc_json_text(e));
			json_object_put(e);
			goto out;
		}
		if (!text)
			text = "";
		goto checked;
	}
	if (!o || !json_object_is_type(o, json_type_object) || !number) {
		answer(a, 400,
		       "{\"status\":400,\"error\":\"Bad "
		       "Request\",\"response\":{\"message\":[[\"instance "
		       "requires property \\\"number\\\"\"]]}}");
		goto out;
	}
	if (!text) {
		answer(a, 400,
		       "{\"status\":400,\"error\":\"Bad "
		       "Request\",\"response\":{\"message\":[[\"instance "
		       "requires property \\\"text\\\"\"]]}}");
		goto out;
	}
	if (!*text || strspn(text, " \t\r\n") == strlen(text)) {
		answer(a, 400,
		       "{\"status\":400,\"error\":\"Bad "
		       "Request\",\"response\":{\"message\":[\"Text is "
		       "required\"]}}");
		goto out;
	}
checked:
	if (!wa_pc_is_digits(number) || strlen(number) < 10 ||
	    strlen(number) > 15) {
		answer(a, 400,
		       "{\"status\":400,\"error\":\"Bad "
		       "Request\",\"response\":{\"message\":[[\"number must be "
		       "digits\"]]}}");
		goto out;
	}
	snprintf(jid, sizeof(jid), "%s@s.whatsapp.net", number);
	if (starts(number, "999")) {
		snprintf(buf, sizeof(buf),
		         "{\"status\":400,\"error\":\"Bad "
		         "Request\",\"response\":{\"message\":[{\"jid\":\"%s\","
		         "\"exists\":false,\"number\":\"%s\"}]}}",
		         jid, number);
		answer(a, 400, buf);
		goto out;
	}
	fp_message_id(FP_EVOLUTION, n, id, sizeof(id));
	r = json_object_new_object();
	{
		json_object *key = json_object_new_object(),
		            *msg = json_object_new_object();

		json_object_object_add(key, "remoteJid",
		                       json_object_new_string(jid));
		json_object_object_add(key, "fromMe",
		                       json_object_new_boolean(1));
		json_object_object_add(key, "id", json_object_new_string(id));
		json_object_object_add(r, "key", key);
		json_object_object_add(r, "pushName",
		                       json_object_new_string("Você"));
		json_object_object_add(r, "status",
		                       json_object_new_string("PENDING"));
		json_object_object_add(msg, "conversation",
		                       json_object_new_string(text));
		json_object_object_add(r, "message", msg);
		json_object_object_add(r, "contextInfo", NULL);
		json_object_object_add(r, "messageType",
		                       json_object_new_string("conversation"));
		json_object_object_add(r, "messageTimestamp",
		                       json_object_new_int64(1717689097));
		json_object_object_add(
		    r, "instanceId",
		    json_object_new_string(
		        "8b2be0e6-3a32-4694-ad96-1495ddef8068"));
		json_object_object_add(r, "source",
		                       json_object_new_string("web"));
	}
	answer(a, 201, wa_pc_json_text(r));
	json_object_put(r);
	record(a, cfg, n, number, text, NULL, id, req);
out:
	json_object_put(o);
}

/* ---- Meta Cloud API ---------------------------------------------------------
 */

static void meta_error(fp_answer *a, int status, int code, const char *title,
                       const char *details)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
	         "{\"error\":{\"message\":\"(#%d) "
	         "%s\",\"type\":\"OAuthException\",\"code\":%d,"
	         "\"error_data\":{\"messaging_product\":\"whatsapp\","
	         "\"details\":\"%s\"},"
	         "\"fbtrace_id\":\"AfakeTrace%d\"}}",
	         code, title, code, details, code);
	answer(a, status, buf);
}

static bool version_path(const char *path, const char **rest)
{
	const char *p = path;

	if (*p++ != '/' || *p++ != 'v')
		return false;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '.' || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	*rest = p;
	return true;
}

static void cloudapi(const fp_config *cfg, const fp_request *req,
                     unsigned long n, fp_answer *a)
{
	json_object *o = NULL, *r, *arr, *item;
	const char *rest, *type, *to, *text = NULL, *tmpl = NULL;
	char id[64];

	if (!version_path(req->path, &rest) ||
	    strcmp(rest, "/" FP_CLOUDAPI_PHONE_ID "/messages") != 0 ||
	    strcmp(req->method, "POST") != 0) {
		answer(a, 400,
		       "{\"error\":{\"message\":\"Unsupported post request. "
		       "Object with ID does not exist\","
		       "\"type\":\"GraphMethodException\",\"code\":100,\"error_"
		       "subcode\":33,\"fbtrace_id\":\"Afake\"}}");
		return;
	}
	if (cfg->auth_fail || !req->authorization ||
	    strcmp(req->authorization, "Bearer " FP_CLOUDAPI_TOKEN) != 0) {
		answer(a, 401,
		       "{\"error\":{\"message\":\"Invalid OAuth access token - "
		       "Cannot parse access token\","
		       "\"type\":\"OAuthException\",\"code\":190,\"fbtrace_"
		       "id\":\"Afake\"}}");
		return;
	}
	if (n <= cfg->outage) {
		meta_error(a, 400, 130429, "Rate limit hit",
		           "Cloud API message throughput has been reached.");
		return;
	}
	if (starts(req->content_type, "application/json"))
		o = wa_pc_json_parse(req->body, req->body_len);
	type = o ? wa_pc_json_str(o, "type") : NULL;
	to = o ? wa_pc_json_str(o, "to") : NULL;
	if (!o || !wa_pc_json_str(o, "messaging_product") ||
	    strcmp(wa_pc_json_str(o, "messaging_product"), "whatsapp") != 0) {
		meta_error(a, 400, 100, "Invalid parameter",
		           "The parameter messaging_product is required.");
		goto out;
	}
	if (!to || !wa_pc_is_digits(to) || strlen(to) < 8 || strlen(to) > 15) {
		meta_error(a, 400, 131009, "Parameter value is not valid",
		           "to must be a phone number.");
		goto out;
	}
	if (type && strcmp(type, "text") == 0) {
		text = wa_pc_json_str(o, "text.body");
		if (!text || !*text || wa_pc_utf8_len(text) > 4096) {
			meta_error(
			    a, 400, 100, "Invalid parameter",
			    "text.body is required, at most 4096 characters.");
			goto out;
		}
	} else if (type && strcmp(type, "template") == 0) {
		tmpl = wa_pc_json_str(o, "template.name");
		if (!tmpl || !wa_pc_json_str(o, "template.language.code")) {
			meta_error(
			    a, 400, 131008, "Required parameter is missing",
			    "template name and language.code are required.");
			goto out;
		}
	} else if (type &&
	           (strcmp(type, "image") == 0 ||
	            strcmp(type, "document") == 0 ||
	            strcmp(type, "audio") == 0 || strcmp(type, "video") == 0)) {
		json_object *m = wa_pc_json_path(o, type);

		text = m ? wa_pc_json_str(m, "caption") : NULL;
		if (!m || !wa_pc_json_str(m, "link")) {
			meta_error(a, 400, 131008,
			           "Required parameter is missing",
			           "<media>.link is required.");
			goto out;
		}
		if (text && strcmp(type, "audio") == 0) {
			meta_error(a, 400, 100, "Invalid parameter",
			           "audio takes no caption.");
			goto out;
		}
	} else if (type && strcmp(type, "interactive") == 0) {
		const char *it = wa_pc_json_str(o, "interactive.type");
		json_object *act = wa_pc_json_path(o, "interactive.action");

		text = wa_pc_json_str(o, "interactive.body.text");
		if (!it || !text || !act ||
		    (strcmp(it, "button") == 0
		         ? !wa_pc_json_path(act, "buttons")
		         : strcmp(it, "list") != 0 ||
		               !wa_pc_json_str(act, "button") ||
		               !wa_pc_json_path(act, "sections"))) {
			meta_error(a, 400, 131008,
			           "Required parameter is missing",
			           "interactive needs type, body.text and its "
			           "action.");
			goto out;
		}
	} else {
		meta_error(a, 400, 100, "Invalid parameter",
		           "Unsupported message type.");
		goto out;
	}
	fp_message_id(FP_CLOUDAPI, n, id, sizeof(id));
	r = json_object_new_object();
	json_object_object_add(r, "messaging_product",
	                       json_object_new_string("whatsapp"));
	arr = json_object_new_array();
	item = json_object_new_object();
	json_object_object_add(item, "input", json_object_new_string(to));
	json_object_object_add(item, "wa_id", json_object_new_string(to));
	json_object_array_add(arr, item);
	json_object_object_add(r, "contacts", arr);
	arr = json_object_new_array();
	item = json_object_new_object();
	json_object_object_add(item, "id", json_object_new_string(id));
	json_object_array_add(arr, item);
	json_object_object_add(r, "messages", arr);
	answer(a, 200, wa_pc_json_text(r));
	json_object_put(r);
	record(a, cfg, n, to, text, tmpl, id, req);
out:
	json_object_put(o);
}

void fp_handle(const fp_config *cfg, const fp_request *req, unsigned long n,
               fp_answer *a)
{
	if (cfg->outage_503 && n <= cfg->outage) {
		answer(a, 503, "{\"error\":\"Service Unavailable\"}");
	} else if (cfg->mode == FP_TWILIO) {
		twilio(cfg, req, n, a);
	} else if (cfg->mode == FP_EVOLUTION) {
		evolution(cfg, req, n, a);
	} else if (cfg->mode == FP_RECEIVER) {
		answer(a, 200, "{}");
		/* the body is one JSON object: the record keeps it whole */
		snprintf(a->record, sizeof(a->record), "%.*s",
		         (int)(req->body_len < sizeof(a->record) - 1
		                   ? req->body_len
		                   : sizeof(a->record) - 1),
		         req->body);
	} else {
		cloudapi(cfg, req, n, a);
	}
	if (n <= cfg->outage && cfg->retry_after[0] && a->status >= 400)
		snprintf(a->retry_after, sizeof(a->retry_after), "%s",
		         cfg->retry_after);
}
