/* test_provider_cloudapi.c - cloudapi.so through a fake host: config, request
 * bytes, error codes, signed webhooks */
#include "fakehost.h"
#include "pc.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN "EAAtest_cloudapi_token_0123"
#define SECRET "test_app_secret"
#define VERIFY "test_verify_token_xyz"
#define URL "https://wa.example.com/v1/providers/cloudapi/callback"
#define SIG                                                                    \
	"sha256="                                                              \
	"00d762b7d1dc014bca70815eee5b9894b58f29dda08256caf254667c330aaedd"

static const wa_provider *p;

static void expect_config_error(const char *const *kv, const char *name)
{
	void *st = NULL;
	char err[256];

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, name);
	CHECK(strstr(err, TOKEN) == NULL);
}

static void test_config(void)
{
	const char *none[] = {NULL};
	const char *no_pid[] = {"CLOUDAPI_TOKEN=" TOKEN, NULL};
	const char *bad_pid[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                         "CLOUDAPI_PHONE_NUMBER_ID=+1650555", NULL};
	const char *bad_ver[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                         "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
	                         "CLOUDAPI_VERSION=24", NULL};
	const char *bad_base[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                          "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
	                          "CLOUDAPI_BASE_URL=graph.facebook.com", NULL};
	const char *bad_lang[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                          "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
	                          "CLOUDAPI_TEMPLATE_LANGUAGE=e n", NULL};

	expect_config_error(none, "CLOUDAPI_TOKEN");
	expect_config_error(no_pid, "CLOUDAPI_PHONE_NUMBER_ID");
	expect_config_error(bad_pid, "CLOUDAPI_PHONE_NUMBER_ID");
	expect_config_error(bad_ver, "CLOUDAPI_VERSION");
	expect_config_error(bad_base, "CLOUDAPI_BASE_URL");
	expect_config_error(bad_lang, "CLOUDAPI_TEMPLATE_LANGUAGE");
	CHECK_STR(p->message_id_name, "wamid");
	CHECK_INT(p->default_rate, 80);
}

static const char *build(void *st, const wa_message *m, wa_http_request *req,
                         wa_result *res)
{
	fh_req_free(req);
	fh_req_init(req, 65536);
	memset(res, 0, sizeof(*res));
	return p->build_request(st, m, req, res) == 0 ? req->body : NULL;
}

static void test_build(void)
{
	const char *kv[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922", NULL};
	const char *vars[] = {"Ana", "12/05"};
	wa_http_request req;
	wa_result res;
	wa_message m = fh_msg("+16505551234", "Olá \"x\"");
	void *st = NULL;
	char err[256], *big;

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	fh_req_init(&req, 16);
	CHECK_STR(build(st, &m, &req, &res),
	          "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
	          "\"individual\",\"to\":\"16505551234\","
	          "\"type\":\"text\",\"text\":{\"preview_url\":false,\"body\":"
	          "\"Olá \\\"x\\\"\"}}");
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.url,
	          "https://graph.facebook.com/v24.0/106540352242922/messages");
	CHECK_STR(fh_req_header(&req, "Authorization"), "Bearer " TOKEN);
	CHECK_STR(fh_req_header(&req, "Content-Type"), "application/json");
	CHECK_INT(req.body_len, strlen(req.body));

	m.template_name = "order_update";
	m.template_language = "pt_BR";
	m.template_variables = vars;
	m.n_template_variables = 2;
	CHECK_STR(build(st, &m, &req, &res),
	          "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
	          "\"individual\",\"to\":\"16505551234\","
	          "\"type\":\"template\",\"template\":{\"name\":\"order_"
	          "update\",\"language\":{\"code\":\"pt_BR\"},"
	          "\"components\":[{\"type\":\"body\",\"parameters\":[{"
	          "\"type\":\"text\",\"text\":\"Ana\"},"
	          "{\"type\":\"text\",\"text\":\"12/05\"}]}]}}");
	m.template_language = NULL;
	m.n_template_variables = 0;
	CHECK_STR(build(st, &m, &req, &res),
	          "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
	          "\"individual\",\"to\":\"16505551234\","
	          "\"type\":\"template\",\"template\":{\"name\":\"order_"
	          "update\",\"language\":{\"code\":\"en_US\"}}}");
	m.template_name = "Bad Name";
	CHECK(build(st, &m, &req, &res) == NULL);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);

	m = fh_msg("+16505551234", "caption");
	m.media_url = "https://cdn.example.com/a.png";
	CHECK_STR(build(st, &m, &req, &res),
	          "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
	          "\"individual\",\"to\":\"16505551234\","
	          "\"type\":\"image\",\"image\":{\"link\":\"https://"
	          "cdn.example.com/a.png\",\"caption\":\"caption\"}}");
	m.media_url = "file:///etc/passwd";
	CHECK(build(st, &m, &req, &res) == NULL);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);

	/* 4096 code points pass; 4097 are refused before any request. */
	big = malloc(4097 * 2 + 1);
	for (int i = 0; i < 4096; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[4096 * 2] = '\0';
	m = fh_msg("+16505551234", big);
	CHECK(build(st, &m, &req, &res) != NULL);
	memcpy(big + 4096 * 2, "\xc3\xa9", 3);
	CHECK(build(st, &m, &req, &res) == NULL);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	CHECK_CONTAINS(res.error, "4096");
	free(big);
	fh_req_free(&req);
	p->destroy(st);
}

