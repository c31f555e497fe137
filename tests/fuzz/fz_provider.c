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

/* A NUL-terminated buffer holding valid UTF-8 (what the ABI promises). */
static bool fz_utf8(const char *buf, size_t cap)
{
	const unsigned char *s = (const unsigned char *)buf;

	if (!fz_terminated(buf, cap))
		return false;
	while (*s) {
		size_t n = *s < 0x80                    ? 1
		           : (*s >= 0xc2 && *s <= 0xdf) ? 2
		           : (*s >= 0xe0 && *s <= 0xef) ? 3
		           : (*s >= 0xf0 && *s <= 0xf4) ? 4
		                                        : 0;

		if (!n)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

/* "+" and 8 to 15 digits, the first not 0. */
static bool fz_phone(const char *s, size_t cap)
{
	size_t n;

	if (!fz_terminated(s, cap) || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strlen(s + 1);
	return n >= 8 && n <= 15 && strspn(s + 1, "0123456789") == n;
}

/* The ABI 1.2 parts: inbound messages, contact events, failure classes. */
static void fz_check_inbound(const wa_callback_reply *reply)
{
	bool ok = reply->http_status == 0 || reply->http_status == 200;

	FZ_CHECK(reply->n_inbound <= WA_INBOUND_MAX);
	FZ_CHECK(reply->n_contact_events <= WA_CONTACT_EVENTS_MAX);
	if (!ok)
		FZ_CHECK(reply->n_inbound == 0 && reply->n_contact_events == 0);
	for (size_t i = 0; i < WA_STATUS_UPDATES_MAX; i++) {
		wa_failure_class c = reply->failure_class[i];

		FZ_CHECK(c == WA_FAILURE_UNSPECIFIED ||
		         c == WA_FAILURE_PERMANENT ||
		         c == WA_FAILURE_RETRYABLE);
		/* Only FAILED updates are classed. */
		if (c != WA_FAILURE_UNSPECIFIED)
			FZ_CHECK(i < reply->n_updates &&
			         reply->updates[i].status == WA_STATUS_FAILED);
	}
	for (size_t i = 0; i < reply->n_inbound; i++) {
		const wa_inbound_message *m = &reply->inbound[i];

		FZ_CHECK((unsigned)m->type <= WA_INBOUND_LIST_REPLY);
		FZ_CHECK((m->flags & ~WA_INBOUND_TRUNCATED) == 0);
		FZ_CHECK(m->occurred_at_ms >= 0);
		FZ_CHECK(fz_utf8(m->provider_message_id,
		                 sizeof(m->provider_message_id)));
		FZ_CHECK(m->provider_message_id[0] != '\0');
		FZ_CHECK(fz_phone(m->from, sizeof(m->from)));
		FZ_CHECK(m->to[0] == '\0' || fz_phone(m->to, sizeof(m->to)));
		FZ_CHECK(fz_utf8(m->sender_name, sizeof(m->sender_name)));
		FZ_CHECK(fz_utf8(m->text, sizeof(m->text)));
		FZ_CHECK(fz_utf8(m->reply_id, sizeof(m->reply_id)));
		FZ_CHECK(fz_utf8(m->context_id, sizeof(m->context_id)));
		FZ_CHECK(fz_utf8(m->media_id, sizeof(m->media_id)));
		FZ_CHECK(fz_utf8(m->media_url, sizeof(m->media_url)));
		FZ_CHECK(fz_utf8(m->media_mime, sizeof(m->media_mime)));
		FZ_CHECK(
		    fz_utf8(m->media_file_name, sizeof(m->media_file_name)));
		/* One entry per provider id within a reply. */
		for (size_t k = 0; k < i; k++)
			FZ_CHECK(strcmp(reply->inbound[k].provider_message_id,
			                m->provider_message_id) != 0);
	}
	for (size_t i = 0; i < reply->n_contact_events; i++) {
		const wa_contact_event *e = &reply->contact_events[i];

		FZ_CHECK(e->kind == WA_CONTACT_OPTED_OUT ||
		         e->kind == WA_CONTACT_OPTED_IN);
		FZ_CHECK(e->occurred_at_ms >= 0);
		FZ_CHECK(fz_phone(e->phone, sizeof(e->phone)));
		FZ_CHECK(fz_utf8(e->source, sizeof(e->source)));
		FZ_CHECK(e->source[0] != '\0');
		FZ_CHECK(fz_terminated(e->detail, sizeof(e->detail)));
	}
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
		fprintf(stderr,
		        "  %s -> %d \"%s\", %zu updates, %zu inbound, %zu "
		        "contact events\n",
		        in->method, reply->http_status, reply->body,
		        reply->n_updates, reply->n_inbound,
		        reply->n_contact_events);
		for (size_t i = 0; i < reply->n_inbound && i < WA_INBOUND_MAX;
		     i++)
			fprintf(stderr, "    inbound %s type %d: \"%.60s\"\n",
			        reply->inbound[i].provider_message_id,
			        (int)reply->inbound[i].type,
			        reply->inbound[i].text);
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
	fz_check_inbound(reply);
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
