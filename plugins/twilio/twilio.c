/* twilio.c - Twilio Programmable Messaging (WhatsApp) provider: request builder
 * and reply classifier */
#include "twilio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TW_DEFAULT_BASE "https://api.twilio.com"
#define TW_CALLBACK_PATH "/v1/providers/twilio/callback"

static const wa_config_key tw_keys[] = {
    {"TWILIO_ACCOUNT_SID", NULL, WA_CONFIG_REQUIRED,
     "Account SID (AC + 32 hex); always in the request path"},
    {"TWILIO_AUTH_TOKEN", NULL, WA_CONFIG_SECRET,
     "Auth Token: Basic auth password unless an API key pair is set; signs "
     "status callbacks"},
    {"TWILIO_API_KEY_SID", NULL, 0,
     "API Key SID (SK + 32 hex); with TWILIO_API_KEY_SECRET, used for sending "
     "instead of the Auth Token"},
    {"TWILIO_API_KEY_SECRET", NULL, WA_CONFIG_SECRET,
     "API Key secret paired with TWILIO_API_KEY_SID"},
    {"TWILIO_FROM", NULL, 0,
     "WhatsApp sender, whatsapp:+E164 or +E164 (or set "
     "TWILIO_MESSAGING_SERVICE_SID)"},
    {"TWILIO_MESSAGING_SERVICE_SID", NULL, 0,
     "Messaging Service SID (MG + 32 hex); when set it is sent instead of "
     "From"},
    {"TWILIO_API_BASE", TW_DEFAULT_BASE, 0, "Base URL of the Twilio REST API"},
    {"TWILIO_WEBHOOK_AUTH_TOKEN", NULL, WA_CONFIG_SECRET,
     "Token that verifies X-Twilio-Signature on callbacks (default: "
     "TWILIO_AUTH_TOKEN)"},
    {"PUBLIC_BASE_URL", NULL, 0,
     "Public base URL of this daemon; sets StatusCallback to "
     "<it>/v1/providers/twilio/callback"},
    {NULL, NULL, 0, NULL},
};

static int fail(char *err, size_t err_len, const char *msg)
{
	snprintf(err, err_len, "%s", msg);
	return -1;
}

