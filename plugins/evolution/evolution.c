/* evolution.c - Evolution API v2 (Baileys) provider: sendText builder, reply
 * classifier, webhook parser */
#include "evolution.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_TOKEN_HEADER "X-Wadispatch-Token"

/*
 * Scope and choices
 *   - Text goes to POST /message/sendText/{instance}, v2 body
 *     {"number","text"}. Evolution has no template concept on this route:
 *     a message with the 1.1 template_name is sent as its message_body, and
 *     the 1.1 media_url is ignored.
 *   - Rich content (ABI 1.2, evolution_content.c): media to sendMedia,
 *     reply buttons to sendButtons, lists to sendList. Templates are not
 *     declared: the host refuses them at accept.
 *   - No length limit is applied: the v2 schema has none ([U] what Baileys
 *     or WhatsApp do with very long texts); the host caps bodies at 4096.
 *   - Webhooks carry no signature. We require a shared secret that the
 *     operator puts in the instance's webhook headers (X-Wadispatch-Token)
 *     or in the webhook URL (?token=...).
 */

typedef struct ev_state {
	const wa_host *host;
	char url[WA_URL_MAX];
	char prefix[WA_URL_MAX]; /* {base}/message/ */
	char instance[400];      /* the instance name, percent-encoded */
	char apikey[512];
	char webhook_token[257]; /* "" refuses every callback */
} ev_state;

static const wa_config_key ev_keys[] = {
    {"EVOLUTION_BASE_URL", NULL, WA_CONFIG_REQUIRED,
     "Base URL of the Evolution API server (http:// allowed on private "
     "networks)"},
    {"EVOLUTION_INSTANCE", NULL, WA_CONFIG_REQUIRED,
     "Instance name (not its UUID) in /message/sendText/{instance}"},
    {"EVOLUTION_API_KEY", NULL, WA_CONFIG_REQUIRED | WA_CONFIG_SECRET,
     "apikey header: the global key or the instance token"},
    {"EVOLUTION_WEBHOOK_TOKEN", NULL, WA_CONFIG_SECRET,
     "Shared secret webhooks must carry in X-Wadispatch-Token or ?token=; "
     "unset refuses callbacks"},
    {NULL, NULL, 0, NULL},
};

static int fail(char *err, size_t err_len, const char *msg)
{
	snprintf(err, err_len, "%s", msg);
	return -1;
}

static void ev_destroy(void *state)
{
	ev_state *st = state;

	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	free(st);
}

static int ev_configure(ev_state *st, char *err, size_t err_len)
{
	const char *base = wa_pc_config(st->host, "EVOLUTION_BASE_URL");
	const char *inst = wa_pc_config(st->host, "EVOLUTION_INSTANCE");
	const char *key = wa_pc_config(st->host, "EVOLUTION_API_KEY");
	const char *hook = wa_pc_config(st->host, "EVOLUTION_WEBHOOK_TOKEN");
	char base_url[600];
	wa_pc_buf b;

	if (!base)
		return fail(err, err_len, "EVOLUTION_BASE_URL is not set.");
	if (wa_pc_base_url("EVOLUTION_BASE_URL", base, base_url,
	                   sizeof(base_url), err, err_len) != 0)
		return -1;
	if (!inst)
		return fail(err, err_len, "EVOLUTION_INSTANCE is not set.");
	if (strlen(inst) > 128)
		return fail(err, err_len, "EVOLUTION_INSTANCE is too long.");
	if (!key)
		return fail(err, err_len, "EVOLUTION_API_KEY is not set.");
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return fail(err, err_len,
			            "EVOLUTION_API_KEY must be printable ASCII "
			            "without spaces.");
	if (strlen(key) >= sizeof(st->apikey))
		return fail(err, err_len, "EVOLUTION_API_KEY is too long.");
	snprintf(st->apikey, sizeof(st->apikey), "%s", key);
	if (hook) {
		if (strlen(hook) >= sizeof(st->webhook_token))
			return fail(err, err_len,
			            "EVOLUTION_WEBHOOK_TOKEN is too long.");
		snprintf(st->webhook_token, sizeof(st->webhook_token), "%s",
		         hook);
	}
	wa_pc_buf_init(&b, st->url, sizeof(st->url));
	wa_pc_buf_adds(&b, base_url);
	wa_pc_buf_adds(&b, "/message/sendText/");
	wa_pc_buf_add_pct(&b, inst, strlen(inst));
	if (b.overflow)
		return fail(err, err_len, "EVOLUTION_BASE_URL is too long.");
	wa_pc_buf_init(&b, st->prefix, sizeof(st->prefix));
	wa_pc_buf_adds(&b, base_url);
	wa_pc_buf_adds(&b, "/message/");
	wa_pc_buf_init(&b, st->instance, sizeof(st->instance));
	wa_pc_buf_add_pct(&b, inst, strlen(inst));
	return 0;
}