static void test_parse(void)
{
	const char *kv[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
	                    "CLOUDAPI_BASE_URL=http://127.0.0.1:9",
	                    "CLOUDAPI_VERSION=v21.0", NULL};
	static const struct {
		int code;
		wa_result_class cls;
	} codes[] = {
	    {130429, WA_RESULT_RETRY},  {80007, WA_RESULT_RETRY},
	    {4, WA_RESULT_RETRY},       {131057, WA_RESULT_RETRY},
	    {2, WA_RESULT_RETRY},       {131056, WA_RESULT_RETRY},
	    {131026, WA_RESULT_REJECT}, {131047, WA_RESULT_REJECT},
	    {131009, WA_RESULT_REJECT}, {131051, WA_RESULT_REJECT},
	    {100, WA_RESULT_REJECT},    {131008, WA_RESULT_REJECT},
	    {190, WA_RESULT_CONFIG},    {0, WA_RESULT_CONFIG},
	    {10, WA_RESULT_CONFIG},     {200, WA_RESULT_CONFIG},
	    {299, WA_RESULT_CONFIG},
	};
	wa_http_request req;
	wa_result r;
	void *st = NULL;
	char err[256], body[256], *huge;
	wa_message m = fh_msg("+16505551234", "x");
	size_t n;

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	fh_req_init(&req, 4096);
	CHECK(build(st, &m, &req, &r) != NULL);
	CHECK_STR(req.url, "http://127.0.0.1:9/v21.0/106540352242922/messages");
	fh_req_free(&req);

	r = fh_parse_fixture(p, st, 200, "cloudapi_success.json");
	CHECK_INT(r.result_class, WA_RESULT_OK);
	CHECK_STR(r.provider_message_id,
	          "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA");
	r = fh_parse_fixture(p, st, 400, "cloudapi_error_130429.json");
	CHECK_INT(r.result_class, WA_RESULT_RETRY);
	CHECK_STR(r.upstream_code, "130429");
	r = fh_parse_fixture(p, st, 400, "cloudapi_error_131047.json");
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	CHECK_STR(r.upstream_code, "131047");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(body, sizeof(body),
		         "{\"error\":{\"message\":\"(#%d) "
		         "x\",\"type\":\"OAuthException\",\"code\":%d,"
		         "\"fbtrace_id\":\"A\"}}",
		         codes[i].code, codes[i].code);
		r = fh_parse_str(
		    p, st,
		    codes[i].code == 190 || codes[i].code == 0 ? 401 : 400,
		    body);
		if (r.result_class != codes[i].cls)
			fprintf(stderr, "code %d\n", codes[i].code);
		CHECK_INT(r.result_class, codes[i].cls);
	}
	r = fh_parse_str(p, st, 400,
	                 "{\"error\":{\"message\":\"Unsupported post "
	                 "request.\",\"code\":100,\"error_subcode\":33}}");
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);
	r = fh_parse_str(p, st, 500,
	                 "{\"error\":{\"message\":\"x\",\"code\":131026}}");
	CHECK_INT(r.result_class, WA_RESULT_RETRY);
	r = fh_parse_str(p, st, 401, "");
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);
	r = fh_parse_str(p, st, 404, "<html></html>");
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);
	r = fh_parse_str(p, st, 429, "");
	CHECK_INT(r.result_class, WA_RESULT_RETRY);
	r = fh_parse_str(
	    p, st, 400,
	    "{\"error\":{\"message\":\"(#131026) Message "
	    "undeliverable\",\"code\":131026,"
	    "\"error_data\":{\"details\":\"Recipient 16505551234 is not a "
	    "WhatsApp user\"}}}");
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	CHECK(strstr(r.error, "16505551234") == NULL);
	/* Malformed / empty / truncated / huge: never OK. */
	r = fh_parse_str(p, st, 200, "");
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse_str(p, st, 200, "{\"messages\":[]}");
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse_str(p, st, 200, "{\"messages\":[{\"id\":5}]}");
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse_str(p, st, 200, "{\"messages\":[{\"id\":\"wamid.x\"}]");
	CHECK(r.result_class != WA_RESULT_OK);
	n = 1 << 20;
	huge = malloc(n + 1);
	memset(huge, '{', n);
	huge[n] = '\0';
	r = fh_parse(p, st, 200, huge, n, NULL);
	CHECK(r.result_class != WA_RESULT_OK);
	r = fh_parse(p, st, 400, huge, n, NULL);
	CHECK_INT(r.result_class, WA_RESULT_REJECT);
	free(huge);
	p->destroy(st);
}

