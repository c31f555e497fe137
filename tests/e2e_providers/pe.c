/* pe.c - shared helpers of the provider end-to-end tests (real daemon, real
 * plugins, fake APIs) */
#include "pe.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_rules.h"

static const pe_provider providers[] = {
    {"twilio", "sid", "TWILIO_API_BASE", 403},
    {"evolution", "key_id", "EVOLUTION_BASE_URL", 401},
    {"cloudapi", "wamid", "CLOUDAPI_BASE_URL", 401},
};

const pe_provider *pe_find(const char *name)
{
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		if (strcmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

void pe_env_add(pe_env *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->n >= (int)(sizeof(e->buf) / sizeof(e->buf[0]))) {
		fprintf(stderr, "pe_env: too many entries\n");
		abort();
	}
	va_start(ap, fmt);
	n = vsnprintf(e->buf[e->n], sizeof(e->buf[0]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(e->buf[0])) {
		fprintf(stderr, "pe_env: entry too long\n");
		abort();
	}
	e->list[e->n] = e->buf[e->n];
	e->n++;
	e->list[e->n] = NULL;
}

void pe_env_drop(pe_env *e, const char *key)
{
	size_t kl = strlen(key);
	int o = 0;

	for (int i = 0; i < e->n; i++) {
		if (strncmp(e->list[i], key, kl) == 0 && e->list[i][kl] == '=')
			continue;
		/* keep list[k] == buf[k]: pe_env_add writes buf[n] next */
		if (o != i)
			memmove(e->buf[o], e->buf[i], sizeof(e->buf[o]));
		e->list[o] = e->buf[o];
		o++;
	}
	e->n = o;
	e->list[o] = NULL;
}

void pe_env_init(pe_env *e, const pe_provider *p, int port,
                 const char *api_base, int hook_port)
{
	memset(e, 0, sizeof(*e));
	e->list[0] = NULL;
	pe_env_add(e, "API_KEY=%s", E2E_KEY);
	pe_env_add(e, "BIND_ADDRESS=127.0.0.1");
	pe_env_add(e, "PORT=%d", port);
	pe_env_add(e, "PUBLIC_BASE_URL=http://127.0.0.1:%d", port);
	pe_env_add(e, "WHATSAPP_PROVIDER=%s", p->name);
	pe_env_add(e, "PROVIDER_RATE=0");
	pe_env_add(e, "RETRY_BASE_MS=10");
	pe_env_add(e, "RETRY_MAX_MS=40");
	pe_env_add(e, "PROBE_INTERVAL_MS=50");
	pe_env_add(e, "LOG_LEVEL=debug");
	if (api_base)
		pe_env_add(e, "%s=%s", p->base_key, api_base);
	if (hook_port > 0) {
		pe_env_add(e, "STATUS_WEBHOOK_URL=http://127.0.0.1:%d/hooks/wa",
		           hook_port);
		pe_env_add(e, "STATUS_WEBHOOK_SECRET=%s", PE_HOOK_SECRET);
	}
	if (strcmp(p->name, "twilio") == 0) {
		pe_env_add(e, "TWILIO_ACCOUNT_SID=%s", FP_TWILIO_ACCOUNT);
		pe_env_add(e, "TWILIO_AUTH_TOKEN=%s", FP_TWILIO_TOKEN);
		pe_env_add(e, "TWILIO_FROM=%s", PE_TWILIO_FROM);
	} else if (strcmp(p->name, "evolution") == 0) {
		pe_env_add(e, "EVOLUTION_INSTANCE=%s", FP_EVOLUTION_INSTANCE);
		pe_env_add(e, "EVOLUTION_API_KEY=%s", FP_EVOLUTION_KEY);
		pe_env_add(e, "EVOLUTION_WEBHOOK_TOKEN=%s", PE_EVO_TOKEN);
	} else {
		pe_env_add(e, "CLOUDAPI_TOKEN=%s", FP_CLOUDAPI_TOKEN);
		pe_env_add(e, "CLOUDAPI_PHONE_NUMBER_ID=%s",
		           FP_CLOUDAPI_PHONE_ID);
		pe_env_add(e, "CLOUDAPI_APP_SECRET=%s", PE_META_SECRET);
		pe_env_add(e, "CLOUDAPI_VERIFY_TOKEN=%s", PE_META_VERIFY);
	}
}

void pe_clean_environ(void)
{
	static const char *const keys[] = {
	    "TWILIO_ACCOUNT_SID",
	    "TWILIO_AUTH_TOKEN",
	    "TWILIO_API_KEY_SID",
	    "TWILIO_API_KEY_SECRET",
	    "TWILIO_FROM",
	    "TWILIO_MESSAGING_SERVICE_SID",
	    "TWILIO_API_BASE",
	    "TWILIO_WEBHOOK_AUTH_TOKEN",
	    "EVOLUTION_BASE_URL",
	    "EVOLUTION_INSTANCE",
	    "EVOLUTION_API_KEY",
	    "EVOLUTION_WEBHOOK_TOKEN",
	    "CLOUDAPI_TOKEN",
	    "CLOUDAPI_PHONE_NUMBER_ID",
	    "CLOUDAPI_BASE_URL",
	    "CLOUDAPI_VERSION",
	    "CLOUDAPI_APP_SECRET",
	    "CLOUDAPI_VERIFY_TOKEN",
	    "CLOUDAPI_TEMPLATE_LANGUAGE",
	    "PUBLIC_BASE_URL",
	    "STATUS_WEBHOOK_URL",
	    "STATUS_WEBHOOK_SECRET",
	    "WHATSAPP_PROVIDER",
	    "API_KEY",
	    "API_KEYS",
	    "PROVIDER_RATE",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		unsetenv(keys[i]);
}

static json_object *at_path(json_object *o, const char *path)
{
	char part[128];
	const char *p = path;

	while (o && *p) {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = 0;
		if (!json_object_object_get_ex(o, part, &o))
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return o;
}

const char *pe_json(const char *json, const char *path, char *out, size_t len)
{
	json_object *root = json ? json_tokener_parse(json) : NULL;
	json_object *v = at_path(root, path);

	out[0] = 0;
	if (v && json_object_is_type(v, json_type_string))
		snprintf(out, len, "%s", json_object_get_string(v));
	json_object_put(root);
	return out;
}

long pe_json_int(const char *json, const char *path)
{
	json_object *root = json ? json_tokener_parse(json) : NULL;
	json_object *v = at_path(root, path);
	long n = -1;

	if (v && json_object_is_type(v, json_type_int))
		n = (long)json_object_get_int64(v);
	json_object_put(root);
	return n;
}

const char *pe_history(const char *json, char *out, size_t len)
{
	json_object *root = json ? json_tokener_parse(json) : NULL;
	json_object *h = at_path(root, "history");
	size_t used = 0;

	out[0] = 0;
	if (h && json_object_is_type(h, json_type_array)) {
		size_t n = json_object_array_length(h);

		for (size_t i = 0; i < n; i++) {
			json_object *st =
			    at_path(json_object_array_get_idx(h, i), "status");
			int w = snprintf(out + used, len - used, "%s%s",
			                 used ? " " : "",
			                 st ? json_object_get_string(st) : "?");

			if (w < 0 || (size_t)w >= len - used)
				break;
			used += (size_t)w;
		}
	}
	json_object_put(root);
	return out;
}

const char *pe_fake_id(const wa_fake *f, int n, char *out, size_t len)
{
	FILE *fp = fopen(f->record, "r");
	char line[20000];
	int i = 0;

	out[0] = 0;
	if (!fp)
		return out;
	while (fgets(line, sizeof(line), fp)) {
		if (++i == n) {
			pe_json(line, "id", out, len);
			break;
		}
	}
	fclose(fp);
	return out;
}

long pe_send(const wa_daemon *d, const char *ext, const char *phone,
             const char *text, bool wait, wa_http_reply *r)
{
	const char *extra[] = {"Prefer: wait=10", NULL};

	return e2e_send(d, ext, phone, text, wait ? extra : NULL, r);
}

int pe_hmac256_hex(const char *key, const char *body, size_t len, char *out,
                   size_t out_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o;

	if (!HMAC(EVP_sha256(), key, (int)strlen(key),
	          (const unsigned char *)body, len, mac, &n) ||
	    n != 32 || out_len < 7 + 64 + 1)
		return -1;
	o = (size_t)snprintf(out, out_len, "sha256=");
	for (unsigned int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, out_len - o, "%02x", mac[i]);
	return 0;
}

typedef struct kv {
	const char *k, *v;
} kv;

static int kv_cmp(const void *a, const void *b)
{
	const kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

int pe_twilio_signature(const char *token, const char *url,
                        const char *const *names, const char *const *values,
                        size_t n, char *out, size_t len)
{
	kv pairs[32];
	char data[8192];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t used;
	int w;

	if (n > 32 || len < 4 * ((20 + 2) / 3) + 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		pairs[i].k = names[i];
		pairs[i].v = values[i];
	}
	qsort(pairs, n, sizeof(pairs[0]), kv_cmp);
	w = snprintf(data, sizeof(data), "%s", url);
	if (w < 0 || (size_t)w >= sizeof(data))
		return -1;
	used = (size_t)w;
	for (size_t i = 0; i < n; i++) {
		w = snprintf(data + used, sizeof(data) - used, "%s%s",
		             pairs[i].k, pairs[i].v);
		if (w < 0 || (size_t)w >= sizeof(data) - used)
			return -1;
		used += (size_t)w;
	}
	if (!HMAC(EVP_sha1(), token, (int)strlen(token),
	          (const unsigned char *)data, used, mac, &mac_len) ||
	    mac_len != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
	return 0;
}

/* application/x-www-form-urlencoded, every reserved byte escaped. */
static void form_add(char *out, size_t len, const char *k, const char *v)
{
	size_t o = strlen(out);

	o += (size_t)snprintf(out + o, len - o, "%s%s=", o ? "&" : "", k);
	for (const unsigned char *p = (const unsigned char *)v;
	     *p && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, len - o, "%%%02X", *p);
	}
	out[o] = 0;
}

static long post(const char *url, const char *const *h, const char *body)
{
	wa_http_reply r;
	long st;

	if (wa_h_http("POST", url, h, body, strlen(body), &r) != 0)
		return -1;
	st = r.status;
	wa_h_reply_free(&r);
	return st;
}

static long twilio_cb(const wa_daemon *d, const char *pmid, const char *status,
                      pe_forge forge)
{
	const char *names[] = {"AccountSid", "ApiVersion", "ChannelPrefix",
	                       "From",       "MessageSid", "MessageStatus",
	                       "SmsSid",     "SmsStatus",  "To"};
	const char *values[] = {FP_TWILIO_ACCOUNT,
	                        "2010-04-01",
	                        "whatsapp",
	                        "whatsapp:" PE_TWILIO_FROM,
	                        pmid,
	                        status,
	                        pmid,
	                        status,
	                        "whatsapp:+5511987650001"};
	size_t n = sizeof(names) / sizeof(names[0]);
	char url[256], sig[64], sig_h[128], body[4096] = "";
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded",
	                   sig_h, NULL};

	snprintf(url, sizeof(url), "%s/v1/providers/twilio/callback", d->base);
	if (pe_twilio_signature(forge == PE_BAD_SIG ? "not-the-auth-token"
	                                            : FP_TWILIO_TOKEN,
	                        url, names, values, n, sig, sizeof(sig)) != 0)
		return -1;
	snprintf(sig_h, sizeof(sig_h), "X-Twilio-Signature: %s", sig);
	if (forge == PE_NO_SIG)
		h[1] = NULL;
	if (forge == PE_MODIFIED)
		values[5] = values[7] =
		    "read"; /* signed "status", sent "read" */
	for (size_t i = 0; i < n; i++)
		form_add(body, sizeof(body), names[i], values[i]);
	return post(url, h, body);
}

static void meta_body(char *out, size_t len, const char *pmid,
                      const char *status)
{
	snprintf(
	    out, len,
	    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":"
	    "\"102290129340398\","
	    "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\","
	    "\"metadata\":"
	    "{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"%"
	    "s\"},"
	    "\"statuses\":[{\"id\":\"%s\",\"status\":\"%s\",\"timestamp\":\"%"
	    "lld\","
	    "\"recipient_id\":\"5511987650001\"}]},\"field\":\"messages\"}]}]}",
	    FP_CLOUDAPI_PHONE_ID, pmid, status, (long long)time(NULL));
}

static long meta_cb(const wa_daemon *d, const char *pmid, const char *status,
                    pe_forge forge)
{
	char url[256], body[2048], sig[80], sig_h[128];
	const char *h[] = {"Content-Type: application/json", sig_h, NULL};

	snprintf(url, sizeof(url), "%s/v1/providers/cloudapi/callback",
	         d->base);
	meta_body(body, sizeof(body), pmid, status);
	if (pe_hmac256_hex(forge == PE_BAD_SIG ? "wrong-app-secret"
	                                       : PE_META_SECRET,
	                   body, strlen(body), sig, sizeof(sig)) != 0)
		return -1;
	snprintf(sig_h, sizeof(sig_h), "X-Hub-Signature-256: %s", sig);
	if (forge == PE_NO_SIG)
		h[1] = NULL;
	if (forge == PE_MODIFIED) /* replayed with another status */
		meta_body(body, sizeof(body), pmid, "read");
	return post(url, h, body);
}

static long evolution_cb(const wa_daemon *d, const char *pmid,
                         const char *status, pe_forge forge)
{
	char url[256], body[1024];
	const char *h[] = {"Content-Type: application/json",
	                   "X-Wadispatch-Token: " PE_EVO_TOKEN, NULL};
	const char *word =
	    strcmp(status, "read") == 0 ? "READ" : "DELIVERY_ACK";

	snprintf(url, sizeof(url), "%s/v1/providers/evolution/callback%s",
	         d->base,
	         forge == PE_QUERY_TOKEN ? "?token=" PE_EVO_TOKEN
	         : forge == PE_MODIFIED  ? "?token=not-the-token"
	                                 : "");
	snprintf(
	    body, sizeof(body),
	    "{\"event\":\"messages.update\",\"instance\":\"%s\",\"data\":"
	    "{\"keyId\":\"%s\",\"remoteJid\":\"5511987650001@s.whatsapp.net\","
	    "\"fromMe\":true,\"status\":\"%s\",\"instanceId\":"
	    "\"8b2be0e6-3a32-4694-ad96-1495ddef8068\"},\"date_time\":"
	    "\"2024-06-06T12:31:40.123Z\",\"apikey\":null}",
	    FP_EVOLUTION_INSTANCE, pmid, word);
	if (forge == PE_BAD_SIG)
		h[1] = "X-Wadispatch-Token: not-the-token";
	else if (forge != PE_SIGNED)
		h[1] = NULL;
	return post(url, h, body);
}

long pe_callback(const wa_daemon *d, const pe_provider *p, const char *pmid,
                 const char *status, pe_forge forge)
{
	if (strcmp(p->name, "twilio") == 0)
		return twilio_cb(d, pmid, status, forge);
	if (strcmp(p->name, "cloudapi") == 0)
		return meta_cb(d, pmid, status, forge);
	return evolution_cb(d, pmid, status, forge);
}

/* A signed (or forged) Twilio form POST of n fields. */
static long twilio_post(const wa_daemon *d, const char *const *names,
                        const char *const *values, size_t n, pe_forge forge)
{
	char url[256], sig[64], sig_h[128], body[4096] = "";
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded",
	                   sig_h, NULL};

	snprintf(url, sizeof(url), "%s/v1/providers/twilio/callback", d->base);
	if (pe_twilio_signature(forge == PE_BAD_SIG ? "not-the-auth-token"
	                                            : FP_TWILIO_TOKEN,
	                        url, names, values, n, sig, sizeof(sig)) != 0)
		return -1;
	snprintf(sig_h, sizeof(sig_h), "X-Twilio-Signature: %s", sig);
	if (forge == PE_NO_SIG)
		h[1] = NULL;
	for (size_t i = 0; i < n; i++)
		form_add(body, sizeof(body), names[i], values[i]);
	return post(url, h, body);
}

/* A signed (or forged) Meta webhook POST of body. */
static long meta_post(const wa_daemon *d, const char *body, pe_forge forge)
{
	char url[256], sig[80], sig_h[128];
	const char *h[] = {"Content-Type: application/json", sig_h, NULL};

	snprintf(url, sizeof(url), "%s/v1/providers/cloudapi/callback",
	         d->base);
	if (pe_hmac256_hex(forge == PE_BAD_SIG ? "wrong-app-secret"
	                                       : PE_META_SECRET,
	                   body, strlen(body), sig, sizeof(sig)) != 0)
		return -1;
	snprintf(sig_h, sizeof(sig_h), "X-Hub-Signature-256: %s", sig);
	if (forge == PE_NO_SIG)
		h[1] = NULL;
	return post(url, h, body);
}

static long evolution_post(const wa_daemon *d, const char *body, pe_forge forge)
{
	char url[256];
	const char *h[] = {"Content-Type: application/json",
	                   forge == PE_SIGNED
	                       ? "X-Wadispatch-Token: " PE_EVO_TOKEN
	                       : "X-Wadispatch-Token: not-the-token",
	                   NULL};

	snprintf(url, sizeof(url), "%s/v1/providers/evolution/callback",
	         d->base);
	if (forge == PE_NO_SIG)
		h[1] = NULL;
	return post(url, h, body);
}

long pe_inbound(const wa_daemon *d, const pe_provider *p, const char *in_id,
                const char *phone, const char *text, pe_forge forge)
{
	char body[2048], from[64];

	if (strcmp(p->name, "twilio") == 0) {
		const char *names[] = {"AccountSid", "Body",     "From",
		                       "MessageSid", "NumMedia", "ProfileName",
		                       "SmsStatus",  "To"};
		const char *values[] = {FP_TWILIO_ACCOUNT,
		                        text,
		                        from,
		                        in_id,
		                        "0",
		                        "E2E User",
		                        "received",
		                        "whatsapp:" PE_TWILIO_FROM};

		snprintf(from, sizeof(from), "whatsapp:%s", phone);
		return twilio_post(d, names, values,
		                   sizeof(names) / sizeof(names[0]), forge);
	}
	if (strcmp(p->name, "cloudapi") == 0) {
		snprintf(
		    body, sizeof(body),
		    "{\"object\":\"whatsapp_business_account\",\"entry\":[{"
		    "\"id\":\"102290129340398\",\"changes\":[{\"value\":{"
		    "\"messaging_product\":\"whatsapp\",\"metadata\":{"
		    "\"display_phone_number\":\"15550783881\","
		    "\"phone_number_id\":\"%s\"},\"contacts\":[{"
		    "\"profile\":{\"name\":\"E2E User\"},\"wa_id\":"
		    "\"%s\"}],\"messages\":[{\"from\":\"%s\",\"id\":"
		    "\"%s\",\"timestamp\":\"%lld\",\"type\":\"text\","
		    "\"text\":{\"body\":\"%s\"}}]},\"field\":"
		    "\"messages\"}]}]}",
		    FP_CLOUDAPI_PHONE_ID, phone + 1, phone + 1, in_id,
		    (long long)time(NULL), text);
		return meta_post(d, body, forge);
	}
	snprintf(body, sizeof(body),
	         "{\"event\":\"messages.upsert\",\"instance\":\"%s\","
	         "\"data\":{\"key\":{\"remoteJid\":\"%s@s.whatsapp.net\","
	         "\"fromMe\":false,\"id\":\"%s\"},\"pushName\":\"E2E "
	         "User\",\"message\":{\"conversation\":\"%s\"},"
	         "\"messageType\":\"conversation\",\"messageTimestamp\":"
	         "%lld},\"sender\":\"5511888888888@s.whatsapp.net\"}",
	         FP_EVOLUTION_INSTANCE, phone + 1, in_id, text,
	         (long long)time(NULL));
	return evolution_post(d, body, forge);
}

long pe_failed(const wa_daemon *d, const pe_provider *p, const char *pmid,
               const char *code)
{
	char body[2048];

	if (strcmp(p->name, "twilio") == 0) {
		const char *names[] = {"ErrorCode", "MessageSid",
		                       "MessageStatus", "SmsStatus"};
		const char *values[] = {code, pmid, "failed", "failed"};

		return twilio_post(d, names, values, 4, PE_SIGNED);
	}
	if (strcmp(p->name, "cloudapi") == 0) {
		snprintf(
		    body, sizeof(body),
		    "{\"object\":\"whatsapp_business_account\",\"entry\":[{"
		    "\"id\":\"102290129340398\",\"changes\":[{\"value\":{"
		    "\"messaging_product\":\"whatsapp\",\"statuses\":[{"
		    "\"id\":\"%s\",\"status\":\"failed\",\"timestamp\":"
		    "\"%lld\",\"recipient_id\":\"5511987650001\","
		    "\"errors\":[{\"code\":%s,\"title\":\"Rate limit "
		    "hit\"}]}]},\"field\":\"messages\"}]}]}",
		    pmid, (long long)time(NULL), code);
		return meta_post(d, body, PE_SIGNED);
	}
	snprintf(body, sizeof(body),
	         "{\"event\":\"messages.update\",\"instance\":\"%s\","
	         "\"data\":{\"keyId\":\"%s\",\"remoteJid\":"
	         "\"5511987650001@s.whatsapp.net\",\"fromMe\":true,"
	         "\"status\":\"ERROR\"}}",
	         FP_EVOLUTION_INSTANCE, pmid);
	return evolution_post(d, body, PE_SIGNED);
}

long pe_meta_webhook(const wa_daemon *d, const char *body)
{
	return meta_post(d, body, PE_SIGNED);
}