static int ev_init(const wa_host *host, void **state, char *err, size_t err_len)
{
	ev_state *st = calloc(1, sizeof(*st));

	*state = NULL;
	if (!st)
		return fail(err, err_len, "Out of memory.");
	st->host = host;
	if (ev_configure(st, err, err_len) != 0) {
		ev_destroy(st);
		return -1;
	}
	if (host && host->log) {
		if (strncmp(st->url, "http://", 7) == 0)
			host->log(host, WA_LOG_INFO,
			          "evolution: EVOLUTION_BASE_URL is plain "
			          "http; keep it on a private network.");
		if (!st->webhook_token[0])
			host->log(
			    host, WA_LOG_WARN,
			    "evolution: EVOLUTION_WEBHOOK_TOKEN is not set; "
			    "status callbacks will be refused with 401.");
	}
	*state = st;
	return 0;
}

static int ev_build_request(void *state, const wa_message *msg,
                            wa_http_request *req, wa_result *res)
{
	ev_state *st = state;
	char number[24];
	json_object *o, *content, *part;
	const char *which;
	int rc = -1;

	if (wa_pc_digits(msg->recipient_phone ? msg->recipient_phone : "",
	                 number, sizeof(number)) != 0 ||
	    strlen(number) > 15) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Recipient phone is not an E.164 number.");
		return -1;
	}
	rc = wa_pc_content(msg, EV_CONTENT_KINDS, "Evolution", res, &content,
	                   &part, &which);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		const char *route = NULL;
		char url[WA_URL_MAX];

		o = wa_evolution_content(msg, part, which, number, &route);
		json_object_put(content);
		rc = -1;
		if (!o) {
			wa_pc_result(res, WA_RESULT_RETRY, 0, NULL,
			             "Out of memory building the request.");
			goto out;
		}
		if (snprintf(url, sizeof(url), "%s%s/%s", st->prefix, route,
		             st->instance) >= (int)sizeof(url)) {
			wa_pc_result(res, WA_RESULT_CONFIG, 0, NULL,
			             "EVOLUTION_BASE_URL is too long.");
			goto out;
		}
		rc = wa_pc_json_post(req, res, url, o, "apikey", st->apikey);
		goto out;
	}
	rc = -1;
	/* The 1.1 template and media fields are not part of sendText: the
	 * body is sent. */
	o = json_object_new_object();
	if (!o ||
	    json_object_object_add(o, "number",
	                           json_object_new_string(number)) != 0 ||
	    json_object_object_add(
	        o, "text",
	        json_object_new_string(msg->message_body ? msg->message_body
	                                                 : "")) != 0) {
		wa_pc_result(res, WA_RESULT_RETRY, 0, NULL,
		             "Out of memory building the request.");
		goto out;
	}
	rc = wa_pc_json_post(req, res, st->url, o, "apikey", st->apikey);
