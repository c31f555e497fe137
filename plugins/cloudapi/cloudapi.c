/* cloudapi.c - Meta WhatsApp Cloud API provider: /messages builder and reply
 * classifier */
#include "cloudapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CA_DEFAULT_BASE "https://graph.facebook.com"
#define CA_DEFAULT_VERSION "v24.0"
#define CA_DEFAULT_LANGUAGE "en_US"
#define CA_BODY_MAX 4096 /* text.body limit in characters */

static const wa_config_key ca_keys[] = {
    {"CLOUDAPI_TOKEN", NULL, WA_CONFIG_REQUIRED | WA_CONFIG_SECRET,
     "Access token (system user token) sent as Authorization: Bearer"},
    {"CLOUDAPI_PHONE_NUMBER_ID", NULL, WA_CONFIG_REQUIRED,
     "Business phone number ID (digits), not the phone number itself"},
    {"CLOUDAPI_BASE_URL", CA_DEFAULT_BASE, 0, "Graph API base URL"},
    {"CLOUDAPI_VERSION", CA_DEFAULT_VERSION, 0, "Graph API version, vNN.N"},
    {"CLOUDAPI_TEMPLATE_LANGUAGE", CA_DEFAULT_LANGUAGE, 0,
     "Template language code used when a message names none"},
    {"CLOUDAPI_APP_SECRET", NULL, WA_CONFIG_SECRET,
     "App secret that verifies X-Hub-Signature-256 on callbacks; unset refuses "
     "them"},
    {"CLOUDAPI_VERIFY_TOKEN", NULL, WA_CONFIG_SECRET,
     "Verify token for Meta's GET subscription handshake; unset refuses it"},
    {NULL, NULL, 0, NULL},
};

static int fail(char *err, size_t err_len, const char *msg)
{
	snprintf(err, err_len, "%s", msg);
	return -1;
}

static bool version_ok(const char *v)
{
	const char *dot;

	if (v[0] != 'v' || !(dot = strchr(v, '.')) || dot == v + 1 ||
	    strlen(v) > 12)
		return false;
	for (const char *p = v + 1; *p; p++)
		if (p != dot && (*p < '0' || *p > '9'))
			return false;
	return dot[1] != '\0';
}

static bool lang_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 15)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int ca_configure(ca_state *st, char *err, size_t err_len)
{
	const wa_host *h = st->host;
	const char *token = wa_pc_config(h, "CLOUDAPI_TOKEN");
	const char *pid = wa_pc_config(h, "CLOUDAPI_PHONE_NUMBER_ID");
	const char *base = wa_pc_config(h, "CLOUDAPI_BASE_URL");
	const char *ver = wa_pc_config(h, "CLOUDAPI_VERSION");
	const char *lang = wa_pc_config(h, "CLOUDAPI_TEMPLATE_LANGUAGE");
	const char *secret = wa_pc_config(h, "CLOUDAPI_APP_SECRET");
	const char *verify = wa_pc_config(h, "CLOUDAPI_VERIFY_TOKEN");
	char base_url[600];
	int n;

	if (!token)
		return fail(err, err_len, "CLOUDAPI_TOKEN is not set.");
	if (!printable(token) || strlen(token) > 900)
		return fail(err, err_len,
		            "CLOUDAPI_TOKEN must be printable ASCII without "
		            "spaces, at most 900 bytes.");
	if (!pid)
		return fail(err, err_len,
		            "CLOUDAPI_PHONE_NUMBER_ID is not set.");
	if (!wa_pc_is_digits(pid) || strlen(pid) > 32)
		return fail(err, err_len,
		            "CLOUDAPI_PHONE_NUMBER_ID must be the numeric "
		            "phone number ID.");
	if (!ver)
		ver = CA_DEFAULT_VERSION;
	if (!version_ok(ver))
		return fail(err, err_len,
		            "CLOUDAPI_VERSION must look like v24.0.");
	if (!lang)
		lang = CA_DEFAULT_LANGUAGE;
	if (!lang_ok(lang))
		return fail(err, err_len,
		            "CLOUDAPI_TEMPLATE_LANGUAGE must be a language "
		            "code such as en_US.");
	snprintf(st->language, sizeof(st->language), "%s", lang);
	if (wa_pc_base_url("CLOUDAPI_BASE_URL", base ? base : CA_DEFAULT_BASE,
	                   base_url, sizeof(base_url), err, err_len) != 0)
		return -1;
	n = snprintf(st->url, sizeof(st->url), "%s/%s/%s/messages", base_url,
	             ver, pid);
	if (n < 0 || (size_t)n >= sizeof(st->url))
		return fail(err, err_len, "CLOUDAPI_BASE_URL is too long.");
	n = snprintf(st->auth_header, sizeof(st->auth_header), "Bearer %s",
	             token);
	if (n < 0 || (size_t)n >= sizeof(st->auth_header))
		return fail(err, err_len, "CLOUDAPI_TOKEN is too long.");
	if (secret) {
		if (strlen(secret) >= sizeof(st->app_secret))
			return fail(err, err_len,
			            "CLOUDAPI_APP_SECRET is too long.");
		snprintf(st->app_secret, sizeof(st->app_secret), "%s", secret);
	}
	if (verify) {
		if (strlen(verify) >= sizeof(st->verify_token))
			return fail(err, err_len,
			            "CLOUDAPI_VERIFY_TOKEN is too long.");
		snprintf(st->verify_token, sizeof(st->verify_token), "%s",
		         verify);
	}
	return 0;
}