/* "whatsapp:+14155552345", "+14155552345" or "14155552345" -> the first. */
static int normalise_from(const char *v, char *out, size_t cap)
{
	char digits[24];
	int n;

	if (strncmp(v, "whatsapp:", 9) == 0)
		v += 9;
	if (*v == '+')
		v++;
	if (!wa_pc_is_digits(v) || strlen(v) < 8 || strlen(v) > 15)
		return -1;
	snprintf(digits, sizeof(digits), "%s", v);
	n = snprintf(out, cap, "whatsapp:+%s", digits);
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int set_auth(tw_state *st, const char *user, const char *secret,
                    char *err, size_t err_len)
{
	char pair[300], b64[420];
	int n = snprintf(pair, sizeof(pair), "%s:%s", user, secret);
	int rc = -1;

	if (n >= 0 && (size_t)n < sizeof(pair) &&
	    wa_pc_base64((const unsigned char *)pair, (size_t)n, b64,
	                 sizeof(b64)) == 0) {
		n = snprintf(st->auth_header, sizeof(st->auth_header),
		             "Basic %s", b64);
		rc = (n >= 0 && (size_t)n < sizeof(st->auth_header)) ? 0 : -1;
	}
	memset(pair, 0, sizeof(pair));
	memset(b64, 0, sizeof(b64));
	if (rc != 0)
		return fail(
		    err, err_len,
		    "TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SECRET is too long.");
	return 0;
}

static int tw_configure(tw_state *st, char *err, size_t err_len)
{
	const wa_host *h = st->host;
	const char *sid = wa_pc_config(h, "TWILIO_ACCOUNT_SID");
	const char *token = wa_pc_config(h, "TWILIO_AUTH_TOKEN");
	const char *key_sid = wa_pc_config(h, "TWILIO_API_KEY_SID");
	const char *key_secret = wa_pc_config(h, "TWILIO_API_KEY_SECRET");
	const char *from = wa_pc_config(h, "TWILIO_FROM");
	const char *msid = wa_pc_config(h, "TWILIO_MESSAGING_SERVICE_SID");
	const char *base = wa_pc_config(h, "TWILIO_API_BASE");
	const char *hook = wa_pc_config(h, "TWILIO_WEBHOOK_AUTH_TOKEN");
	const char *pub = wa_pc_config(h, "PUBLIC_BASE_URL");
	char base_url[600], pub_url[600];
	int n;

	if (!sid)
		return fail(err, err_len, "TWILIO_ACCOUNT_SID is not set.");
	if (!wa_pc_is_sid(sid, "AC", 32))
		return fail(
		    err, err_len,
		    "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits.");
	snprintf(st->account_sid, sizeof(st->account_sid), "%s", sid);

	if (key_sid || key_secret) {
		if (!key_sid)
			return fail(err, err_len,
			            "TWILIO_API_KEY_SECRET is set but "
			            "TWILIO_API_KEY_SID is not.");
		if (!key_secret)
			return fail(err, err_len,
			            "TWILIO_API_KEY_SID is set but "
			            "TWILIO_API_KEY_SECRET is not.");
		if (!wa_pc_is_sid(key_sid, "SK", 32))
			return fail(err, err_len,
			            "TWILIO_API_KEY_SID must be SK followed by "
			            "32 hex digits.");
		if (set_auth(st, key_sid, key_secret, err, err_len) != 0)
			return -1;
		st->api_key = true;
	} else if (token) {
		if (set_auth(st, sid, token, err, err_len) != 0)
			return -1;
	} else {
		return fail(err, err_len,
		            "TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID with "
		            "TWILIO_API_KEY_SECRET) is not set.");
	}

	if (msid) {
		if (!wa_pc_is_sid(msid, "MG", 32))
			return fail(err, err_len,
			            "TWILIO_MESSAGING_SERVICE_SID must be MG "
			            "followed by 32 hex digits.");
		snprintf(st->messaging_service, sizeof(st->messaging_service),
		         "%s", msid);
	}
	if (from && normalise_from(from, st->from, sizeof(st->from)) != 0)
		return fail(err, err_len,
		            "TWILIO_FROM must be whatsapp:+<8-15 digits> or "
		            "+<8-15 digits>.");
	if (!from && !msid)
		return fail(
		    err, err_len,
		    "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID must be set.");

	if (wa_pc_base_url("TWILIO_API_BASE", base ? base : TW_DEFAULT_BASE,
	                   base_url, sizeof(base_url), err, err_len) != 0)
		return -1;
	n = snprintf(st->url, sizeof(st->url),
	             "%s/2010-04-01/Accounts/%s/Messages.json", base_url, sid);
	if (n < 0 || (size_t)n >= sizeof(st->url))
		return fail(err, err_len, "TWILIO_API_BASE is too long.");

	if (pub) {
		if (wa_pc_base_url("PUBLIC_BASE_URL", pub, pub_url,
		                   sizeof(pub_url), err, err_len) != 0)
			return -1;
		snprintf(st->status_callback, sizeof(st->status_callback),
		         "%s%s", pub_url, TW_CALLBACK_PATH);
	}

	/* With API-key auth Twilio still signs callbacks with the Auth Token.
	 */
	if (!hook)
		hook = token;
	if (hook) {
		if (strlen(hook) >= sizeof(st->webhook_token))
			return fail(err, err_len,
			            "TWILIO_WEBHOOK_AUTH_TOKEN is too long.");
		snprintf(st->webhook_token, sizeof(st->webhook_token), "%s",
		         hook);
	}
	return 0;
}

static void tw_destroy(void *state)
{
	tw_state *st = state;

	if (!st)
		return;
	memset(st, 0, sizeof(*st)); /* credentials do not outlive us */
	free(st);
}

static int tw_init(const wa_host *host, void **state, char *err, size_t err_len)
{
	tw_state *st = calloc(1, sizeof(*st));

	*state = NULL;
	if (!st)
		return fail(err, err_len, "Out of memory.");
	st->host = host;
	if (tw_configure(st, err, err_len) != 0) {
		tw_destroy(st);
		return -1;
	}
	if (host && host->log) {
		host->log(
		    host, WA_LOG_INFO,
		    "twilio: sending with %s, sender %s, status callbacks %s",
		    st->api_key ? "an API key" : "the Auth Token",
		    st->messaging_service[0] ? "Messaging Service" : "From",
		    st->status_callback[0] ? "requested"
		                           : "off (PUBLIC_BASE_URL unset)");
		if (st->messaging_service[0] && st->from[0])
			host->log(host, WA_LOG_WARN,
			          "twilio: TWILIO_MESSAGING_SERVICE_SID is "
			          "set, so TWILIO_FROM is not sent.");
		if (!st->webhook_token[0])
			host->log(host, WA_LOG_WARN,
			          "twilio: neither TWILIO_AUTH_TOKEN nor "
			          "TWILIO_WEBHOOK_AUTH_TOKEN is set; status "
			          "callbacks will be refused with 403.");
	}
	*state = st;
	return 0;
}

/* {"1":"v1","2":"v2",...} for ContentVariables. NULL on failure. */
static char *content_variables(const wa_message *msg)
{
	json_object *o = json_object_new_object();
	char *out = NULL;

	if (!o)
		return NULL;
	for (size_t i = 0; i < msg->n_template_variables; i++) {
		char key[24];
		const char *v = msg->template_variables[i];

		snprintf(key, sizeof(key), "%zu", i + 1);
		if (json_object_object_add(
		        o, key, json_object_new_string(v ? v : "")) != 0)
			goto out;
	}
	out = strdup(wa_pc_json_text(o));
out:
	json_object_put(o);
	return out;
}

/* ContentVariables of content.template: {"1":..,"2":..} numbering the
 * header text, then the body parameters, then the button values, in the
 * order a Content template shows its {{n}} placeholders. NULL on
 * failure. */
static char *content_template_variables(json_object *t)
{
	json_object *o = json_object_new_object(), *v;
	const char *ht = wa_pc_cstr(wa_pc_json_path(t, "header"), "text");
	size_t n = 0;
	char key[24], *out = NULL;
	int rc = 0;

	if (!o)
		return NULL;
	if (ht) {
		snprintf(key, sizeof(key), "%zu", ++n);
		rc |=
		    json_object_object_add(o, key, json_object_new_string(ht));
	}
	if ((v = wa_pc_json_path(t, "body_parameters")))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(key, sizeof(key), "%zu", ++n);
			rc |= json_object_object_add(
			    o, key,
			    json_object_new_string(json_object_get_string(
			        json_object_array_get_idx(v, i))));
		}
	if ((v = wa_pc_json_path(t, "button_parameters")))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(key, sizeof(key), "%zu", ++n);
			rc |= json_object_object_add(
			    o, key,
			    json_object_new_string(wa_pc_cstr(
			        json_object_array_get_idx(v, i), "value")));
		}
	if (rc == 0)
		out = strdup(n ? wa_pc_json_text(o) : "");
	json_object_put(o);
	return out;
}