out:
	json_object_put(o);
	return rc;
}

/* Look through response.message (string, array of strings, array of
 * arrays, or array of OnWhatsApp objects) for what matters. */
typedef struct ev_err {
	bool not_on_whatsapp;
	bool connection_closed;
	const char *first; /* first text seen, or NULL */
} ev_err;

static void ev_scan(json_object *v, ev_err *e, int depth)
{
	if (!v || depth > 3)
		return;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (strstr(s, "Connection Closed"))
			e->connection_closed = true;
		if (!e->first)
			e->first = s;
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n && i < 16; i++)
			ev_scan(json_object_array_get_idx(v, i), e, depth + 1);
	} else if (json_object_is_type(v, json_type_object)) {
		json_object *ex = wa_pc_json_path(v, "exists");

		if (ex && json_object_is_type(ex, json_type_boolean) &&
		    !json_object_get_boolean(ex))
			e->not_on_whatsapp = true;
	}
}

static bool id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= WA_PROVIDER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static void ev_parse_response(void *state, const wa_message *msg,
                              const wa_http_response *resp, wa_result *res)
{
	long st = resp->status;
	json_object *o = wa_pc_json_parse(resp->body, resp->body_len);
	ev_err e = {false, false, NULL};
	char text[200];

	(void)state;
	(void)msg;
	if (o)
		ev_scan(wa_pc_json_path(o, "response.message"), &e, 0);
	wa_pc_copy_masked(text, sizeof(text),
	                  e.first ? e.first
	                          : (o ? "no message" : "unparseable reply"));

	if (st == 200 || st == 201) {
		const char *id = o ? wa_pc_json_str(o, "key.id") : NULL;

		if (id_ok(id)) {
			wa_pc_result(res, WA_RESULT_OK, st, NULL, "%s", "");
			snprintf(res->provider_message_id,
			         sizeof(res->provider_message_id), "%s", id);
		} else {
			/* Accepted but unreadable: a retry could send twice. */
			wa_pc_result(res, WA_RESULT_REJECT, st, NULL,
			             "Evolution answered %ld without key.id; "
			             "not retried to avoid a duplicate.",
			             st);
		}
	} else if (st == 400 && e.not_on_whatsapp) {
		wa_pc_result(res, WA_RESULT_REJECT, st, "not_on_whatsapp",
		             "Number not on WhatsApp.");
	} else if (e.connection_closed && (st == 400 || st >= 500)) {
		wa_pc_retry(res, resp, st, "connection_closed",
		            "Evolution instance is not connected (Connection "
		            "Closed), will retry.");
	} else if (st == 401 || st == 403) {
		wa_pc_result(res, WA_RESULT_CONFIG, st, NULL,
		             "Evolution refused EVOLUTION_API_KEY (HTTP %ld).",
		             st);
	} else if (st == 404) {
		wa_pc_result(res, WA_RESULT_CONFIG, st, NULL,
		             "Evolution answered 404 (check EVOLUTION_INSTANCE "
		             "and EVOLUTION_BASE_URL): %s",
		             text);
	} else if (st == 408 || st == 429 || st >= 500) {
		wa_pc_retry(res, resp, st, NULL,
		            "Evolution answered %ld, will retry: %s", st, text);
	} else if (st >= 400) {
		wa_pc_result(res, WA_RESULT_REJECT, st, NULL,
		             "Evolution rejected the message (HTTP %ld): %s",
		             st, text);
	} else {
		wa_pc_result(res, WA_RESULT_CONFIG, st, NULL,
		             "Evolution answered unexpected HTTP %ld; check "
		             "EVOLUTION_BASE_URL.",
		             st);
	}
	json_object_put(o);
}

