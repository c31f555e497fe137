/* twilio_callback.c - verify X-Twilio-Signature and turn a status callback into
 * one update */
#include "twilio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool try_url(const char *token, const char *url,
                    const wa_pc_form *params, const char *sig)
{
	char mine[64];

	if (wa_pc_twilio_signature(token, url, params, mine, sizeof(mine)) != 0)
		return false;
	return wa_pc_ct_streq(mine, sig);
}

bool wa_twilio_signature_ok(const char *token, const char *url,
                            const wa_pc_form *params, const char *sig)
{
	const char *auth, *end, *colon = NULL;
	char alt[WA_URL_MAX + 8];
	bool https;
	int n;

	if (!token || !*token || !url || !sig || !*sig)
		return false;
	if (try_url(token, url, params, sig))
		return true;
	/* The variant: add the scheme's default port when the URL has none,
	 * or drop the port when it has one (as twilio-node/python do). */
	https = strncmp(url, "https://", 8) == 0;
	if (!https && strncmp(url, "http://", 7) != 0)
		return false;
	auth = url + (https ? 8 : 7);
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++) {
		if (*p == ']')
			colon = NULL; /* the colons so far were IPv6 */
		else if (*p == ':')
			colon = p;
	}
	if (colon)
		n = snprintf(alt, sizeof(alt), "%.*s%s", (int)(colon - url),
		             url, end);
	else
		n = snprintf(alt, sizeof(alt), "%.*s%s%s", (int)(end - url),
		             url, https ? ":443" : ":80", end);
	if (n < 0 || (size_t)n >= sizeof(alt))
		return false;
	return try_url(token, alt, params, sig);
}

static wa_message_status map_status(const char *s)
{
	if (strcmp(s, "sent") == 0)
		return WA_STATUS_SENT;
	if (strcmp(s, "delivered") == 0)
		return WA_STATUS_DELIVERED;
	if (strcmp(s, "read") == 0)
		return WA_STATUS_READ;
	if (strcmp(s, "failed") == 0 || strcmp(s, "undelivered") == 0)
		return WA_STATUS_FAILED;
	/* queued, sending, accepted, scheduled, canceled...: not tracked. */
	return WA_STATUS_UNKNOWN;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n >= WA_PROVIDER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

void wa_twilio_on_callback(void *state, const wa_callback_request *req,
                           wa_callback_reply *reply)
{
	tw_state *st = state;
	const wa_host *h = st->host;
	wa_pc_form *form = NULL;
	const char *sig, *sid, *status, *code, *why;
	wa_message_status ms;
	bool post = req->method && strcmp(req->method, "POST") == 0;

	sig = req->header ? req->header(req, "X-Twilio-Signature") : NULL;
	if (!st->webhook_token[0] || !sig || !*sig || !req->public_url) {
		if (h && h->log)
			h->log(h, WA_LOG_WARN, "twilio: callback refused: %s.",
			       !st->webhook_token[0]
			           ? "no TWILIO_AUTH_TOKEN or "
			             "TWILIO_WEBHOOK_AUTH_TOKEN configured"
			           : "missing X-Twilio-Signature");
		wa_pc_reply(reply, 403, "Forbidden\n");
		return;
	}
	form = malloc(sizeof(*form));
	if (!form) {
		wa_pc_reply(reply, 503, "Busy\n");
		return;
	}
	form->n = 0;
	/* Status callbacks are form POSTs; a GET is signed over the URL only.
	 */
	if (post && wa_pc_form_parse(form, req->body ? req->body : "",
	                             req->body ? req->body_len : 0) != 0) {
		wa_pc_reply(reply, 400, "Malformed form body\n");
		goto out;
	}
	if (!wa_twilio_signature_ok(st->webhook_token, req->public_url, form,
	                            sig)) {
		if (h && h->log)
			h->log(h, WA_LOG_WARN,
			       "twilio: callback refused: X-Twilio-Signature "
			       "does not match (check PUBLIC_BASE_URL and the "
			       "auth token).");
		wa_pc_reply(reply, 403, "Forbidden\n");
		goto out;
	}
	sid = wa_pc_form_get(form, "MessageSid");
	status = wa_pc_form_get(form, "MessageStatus");
	if (!status) {
		/* Not a status callback (e.g. an inbound message). */
		wa_pc_reply(reply, 200, "");
		goto out;
	}
	if (!sid || !id_ok(sid)) {
		wa_pc_reply(reply, 400, "Missing or invalid MessageSid\n");
		goto out;
	}
	ms = map_status(status);
	if (ms != WA_STATUS_UNKNOWN) {
		code = wa_pc_form_get(form, "ErrorCode");
		why = wa_pc_form_get(form, "ChannelStatusMessage");
		if (ms == WA_STATUS_FAILED && !why)
			why = strcmp(status, "undelivered") == 0
			          ? "Twilio reported the message undelivered"
			          : "Twilio reported the message failed";
		wa_pc_reply_update(reply, sid, ms, 0,
		                   ms == WA_STATUS_FAILED ? code : NULL,
		                   ms == WA_STATUS_FAILED ? why : NULL);
	}
	wa_pc_reply(reply, 200, "");
out:
	free(form);
}