/* The form of a message with rich content (ABI 1.2): a Content template
 * (ContentSid, ContentVariables) or media (MediaUrl, Body = the caption;
 * audio has none). 0, or -1 with res filled. */
static int content_form(wa_pc_buf *b, json_object *part, const char *which,
                        const wa_message *msg, wa_result *res)
{
	if (strcmp(which, "template") == 0) {
		const char *sid = wa_pc_cstr(part, "name");
		char *vars;

		if (!sid || !wa_pc_is_sid(sid, "HX", 32)) {
			wa_pc_result(
			    res, WA_RESULT_REJECT, 0, NULL,
			    "Twilio templates are Content SIDs: "
			    "content.template.name must be HX followed "
			    "by 32 hex digits.");
			return -1;
		}
		if (!(vars = content_template_variables(part))) {
			wa_pc_result(
			    res, WA_RESULT_RETRY, 0, NULL,
			    "Out of memory building ContentVariables.");
			return -1;
		}
		wa_pc_form_add(b, "ContentSid", sid);
		if (*vars)
			wa_pc_form_add(b, "ContentVariables", vars);
		free(vars);
	} else {
		const char *type = wa_pc_cstr(part, "type");
		const char *cap = wa_pc_cstr(part, "caption");
		const char *body = cap ? cap : msg->message_body;

		if (!(type && strcmp(type, "audio") == 0) && body && *body) {
			if (wa_pc_utf8_len(body) > TW_BODY_MAX) {
				wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
				             "The caption has more than %d "
				             "characters; Twilio refuses it.",
				             TW_BODY_MAX);
				return -1;
			}
			wa_pc_form_add(b, "Body", body);
		}
		wa_pc_form_add(b, "MediaUrl", wa_pc_cstr(part, "url"));
	}
	return 0;
}