static wa_message_status map_status(const char *s)
{
	if (!s)
		return WA_STATUS_UNKNOWN;
	if (strcmp(s, "SERVER_ACK") == 0)
		return WA_STATUS_SENT;
	if (strcmp(s, "DELIVERY_ACK") == 0)
		return WA_STATUS_DELIVERED;
	if (strcmp(s, "READ") == 0 || strcmp(s, "PLAYED") == 0)
		return WA_STATUS_READ;
	if (strcmp(s, "ERROR") == 0)
		return WA_STATUS_FAILED;
	return WA_STATUS_UNKNOWN; /* PENDING, DELETED, ... */
}

static void ev_one_update(json_object *d, wa_callback_reply *reply,
                          size_t *dropped)
{
	const char *id, *status;
	json_object *from_me = wa_pc_json_path(d, "fromMe");
	wa_message_status ms;
	int64_t when = 0;

	if (!d || !json_object_is_type(d, json_type_object))
		return;
	/* Status of a message someone sent us: not ours to track. */
	if (from_me && json_object_is_type(from_me, json_type_boolean) &&
	    !json_object_get_boolean(from_me))
		return;
	id = wa_pc_json_str(d, "keyId"); /* v2 */
	if (!id)
		id = wa_pc_json_str(d, "key.id");
	if (!id)
		id = wa_pc_json_str(d, "id"); /* v1 spreads the key into data */
	status = wa_pc_json_str(d, "status");
	ms = map_status(status);
	if (!id_ok(id) || ms == WA_STATUS_UNKNOWN)
		return;
	if (!wa_pc_json_int(d, "datetime", &when) || when < 0)
		when = 0; /* v1 only, epoch ms; v2's date_time is local time */
	if (!wa_pc_reply_update(
	        reply, id, ms, when, ms == WA_STATUS_FAILED ? "ERROR" : NULL,
	        ms == WA_STATUS_FAILED ? "Evolution reported status ERROR"
	                               : NULL))
		(*dropped)++;
	else if (ms == WA_STATUS_FAILED)
		/* Baileys says ERROR and nothing more: nothing to retry on. */
		wa_pc_reply_update_class(reply, WA_FAILURE_PERMANENT);
}

/* The typed part of a Baileys message: the first key of data.message we
 * know, and its inbound type. */
static json_object *ev_content(json_object *msg, wa_inbound_type *type,
                               const char **key)
{
	static const struct {
		const char *key;
		wa_inbound_type type;
	} kinds[] = {
	    {"extendedTextMessage", WA_INBOUND_TEXT},
	    {"imageMessage", WA_INBOUND_IMAGE},
	    {"documentMessage", WA_INBOUND_DOCUMENT},
	    {"documentWithCaptionMessage", WA_INBOUND_DOCUMENT},
	    {"audioMessage", WA_INBOUND_AUDIO},
	    {"videoMessage", WA_INBOUND_VIDEO},
	    {"templateButtonReplyMessage", WA_INBOUND_BUTTON},
	    {"buttonsResponseMessage", WA_INBOUND_BUTTON_REPLY},
	    {"listResponseMessage", WA_INBOUND_LIST_REPLY},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_object *c = wa_pc_json_path(msg, kinds[i].key);

		if (c && json_object_is_type(c, json_type_object)) {
			*type = kinds[i].type;
			*key = kinds[i].key;
			/* documentWithCaptionMessage wraps a document. */
			if (strcmp(kinds[i].key,
			           "documentWithCaptionMessage") == 0)
				c = wa_pc_json_path(c,
				                    "message.documentMessage");
			return c;
		}
	}
	*type = wa_pc_json_str(msg, "conversation") ? WA_INBOUND_TEXT
	                                            : WA_INBOUND_OTHER;
	*key = NULL;
	return NULL;
}

/* The user's phone: key.remoteJid, or for an @lid chat key.senderPn /
 * key.remoteJidAlt when they hold a phone JID [U]. Groups: none. */