static void ca_destroy(void *state)
{
	ca_state *st = state;

	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	free(st);
}

static int ca_init(const wa_host *host, void **state, char *err, size_t err_len)
{
	ca_state *st = calloc(1, sizeof(*st));

	*state = NULL;
	if (!st)
		return fail(err, err_len, "Out of memory.");
	st->host = host;
	if (ca_configure(st, err, err_len) != 0) {
		ca_destroy(st);
		return -1;
	}
	if (host && host->log && !st->app_secret[0])
		host->log(host, WA_LOG_WARN,
		          "cloudapi: CLOUDAPI_APP_SECRET is not set; status "
		          "callbacks will be refused with 401.");
	*state = st;
	return 0;
}

bool wa_cloudapi_template_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 512)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static int add(json_object *o, const char *k, json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The "template" object: name, language{code}, components (when there are
 * variables: one body component with one text parameter each). */
static json_object *template_object(const ca_state *st, const wa_message *msg)
{
	json_object *t = json_object_new_object(), *lang, *comps, *comp,
	            *params;
	const char *code = msg->template_language && *msg->template_language
	                       ? msg->template_language
	                       : st->language;
	int rc = 0;

	if (!t)
		return NULL;
	lang = json_object_new_object();
	rc |= add(t, "name", json_object_new_string(msg->template_name));
	rc |= add(t, "language", lang);
	if (lang)
		rc |= add(lang, "code", json_object_new_string(code));
	if (msg->n_template_variables > 0) {
		comps = json_object_new_array();
		comp = json_object_new_object();
		params = json_object_new_array();
		rc |= add(t, "components", comps);
		if (!comps || json_object_array_add(comps, comp) != 0)
			rc = -1;
		if (comp) {
			rc |= add(comp, "type", json_object_new_string("body"));
			rc |= add(comp, "parameters", params);
		}
		for (size_t i = 0; params && i < msg->n_template_variables;
		     i++) {
			json_object *p = json_object_new_object();
			const char *v = msg->template_variables[i];

			if (!p || json_object_array_add(params, p) != 0) {
				json_object_put(p);
				rc = -1;
				break;
			}
			rc |= add(p, "type", json_object_new_string("text"));
			rc |=
			    add(p, "text", json_object_new_string(v ? v : ""));
		}
	}
	if (rc != 0) {
		json_object_put(t);
		return NULL;
	}
	return t;
}

static json_object *message_json(const ca_state *st, const wa_message *msg,
                                 const char *to)
{
	json_object *o = json_object_new_object(), *inner;
	const char *body = msg->message_body ? msg->message_body : "";
	bool tmpl = msg->template_name && *msg->template_name;
	bool media = !tmpl && msg->media_url && *msg->media_url;
	int rc = 0;

	if (!o)
		return NULL;
	rc |= add(o, "messaging_product", json_object_new_string("whatsapp"));
	rc |= add(o, "recipient_type", json_object_new_string("individual"));
	rc |= add(o, "to", json_object_new_string(to));
	if (tmpl) {
		rc |= add(o, "type", json_object_new_string("template"));
		rc |= add(o, "template", template_object(st, msg));
	} else if (media) {
		/* Media: always an image with the body as caption (see docs).
		 */
		inner = json_object_new_object();
		rc |= add(o, "type", json_object_new_string("image"));
		rc |= add(o, "image", inner);
		if (inner) {
			rc |= add(inner, "link",
			          json_object_new_string(msg->media_url));
			rc |=
			    add(inner, "caption", json_object_new_string(body));
		}
	} else {
		inner = json_object_new_object();
		rc |= add(o, "type", json_object_new_string("text"));
		rc |= add(o, "text", inner);
		if (inner) {
			rc |= add(inner, "preview_url",
			          json_object_new_boolean(0));
			rc |= add(inner, "body", json_object_new_string(body));
		}
	}
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int ca_build_request(void *state, const wa_message *msg,
                            wa_http_request *req, wa_result *res)
{
	ca_state *st = state;
	bool tmpl = msg->template_name && *msg->template_name;
	const char *body = msg->message_body ? msg->message_body : "";
	size_t chars = wa_pc_utf8_len(body);
	char to[24];
	json_object *o, *content, *part;
	const char *which;
	int rc;

	rc = wa_pc_content(msg, CA_CONTENT_KINDS, "Cloud API", res, &content,
	                   &part, &which);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		if (wa_pc_digits(msg->recipient_phone ? msg->recipient_phone
		                                      : "",
		                 to, sizeof(to)) != 0 ||
		    strlen(to) > 15) {
			json_object_put(content);
			wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
			             "Recipient phone is not an E.164 number.");
			return -1;
		}
		o = wa_cloudapi_content_json(st, msg, to, part, which, res);
		json_object_put(content);
		if (!o)
			return -1;
		rc = wa_pc_json_post(req, res, st->url, o, "Authorization",
		                     st->auth_header);
		json_object_put(o);
		return rc;
	}
	if (!tmpl && chars > CA_BODY_MAX) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Message body has %zu characters; WhatsApp "
		             "accepts at most %d.",
		             chars, CA_BODY_MAX);
		return -1;
	}
	if (wa_pc_digits(msg->recipient_phone ? msg->recipient_phone : "", to,
	                 sizeof(to)) != 0 ||
	    strlen(to) > 15) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Recipient phone is not an E.164 number.");
		return -1;
	}
	if (tmpl && (!wa_cloudapi_template_name_ok(msg->template_name) ||
	             (msg->template_language && *msg->template_language &&
	              !lang_ok(msg->template_language)))) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Template name must be lower-case letters, digits "
		             "and _, with a language code such as pt_BR.");
		return -1;
	}
	if (!tmpl && msg->media_url && *msg->media_url &&
	    strncmp(msg->media_url, "https://", 8) != 0 &&
	    strncmp(msg->media_url, "http://", 7) != 0) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "Media URL must be http:// or https://.");
		return -1;
	}
	o = message_json(st, msg, to);
	rc = wa_pc_json_post(req, res, st->url, o, "Authorization",
	                     st->auth_header);
	json_object_put(o);
	return rc;
}

