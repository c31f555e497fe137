/* test_fakes.c - prove the fake Twilio / Evolution / Cloud API servers with
 * plain libcurl requests */
#include "fake_launch.h"
#include "fakehost.h"
#include "harness.h"
#include "testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TW_PATH                                                                \
	"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"             \
	"Messages.json"
/* base64("ACaaaa...:test_auth_token_0123456789abcdef") and the API-key pair */
#define TW_AUTH                                                                \
	"Authorization: Basic "                                                \
	"QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp0ZXN0X2F1dGhfdG9rZW5f" \
	"MDEyMzQ1Njc4OWFiY2RlZg=="
#define TW_KEY_AUTH                                                            \
	"Authorization: Basic "                                                \
	"U0tiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYjp0ZXN0X2FwaV9rZXlfc2Vj" \
	"cmV0"
#define FORM "Content-Type: application/x-www-form-urlencoded"
#define JSON "Content-Type: application/json"

static char dir[64];

static const char *rec(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static long post(const wa_fake *f, const char *path, const char *const *h,
                 const char *body, char **out)
{
	char url[256];
	wa_http_reply r;
	long st;

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	if (wa_h_http("POST", url, h, body, strlen(body), &r) != 0)
		return -1;
	st = r.status;
	if (out)
		*out = strdup(r.body);
	wa_h_reply_free(&r);
	return st;
}

static void test_twilio(void)
{
	const char *good[] = {TW_AUTH, FORM, NULL};
	const char *key[] = {TW_KEY_AUTH, FORM, NULL};
	const char *bad[] = {"Authorization: Basic QUM6eA==", FORM, NULL};
	const char *outage[] = {"--outage", "2", "--retry-after", "1", NULL};
	const char *authf[] = {"--auth-fail", NULL};
	wa_fake f;
	char *b = NULL;

	CHECK_INT(wa_fake_start(&f, "twilio", rec("twilio.jsonl"), NULL), 0);
	CHECK_INT(post(&f, TW_PATH, good,
	               "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=Hello%20from%20the%20dispatcher",
	               &b),
	          201);
	CHECK_CONTAINS(b, "\"sid\":\"SM00000000000000000000000000000001\"");
	CHECK_CONTAINS(b, "\"status\":\"queued\"");
	CHECK_CONTAINS(b, "\"body\":\"Hello from the dispatcher\"");
	free(b);
	CHECK_INT(post(&f, TW_PATH, key,
	               "To=whatsapp%3A%2B15558675310&MessagingServiceSid="
	               "MGcccccccccccccccccccccccccccccccc&ContentSid="
	               "HXdddddddddddddddddddddddddddddddd",
	               NULL),
	          201);
	CHECK_INT(post(&f, TW_PATH, bad,
	               "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=x",
	               &b),
	          401);
	CHECK_CONTAINS(b, "\"code\":20003");
	free(b);
	CHECK_INT(post(&f, TW_PATH, NULL, "To=x", NULL), 401);
	CHECK_INT(post(&f, TW_PATH, good,
	               "From=whatsapp%3A%2B14155552345&Body=x", &b),
	          400);
	CHECK_CONTAINS(b, "\"code\":21604");
	free(b);
	/* An unencoded '+' decodes to a space: invalid To, as at Twilio. */
	CHECK_INT(post(&f, TW_PATH, good,
	               "To=whatsapp:+15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=x",
	               &b),
	          400);
	CHECK_CONTAINS(b, "\"code\":21211");
	free(b);
	CHECK_INT(post(&f, TW_PATH, good, "To=whatsapp%3A%2B15558675310&Body=x",
	               NULL),
	          400);
	CHECK_INT(
	    post(&f, TW_PATH, good,
	         "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%2B14155552345",
	         NULL),
	    400);
	CHECK_INT(post(&f,
	               "/2010-04-01/Accounts/"
	               "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Messages.json",
	               good, "To=x", NULL),
	          404);
	CHECK_INT(wa_h_count_lines(f.record, "\"mode\":\"twilio\""), 2);
	CHECK_INT(
	    wa_h_count_lines(f.record, "\"to\":\"whatsapp:+15558675310\""), 2);
	CHECK_INT(wa_fake_stop(&f), 0);

	CHECK_INT(
	    wa_fake_start(&f, "twilio", rec("twilio-outage.jsonl"), outage), 0);
	CHECK_INT(post(&f, TW_PATH, good,
	               "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=x",
	               &b),
	          429);
	CHECK_CONTAINS(b, "20429");
	free(b);
	CHECK_INT(post(&f, TW_PATH, good,
	               "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=x",
	               NULL),
	          429);
	CHECK_INT(post(&f, TW_PATH, good,
	               "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=x",
	               NULL),
	          201);
	CHECK_INT(wa_h_count_lines(f.record, "\"n\":3"), 1);
	CHECK_INT(wa_fake_stop(&f), 0);

	CHECK_INT(wa_fake_start(&f, "twilio", rec("twilio-auth.jsonl"), authf),
	          0);
	CHECK_INT(post(&f, TW_PATH, good,
	               "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
	               "2B14155552345&Body=x",
	               NULL),
	          401);
	CHECK_INT(wa_fake_stop(&f), 0);
}

static void test_evolution(void)
{
	const char *good[] = {"apikey: test_evolution_key_0123", JSON, NULL};
	const char *bad[] = {"apikey: nope", JSON, NULL};
	const char *outage[] = {"--outage", "1", NULL};
	const char *p = "/message/sendText/dispatcher";
	wa_fake f;
	char *b = NULL;

	CHECK_INT(wa_fake_start(&f, "evolution", rec("evolution.jsonl"), NULL),
	          0);
	CHECK_INT(post(&f, p, good,
	               "{\"number\":\"5511999999999\",\"text\":\"Hello from "
	               "the dispatcher\"}",
	               &b),
	          201);
	CHECK_CONTAINS(b, "\"remoteJid\":\"5511999999999@s.whatsapp.net\"");
	CHECK_CONTAINS(b, "\"id\":\"3EB0000000000000000001\"");
	CHECK_CONTAINS(b, "\"status\":\"PENDING\"");
	free(b);
	CHECK_INT(post(&f, p, bad,
	               "{\"number\":\"5511999999999\",\"text\":\"x\"}", &b),
	          401);
	CHECK_CONTAINS(b, "Unauthorized");
	free(b);
	CHECK_INT(post(&f, p, good, "{\"number\":\"5511999999999\"}", &b), 400);
	CHECK_CONTAINS(b, "requires property \\\"text\\\"");
	free(b);
	CHECK_INT(post(&f, p, good,
	               "{\"number\":\"+55 11 99999\",\"text\":\"x\"}", NULL),
	          400);
	CHECK_INT(
	    post(&f, p, good, "{\"number\":\"9995511999\",\"text\":\"x\"}", &b),
	    400);
	CHECK_CONTAINS(b, "\"exists\":false");
	free(b);
	CHECK_INT(post(&f, "/message/sendText/other", bad, "{}", &b), 404);
	CHECK_CONTAINS(b, "instance does not exist");
	free(b);
	CHECK_INT(wa_h_count_lines(f.record, "\"to\":\"5511999999999\""), 1);
	CHECK_INT(wa_fake_stop(&f), 0);

	CHECK_INT(wa_fake_start(&f, "evolution", rec("evolution-outage.jsonl"),
	                        outage),
	          0);
	CHECK_INT(post(&f, p, good,
	               "{\"number\":\"5511999999999\",\"text\":\"x\"}", &b),
	          500);
	CHECK_CONTAINS(b, "Connection Closed");
	free(b);
	CHECK_INT(post(&f, p, good,
	               "{\"number\":\"5511999999999\",\"text\":\"x\"}", NULL),
	          201);
	CHECK_INT(wa_fake_stop(&f), 0);
}

static void test_cloudapi(void)
{
	const char *good[] = {
	    "Authorization: Bearer EAAtest_cloudapi_token_0123", JSON, NULL};
	const char *bad[] = {"Authorization: Bearer wrong", JSON, NULL};
	const char *outage[] = {"--outage", "1", "--outage-503", NULL};
	const char *p = "/v24.0/106540352242922/messages";
	const char *text = "{\"messaging_product\":\"whatsapp\",\"recipient_"
	                   "type\":\"individual\",\"to\":\"16505551234\","
	                   "\"type\":\"text\",\"text\":{\"preview_url\":false,"
	                   "\"body\":\"hi\"}}";
	wa_fake f;
	char *b = NULL;

	CHECK_INT(wa_fake_start(&f, "cloudapi", rec("cloudapi.jsonl"), NULL),
	          0);
	CHECK_INT(post(&f, p, good, text, &b), 200);
	CHECK_CONTAINS(b, "\"messages\":[{\"id\":\"wamid.");
	CHECK_CONTAINS(b, "\"wa_id\":\"16505551234\"");
	free(b);
	CHECK_INT(post(&f, p, good,
	               "{\"messaging_product\":\"whatsapp\",\"to\":"
	               "\"16505551234\",\"type\":\"template\","
	               "\"template\":{\"name\":\"hello_world\",\"language\":{"
	               "\"code\":\"en_US\"}}}",
	               NULL),
	          200);
	CHECK_INT(post(&f, p, bad, text, &b), 401);
	CHECK_CONTAINS(b, "\"code\":190");
	free(b);
	CHECK_INT(post(&f, p, good,
	               "{\"messaging_product\":\"whatsapp\",\"to\":"
	               "\"16505551234\",\"type\":\"text\"}",
	               &b),
	          400);
	CHECK_CONTAINS(b, "\"code\":100");
	free(b);
	CHECK_INT(post(&f, p, good,
	               "{\"to\":\"16505551234\",\"type\":\"text\",\"text\":{"
	               "\"body\":\"x\"}}",
	               NULL),
	          400);
	CHECK_INT(post(&f, "/v24.0/1/messages", good, text, NULL), 400);
	CHECK_INT(wa_h_count_lines(f.record, "\"mode\":\"cloudapi\""), 2);
	CHECK_INT(wa_h_count_lines(f.record, "\"template\":\"hello_world\""),
	          1);
	CHECK_INT(wa_fake_stop(&f), 0);

	CHECK_INT(
	    wa_fake_start(&f, "cloudapi", rec("cloudapi-outage.jsonl"), outage),
	    0);
	CHECK_INT(post(&f, p, good, text, NULL), 503);
	CHECK_INT(post(&f, p, good, text, NULL), 200);
	CHECK_INT(wa_fake_stop(&f), 0);
}

/* The real plugin's request against the fake, and its reply back through
 * the plugin: OK with the id the fake recorded. */
static void round_trip(const char *name, const char *mode,
                       const char *const *cfg_tail)
{
	const char *kv[16];
	char base_kv[128], err[256], url_key[64];
	const wa_provider *p = fh_load(name);
	wa_message m = fh_msg("+15558675310", "Round trip olá & +1");
	wa_http_request req;
	wa_result res;
	wa_http_reply r;
	const char *hdrs[WA_HEADERS_MAX + 1];
	void *st = NULL;
	wa_fake f;
	size_t n = 0;

	CHECK_INT(wa_fake_start(&f, mode, rec("roundtrip.jsonl"), NULL), 0);
	snprintf(url_key, sizeof(url_key), "%s", cfg_tail[0]);
	snprintf(base_kv, sizeof(base_kv), "%s=%s", url_key, f.base);
	kv[n++] = base_kv;
	for (const char *const *t = cfg_tail + 1; *t && n < 15; t++)
		kv[n++] = *t;
	kv[n] = NULL;
	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	fh_req_init(&req, 65536);
	memset(&res, 0, sizeof(res));
	CHECK_INT(p->build_request(st, &m, &req, &res), 0);
	for (n = 0; n < req.n_headers; n++)
		hdrs[n] = req.headers[n];
	hdrs[n] = NULL;
	CHECK_INT(
	    wa_h_http(req.method, req.url, hdrs, req.body, req.body_len, &r),
	    0);
	res = fh_parse(p, st, r.status, r.body, r.body_len, NULL);
	CHECK_INT(res.result_class, WA_RESULT_OK);
	CHECK(res.provider_message_id[0] != '\0');
	CHECK_INT(wa_h_count_lines(f.record, res.provider_message_id), 1);
	CHECK_INT(wa_h_count_lines(f.record, "Round trip olá & +1"), 1);
	wa_h_reply_free(&r);
	fh_req_free(&req);
	p->destroy(st);
	CHECK_INT(wa_fake_stop(&f), 0);
	unlink(f.record);
}

int main(void)
{
	const char *tw[] = {
	    "TWILIO_API_BASE",
	    "TWILIO_ACCOUNT_SID=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "TWILIO_AUTH_TOKEN=test_auth_token_0123456789abcdef",
	    "TWILIO_FROM=+14155552345", NULL};
	const char *ev[] = {"EVOLUTION_BASE_URL",
	                    "EVOLUTION_INSTANCE=dispatcher",
	                    "EVOLUTION_API_KEY=test_evolution_key_0123", NULL};
	const char *ca[] = {"CLOUDAPI_BASE_URL",
	                    "CLOUDAPI_TOKEN=EAAtest_cloudapi_token_0123",
	                    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922", NULL};

	snprintf(dir, sizeof(dir), "/tmp/wa-fakes-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_twilio();
	test_evolution();
	test_cloudapi();
	round_trip("twilio", "twilio", tw);
	round_trip("evolution", "evolution", ev);
	round_trip("cloudapi", "cloudapi", ca);
	{
		const char *names[] = {
		    "twilio.jsonl",           "twilio-outage.jsonl",
		    "twilio-auth.jsonl",      "evolution.jsonl",
		    "evolution-outage.jsonl", "cloudapi.jsonl",
		    "cloudapi-outage.jsonl",  NULL};

		for (const char *const *nm = names; *nm; nm++)
			unlink(rec(*nm));
		rmdir(dir);
	}
	return wa_t_report();
}