static int ev_sender(json_object *d, char *out, size_t cap)
{
	static const char *const paths[] = {"key.remoteJid", "key.senderPn",
	                                    "key.remoteJidAlt"};
	const char *jid = wa_pc_json_str(d, "key.remoteJid");

	if (jid && strstr(jid, "@g.us"))
		return -1;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *s = wa_pc_json_str(d, paths[i]);

		if (s && strchr(s, '@') && wa_pc_phone(s, out, cap) == 0)
			return 0;
	}
	return -1;
}

/* One messages.upsert item with key.fromMe false: a user wrote to us. */
static void ev_one_inbound(json_object *o, json_object *d,
                           wa_callback_reply *reply, size_t *dropped)
{
	json_object *from_me = wa_pc_json_path(d, "key.fromMe");
	json_object *msg = wa_pc_json_path(d, "message"), *c;
	const char *id = wa_pc_json_str(d, "key.id"), *key, *ctx;
	char from[WA_ADDRESS_MAX], to[WA_ADDRESS_MAX];
	wa_inbound_message *m;
	wa_inbound_type type;
	int64_t ts = 0;
	bool full;

	if (!from_me || !json_object_is_type(from_me, json_type_boolean) ||
	    json_object_get_boolean(from_me) || !id_ok(id) ||
	    ev_sender(d, from, sizeof(from)) != 0)
		return;
	c = ev_content(msg, &type, &key);
	m = wa_pc_reply_inbound(reply, id, type, from, &full);
	if (!m) {
		*dropped += full;
		return;
	}
	if (wa_pc_json_int(d, "messageTimestamp", &ts) && ts > 0 &&
	    ts < (int64_t)1 << 40)
		m->occurred_at_ms = ts * 1000;
	if (wa_pc_phone(wa_pc_json_str(o, "sender"), to, sizeof(to)) == 0)
		WA_PC_INBOUND_SET(m, to, to);
	WA_PC_INBOUND_SET(m, sender_name, wa_pc_json_str(d, "pushName"));
	ctx = wa_pc_json_str(d, "contextInfo.stanzaId");
	if (!ctx)
		ctx = wa_pc_json_str(c, "contextInfo.stanzaId");
	WA_PC_INBOUND_SET(m, context_id, ctx);
	if (!key) {
		WA_PC_INBOUND_SET(m, text, wa_pc_json_str(msg, "conversation"));
	} else if (type == WA_INBOUND_TEXT) {
		WA_PC_INBOUND_SET(m, text, wa_pc_json_str(c, "text"));
	} else if (type == WA_INBOUND_BUTTON) {
		WA_PC_INBOUND_SET(m, reply_id, wa_pc_json_str(c, "selectedId"));
		WA_PC_INBOUND_SET(m, text,
		                  wa_pc_json_str(c, "selectedDisplayText"));
	} else if (type == WA_INBOUND_BUTTON_REPLY) {
		WA_PC_INBOUND_SET(m, reply_id,
		                  wa_pc_json_str(c, "selectedButtonId"));
		WA_PC_INBOUND_SET(m, text,
		                  wa_pc_json_str(c, "selectedDisplayText"));
	} else if (type == WA_INBOUND_LIST_REPLY) {
		WA_PC_INBOUND_SET(
		    m, reply_id,
		    wa_pc_json_str(c, "singleSelectReply.selectedRowId"));
		WA_PC_INBOUND_SET(m, text, wa_pc_json_str(c, "title"));
	} else {
		/* Media: Evolution's stored copy (S3/MinIO) when it has one,
		 * else Baileys' encrypted WhatsApp CDN reference. */
		const char *url = wa_pc_json_str(msg, "mediaUrl");

		WA_PC_INBOUND_SET(m, media_url,
		                  url ? url : wa_pc_json_str(c, "url"));
		WA_PC_INBOUND_SET(m, media_mime, wa_pc_json_str(c, "mimetype"));
		WA_PC_INBOUND_SET(m, media_file_name,
		                  wa_pc_json_str(c, "fileName"));
		WA_PC_INBOUND_SET(m, text, wa_pc_json_str(c, "caption"));
	}
}

