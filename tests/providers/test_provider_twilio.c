/* test_provider_twilio.c - twilio.so through a fake host: config, request
 * bytes, reply classes, signed callbacks */
#include "fakehost.h"
#include "pc.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define SID "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN "test_auth_token_0123456789abcdef"
#define KEY_SID "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KEY_SECRET "test_api_key_secret"
#define MSID "MGcccccccccccccccccccccccccccccccc"
#define PHONE "+15558675310"

static const wa_provider *p;

static int init_with(const char *const *kv, void **st, char *err, size_t n)
{
	fh_set_config(kv);
	return fh_init(p, st, err, n);
}

static void expect_config_error(const char *const *kv, const char *names)
{
	void *st = NULL;
	char err[256];

	CHECK_INT(init_with(kv, &st, err, sizeof(err)), -1);
	CHECK(st == NULL);
	CHECK_CONTAINS(err, names);
	CHECK(strstr(err, TOKEN) == NULL && strstr(err, KEY_SECRET) == NULL);
}

static void test_config(void)
{
	const char *none[] = {NULL};
	const char *bad_sid[] = {"TWILIO_ACCOUNT_SID=AC123",
	                         "TWILIO_AUTH_TOKEN=" TOKEN,
	                         "TWILIO_FROM=+14155552345", NULL};
	const char *sk_as_sid[] = {"TWILIO_ACCOUNT_SID=" KEY_SID,
	                           "TWILIO_AUTH_TOKEN=" TOKEN,
	                           "TWILIO_FROM=+14155552345", NULL};
	const char *no_token[] = {"TWILIO_ACCOUNT_SID=" SID,
	                          "TWILIO_FROM=+14155552345", NULL};
	const char *half_key[] = {"TWILIO_ACCOUNT_SID=" SID,
	                          "TWILIO_API_KEY_SID=" KEY_SID,
	                          "TWILIO_FROM=+14155552345", NULL};
	const char *half_key2[] = {"TWILIO_ACCOUNT_SID=" SID,
	                           "TWILIO_API_KEY_SECRET=" KEY_SECRET,
	                           "TWILIO_FROM=+14155552345", NULL};
	const char *bad_key[] = {"TWILIO_ACCOUNT_SID=" SID,
	                         "TWILIO_API_KEY_SID=AC1",
	                         "TWILIO_API_KEY_SECRET=" KEY_SECRET,
	                         "TWILIO_FROM=+14155552345", NULL};
	const char *no_from[] = {"TWILIO_ACCOUNT_SID=" SID,
	                         "TWILIO_AUTH_TOKEN=" TOKEN, NULL};
	const char *bad_from[] = {"TWILIO_ACCOUNT_SID=" SID,
	                          "TWILIO_AUTH_TOKEN=" TOKEN,
	                          "TWILIO_FROM=whatsapp:14a", NULL};
	const char *bad_ms[] = {"TWILIO_ACCOUNT_SID=" SID,
	                        "TWILIO_AUTH_TOKEN=" TOKEN,
	                        "TWILIO_MESSAGING_SERVICE_SID=MG12", NULL};
	const char *bad_base[] = {
	    "TWILIO_ACCOUNT_SID=" SID, "TWILIO_AUTH_TOKEN=" TOKEN,
	    "TWILIO_FROM=+14155552345", "TWILIO_API_BASE=ftp://x", NULL};
	const char *bad_pub[] = {
	    "TWILIO_ACCOUNT_SID=" SID, "TWILIO_AUTH_TOKEN=" TOKEN,
	    "TWILIO_FROM=+14155552345", "PUBLIC_BASE_URL=wa.example.com", NULL};

	expect_config_error(none, "TWILIO_ACCOUNT_SID");
	expect_config_error(bad_sid, "TWILIO_ACCOUNT_SID");
	expect_config_error(sk_as_sid, "TWILIO_ACCOUNT_SID");
	expect_config_error(no_token, "TWILIO_AUTH_TOKEN");
	expect_config_error(half_key, "TWILIO_API_KEY_SECRET");
	expect_config_error(half_key2, "TWILIO_API_KEY_SID");
	expect_config_error(bad_key, "TWILIO_API_KEY_SID");
	expect_config_error(no_from,
	                    "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID");
	expect_config_error(bad_from, "TWILIO_FROM");
	expect_config_error(bad_ms, "TWILIO_MESSAGING_SERVICE_SID");
	expect_config_error(bad_base, "TWILIO_API_BASE");
	expect_config_error(bad_pub, "PUBLIC_BASE_URL");
	CHECK(strcmp(p->name, "twilio") == 0 && p->default_rate == 80);
	CHECK_STR(p->message_id_name, "sid");
}

