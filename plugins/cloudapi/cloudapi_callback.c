/* cloudapi_callback.c - Meta webhook: GET subscription handshake, signed POST
 * notifications (statuses here, messages in cloudapi_inbound.c) */
#include "cloudapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_warn(const ca_state *st, const char *what)
{
	if (st->host && st->host->log)
		st->host->log(st->host, WA_LOG_WARN,
		              "cloudapi: callback refused: %s.", what);
}

/* hub.challenge is echoed back: only accept a short plain token (Meta
 * sends an integer) so the echo cannot carry markup. */
static bool challenge_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

static void handshake(const ca_state *st, const wa_callback_request *req,
                      wa_callback_reply *reply)
{
	wa_pc_form *q = malloc(sizeof(*q));
	const char *mode, *token, *challenge;

	if (!q) {
		wa_pc_reply(reply, 503, "Busy\n");
		return;
	}
	if (wa_pc_form_parse(q, req->query ? req->query : "",
	                     req->query ? strlen(req->query) : 0) != 0) {
		wa_pc_reply(reply, 400, "Malformed query\n");
		goto out;
	}
	mode = wa_pc_form_get(q, "hub.mode");
	token = wa_pc_form_get(q, "hub.verify_token");
	challenge = wa_pc_form_get(q, "hub.challenge");
	if (!st->verify_token[0] || !mode || strcmp(mode, "subscribe") != 0 ||
	    !wa_pc_ct_streq(token, st->verify_token)) {
		log_warn(st, !st->verify_token[0]
		                 ? "CLOUDAPI_VERIFY_TOKEN is not set"
		                 : "verification token or mode mismatch");
		wa_pc_reply(reply, 403, "Forbidden\n");
		goto out;
	}
	if (!challenge || !challenge_ok(challenge)) {
		wa_pc_reply(reply, 400, "Missing or invalid hub.challenge\n");
		goto out;
	}
	wa_pc_reply(reply, 200, challenge);
out:
	free(q);
}

static bool signature_ok(const ca_state *st, const wa_callback_request *req)
{
	const char *h =
	    req->header ? req->header(req, "X-Hub-Signature-256") : NULL;
	unsigned char mac[32];
	char want[65], got[65];
	size_t n;

	if (!h || strncmp(h, "sha256=", 7) != 0)
		return false;
	h += 7;
	n = strlen(h);
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		got[i] = (h[i] >= 'A' && h[i] <= 'F') ? (char)(h[i] - 'A' + 'a')
		                                      : h[i];
	got[n] = '\0';
	if (wa_pc_hmac_sha256(st->app_secret, req->body ? req->body : "",
	                      req->body ? req->body_len : 0, mac) != 0 ||
	    wa_pc_hex(mac, sizeof(mac), want, sizeof(want)) != 0)
		return false;
	return wa_pc_ct_streq(want, got);
}

static wa_message_status map_status(const char *s)
{
	if (!s)
		return WA_STATUS_UNKNOWN;
	if (strcmp(s, "sent") == 0)
		return WA_STATUS_SENT;
	if (strcmp(s, "delivered") == 0)
		return WA_STATUS_DELIVERED;
	if (strcmp(s, "read") == 0 || strcmp(s, "played") == 0)
		return WA_STATUS_READ;
	if (strcmp(s, "failed") == 0)
		return WA_STATUS_FAILED;
	return WA_STATUS_UNKNOWN; /* deleted, warning, ...: not tracked */
}

static json_object *array_at(json_object *o, const char *path)
{
	json_object *a = wa_pc_json_path(o, path);

	return (a && json_object_is_type(a, json_type_array)) ? a : NULL;
}