static int tw_build_request(void *state, const wa_message *msg,
                            wa_http_request *req, wa_result *res)
{
	tw_state *st = state;
	const char *body = msg->message_body ? msg->message_body : "";
	const char *phone = msg->recipient_phone ? msg->recipient_phone : "";
	bool tmpl = msg->template_name && *msg->template_name;
	size_t chars = wa_pc_utf8_len(body);
	char to[48], digits[24];
	json_object *content, *part;
	const char *which;
	int crc;
	wa_pc_buf b;

	crc = wa_pc_content(msg, TW_CONTENT_KINDS, "Twilio", res, &content,
	                    &part, &which);
	if (crc < 0)
		return -1;
	if (crc > 0)
		tmpl = false; /* the content decides; Body is checked there */
	if (!crc && !tmpl && chars > TW_BODY_MAX) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Message body has %zu characters; Twilio accepts "
		             "at most %d.",
		             chars, TW_BODY_MAX);
		return -1;
	}
	if (wa_pc_digits(phone, digits, sizeof(digits)) != 0 ||
	    strlen(digits) > 15) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Recipient phone is not an E.164 number.");
		json_object_put(content);
		return -1;
	}
	snprintf(to, sizeof(to), "whatsapp:+%s", digits);
	if (tmpl && !wa_pc_is_sid(msg->template_name, "HX", 32)) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Twilio templates are Content SIDs: template name "
		             "must be HX followed by 32 hex digits.");
		return -1;
	}
	if (msg->media_url && *msg->media_url &&
	    strncmp(msg->media_url, "https://", 8) != 0 &&
	    strncmp(msg->media_url, "http://", 7) != 0) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Media URL must be http:// or https://.");
		return -1;
	}

	snprintf(req->method, sizeof(req->method), "POST");
	snprintf(req->url, sizeof(req->url), "%s", st->url);
	wa_pc_buf_init(&b, req->body, req->body_cap);
	wa_pc_form_add(&b, "To", to);
	if (st->messaging_service[0])
		wa_pc_form_add(&b, "MessagingServiceSid",
		               st->messaging_service);
	else
		wa_pc_form_add(&b, "From", st->from);
	if (crc > 0) {
		int fr = content_form(&b, part, which, msg, res);

		json_object_put(content);
		if (fr != 0)
			return -1;
	} else if (tmpl) {
		char *vars = content_variables(msg);

		if (!vars) {
			wa_pc_result(
			    res, WA_RESULT_RETRY, 0, NULL,
			    "Out of memory building ContentVariables.");
			return -1;
		}
		wa_pc_form_add(&b, "ContentSid", msg->template_name);
		if (msg->n_template_variables > 0)
			wa_pc_form_add(&b, "ContentVariables", vars);
		free(vars);
	} else {
		wa_pc_form_add(&b, "Body", body);
	}
	if (!crc && msg->media_url && *msg->media_url)
		wa_pc_form_add(&b, "MediaUrl", msg->media_url);
	if (st->status_callback[0])
		wa_pc_form_add(&b, "StatusCallback", st->status_callback);
	if (b.overflow) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Encoded request does not fit the host's %zu-byte "
		             "body buffer.",
		             req->body_cap);
		return -1;
	}
	req->body_len = b.len;
	if (wa_pc_req_header(req, "Authorization", st->auth_header) != 0 ||
	    wa_pc_req_header(req, "Content-Type",
	                     "application/x-www-form-urlencoded") != 0 ||
	    wa_pc_req_header(req, "Accept", "application/json") != 0) {
		wa_pc_result(
		    res, WA_RESULT_CONFIG, 0, NULL,
		    "Request headers do not fit the host's header table.");
		return -1;
	}
	return 0;
}