static void test_build_token(void)
{
	const char *kv[] = {"TWILIO_ACCOUNT_SID=" SID,
	                    "TWILIO_AUTH_TOKEN=" TOKEN,
	                    "TWILIO_FROM=14155552345",
	                    "PUBLIC_BASE_URL=https://wa.example.com/", NULL};
	wa_http_request req;
	wa_result res;
	wa_message m = fh_msg(PHONE, "Hello from the dispatcher");
	void *st = NULL;
	char err[256];

	CHECK_INT(init_with(kv, &st, err, sizeof(err)), 0);
	fh_req_init(&req, 65536);
	memset(&res, 0, sizeof(res));
	CHECK_INT(p->build_request(st, &m, &req, &res), 0);
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.url, "https://api.twilio.com/2010-04-01/Accounts/" SID
	                   "/Messages.json");
	CHECK_STR(fh_req_header(&req, "Authorization"),
	          "Basic "
	          "QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp0ZXN0X2F1dGhf"
	          "dG9rZW5fMDEyMzQ1Njc4OWFiY2RlZg==");
	CHECK_STR(fh_req_header(&req, "Content-Type"),
	          "application/x-www-form-urlencoded");
	CHECK_STR(req.body,
	          "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%2B14155552345"
	          "&Body=Hello%20from%20the%20dispatcher"
	          "&StatusCallback=https%3A%2F%2Fwa.example.com%2Fv1%"
	          "2Fproviders%2Ftwilio%2Fcallback");
	CHECK_INT(req.body_len, strlen(req.body));
	fh_req_free(&req);

	/* Body limit: 1600 code points pass (even at 4 bytes each), 1601 do
	 * not. */
	{
		size_t n = 1600 * 4;
		char *big = malloc(n + 2);

		for (size_t i = 0; i < n; i += 4)
			memcpy(big + i, "\xf0\x9f\x98\x80", 4);
		big[n] = '\0';
		m = fh_msg(PHONE, big);
		fh_req_init(&req, 65536);
		memset(&res, 0, sizeof(res));
		CHECK_INT(p->build_request(st, &m, &req, &res), 0);
		fh_req_free(&req);
		memset(big, 'a', 1601);
		big[1601] = '\0';
		fh_req_init(&req, 65536);
		memset(&res, 0, sizeof(res));
		CHECK_INT(p->build_request(st, &m, &req, &res), -1);
		CHECK_INT(res.result_class, WA_RESULT_REJECT);
		CHECK_CONTAINS(res.error, "1600");
		CHECK_INT(req.body_len, 0);
		fh_req_free(&req);
		/* A host buffer too small for the encoding: refused, no
		 * overflow. */
		big[1600] = '\0';
		memset(big, ' ', 1600);
		fh_req_init(&req, 1024);
		memset(&res, 0, sizeof(res));
		CHECK_INT(p->build_request(st, &m, &req, &res), -1);
		CHECK_INT(res.result_class, WA_RESULT_REJECT);
		fh_req_free(&req);
		free(big);
	}

	/* Templates: ContentSid + ContentVariables, no Body; media. */
	{
		const char *vars[] = {"Ana", "12/05 \"x\""};

		m = fh_msg(PHONE, "ignored");
		m.template_name = "HXdddddddddddddddddddddddddddddddd";
		m.template_variables = vars;
		m.n_template_variables = 2;
		m.media_url = "https://cdn.example.com/a b.png";
		fh_req_init(&req, 65536);
		memset(&res, 0, sizeof(res));
		CHECK_INT(p->build_request(st, &m, &req, &res), 0);
		CHECK_STR(req.body,
		          "To=whatsapp%3A%2B15558675310&From=whatsapp%3A%"
		          "2B14155552345"
		          "&ContentSid=HXdddddddddddddddddddddddddddddddd"
		          "&ContentVariables=%7B%221%22%3A%22Ana%22%2C%222%22%"
		          "3A%2212%2F05%20%5C%22x%5C%22%22%7D"
		          "&MediaUrl=https%3A%2F%2Fcdn.example.com%2Fa%20b.png"
		          "&StatusCallback=https%3A%2F%2Fwa.example.com%2Fv1%"
		          "2Fproviders%2Ftwilio%2Fcallback");
		fh_req_free(&req);
		m.template_name = "welcome_message";
		fh_req_init(&req, 65536);
		memset(&res, 0, sizeof(res));
		CHECK_INT(p->build_request(st, &m, &req, &res), -1);
		CHECK_INT(res.result_class, WA_RESULT_REJECT);
		fh_req_free(&req);
	}
	p->destroy(st);
}

