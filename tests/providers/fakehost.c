/* fakehost.c - a fake wa_host for provider unit tests: config table, captured
 * log, dlopen helper */
#include "fakehost.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const *fh_config;
static char fh_lines[FH_MAX_LINES][512];
static size_t fh_nlines;

__attribute__((format(printf, 3, 4))) static void
fh_log(const wa_host *host, wa_log_level level, const char *fmt, ...)
{
	va_list ap;
	char *line;

	(void)host;
	if (fh_nlines >= FH_MAX_LINES)
		return;
	line = fh_lines[fh_nlines++];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(fh_lines[0]), fmt, ap);
	va_end(ap);
	fprintf(stderr, "[plugin log %d] %s\n", (int)level, line);
}

static const char *fh_config_get(const wa_host *host, const char *key)
{
	size_t n = strlen(key);

	(void)host;
	for (const char *const *kv = fh_config; kv && *kv; kv++)
		if (strncmp(*kv, key, n) == 0 && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

static const wa_host fh_table = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_host),
    .log = fh_log,
    .config_get = fh_config_get,
    .host_data = NULL,
};

void fh_set_config(const char *const *kv)
{
	fh_config = kv;
}

const wa_host *fh_host(void)
{
	return &fh_table;
}

size_t fh_log_count(void)
{
	return fh_nlines;
}

const char *fh_log_line(size_t i)
{
	return i < fh_nlines ? fh_lines[i] : NULL;
}

bool fh_log_contains(const char *needle)
{
	for (size_t i = 0; i < fh_nlines; i++)
		if (strstr(fh_lines[i], needle))
			return true;
	return false;
}

void fh_log_clear(void)
{
	fh_nlines = 0;
}

const wa_provider *fh_load(const char *name)
{
	const char *dir = getenv("WA_PROVIDER_BUILD_DIR");
	char path[1024];
	void *h;
	wa_provider_entry_fn entry;
	const wa_provider *p;

	snprintf(path, sizeof(path), "%s/%s.so", dir ? dir : "./providers",
	         name);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		exit(1);
	}
	*(void **)(&entry) = dlsym(h, WA_PROVIDER_ENTRY_SYMBOL);
	if (!entry) {
		fprintf(stderr, "%s: no entry symbol\n", path);
		exit(1);
	}
	p = entry(WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR);
	if (!p) {
		fprintf(stderr, "%s: entry refused the host ABI\n", path);
		exit(1);
	}
	/* Only the entry symbol may leave the object. */
	if (dlsym(h, "wa_pc_twilio_signature") ||
	    dlsym(h, "wa_pc_json_parse") || dlsym(h, "wa_pc_hmac_sha256") ||
	    dlsym(h, "wa_pc_form_parse")) {
		fprintf(stderr, "%s: exports helper symbols\n", path);
		exit(1);
	}
	return p;
}

int fh_init(const wa_provider *p, void **state, char *err, size_t err_len)
{
	err[0] = '\0';
	return p->init(&fh_table, state, err, err_len);
}

char *fh_fixture(const char *name, size_t *len)
{
	const char *src = getenv("WA_SOURCE_DIR");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", src ? src : ".",
	         name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open fixture %s\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
	return buf;
}

void fh_req_init(wa_http_request *req, size_t cap)
{
	memset(req, 0, sizeof(*req));
	req->struct_size = sizeof(*req);
	req->body = calloc(1, cap);
	req->body_cap = cap;
	if (!req->body)
		exit(1);
}

void fh_req_free(wa_http_request *req)
{
	free(req->body);
	req->body = NULL;
}

const char *fh_req_header(const wa_http_request *req, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < req->n_headers; i++)
		if (strncasecmp(req->headers[i], name, n) == 0 &&
		    req->headers[i][n] == ':' && req->headers[i][n + 1] == ' ')
			return req->headers[i] + n + 2;
	return NULL;
}

wa_message fh_msg(const char *phone, const char *body)
{
	wa_message m;

	memset(&m, 0, sizeof(m));
	m.struct_size = sizeof(m);
	m.message_id = "msg-00000000-0000-4000-8000-000000000001";
	m.external_id = "ext-1";
	m.recipient_phone = phone;
	m.message_body = body;
	m.attempt = 1;
	return m;
}

wa_result fh_parse(const wa_provider *p, void *state, long status,
                   const char *body, size_t len, const char *retry_after)
{
	wa_http_response r;
	wa_result res;
	wa_message m = fh_msg("+15558675310", "hi");

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	r.struct_size = sizeof(r);
	res.struct_size = sizeof(res);
	r.status = status;
	r.content_type = "application/json";
	r.retry_after = retry_after;
	r.body = body ? body : "";
	r.body_len = body ? len : 0;
	p->parse_response(state, &m, &r, &res);
	return res;
}

wa_result fh_parse_str(const wa_provider *p, void *state, long status,
                       const char *body)
{
	return fh_parse(p, state, status, body, strlen(body), NULL);
}

wa_result fh_parse_fixture(const wa_provider *p, void *state, long status,
                           const char *fixture)
{
	size_t n;
	char *f = fh_fixture(fixture, &n);
	wa_result r = fh_parse(p, state, status, f, n, NULL);

	free(f);
	return r;
}

typedef struct fh_cb {
	wa_callback_request req;
	const char *const *headers;
} fh_cb;

static const char *fh_cb_header(const wa_callback_request *req,
                                const char *name)
{
	const fh_cb *cb = (const fh_cb *)req;

	for (const char *const *h = cb->headers; h && h[0] && h[1]; h += 2)
		if (strcasecmp(h[0], name) == 0)
			return h[1];
	return NULL;
}

void fh_callback(const wa_provider *p, void *state, const char *method,
                 const char *public_url, const char *query,
                 const char *content_type, const char *body, size_t body_len,
                 const char *const *headers, wa_callback_reply *reply)
{
	fh_cb cb;

	memset(&cb, 0, sizeof(cb));
	memset(reply, 0, sizeof(*reply));
	reply->struct_size = sizeof(*reply);
	cb.req.struct_size = sizeof(cb.req);
	cb.req.method = method;
	cb.req.public_url = public_url;
	cb.req.query = query ? query : "";
	cb.req.content_type = content_type;
	cb.req.body = body ? body : "";
	cb.req.body_len = body ? body_len : 0;
	cb.req.header = fh_cb_header;
	cb.headers = headers;
	p->on_callback(state, &cb.req, reply);
}

int fh_secret_leaks(const wa_provider *p, const char *const *extra)
{
	int leaks = 0;

	for (size_t i = 0; i < fh_nlines; i++) {
		for (const wa_config_key *k = p->config_keys; k && k->name;
		     k++) {
			const char *v;

			if (!(k->flags & WA_CONFIG_SECRET))
				continue;
			v = fh_config_get(&fh_table, k->name);
			if (v && *v && strstr(fh_lines[i], v)) {
				fprintf(stderr, "secret %s in log: %s\n",
				        k->name, fh_lines[i]);
				leaks++;
			}
		}
		for (const char *const *e = extra; e && *e; e++) {
			if (strstr(fh_lines[i], *e)) {
				fprintf(stderr, "\"%s\" in log: %s\n", *e,
				        fh_lines[i]);
				leaks++;
			}
		}
	}
	return leaks;
}