/* Meta says: key on error.code, not on the HTTP status. Also judges the
 * late failures of status webhooks (cloudapi_callback.c). */
bool wa_cloudapi_code_retryable(int64_t c)
{
	/* 2 service unavailable, 4 app rate limit, 80007 WABA rate limit,
	 * 130429 throughput, 131056 pair rate, 131057 maintenance. */
	return c == 2 || c == 4 || c == 80007 || c == 130429 || c == 131056 ||
	       c == 131057;
}

static bool config_code(int64_t c, int64_t sub)
{
	/* 0 / 190 token invalid or expired, 3 capability, 10 and 200-299
	 * permission. [U] 100 with subcode 33 is Graph's "object does not
	 * exist": a wrong CLOUDAPI_PHONE_NUMBER_ID, not a bad message. */
	return c == 0 || c == 3 || c == 10 || c == 190 ||
	       (c >= 200 && c <= 299) || (c == 100 && sub == 33);
}

static void ca_parse_response(void *state, const wa_message *msg,
                              const wa_http_response *resp, wa_result *res)
{
	long st = resp->status;
	json_object *o = wa_pc_json_parse(resp->body, resp->body_len);
	json_object *err = o ? wa_pc_json_path(o, "error") : NULL;
	int64_t code = -1, sub = -1;
	bool has_code = err && wa_pc_json_int(err, "code", &code);
	const char *m = err ? wa_pc_json_str(err, "message") : NULL;
	const char *det =
	    err ? wa_pc_json_str(err, "error_data.details") : NULL;
	char ctext[WA_CODE_MAX] = "", raw[400], text[200];

	(void)state;
	(void)msg;
	if (err)
		wa_pc_json_int(err, "error_subcode", &sub);
	if (has_code)
		snprintf(ctext, sizeof(ctext), "%lld", (long long)code);
	snprintf(raw, sizeof(raw), "%s%s%s",
	         m ? m : (o ? "no message" : "unparseable reply"),
	         det ? ": " : "", det ? det : "");
	wa_pc_copy_masked(text, sizeof(text), raw);

	if (st >= 200 && st < 300) {
		json_object *msgs = o ? wa_pc_json_path(o, "messages") : NULL;
		const char *id = NULL;

		if (msgs && json_object_is_type(msgs, json_type_array) &&
		    json_object_array_length(msgs) > 0)
			id = wa_pc_json_str(json_object_array_get_idx(msgs, 0),
			                    "id");
		if (id && *id && strlen(id) < WA_PROVIDER_ID_MAX &&
		    printable(id)) {
			wa_pc_result(res, WA_RESULT_OK, st, NULL, "%s", "");
			snprintf(res->provider_message_id,
			         sizeof(res->provider_message_id), "%s", id);
		} else {
			/* Accepted but unreadable: a retry could send twice. */
			wa_pc_result(
			    res, WA_RESULT_REJECT, st, NULL,
			    "Cloud API answered %ld without messages[0].id; "
			    "not retried to avoid a duplicate.",
			    st);
		}
	} else if (st >= 500 ||
	           (has_code && wa_cloudapi_code_retryable(code))) {
		wa_pc_retry(res, resp, st, ctext,
		            "Cloud API answered %ld, will retry: %s", st, text);
	} else if (has_code && config_code(code, sub)) {
		wa_pc_result(
		    res, WA_RESULT_CONFIG, st, ctext,
		    "Cloud API refused the credentials or set-up (code %s): %s",
		    ctext, text);
	} else if (st == 401 || st == 403 || (!has_code && st == 404)) {
		wa_pc_result(
		    res, WA_RESULT_CONFIG, st, ctext,
		    "Cloud API answered %ld (check CLOUDAPI_TOKEN, "
		    "CLOUDAPI_PHONE_NUMBER_ID and CLOUDAPI_BASE_URL): %s",
		    st, text);
	} else if (st == 408 || st == 429) {
		wa_pc_retry(res, resp, st, ctext,
		            "Cloud API answered %ld, will retry: %s", st, text);
	} else if (st >= 400) {
		wa_pc_result(
		    res, WA_RESULT_REJECT, st, ctext,
		    "Cloud API rejected the message (HTTP %ld, code %s): %s",
		    st, ctext[0] ? ctext : "none", text);
	} else {
		wa_pc_result(res, WA_RESULT_CONFIG, st, ctext,
		             "Cloud API answered unexpected HTTP %ld; check "
		             "CLOUDAPI_BASE_URL.",
		             st);
	}
	json_object_put(o);
}

static const wa_provider ca_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_provider),
    .name = "cloudapi",
    .version = "1.1.0",
    .description = "Meta WhatsApp Cloud API (Graph /messages)",
    .config_keys = ca_keys,
    .message_id_name = "wamid",
    .default_rate = 80, /* Meta's default per business number */
    .init = ca_init,
    .destroy = ca_destroy,
    .build_request = ca_build_request,
    .parse_response = ca_parse_response,
    .on_callback = wa_cloudapi_on_callback,
    /* Every content kind (docs/providers/cloudapi.md); the 1.1 media_url
     * field still goes out as an image. */
    .content_kinds = CA_CONTENT_KINDS,
};

WA_PC_PROVIDER_ENTRY(ca_provider)