static void test_build_key_and_service(void)
{
	const char *kv[] = {"TWILIO_ACCOUNT_SID=" SID,
	                    "TWILIO_API_KEY_SID=" KEY_SID,
	                    "TWILIO_API_KEY_SECRET=" KEY_SECRET,
	                    "TWILIO_MESSAGING_SERVICE_SID=" MSID,
	                    "TWILIO_FROM=whatsapp:+14155552345",
	                    "TWILIO_API_BASE=http://127.0.0.1:9/",
	                    NULL};
	wa_http_request req;
	wa_result res;
	wa_message m = fh_msg(PHONE, "a+b");
	void *st = NULL;
	char err[256];

	CHECK_INT(init_with(kv, &st, err, sizeof(err)), 0);
	fh_req_init(&req, 65536);
	memset(&res, 0, sizeof(res));
	CHECK_INT(p->build_request(st, &m, &req, &res), 0);
	CHECK_STR(req.url, "http://127.0.0.1:9/2010-04-01/Accounts/" SID
	                   "/Messages.json");
	CHECK_STR(fh_req_header(&req, "Authorization"),
	          "Basic "
	          "U0tiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYjp0ZXN0X2FwaV9r"
	          "ZXlfc2VjcmV0");
	CHECK_STR(req.body,
	          "To=whatsapp%3A%2B15558675310&MessagingServiceSid=" MSID
	          "&Body=a%2Bb");
	fh_req_free(&req);
	/* API-key auth without an Auth Token: callbacks cannot be verified. */
	{
		wa_callback_reply r;
		const char *h[] = {"X-Twilio-Signature",
		                   "xISWryz47By1wJ8RdtBLSQBKRm8=", NULL};
		size_t n;
		char *body = fh_fixture("twilio_callback_delivered.form", &n);

		fh_callback(p, st, "POST",
		            "http://127.0.0.1:8080/callbacks/twilio/status", "",
		            "application/x-www-form-urlencoded", body, n, h,
		            &r);
		CHECK_INT(r.http_status, 403);
		CHECK_INT(r.n_updates, 0);
		free(body);
	}
	p->destroy(st);
}

static void test_parse(void)
{
	const char *kv[] = {"TWILIO_ACCOUNT_SID=" SID,
	                    "TWILIO_AUTH_TOKEN=" TOKEN,
	                    "TWILIO_FROM=+14155552345", NULL};
	void *st = NULL;
	char err[256], *f, *huge;
	size_t n;
	wa_result r;

	CHECK_INT(init_with(kv, &st, err, sizeof(err)), 0);
	f = fh_fixture("twilio_success.json", &n);
	r = fh_parse(p, st, 201, f, n, NULL);
	CHECK_INT(r.result_class, WA_RESULT_OK);
	CHECK_STR(r.provider_message_id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_INT(r.upstream_status, 201);
	/* Truncated success: never OK. */
	r = fh_parse(p, st, 201, f, n / 2, NULL);
	CHECK(r.result_class != WA_RESULT_OK);
	free(f);

	f = fh_fixture("twilio_error_21211.json", &n);
	r = fh_parse(p, st, 400, f, n, NULL);
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	CHECK_STR(r.upstream_code, "21211");
	CHECK_INT(r.upstream_status, 400);
	free(f);
	r = fh_parse_str(
	    p, st, 400,
	    "{\"code\":21617,\"message\":\"The concatenated message body "
	    "exceeds the 1600 character limit.\",\"status\":400}");
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	CHECK_STR(r.upstream_code, "21617");
	r = fh_parse_str(
	    p, st, 400,
	    "{\"code\":21211,\"message\":\"The 'To' number +15558675310 is "
	    "not a valid phone number.\",\"status\":400}");
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	CHECK(strstr(r.error, "15558675310") == NULL);

	f = fh_fixture("twilio_error_20003.json", &n);
	r = fh_parse(p, st, 401, f, n, NULL);
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);
	CHECK_STR(r.upstream_code, "20003");
	r = fh_parse(p, st, 403, f, n, NULL);
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);
	free(f);
	r = fh_parse_str(
	    p, st, 404,
	    "{\"code\":20404,\"message\":\"The requested resource was not "
	    "found\",\"status\":404}");
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);

	f = fh_fixture("twilio_error_20429.json", &n);
	r = fh_parse(p, st, 429, f, n, "3");
	CHECK_INT(r.result_class, WA_RESULT_RETRY);
	CHECK_INT(r.retry_after_ms, 3000);
	CHECK_STR(r.upstream_code, "20429");
	free(f);
	r = fh_parse_str(p, st, 503, "");
	CHECK_INT(r.result_class, WA_RESULT_RETRY);
	CHECK_INT(r.retry_after_ms, 0);
	r = fh_parse_str(p, st, 502, "<html>bad gateway</html>");
	CHECK_INT(r.result_class, WA_RESULT_RETRY);

	/* Malformed, empty and huge replies: never OK, never a crash. */
	r = fh_parse_str(p, st, 201, "");
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse_str(p, st, 201, "{\"sid\":\"SMshort\"}");
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse_str(p, st, 201, "{\"sid\":12}");
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse_str(p, st, 400, "not json");
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	n = 1 << 20;
	huge = malloc(n + 1);
	memset(huge, 'a', n);
	huge[n] = '\0';
	memcpy(huge, "{\"sid\":\"SM", 10);
	memcpy(huge + n - 2, "\"}", 2);
	r = fh_parse(p, st, 201, huge, n, NULL);
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse(p, st, 500, huge, n, NULL);
	CHECK_INT(r.result_class, WA_RESULT_RETRY);
	memset(huge, '[', n);
	r = fh_parse(p, st, 201, huge, n, NULL);
	CHECK(r.result_class != WA_RESULT_OK);
	free(huge);
	p->destroy(st);
}