static void post(void *st, const char *body, size_t n, const char *sig,
                 wa_callback_reply *r)
{
	const char *h[] = {"X-Hub-Signature-256", sig, NULL};

	fh_callback(p, st, "POST", URL, "", "application/json", body, n,
	            sig ? h : NULL, r);
}

static void post_signed(void *st, const char *body, wa_callback_reply *r)
{
	unsigned char mac[32];
	char hex[65], sig[80];

	wa_pc_hmac_sha256(SECRET, body, strlen(body), mac);
	wa_pc_hex(mac, 32, hex, sizeof(hex));
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	post(st, body, strlen(body), sig, r);
}

static void test_callbacks(void)
{
	const char *kv[] = {"CLOUDAPI_TOKEN=" TOKEN,
	                    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
	                    "CLOUDAPI_APP_SECRET=" SECRET,
	                    "CLOUDAPI_VERIFY_TOKEN=" VERIFY, NULL};
	void *st = NULL;
	char err[256], *body, *mod, *failed, *many;
	size_t n, fn;
	wa_callback_reply r;

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	body = fh_fixture("cloudapi_callback_delivered.json", &n);
	CHECK_INT(n, 496);
	post(st, body, n, SIG, &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	CHECK_STR(
	    r.updates[0].provider_message_id,
	    "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
	CHECK_INT(r.updates[0].status, WA_STATUS_DELIVERED);
	CHECK_INT(r.updates[0].occurred_at_ms, 1750030080000LL);
	post(st, body, n,
	     "sha256="
	     "00D762B7D1DC014BCA70815EEE5B9894B58F29DDA08256CAF254667C330AAEDD",
	     &r);
	CHECK_INT(r.http_status, 200);
	/* Forged, missing, malformed header; body modified after signing. */
	post(st, body, n,
	     "sha256="
	     "00d762b7d1dc014bca70815eee5b9894b58f29dda08256caf254667c330aaede",
	     &r);
	CHECK_INT(r.http_status, 401);
	CHECK_INT(r.n_updates, 0);
	post(st, body, n, NULL, &r);
	CHECK_INT(r.http_status, 401);
	post(st, body, n,
	     "00d762b7d1dc014bca70815eee5b9894b58f29dda08256caf254667c330aaedd",
	     &r);
	CHECK_INT(r.http_status, 401);
	post(st, body, n - 1, SIG, &r);
	CHECK_INT(r.http_status, 401);
	mod = strdup(body);
	memcpy(strstr(mod, "\"delivered\""), "\"read\"     ", 11);
	post(st, mod, n, SIG, &r);
	CHECK_INT(r.http_status, 401);
	CHECK_INT(r.n_updates, 0);
	free(mod);

	/* Failed status with Meta's documented error object. */
	failed = fh_fixture("cloudapi_status_failed_object.json", &fn);
	many = malloc(fn * 40 + 512);
	snprintf(many, fn * 40 + 512,
	         "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":"
	         "\"1\",\"changes\":[{\"value\":"
	         "{\"messaging_product\":\"whatsapp\",\"statuses\":[%s]},"
	         "\"field\":\"messages\"}]}]}",
	         failed);
	post_signed(st, many, &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	CHECK_INT(r.updates[0].status, WA_STATUS_FAILED);
	CHECK_STR(r.updates[0].error_code, "131049");
	CHECK_CONTAINS(r.updates[0].error, "healthy ecosystem");
	CHECK_INT(r.updates[0].occurred_at_ms, 1751142888000LL);
	/* Several statuses and entries; more than WA_STATUS_UPDATES_MAX. */
	{
		size_t len = 0, cap = fn * 40 + 512;

		len += (size_t)snprintf(
		    many, cap,
		    "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[");
		for (int i = 0; i < 35; i++)
			len += (size_t)snprintf(
			    many + len, cap - len,
			    "%s{\"id\":\"wamid.%d\",\"status\":\"%s\","
			    "\"timestamp\":\"1750030080\"}",
			    i ? "," : "", i, i % 2 ? "read" : "sent");
		snprintf(
		    many + len, cap - len,
		    "]}}]},{\"changes\":[{\"value\":{\"statuses\":[]}}]}]}");
		post_signed(st, many, &r);
		CHECK_INT(r.http_status, 200);
		CHECK_INT(r.n_updates, WA_STATUS_UPDATES_MAX);
		CHECK_INT(r.updates[1].status, WA_STATUS_READ);
		CHECK_STR(r.updates[31].provider_message_id, "wamid.31");
		CHECK(fh_log_contains("dropped"));
		/* issue 16: event times are bounded (2^40 s is year 36812;
		 * before 2022 or a day ahead is not a Cloud API event) */
		{
			static const char *const odd[] = {
			    "1099511627776", "1500000000", "4102444800"};
			for (int k = 0; k < 3; k++) {
				snprintf(many, cap,
				         "{\"entry\":[{\"changes\":[{\"value\":"
				         "{\"statuses\":[{\"id\":\"wamid.t\","
				         "\"status\":\"read\",\"timestamp\":"
				         "\"%s\"}]}}]}]}",
				         odd[k]);
				post_signed(st, many, &r);
				CHECK_INT(r.n_updates, 1);
				CHECK_INT(r.updates[0].occurred_at_ms, 0);
			}
		}
	}
	post_signed(st,
	            "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{"
	            "\"id\":\"w\",\"status\":\"deleted\"}]}}]}]}",
	            &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 0);
	post_signed(st, "{\"entry\":", &r);
	CHECK_INT(r.http_status, 400);
	post_signed(st, "{\"entry\":[]} {}", &r);
	CHECK_INT(r.http_status, 400);
	free(many);
	free(failed);
	free(body);

	/* GET verification handshake. */
	fh_callback(p, st, "GET", URL,
	            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_"
	            "token=" VERIFY,
	            NULL, NULL, 0, NULL, &r);
	CHECK_INT(r.http_status, 200);
	CHECK_STR(r.body, "1158201444");
	CHECK_CONTAINS(r.content_type, "text/plain");
	fh_callback(
	    p, st, "GET", URL,
	    "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope",
	    NULL, NULL, 0, NULL, &r);
	CHECK_INT(r.http_status, 403);
	CHECK(strstr(r.body, "1158201444") == NULL);
	fh_callback(
	    p, st, "GET", URL,
	    "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" VERIFY,
	    NULL, NULL, 0, NULL, &r);
	CHECK_INT(r.http_status, 403);
	fh_callback(p, st, "GET", URL, "hub.challenge=1", NULL, NULL, 0, NULL,
	            &r);
	CHECK_INT(r.http_status, 403);
	fh_callback(p, st, "GET", URL,
	            "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_"
	            "token=" VERIFY,
	            NULL, NULL, 0, NULL, &r);
	CHECK_INT(r.http_status, 400);
	p->destroy(st);
}

int main(void)
{
	const char *extra[] = {TOKEN, SECRET, VERIFY, "16505551234", NULL};

	p = fh_load("cloudapi");
	test_config();
	test_build();
	test_parse();
	test_callbacks();
	CHECK_INT(fh_secret_leaks(p, extra), 0);
	return wa_t_report();
}
