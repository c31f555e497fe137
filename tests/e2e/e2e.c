/* e2e.c - small helpers shared by the end-to-end tests */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long e2e_post(const wa_daemon *d, const char *path, const char *body,
              const char *const *extra, wa_http_reply *r)
{
	const char *h[16] = {"X-API-Key: " E2E_KEY,
	                     "Content-Type: application/json"};
	size_t n = 2;
	char url[512];

	for (const char *const *e = extra; e && *e && n < 15; e++)
		h[n++] = *e;
	h[n] = NULL;
	snprintf(url, sizeof(url), "%s%s", d->base, path);
	if (wa_h_http("POST", url, h, body, strlen(body), r) != 0)
		return -1;
	return r->status;
}

long e2e_send(const wa_daemon *d, const char *ext, const char *phone,
              const char *text, const char *const *extra, wa_http_reply *r)
{
	char body[2048];
	snprintf(body, sizeof(body),
	         "{\"recipient_phone\":\"%s\",\"message_body\":\"%s\","
	         "\"external_id\":\"%s\"}",
	         phone, text, ext);
	return e2e_post(d, "/v1/messages/send", body, extra, r);
}

long e2e_get(const wa_daemon *d, const char *path, wa_http_reply *r)
{
	const char *h[] = {"X-API-Key: " E2E_KEY, NULL};
	char url[512];
	snprintf(url, sizeof(url), "%s%s", d->base, path);
	if (wa_h_http("GET", url, h, NULL, 0, r) != 0)
		return -1;
	return r->status;
}

long long e2e_metric(const wa_daemon *d, const char *name)
{
	wa_http_reply r;
	long long v = -1;
	const char *p;

	if (e2e_get(d, "/metrics", &r) == 200 && (p = strstr(r.body, name)) &&
	    (p = strchr(p, ' ')))
		v = atoll(p + 1);
	wa_h_reply_free(&r);
	return v;
}

const char *e2e_field(const char *json, const char *key, char *out, size_t len)
{
	char pat[128];
	const char *p;
	size_t n = 0;

	out[0] = 0;
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = json ? strstr(json, pat) : NULL;
	if (!p)
		return out;
	p += strlen(pat);
	while (*p && *p != '"' && n + 1 < len)
		out[n++] = *p++;
	out[n] = 0;
	return out;
}

const char *e2e_status(const wa_daemon *d, const char *id, char *out,
                       size_t len)
{
	wa_http_reply r;
	char path[256];

	snprintf(path, sizeof(path), "/v1/messages/%s", id);
	out[0] = 0;
	if (e2e_get(d, path, &r) == 200)
		e2e_field(r.body, "status", out, len);
	wa_h_reply_free(&r);
	return out;
}

int e2e_wait_status(const wa_daemon *d, const char *id, const char *want,
                    int timeout_ms)
{
	char st[32];
	struct timespec ts = {0, 10 * 1000000L};

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (strcmp(e2e_status(d, id, st, sizeof(st)), want) == 0)
			return 1;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "message %s: status %s, wanted %s\n", id, st, want);
	return 0;
}
