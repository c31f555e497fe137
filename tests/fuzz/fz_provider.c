/* fz_provider.c - a fake host for the provider fuzzers, and the result/reply
 * invariants they check */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const *fz_kv;
static const wa_provider *fz_prov;

/* FZ_VERBOSE=1: print each outcome (to see what a corpus reaches). */
static bool fz_verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("FZ_VERBOSE") != NULL;
	return v;
}

static const char *fz_config_get(const wa_host *host, const char *key)
{
	size_t n = strlen(key);

	(void)host;
	for (const char *const *kv = fz_kv; kv && *kv; kv++)
		if (strncmp(*kv, key, n) == 0 && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

/* Format every line (so format/argument mismatches are exercised), print
 * nothing, and check that no configured secret reaches the log. */
static void fz_log(const wa_host *host, wa_log_level level, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
static void fz_log(const wa_host *host, wa_log_level level, const char *fmt,
                   ...)
{
	char line[1024];
	va_list ap;

	(void)host;
	FZ_CHECK(level >= WA_LOG_DEBUG && level <= WA_LOG_ERROR);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (const wa_config_key *k = fz_prov ? fz_prov->config_keys : NULL;
	     k && k->name; k++) {
		const char *v;

		if (!(k->flags & WA_CONFIG_SECRET))
			continue;
		v = fz_config_get(NULL, k->name);
		FZ_CHECK(!v || !*v || !strstr(line, v));
	}
}

static const wa_host fz_host = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_host),
    .log = fz_log,
    .config_get = fz_config_get,
    .host_data = NULL,
};

const wa_provider *fz_provider(const char *const *kv, void **state)
{
	const wa_provider *p;
	char err[256] = "";

	p = wa_provider_entry_v1(WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR);
	if (!p || !p->init) {
		fprintf(stderr,
		        "fuzz: the provider entry refused the host ABI\n");
		abort();
	}
	fz_kv = kv;
	fz_prov = p;
	if (p->init(&fz_host, state, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: provider init failed: %s\n", err);
		abort();
	}
	return p;
}

void fz_parse_response(const wa_provider *p, void *state, long status,
                       const char *retry_after, const char *body, size_t len)
{
	wa_message m;
	wa_http_response r;
	wa_result res;
	char *copy = fz_copy(body, len);

	memset(&m, 0, sizeof(m));
	m.struct_size = sizeof(m);
	m.message_id = "msg-00000000-0000-4000-8000-000000000001";
	m.external_id = "ext-1";
	m.recipient_phone = "+15558675310";
	m.message_body = "hi";
	m.attempt = 1;
	memset(&r, 0, sizeof(r));
	r.struct_size = sizeof(r);
	r.status = status;
	r.content_type = "application/json";
	r.retry_after = retry_after;
	r.body = copy;
	r.body_len = len;
	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);

	p->parse_response(state, &m, &r, &res);

	if (fz_verbose())
		fprintf(stderr,
		        "  status %ld -> class %d code \"%s\" id \"%s\" retry "
		        "%u ms: %s\n",
		        status, (int)res.result_class, res.upstream_code,
		        res.provider_message_id, res.retry_after_ms, res.error);
	FZ_CHECK(res.result_class == WA_RESULT_OK ||
	         res.result_class == WA_RESULT_RETRY ||
	         res.result_class == WA_RESULT_REJECT ||
	         res.result_class == WA_RESULT_CONFIG);
	FZ_CHECK(res.upstream_status == status);
	FZ_CHECK(fz_terminated(res.upstream_code, sizeof(res.upstream_code)));
	FZ_CHECK(fz_terminated(res.provider_message_id,
	                       sizeof(res.provider_message_id)));
	FZ_CHECK(fz_terminated(res.error, sizeof(res.error)));
	/* OK carries the provider's id; a failure says why. */
	if (res.result_class == WA_RESULT_OK)
		FZ_CHECK(res.provider_message_id[0] != '\0');
	else
		FZ_CHECK(res.error[0] != '\0');
	/* A 2xx is never retried (it could send the message twice). */
	if (status >= 200 && status < 300)
		FZ_CHECK(res.result_class != WA_RESULT_RETRY);
	/* Retry-After hints are capped at one hour (pc.h). */
	FZ_CHECK(res.retry_after_ms <= 3600u * 1000u);
	free(copy);
}

typedef struct fz_cb {
	wa_callback_request req; /* first: the plugin gets &req */
	const char *const *headers;
} fz_cb;

static const char *fz_cb_header(const wa_callback_request *req,
                                const char *name)
{
	const fz_cb *cb = (const fz_cb *)req;

	for (const char *const *h = cb->headers; h && h[0] && h[1]; h += 2)
		if (strcasecmp(h[0], name) == 0)
			return h[1];
	return NULL;
}

void fz_callback(const wa_provider *p, void *state, const fz_cb_input *in,
                 wa_callback_reply *reply)
{
	fz_cb cb;
	char *body = fz_copy(in->body, in->body_len);

	memset(&cb, 0, sizeof(cb));
	memset(reply, 0, sizeof(*reply));
	reply->struct_size = sizeof(*reply);
	cb.req.struct_size = sizeof(cb.req);
	cb.req.method = in->method;
	cb.req.public_url = in->public_url;
	cb.req.query = in->query ? in->query : "";
	cb.req.content_type = in->content_type;
	cb.req.body = body;
	cb.req.body_len = in->body_len;
	cb.req.header = fz_cb_header;
	cb.headers = in->headers;

	p->on_callback(state, &cb.req, reply);

	if (fz_verbose()) {
		fprintf(stderr, "  %s -> %d \"%s\", %zu updates\n", in->method,
		        reply->http_status, reply->body, reply->n_updates);
		for (size_t i = 0; i < reply->n_updates; i++)
			fprintf(stderr,
			        "    %s status %d at %lld code \"%s\": %s\n",
			        reply->updates[i].provider_message_id,
			        (int)reply->updates[i].status,
			        (long long)reply->updates[i].occurred_at_ms,
			        reply->updates[i].error_code,
			        reply->updates[i].error);
	}
	FZ_CHECK(reply->http_status == 0 ||
	         (reply->http_status >= 100 && reply->http_status <= 599));
	FZ_CHECK(
	    fz_terminated(reply->content_type, sizeof(reply->content_type)));
	FZ_CHECK(fz_terminated(reply->body, sizeof(reply->body)));
	FZ_CHECK(reply->n_updates <= WA_STATUS_UPDATES_MAX);
	/* Forged, unsigned or malformed requests carry no updates. */
	if (reply->http_status != 0 && reply->http_status != 200)
		FZ_CHECK(reply->n_updates == 0);
	for (size_t i = 0; i < reply->n_updates; i++) {
		const wa_status_update *u = &reply->updates[i];

		FZ_CHECK(u->status == WA_STATUS_SENT ||
		         u->status == WA_STATUS_DELIVERED ||
		         u->status == WA_STATUS_READ ||
		         u->status == WA_STATUS_FAILED);
		FZ_CHECK(fz_terminated(u->provider_message_id,
		                       sizeof(u->provider_message_id)));
		FZ_CHECK(u->provider_message_id[0] != '\0');
		FZ_CHECK(fz_terminated(u->error_code, sizeof(u->error_code)));
		FZ_CHECK(fz_terminated(u->error, sizeof(u->error)));
		FZ_CHECK(u->occurred_at_ms >= 0);
	}
	free(body);
}

void fz_response_input(const wa_provider *p, void *state, const uint8_t *data,
                       size_t size)
{
	static const long fixed[] = {200, 201, 400, 401, 404, 429, 500};
	long status = 200;
	char *line = NULL, *retry = NULL;

	if (size && ((data[0] >= '0' && data[0] <= '9') || data[0] == '-')) {
		char *end;

		line = fz_field(&data, &size);
		status = strtol(line, &end, 10);
		if (*end == ' ')
			retry = end + 1;
	}
	fz_parse_response(p, state, status, retry, (const char *)data, size);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i] != status)
			fz_parse_response(p, state, fixed[i], retry,
			                  (const char *)data, size);
	free(line);
}
