/* httptest_provider.c - an HTTP-pair provider for engine tests (talks to
 * fakehttp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wadispatch/provider.h>

/* The message body names the scenario: the request goes to
 * <HTTPTEST_URL>/<body>, or to HTTPTEST_DEAD_URL when the body is
 * "refused". The reply body (2xx) is the provider message id. */
static const wa_config_key keys[] = {
    {"HTTPTEST_URL", NULL, WA_CONFIG_REQUIRED, "Base URL of the fake server."},
    {"HTTPTEST_DEAD_URL", "http://127.0.0.1:1", 0, "A URL nobody listens on."},
    {"HTTPTEST_TOKEN", "test-token", WA_CONFIG_SECRET, "Bearer token sent."},
    {NULL, NULL, 0, NULL},
};

typedef struct ht_state {
	char url[512];
	char dead[512];
	char token[128];
} ht_state;

static const char *get(const wa_host *h, const char *k, const char *def)
{
	const char *v = h->config_get(h, k);

	return v && *v ? v : def;
}

static int ht_init(const wa_host *host, void **state, char *err, size_t err_len)
{
	ht_state *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	snprintf(s->url, sizeof(s->url), "%s", get(host, "HTTPTEST_URL", ""));
	snprintf(s->dead, sizeof(s->dead), "%s",
	         get(host, "HTTPTEST_DEAD_URL", "http://127.0.0.1:1"));
	snprintf(s->token, sizeof(s->token), "%s",
	         get(host, "HTTPTEST_TOKEN", "test-token"));
	*state = s;
	return 0;
}

static void ht_destroy(void *state)
{
	free(state);
}

static int ht_build(void *state, const wa_message *msg, wa_http_request *req,
                    wa_result *res)
{
	ht_state *s = state;
	const char *body = msg->message_body;
	int n;

	if (strcmp(body, "toolong") == 0) {
		res->result_class = WA_RESULT_REJECT;
		snprintf(res->error, sizeof(res->error),
		         "body too long (test)");
		return -1;
	}
	if (strcmp(body, "refused") == 0)
		n = snprintf(req->url, sizeof(req->url), "%s/x", s->dead);
	else
		/* the token in the query too: the host must hide it in logs */
		n = snprintf(req->url, sizeof(req->url), "%s/%s?key=%s", s->url,
		             body, s->token);
	if (n < 0 || (size_t)n >= sizeof(req->url)) {
		res->result_class = WA_RESULT_REJECT;
		snprintf(res->error, sizeof(res->error), "URL too long");
		return -1;
	}
	snprintf(req->method, sizeof(req->method), "POST");
	snprintf(req->headers[0], WA_HEADER_MAX, "Authorization: Bearer %s",
	         s->token);
	snprintf(req->headers[1], WA_HEADER_MAX, "X-Message-Id: %s",
	         msg->message_id);
	snprintf(req->headers[2], WA_HEADER_MAX, "Content-Type: text/plain");
	req->n_headers = 3;
	n = snprintf(req->body, req->body_cap, "%s attempt %u", msg->message_id,
	             (unsigned)msg->attempt);
	req->body_len = n > 0 && (size_t)n < req->body_cap ? (size_t)n : 0;
	return 0;
}

static void ht_parse(void *state, const wa_message *msg,
                     const wa_http_response *resp, wa_result *res)
{
	long st = resp->status;

	(void)state;
	(void)msg;
	res->upstream_status = st;
	if (st >= 200 && st < 300) {
		res->result_class = WA_RESULT_OK;
		snprintf(res->provider_message_id,
		         sizeof(res->provider_message_id), "%.100s",
		         resp->body);
		return;
	}
	snprintf(res->upstream_code, sizeof(res->upstream_code), "http_%ld",
	         st);
	if (st == 429 || st >= 500) {
		res->result_class = WA_RESULT_RETRY;
		if (resp->retry_after)
			res->retry_after_ms =
			    (uint32_t)strtoul(resp->retry_after, NULL, 10) *
			    1000u;
		snprintf(res->error, sizeof(res->error), "upstream HTTP %ld",
		         st);
	} else if (st == 401 || st == 403) {
		res->result_class = WA_RESULT_CONFIG;
		snprintf(res->error, sizeof(res->error),
		         "credentials refused (HTTP %ld)", st);
	} else if (st >= 300 && st < 400) {
		res->result_class = WA_RESULT_REJECT;
		snprintf(res->error, sizeof(res->error),
		         "unexpected redirect (HTTP %ld)", st);
	} else {
		res->result_class = WA_RESULT_REJECT;
		snprintf(res->error, sizeof(res->error), "refused (HTTP %ld)",
		         st);
	}
}

static const wa_provider ht_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_provider),
    .name = "httptest",
    .version = "1.0",
    .description = "HTTP-pair provider for the engine tests",
    .config_keys = keys,
    .message_id_name = "ht_id",
    .default_rate = 0,
    .init = ht_init,
    .destroy = ht_destroy,
    .build_request = ht_build,
    .parse_response = ht_parse,
};

WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t major,
                                                           uint32_t minor);
WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t major,
                                                           uint32_t minor)
{
	(void)minor;
	return major == WA_PROVIDER_ABI_MAJOR ? &ht_provider : NULL;
}
