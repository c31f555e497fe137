/* twilio_callback.c - verify X-Twilio-Signature and turn a status callback into
 * one update, an incoming-message webhook into one inbound message */
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

/* Late failures worth retrying: 63018 WhatsApp sender rate limit, 30001 and
 * 21611 queue overflow, 20429 too many requests (providers.md 1.4, 9). */
static wa_failure_class failure_class(const char *code)
{
	static const char *const retry[] = {"63018", "30001", "21611", "20429"};

	for (size_t i = 0; code && i < sizeof(retry) / sizeof(retry[0]); i++)
		if (strcmp(code, retry[i]) == 0)
			return WA_FAILURE_RETRYABLE;
	return WA_FAILURE_PERMANENT;
}

/* Type of an incoming message: MessageType when Twilio sends it, else
 * from ButtonPayload and the first media's content type. */
static wa_inbound_type inbound_type(const wa_pc_form *f, long nmedia)
{
	const char *mt = wa_pc_form_get(f, "MessageType");
	const char *mime = wa_pc_form_get(f, "MediaContentType0");

	if (mt && strcmp(mt, "interactive") == 0)
		return WA_INBOUND_BUTTON_REPLY;
	if (wa_pc_form_get(f, "ButtonPayload") ||
	    (mt && strcmp(mt, "button") == 0))
		return WA_INBOUND_BUTTON;
	if (nmedia > 0)
		return wa_pc_media_type(mime);
	if (mt && strcmp(mt, "text") != 0)
		return WA_INBOUND_OTHER; /* location, ... */
	return WA_INBOUND_TEXT;
}

/* An incoming-message webhook (no MessageStatus): From, To, Body,
 * NumMedia/MediaUrl0/MediaContentType0, ButtonText/ButtonPayload,
 * OriginalRepliedMessageSid, ProfileName. 0, or -1 when malformed. */
static int inbound(const tw_state *st, const wa_pc_form *f,
                   wa_callback_reply *reply)
{
	const char *sid = wa_pc_form_get(f, "MessageSid");
	const char *nm = wa_pc_form_get(f, "NumMedia");
	const char *body = wa_pc_form_get(f, "Body");
	const char *reply_to = wa_pc_form_get(f, "OriginalRepliedMessageSid");
	char from[WA_ADDRESS_MAX], to[WA_ADDRESS_MAX];
	wa_inbound_message *m;
	long nmedia = 0;
	bool full;

	/* The dedup key: a real message sid, SM/MM + 32 hex. */
	if (!sid ||
	    !(wa_pc_is_sid(sid, "SM", 32) || wa_pc_is_sid(sid, "MM", 32)) ||
	    wa_pc_phone(wa_pc_form_get(f, "From"), from, sizeof(from)) != 0)
		return -1;
	if (nm) {
		char *end;

		nmedia = strtol(nm, &end, 10);
		if (*end || nmedia < 0 || nmedia > 10)
			return -1;
	}
	m = wa_pc_reply_inbound(reply, sid, inbound_type(f, nmedia), from,
	                        &full);
	if (!m) {
		if (full && st->host && st->host->log)
			st->host->log(st->host, WA_LOG_WARN,
			              "twilio: inbound message dropped: the "
			              "reply is full.");
		return 0;
	}
	if (wa_pc_phone(wa_pc_form_get(f, "To"), to, sizeof(to)) == 0)
		WA_PC_INBOUND_SET(m, to, to);
	WA_PC_INBOUND_SET(m, sender_name, wa_pc_form_get(f, "ProfileName"));
	if (body && *body)
		WA_PC_INBOUND_SET(m, text, body);
	else
		WA_PC_INBOUND_SET(m, text, wa_pc_form_get(f, "ButtonText"));
	WA_PC_INBOUND_SET(m, reply_id, wa_pc_form_get(f, "ButtonPayload"));
	if (reply_to && id_ok(reply_to))
		WA_PC_INBOUND_SET(m, context_id, reply_to);
	if (nmedia > 0) {
		WA_PC_INBOUND_SET(m, media_url, wa_pc_form_get(f, "MediaUrl0"));
		WA_PC_INBOUND_SET(m, media_mime,
		                  wa_pc_form_get(f, "MediaContentType0"));
	}
	return 0;
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
	if (!status || strcmp(status, "received") == 0) {
		/* An incoming message (its status, if any, is "received"). */
		if (post && wa_pc_reply_has_inbound(reply) &&
		    (wa_pc_form_get(form, "Body") ||
		     wa_pc_form_get(form, "NumMedia")) &&
		    inbound(st, form, reply) != 0) {
			wa_pc_reply(reply, 400,
			            "Malformed incoming message: MessageSid, "
			            "From or NumMedia\n");
			goto out;
		}
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
		if (wa_pc_reply_update(reply, sid, ms, 0,
		                       ms == WA_STATUS_FAILED ? code : NULL,
		                       ms == WA_STATUS_FAILED ? why : NULL) &&
		    ms == WA_STATUS_FAILED)
			wa_pc_reply_update_class(reply, failure_class(code));
	}
	wa_pc_reply(reply, 200, "");
out:
	free(form);
}