/* One statuses[] item; false when the reply is full. */
static bool one_status(json_object *s, wa_callback_reply *reply)
{
	const char *id = wa_pc_json_str(s, "id");
	wa_message_status ms = map_status(wa_pc_json_str(s, "status"));
	json_object *errs = array_at(s, "errors");
	json_object *e0 = errs && json_object_array_length(errs) > 0
	                      ? json_object_array_get_idx(errs, 0)
	                      : NULL;
	char code[WA_CODE_MAX] = "";
	const char *title = NULL;
	int64_t ts = 0, c = 0;

	if (!id || !*id || strlen(id) >= WA_PROVIDER_ID_MAX ||
	    ms == WA_STATUS_UNKNOWN)
		return true;
	if (!wa_pc_json_int(s, "timestamp", &ts) || ts < 0 ||
	    ts > (int64_t)1 << 40)
		ts = 0;
	if (ms == WA_STATUS_FAILED && e0) {
		if (wa_pc_json_int(e0, "code", &c))
			snprintf(code, sizeof(code), "%lld", (long long)c);
		title = wa_pc_json_str(e0, "title");
		if (!title)
			title = wa_pc_json_str(e0, "message");
	}
	if (ms == WA_STATUS_FAILED && !title)
		title = "Cloud API reported the message failed";
	if (!wa_pc_reply_update(reply, id, ms, ts * 1000, code[0] ? code : NULL,
	                        title))
		return false;
	if (ms == WA_STATUS_FAILED)
		wa_pc_reply_update_class(
		    reply, code[0] && wa_cloudapi_code_retryable(c)
		               ? WA_FAILURE_RETRYABLE
		               : WA_FAILURE_PERMANENT);
	return true;
}

static void notification(const ca_state *st, const wa_callback_request *req,
                         wa_callback_reply *reply)
{
	json_object *o, *entries;
	size_t dropped = 0, dropped_in = 0;

	if (!st->app_secret[0]) {
		log_warn(st, "CLOUDAPI_APP_SECRET is not set");
		wa_pc_reply(reply, 401, "Unauthorized\n");
		return;
	}
	if (!signature_ok(st, req)) {
		log_warn(st, "missing or wrong X-Hub-Signature-256");
		wa_pc_reply(reply, 401, "Unauthorized\n");
		return;
	}
	o = wa_pc_json_parse(req->body, req->body_len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		wa_pc_reply(reply, 400, "Malformed JSON body\n");
		return;
	}
	entries = array_at(o, "entry");
	for (size_t i = 0; entries && i < json_object_array_length(entries);
	     i++) {
		json_object *changes =
		    array_at(json_object_array_get_idx(entries, i), "changes");

		for (size_t j = 0;
		     changes && j < json_object_array_length(changes); j++) {
			json_object *value = wa_pc_json_path(
			    json_object_array_get_idx(changes, j), "value");
			json_object *sts = array_at(value, "statuses");

			for (size_t k = 0;
			     sts && k < json_object_array_length(sts); k++)
				if (!one_status(
				        json_object_array_get_idx(sts, k),
				        reply))
					dropped++;
			wa_cloudapi_inbound(value, reply, &dropped_in);
		}
	}
	if (dropped && st->host && st->host->log)
		st->host->log(st->host, WA_LOG_WARN,
		              "cloudapi: callback carried more than %d status "
		              "updates; %zu dropped.",
		              WA_STATUS_UPDATES_MAX, dropped);
	if (dropped_in && st->host && st->host->log)
		st->host->log(st->host, WA_LOG_WARN,
		              "cloudapi: callback carried more than %d inbound "
		              "messages or %d contact events; %zu dropped.",
		              WA_INBOUND_MAX, WA_CONTACT_EVENTS_MAX,
		              dropped_in);
	json_object_put(o);
	wa_pc_reply(reply, 200, "");
}

void wa_cloudapi_on_callback(void *state, const wa_callback_request *req,
                             wa_callback_reply *reply)
{
	const ca_state *st = state;

	if (req->method && strcmp(req->method, "GET") == 0)
		handshake(st, req, reply);
	else if (req->method && strcmp(req->method, "POST") == 0)
		notification(st, req, reply);
	else
		wa_pc_reply(reply, 405, "GET or POST expected\n");
}
