/* test_http_contract.c - the seed's HTTP contract, byte for byte, against the
 * real daemon */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testing.h"

#define KEY "dev-api-key-12345"
#define KEY2 "second-key-abcdef"

static wa_daemon d;
static char record[400];

static long req(const char *method, const char *path, const char *const *hdrs,
                const char *body, wa_http_reply *r)
{
	char url[256];
	snprintf(url, sizeof(url), "%s%s", d.base, path);
	if (wa_h_http(method, url, hdrs, body, body ? strlen(body) : 0, r) != 0)
		return -1;
	return r->status;
}

static const char *json_hdrs[] = {"X-API-Key: " KEY,
                                  "Content-Type: application/json", NULL};

static int matches(const char *re, const char *s)
{
	regex_t rx;
	int ok;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

static void health(void)
{
	wa_http_reply r;
	CHECK_INT(req("GET", "/health", NULL, NULL, &r), 200);
	CHECK(matches(
	    "^\\{\"status\":\"ok\",\"timestamp\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\"\\}$",
	    r.body));
	char ct[128];
	CHECK_STR(wa_h_header(&r, "Content-Type", ct, sizeof(ct)),
	          "application/json; charset=utf-8");
	wa_h_reply_free(&r);
	CHECK_INT(req("GET", "/ready", NULL, NULL, &r), 200);
	CHECK_STR(r.body, "{\"status\":\"ready\"}");
	wa_h_reply_free(&r);
}

static void auth(void)
{
	wa_http_reply r;
	const char *nokey[] = {"Content-Type: application/json", NULL};
	const char *empty[] = {"X-API-Key:", "Content-Type: application/json",
	                       NULL};
	const char *wrong[] = {"X-API-Key: dev-api-key-12346",
	                       "Content-Type: application/json", NULL};
	const char *lower[] = {"x-api-key: " KEY2,
	                       "Content-Type: application/json", NULL};
	const char *good = "{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"a\",\"external_id\":\"auth-1\"}";

	CHECK_INT(req("POST", "/v1/messages/send", nokey, good, &r), 401);
	CHECK_STR(r.body, "{\"error\":\"Missing X-API-Key header\"}");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", empty, good, &r), 401);
	CHECK_STR(r.body, "{\"error\":\"Missing X-API-Key header\"}");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", wrong, good, &r), 401);
	CHECK_STR(r.body, "{\"error\":\"Invalid API Key\"}");
	wa_h_reply_free(&r);
	/* auth comes before the body is looked at */
	CHECK_INT(req("POST", "/v1/messages/send", wrong, "{not json", &r),
	          401);
	CHECK_STR(r.body, "{\"error\":\"Invalid API Key\"}");
	wa_h_reply_free(&r);
	/* the header name is case-insensitive; API_KEYS adds keys */
	CHECK_INT(req("POST", "/v1/messages/send", lower, good, &r), 200);
	wa_h_reply_free(&r);
	/* other routes are protected too */
	CHECK_INT(req("GET", "/v1/messages/msg-x", NULL, NULL, &r), 401);
	wa_h_reply_free(&r);
}

static void validation(void)
{
	wa_http_reply r;
	const char *missing = "{\"error\":\"Missing required fields: "
	                      "recipient_phone, message_body, external_id\"}";
	const char *badphone = "{\"error\":\"Invalid phone number format\"}";

	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs,
	              "{\"recipient_phone\":\"+5564999998888\"}", &r),
	          400);
	CHECK_STR(r.body, missing);
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs,
	              "{\"recipient_phone\":\"+5564999998888\",\"message_"
	              "body\":\"\",\"external_id\":\"x\"}",
	              &r),
	          400);
	CHECK_STR(r.body, missing);
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs,
	              "{\"recipient_phone\":\"123\",\"message_body\":\"a\","
	              "\"external_id\":\"x\"}",
	              &r),
	          400);
	CHECK_STR(r.body, badphone);
	wa_h_reply_free(&r);
	CHECK_INT(
	    req("POST", "/v1/messages/send", json_hdrs,
	        "{\"recipient_phone\":\"+55 64 "
	        "9999a-8888\",\"message_body\":\"a\",\"external_id\":\"x\"}",
	        &r),
	    400);
	CHECK_STR(r.body, badphone);
	wa_h_reply_free(&r);
	/* malformed JSON, trailing garbage, wrong type */
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs,
	              "{\"recipient_phone\":", &r),
	          400);
	CHECK_CONTAINS(r.body, "\"error\":\"Invalid JSON body");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, "{} []", &r),
	          400);
	CHECK_CONTAINS(r.body, "\"error\":\"Invalid JSON body");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, "\"text\"", &r),
	          400);
	CHECK_STR(r.body, "{\"error\":\"Request body must be a JSON object\"}");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, "", &r), 400);
	CHECK_STR(r.body, "{\"error\":\"Request body is empty\"}");
	wa_h_reply_free(&r);
	/* deep nesting */
	char deep[400] = "{\"a\":";
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, deep, &r), 400);
	wa_h_reply_free(&r);
	{
		/* embedded NUL: send raw bytes with an explicit length */
		char url[256];
		const char body[] =
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\0b\",\"external_id\":\"nul\"}";
		snprintf(url, sizeof(url), "%s/v1/messages/send", d.base);
		CHECK_INT(wa_h_http("POST", url, json_hdrs, body,
		                    sizeof(body) - 1, &r),
		          0);
		CHECK_INT(r.status, 400);
		CHECK_CONTAINS(r.body, "NUL");
		wa_h_reply_free(&r);
	}
}