static void cb(void *st, const char *url, const char *body, const char *sig,
               wa_callback_reply *r)
{
	const char *h[] = {"X-Twilio-Signature", sig, NULL};

	fh_callback(p, st, "POST", url, "", "application/x-www-form-urlencoded",
	            body, strlen(body), sig ? h : NULL, r);
}

static const char *sign(const char *token, const char *url, const char *body)
{
	static char out[64];
	static wa_pc_form f;

	if (wa_pc_form_parse(&f, body, strlen(body)) != 0 ||
	    wa_pc_twilio_signature(token, url, &f, out, sizeof(out)) != 0)
		return "";
	return out;
}

static void test_callbacks(void)
{
	const char *kv[] = {"TWILIO_ACCOUNT_SID=" SID,
	                    "TWILIO_AUTH_TOKEN=" TOKEN,
	                    "TWILIO_FROM=+14155552345", NULL};
	const char *url = "http://127.0.0.1:8080/callbacks/twilio/status";
	void *st = NULL;
	char err[256], *body, *mod;
	size_t n;
	wa_callback_reply r;

	CHECK_INT(init_with(kv, &st, err, sizeof(err)), 0);
	body = fh_fixture("twilio_callback_delivered.form", &n);
	/* The self-computed vector of providers.md 6.1. */
	cb(st, url, body, "xISWryz47By1wJ8RdtBLSQBKRm8=", &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	CHECK_STR(r.updates[0].provider_message_id,
	          "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_INT(r.updates[0].status, WA_STATUS_DELIVERED);
	/* Signed with the default port spelled out: accepted, as Twilio's
	 * validators do. */
	cb(st, "https://wa.example.com/v1/providers/twilio/callback", body,
	   sign(TOKEN,
	        "https://wa.example.com:443/v1/providers/twilio/callback",
	        body),
	   &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	/* Forged, missing, wrong URL, and body modified after signing. */
	cb(st, url, body, "xISWryz47By1wJ8RdtBLSQBKRm9=", &r);
	CHECK_INT(r.http_status, 403);
	CHECK_INT(r.n_updates, 0);
	cb(st, url, body, NULL, &r);
	CHECK_INT(r.http_status, 403);
	CHECK_INT(r.n_updates, 0);
	cb(st, "http://127.0.0.1:8080/callbacks/twilio/other", body,
	   "xISWryz47By1wJ8RdtBLSQBKRm8=", &r);
	CHECK_INT(r.http_status, 403);
	mod = strdup(body);
	memcpy(strstr(mod, "MessageStatus=delivered"),
	       "MessageStatus=delivere2", 23);
	cb(st, url, mod, "xISWryz47By1wJ8RdtBLSQBKRm8=", &r);
	CHECK_INT(r.http_status, 403);
	CHECK_INT(r.n_updates, 0);
	free(mod);
	free(body);

	/* Failed / read / queued variants, signed with the same token. */
	body = "MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus="
	       "failed&ErrorCode=63016"
	       "&To=whatsapp%3A%2B15558675310";
	cb(st, url, body, sign(TOKEN, url, body), &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	CHECK_INT(r.updates[0].status, WA_STATUS_FAILED);
	CHECK_STR(r.updates[0].error_code, "63016");
	body = "MessageSid=MMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus="
	       "undelivered&ErrorCode=30008"
	       "&ChannelStatusMessage=Unknown%20error%20for%20%2B15558675310";
	cb(st, url, body, sign(TOKEN, url, body), &r);
	CHECK_INT(r.n_updates, 1);
	CHECK_INT(r.updates[0].status, WA_STATUS_FAILED);
	CHECK(strstr(r.updates[0].error, "15558675310") == NULL);
	body = "MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus="
	       "read&EventType=READ";
	cb(st, url, body, sign(TOKEN, url, body), &r);
	CHECK_INT(r.n_updates, 1);
	CHECK_INT(r.updates[0].status, WA_STATUS_READ);
	body =
	    "MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=sent";
	cb(st, url, body, sign(TOKEN, url, body), &r);
	CHECK_INT(r.updates[0].status, WA_STATUS_SENT);
	body = "MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus="
	       "queued";
	cb(st, url, body, sign(TOKEN, url, body), &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 0);
	body = "MessageStatus=sent";
	cb(st, url, body, sign(TOKEN, url, body), &r);
	CHECK_INT(r.http_status, 400);
	cb(st, url, "a=%zz", "xISWryz47By1wJ8RdtBLSQBKRm8=", &r);
	CHECK_INT(r.http_status, 400);
	CHECK_INT(r.n_updates, 0);
	p->destroy(st);
}

/* The official vectors through the plugin: URL port variants. */
static void test_callback_ports(void)
{
	const char *kv[] = {"TWILIO_ACCOUNT_SID=" SID,
	                    "TWILIO_API_KEY_SID=" KEY_SID,
	                    "TWILIO_API_KEY_SECRET=" KEY_SECRET,
	                    "TWILIO_WEBHOOK_AUTH_TOKEN=12345",
	                    "TWILIO_FROM=+14155552345",
	                    NULL};
	const char *body =
	    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
	    "&From=%2B14158675309&To=%2B18005551212";
	void *st = NULL;
	char err[256];
	wa_callback_reply r;

	CHECK_INT(init_with(kv, &st, err, sizeof(err)), 0);
	cb(st, "https://mycompany.com/myapp.php?foo=1&bar=2", body,
	   "RSOYDt4T1cUTdK1PDd93/VVr8B8=", &r);
	CHECK_INT(r.http_status, 200); /* verified; not a status callback */
	CHECK_INT(r.n_updates, 0);
	cb(st, "https://mycompany.com/myapp.php?foo=1&bar=2", body,
	   "kvajT1Ptam85bY51eRf/AJRuM3w=", &r);
	CHECK_INT(r.http_status, 200);
	cb(st, "https://mycompany.com:443/myapp.php?foo=1&bar=2", body,
	   "RSOYDt4T1cUTdK1PDd93/VVr8B8=", &r);
	CHECK_INT(r.http_status, 200);
	cb(st, "http://mycompany.com:1234/myapp.php?foo=1&bar=2", body,
	   "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", &r);
	CHECK_INT(r.http_status, 200);
	cb(st, "https://mycompany.com/myapp.php?foo=1&bar=3", body,
	   "RSOYDt4T1cUTdK1PDd93/VVr8B8=", &r);
	CHECK_INT(r.http_status, 403);
	p->destroy(st);
}

int main(void)
{
	const char *extra[] = {"15558675310", "QUNhYWFh", "U0tiYmJi",
	                       TOKEN,         KEY_SECRET, NULL};

	p = fh_load("twilio");
	test_config();
	test_build_token();
	test_build_key_and_service();
	test_parse();
	test_callbacks();
	test_callback_ports();
	CHECK(fh_log_count() > 0);
	CHECK_INT(fh_secret_leaks(p, extra), 0);
	CHECK(!fh_log_contains("12345"));
	return wa_t_report();
}