static bool ev_event_is(const char *event, const char *dotted,
                        const char *upper)
{
	return event &&
	       (strcmp(event, dotted) == 0 || strcmp(event, upper) == 0);
}

static void ev_on_callback(void *state, const wa_callback_request *req,
                           wa_callback_reply *reply)
{
	ev_state *st = state;
	const wa_host *h = st->host;
	const char *tok =
	    req->header ? req->header(req, EV_TOKEN_HEADER) : NULL;
	const char *event;
	json_object *o = NULL, *data;
	wa_pc_form *q = NULL;
	size_t dropped = 0, n;
	bool upsert;

	if (!tok && req->query && *req->query) {
		q = malloc(sizeof(*q));
		if (q &&
		    wa_pc_form_parse(q, req->query, strlen(req->query)) == 0)
			tok = wa_pc_form_get(q, "token");
	}
	if (!st->webhook_token[0] || !wa_pc_ct_streq(tok, st->webhook_token)) {
		if (h && h->log)
			h->log(h, WA_LOG_WARN,
			       "evolution: callback refused: %s.",
			       !st->webhook_token[0]
			           ? "EVOLUTION_WEBHOOK_TOKEN is not set"
			       : tok ? "wrong token"
			             : "no token");
		wa_pc_reply(reply, 401, "Unauthorized\n");
		goto out;
	}
	if (!req->method || strcmp(req->method, "POST") != 0) {
		wa_pc_reply(reply, 405, "POST expected\n");
		goto out;
	}
	o = wa_pc_json_parse(req->body, req->body_len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		wa_pc_reply(reply, 400, "Malformed JSON body\n");
		goto out;
	}
	event = wa_pc_json_str(o, "event");
	upsert = ev_event_is(event, "messages.upsert", "MESSAGES_UPSERT");
	if (!upsert &&
	    !ev_event_is(event, "messages.update", "MESSAGES_UPDATE")) {
		wa_pc_reply(reply, 200, "");
		goto out;
	}
	if (upsert && !wa_pc_reply_has_inbound(reply)) {
		wa_pc_reply(reply, 200, "");
		goto out;
	}
	data = wa_pc_json_path(o, "data");
	n = data && json_object_is_type(data, json_type_array)
	        ? json_object_array_length(data)
	        : 1;
	for (size_t i = 0; i < n; i++) {
		json_object *d =
		    data && json_object_is_type(data, json_type_array)
		        ? json_object_array_get_idx(data, i)
		        : data;

		if (upsert)
			ev_one_inbound(o, d, reply, &dropped);
		else
			ev_one_update(d, reply, &dropped);
	}
	if (dropped && h && h->log)
		h->log(h, WA_LOG_WARN,
		       "evolution: callback carried more than %d %s; %zu "
		       "dropped.",
		       upsert ? WA_INBOUND_MAX : WA_STATUS_UPDATES_MAX,
		       upsert ? "inbound messages" : "updates", dropped);
	wa_pc_reply(reply, 200, "");
out:
	json_object_put(o);
	free(q);
}

static const wa_provider ev_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_provider),
    .name = "evolution",
    .version = "1.1.0",
    .description = "Evolution API v2 (Baileys, linked WhatsApp device)",
    .config_keys = ev_keys,
    .message_id_name = "key_id",
    /* [U] Evolution documents no rate limit. It drives one linked phone
     * through WhatsApp Web, where bursts risk a ban: stay gentle. */
    .default_rate = 20,
    .init = ev_init,
    .destroy = ev_destroy,
    .build_request = ev_build_request,
    .parse_response = ev_parse_response,
    .on_callback = ev_on_callback,
    .content_kinds = EV_CONTENT_KINDS,
};

WA_PC_PROVIDER_ENTRY(ev_provider)