static void http_errors(void)
{
	wa_http_reply r;
	char allow[64];
	const char *form[] = {"X-API-Key: " KEY,
	                      "Content-Type: application/x-www-form-urlencoded",
	                      NULL};
	const char *noct[] = {"X-API-Key: " KEY, "Content-Type:", NULL};

	CHECK_INT(req("GET", "/nope", NULL, NULL, &r), 404);
	CHECK_STR(r.body, "{\"error\":\"Not found\"}");
	wa_h_reply_free(&r);
	CHECK_INT(req("GET", "/v1/messages/send", json_hdrs, NULL, &r), 405);
	CHECK_STR(r.body, "{\"error\":\"Method not allowed\"}");
	CHECK_STR(wa_h_header(&r, "Allow", allow, sizeof(allow)), "POST");
	wa_h_reply_free(&r);
	CHECK_INT(req("DELETE", "/health", NULL, NULL, &r), 405);
	CHECK_STR(wa_h_header(&r, "Allow", allow, sizeof(allow)), "GET");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", form, "a=b", &r), 415);
	CHECK_STR(r.body,
	          "{\"error\":\"Content-Type must be application/json\"}");
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", noct, "{}", &r), 415);
	wa_h_reply_free(&r);
	/* over MAX_BODY_BYTES (set to 4096 for this daemon) */
	{
		size_t n = 5000;
		char *big = malloc(n + 1);
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		big[n] = 0;
		CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, big, &r),
		          413);
		CHECK_STR(r.body, "{\"error\":\"Request body too large\"}");
		wa_h_reply_free(&r);
		/* chunked upload with no Content-Length: cut while reading */
		const char *chunked[] = {"X-API-Key: " KEY,
		                         "Content-Type: application/json",
		                         "Transfer-Encoding: chunked", NULL};
		/* The answer is 413, or the connection is closed while the
		 * client is still sending: either way nothing is accepted. */
		long st = req("POST", "/v1/messages/send", chunked, big, &r);
		CHECK(st == 413 || st == -1);
		wa_h_reply_free(&r);
		free(big);
	}
	/* the server is still fine */
	CHECK_INT(req("GET", "/health", NULL, NULL, &r), 200);
	wa_h_reply_free(&r);
}

typedef struct sent {
	char id[64];
} sent;

static int all_recorded(void *arg)
{
	int want = *(int *)arg;
	return wa_h_count_lines(record, "msg-") >= want;
}

static void sends(void)
{
	enum { N = 20 };
	sent ids[N];
	wa_http_reply r;
	char body[256], needle[128];
	int want = N + 1; /* + the one from auth() */

	for (int i = 0; i < N; i++) {
		snprintf(body, sizeof(body),
		         "{\"recipient_phone\":\"+55 (64) "
		         "99999-%04d\",\"message_body\":\"Olá! Teste %d\","
		         "\"external_id\":\"campaign_1_contact_%d\"}",
		         i, i, i);
		CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, body, &r),
		          200);
		CHECK(matches("^\\{\"status\":\"queued\",\"message_id\":\"msg-["
		              "0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-"
		              "[89ab][0-9a-f]{3}-[0-9a-f]{12}\",\"provider_"
		              "details\":\\{\"provider\":\"mock\","
		              "\"queued_at\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:"
		              "]{8}\\.[0-9]{3}Z\"\\}\\}$",
		              r.body));
		snprintf(ids[i].id, sizeof(ids[i].id), "%.40s",
		         strstr(r.body, "msg-"));
		wa_h_reply_free(&r);
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			CHECK(strcmp(ids[i].id, ids[j].id) != 0);
	/* every accepted message reaches the mock exactly once */
	CHECK(wa_h_wait_for(all_recorded, &want, 20000));
	for (int i = 0; i < N; i++) {
		snprintf(needle, sizeof(needle), "%s campaign_1_contact_%d ",
		         ids[i].id, i);
		CHECK_INT(wa_h_count_lines(record, needle), 1);
	}
	CHECK_INT(wa_h_count_lines(record, "msg-"), want);
	/* the seed's log line, with the normalised number */
	CHECK(
	    wa_h_count_lines(
	        d.log_path,
	        "[MOCK] Enviando para +5564999990007: \\\"Olá! Teste 7\\\"") ==
	    1);
}