/* Twilio error codes that mean the sender set-up is wrong, not the message.
 * [U] Not listed in providers.md: 21212 (invalid From number) and 63007
 * (no WhatsApp channel for From) are from Twilio's public error catalogue
 * as remembered; harmless if never seen. 20003 is [V]. */
static bool tw_config_code(long code)
{
	return code == 20003 || code == 21212 || code == 63007;
}

static void tw_parse_response(void *state, const wa_message *msg,
                              const wa_http_response *resp, wa_result *res)
{
	long st = resp->status;
	json_object *o = wa_pc_json_parse(resp->body, resp->body_len);
	const char *text = NULL;
	char code[WA_CODE_MAX] = "", masked[200] = "";
	int64_t icode = 0;

	(void)state;
	(void)msg;
	if (o && wa_pc_json_int(o, "code", &icode))
		snprintf(code, sizeof(code), "%lld", (long long)icode);
	if (o)
		text = wa_pc_json_str(o, "message");
	wa_pc_copy_masked(masked, sizeof(masked),
	                  text ? text
	                       : (o ? "no message" : "unparseable reply"));

	if (st >= 200 && st < 300) {
		const char *sid = o ? wa_pc_json_str(o, "sid") : NULL;

		if (sid && (wa_pc_is_sid(sid, "SM", 32) ||
		            wa_pc_is_sid(sid, "MM", 32))) {
			wa_pc_result(res, WA_RESULT_OK, st, NULL, "%s", "");
			snprintf(res->provider_message_id,
			         sizeof(res->provider_message_id), "%s", sid);
		} else {
			/* Accepted upstream but unreadable: retrying could
			 * send the WhatsApp message twice, so give up. */
			wa_pc_result(res, WA_RESULT_REJECT, st, NULL,
			             "Twilio answered %ld without a message "
			             "sid; not retried to avoid a duplicate.",
			             st);
		}
	} else if (st == 401 || (code[0] && tw_config_code((long)icode))) {
		wa_pc_result(res, WA_RESULT_CONFIG, st, code,
		             "Twilio refused the credentials or sender (HTTP "
		             "%ld, code %s): %s",
		             st, code[0] ? code : "none", masked);
	} else if (st == 403 || st == 404) {
		wa_pc_result(
		    res, WA_RESULT_CONFIG, st, code,
		    "Twilio answered %ld (wrong account SID or API base?): %s",
		    st, masked);
	} else if (st == 429 || st == 408 || st >= 500) {
		wa_pc_retry(res, resp, st, code,
		            "Twilio answered %ld, will retry: %s", st, masked);
	} else if (st >= 400) {
		wa_pc_result(
		    res, WA_RESULT_REJECT, st, code,
		    "Twilio rejected the message (HTTP %ld, code %s): %s", st,
		    code[0] ? code : "none", masked);
	} else {
		wa_pc_result(res, WA_RESULT_CONFIG, st, code,
		             "Twilio answered unexpected HTTP %ld; check "
		             "TWILIO_API_BASE.",
		             st);
	}
	json_object_put(o);
}

static const wa_provider tw_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_provider),
    .name = "twilio",
    .version = "1.1.0",
    .description = "Twilio Programmable Messaging, WhatsApp channel",
    .config_keys = tw_keys,
    .message_id_name = "sid",
    .default_rate = 80,
    .init = tw_init,
    .destroy = tw_destroy,
    .build_request = tw_build_request,
    .parse_response = tw_parse_response,
    .on_callback = wa_twilio_on_callback,
    /* MediaUrl: Twilio takes the media kind from the file itself. No
     * interactive messages (they are Content templates on Twilio) and no
     * per-message template header media (the template holds it). */
    .content_kinds = TW_CONTENT_KINDS,
};

WA_PC_PROVIDER_ENTRY(tw_provider)