/* Rich content reaches the mock in canonical form (members in a fixed
 * order, whatever the request's order), and is part of idempotency. */
static void content(void)
{
	const char *a =
	    "{\"recipient_phone\":\"+5564999990100\","
	    "\"message_body\":\"Hi\",\"external_id\":\"content-1\","
	    "\"content\":{\"media\":{\"caption\":\"Look\",\"url\":"
	    "\"https://cdn.example.com/a.png\",\"type\":\"image\"}}}";
	const char *b = "{\"recipient_phone\":\"+5564999990100\","
	                "\"message_body\":\"Hi\",\"external_id\":\"content-1\","
	                "\"content\":{\"media\":{\"type\":\"video\",\"url\":"
	                "\"https://cdn.example.com/a.png\"}}}";
	int want = 22; /* sends() + auth() + this one */
	wa_http_reply r;
	char needle[160], id[48] = "", path[80];

	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, a, &r), 200);
	if (r.body && strstr(r.body, "msg-"))
		snprintf(id, sizeof(id), "%.40s", strstr(r.body, "msg-"));
	snprintf(needle, sizeof(needle), "%s content-1 mock-", id);
	wa_h_reply_free(&r);
	/* The message's page shows it as stored. */
	snprintf(path, sizeof(path), "/v1/messages/%s", id);
	CHECK_INT(req("GET", path, json_hdrs, NULL, &r), 200);
	CHECK_CONTAINS(r.body, "\"content\":{\"media\":{\"type\":\"image\","
	                       "\"url\":\"https://cdn.example.com/a.png\","
	                       "\"caption\":\"Look\"}}");
	wa_h_reply_free(&r);
	CHECK(wa_h_wait_for(all_recorded, &want, 20000));
	CHECK_INT(wa_h_count_lines(record, needle), 1);
	CHECK_INT(wa_h_count_lines(
	              record, " {\"media\":{\"type\":\"image\",\"url\":"
	                      "\"https://cdn.example.com/a.png\",\"caption\":"
	                      "\"Look\"}}"),
	          1);
	/* The same content again: a replay; other content: a conflict. */
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, a, &r), 200);
	wa_h_reply_free(&r);
	CHECK_INT(req("POST", "/v1/messages/send", json_hdrs, b, &r), 409);
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_count_lines(record, "msg-"), want);
}

static void logs_clean(void)
{
	/* No API key anywhere; no full phone number except the mock's line. */
	CHECK_INT(wa_h_count_lines(d.log_path, KEY2), 0);
	CHECK_INT(wa_h_count_lines(d.log_path, "dev-api-key-12346"), 0);
	char *log = wa_h_slurp(d.log_path, NULL);
	int bad = 0;
	for (char *line = log, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (strstr(line, "[MOCK] Enviando para"))
			continue;
		if (strstr(line, "55649999") || strstr(line, "5564999998888"))
			bad++, fprintf(stderr, "phone in log: %s\n", line);
		if (line[0] != '{')
			bad++, fprintf(stderr, "not JSON: %s\n", line);
	}
	free(log);
	CHECK_INT(bad, 0);
	/* the dev key is warned about */
	CHECK(wa_h_count_lines(d.log_path, "development API key") >= 1);
}

int main(void)
{
	char rec_kv[512];
	const char *env[] = {"API_KEY=" KEY,
	                     "API_KEYS=" KEY2,
	                     "MAX_BODY_BYTES=4096",
	                     "WHATSAPP_PROVIDER=mock",
	                     "MOCK_DELAY_MS=5",
	                     "BIND_ADDRESS=127.0.0.1",
	                     rec_kv,
	                     NULL};

	if (wa_h_daemon_init(&d) != 0)
		return 1;
	snprintf(record, sizeof(record), "%s/record.txt", d.dir);
	snprintf(rec_kv, sizeof(rec_kv), "MOCK_RECORD_FILE=%s", record);
	CHECK_INT(wa_h_daemon_start(&d, env), 0);
	if (d.pid <= 0)
		return wa_t_report() | 1;
	health();
	auth();
	validation();
	http_errors();
	sends();
	content();
	CHECK_INT(wa_h_daemon_stop(&d, 15 /* SIGTERM */, 15000), 0);
	logs_clean();
	return wa_t_report();
}
