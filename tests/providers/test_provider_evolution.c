/* test_provider_evolution.c - evolution.so through a fake host: config, request
 * bytes, reply classes, token-checked webhooks */
#include "fakehost.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define KEY "test_evolution_key_0123"
#define HOOK "test_webhook_token_abc"

static const wa_provider *p;

static void expect_config_error(const char *const *kv, const char *name)
{
	void *st = NULL;
	char err[256];

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, name);
	CHECK(strstr(err, KEY) == NULL);
}

static void test_config(void)
{
	const char *none[] = {NULL};
	const char *no_inst[] = {"EVOLUTION_BASE_URL=http://10.0.0.5:8080",
	                         "EVOLUTION_API_KEY=" KEY, NULL};
	const char *no_key[] = {"EVOLUTION_BASE_URL=http://10.0.0.5:8080",
	                        "EVOLUTION_INSTANCE=x", NULL};
	const char *bad_base[] = {"EVOLUTION_BASE_URL=10.0.0.5:8080",
	                          "EVOLUTION_INSTANCE=x",
	                          "EVOLUTION_API_KEY=" KEY, NULL};
	const char *bad_key[] = {"EVOLUTION_BASE_URL=http://h",
	                         "EVOLUTION_INSTANCE=x",
	                         "EVOLUTION_API_KEY=a b", NULL};

	expect_config_error(none, "EVOLUTION_BASE_URL");
	expect_config_error(no_inst, "EVOLUTION_INSTANCE");
	expect_config_error(no_key, "EVOLUTION_API_KEY");
	expect_config_error(bad_base, "EVOLUTION_BASE_URL");
	expect_config_error(bad_key, "EVOLUTION_API_KEY");
	CHECK_STR(p->message_id_name, "key_id");
	CHECK_INT(p->default_rate, 20);
}

static void test_build_parse(void)
{
	const char *kv[] = {"EVOLUTION_BASE_URL=http://10.0.0.5:8080/",
	                    "EVOLUTION_INSTANCE=my shop/1",
	                    "EVOLUTION_API_KEY=" KEY,
	                    "EVOLUTION_WEBHOOK_TOKEN=" HOOK, NULL};
	const char *vars[] = {"x"};
	wa_http_request req;
	wa_result res;
	wa_message m = fh_msg("+5511999999999", "Olá \"mundo\"\n/ok");
	void *st = NULL;
	char err[256], *huge;
	size_t n;

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	fh_req_init(&req, 65536);
	memset(&res, 0, sizeof(res));
	CHECK_INT(p->build_request(st, &m, &req, &res), 0);
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.url,
	          "http://10.0.0.5:8080/message/sendText/my%20shop%2F1");
	CHECK_STR(fh_req_header(&req, "apikey"), KEY);
	CHECK_STR(fh_req_header(&req, "Content-Type"), "application/json");
	CHECK_STR(req.body, "{\"number\":\"5511999999999\",\"text\":\"Olá "
	                    "\\\"mundo\\\"\\n/ok\"}");
	CHECK_INT(req.body_len, strlen(req.body));
	fh_req_free(&req);
	/* Templates and media are not part of sendText: the body goes out. */
	m = fh_msg("+5511999999999", "Hello from the dispatcher");
	m.template_name = "welcome";
	m.template_variables = vars;
	m.n_template_variables = 1;
	m.media_url = "https://cdn.example.com/a.png";
	fh_req_init(&req, 65536);
	CHECK_INT(p->build_request(st, &m, &req, &res), 0);
	CHECK_STR(req.body, "{\"number\":\"5511999999999\",\"text\":\"Hello "
	                    "from the dispatcher\"}");
	fh_req_free(&req);
	fh_req_init(&req, 16);
	memset(&res, 0, sizeof(res));
	CHECK_INT(p->build_request(st, &m, &req, &res), -1);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	fh_req_free(&req);

	res = fh_parse_fixture(p, st, 201, "evolution_success.json");
	CHECK_INT(res.result_class, WA_RESULT_OK);
	CHECK_STR(res.provider_message_id, "3EB0C767D26A1D8F5B3E21");
	res = fh_parse_fixture(p, st, 200, "evolution_success.json");
	CHECK_INT(res.result_class, WA_RESULT_OK);
	res = fh_parse_fixture(p, st, 400,
	                       "evolution_error_not_on_whatsapp.json");
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	CHECK_CONTAINS(res.error, "not on WhatsApp");
	res =
	    fh_parse_fixture(p, st, 400, "evolution_error_400_validation.json");
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	CHECK_CONTAINS(res.error, "requires property");
	res = fh_parse_fixture(p, st, 401, "evolution_error_401.json");
	CHECK_INT(res.result_class, WA_RESULT_CONFIG);
	res = fh_parse_fixture(p, st, 404, "evolution_error_404.json");
	CHECK_INT(res.result_class, WA_RESULT_CONFIG);
	res = fh_parse_fixture(p, st, 500, "evolution_error_500_closed.json");
	CHECK_INT(res.result_class, WA_RESULT_RETRY);
	res = fh_parse_str(
	    p, st, 400,
	    "{\"status\":400,\"error\":\"Bad "
	    "Request\",\"response\":{\"message\":[\"Error: Connection "
	    "Closed\"]}}");
	CHECK_INT(res.result_class, WA_RESULT_RETRY);
	res = fh_parse_str(
	    p, st, 400,
	    "{\"status\":400,\"error\":\"Bad "
	    "Request\",\"response\":{\"message\":[\"Text is required\"]}}");
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	res = fh_parse_str(
	    p, st, 500,
	    "{\"status\":500,\"response\":{\"message\":\"Cannot read "
	    "properties of undefined (reading 'find')\"}}");
	CHECK_INT(res.result_class, WA_RESULT_RETRY);
	res = fh_parse_str(p, st, 503, "");
	CHECK_INT(res.result_class, WA_RESULT_RETRY);
	/* Malformed, empty, truncated and huge: never OK. */
	res = fh_parse_str(p, st, 201, "");
	CHECK(res.result_class != WA_RESULT_OK);
	res = fh_parse_str(p, st, 201, "{\"key\":{\"id\":\"\"}}");
	CHECK(res.result_class != WA_RESULT_OK);
	res = fh_parse_str(p, st, 201,
	                   "{\"key\":{\"id\":\"3EB0C767D26A1D8F5B3E21\"}");
	CHECK(res.result_class != WA_RESULT_OK);
	res = fh_parse_str(p, st, 201, "{\"key\":{\"id\":\"3EB0 C767\"}}");
	CHECK(res.result_class != WA_RESULT_OK);
	n = 1 << 20;
	huge = malloc(n + 1);
	memset(huge, ' ', n);
	huge[n] = '\0';
	memcpy(huge, "{\"key\":{\"id\":\"", 14);
	memset(huge + 14, 'A', n - 20);
	memcpy(huge + n - 6, "\"}}   ", 6);
	res = fh_parse(p, st, 201, huge, n, NULL);
	CHECK(res.result_class != WA_RESULT_OK);
	res = fh_parse(p, st, 400, huge, n, NULL);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	free(huge);
	p->destroy(st);
}

static void cb(void *st, const char *query, const char *token, const char *body,
               wa_callback_reply *r)
{
	const char *h[] = {"X-Wadispatch-Token", token, NULL};

	fh_callback(p, st, "POST",
	            "https://wa.example.com/v1/providers/evolution/callback",
	            query, "application/json", body, strlen(body),
	            token ? h : NULL, r);
}

static void test_callbacks(void)
{
	const char *kv[] = {"EVOLUTION_BASE_URL=http://10.0.0.5:8080",
	                    "EVOLUTION_INSTANCE=dispatcher",
	                    "EVOLUTION_API_KEY=" KEY,
	                    "EVOLUTION_WEBHOOK_TOKEN=" HOOK, NULL};
	const char *nohook[] = {"EVOLUTION_BASE_URL=http://10.0.0.5:8080",
	                        "EVOLUTION_INSTANCE=dispatcher",
	                        "EVOLUTION_API_KEY=" KEY, NULL};
	void *st = NULL;
	char err[256], *body, *v;
	size_t n;
	wa_callback_reply r;

	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	body = fh_fixture("evolution_callback_delivery_ack.json", &n);
	cb(st, "", HOOK, body, &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	CHECK_STR(r.updates[0].provider_message_id, "3EB0C767D26A1D8F5B3E21");
	CHECK_INT(r.updates[0].status, WA_STATUS_DELIVERED);
	cb(st, "a=1&token=" HOOK, NULL, body, &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 1);
	cb(st, "token=wrong", NULL, body, &r);
	CHECK_INT(r.http_status, 401);
	CHECK_INT(r.n_updates, 0);
	cb(st, "", "wrong", body, &r);
	CHECK_INT(r.http_status, 401);
	CHECK_INT(r.n_updates, 0);
	cb(st, "", NULL, body, &r);
	CHECK_INT(r.http_status, 401);
	cb(st, "token=" HOOK "x", NULL, body, &r);
	CHECK_INT(r.http_status, 401);

	v = strdup(body);
	memcpy(strstr(v, "\"DELIVERY_ACK\""), "\"SERVER_ACK\"  ", 14);
	cb(st, "", HOOK, v, &r);
	CHECK_INT(r.n_updates, 1);
	CHECK_INT(r.updates[0].status, WA_STATUS_SENT);
	free(v);
	cb(st, "", HOOK,
	   "{\"event\":\"MESSAGES_UPDATE\",\"data\":{\"keyId\":\"K1\","
	   "\"fromMe\":true,\"status\":\"READ\"}}",
	   &r);
	CHECK_INT(r.n_updates, 1);
	CHECK_INT(r.updates[0].status, WA_STATUS_READ);
	cb(st, "", HOOK,
	   "{\"event\":\"messages.update\",\"data\":{\"keyId\":\"K1\","
	   "\"status\":\"PLAYED\"}}",
	   &r);
	CHECK_INT(r.updates[0].status, WA_STATUS_READ);
	cb(st, "", HOOK,
	   "{\"event\":\"messages.update\",\"data\":{\"keyId\":\"K1\","
	   "\"status\":\"ERROR\"}}",
	   &r);
	CHECK_INT(r.updates[0].status, WA_STATUS_FAILED);
	CHECK_STR(r.updates[0].error_code, "ERROR");
	cb(st, "", HOOK,
	   "{\"event\":\"messages.update\",\"data\":{\"keyId\":\"K1\","
	   "\"status\":\"PENDING\"}}",
	   &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 0);
	/* v1 shape: key spread into data, datetime in ms. */
	cb(st, "", HOOK,
	   "{\"event\":\"messages.update\",\"data\":{\"id\":\"K2\",\"fromMe\":"
	   "true,\"status\":\"DELIVERY_ACK\",\"datetime\":1717677100123}}",
	   &r);
	CHECK_INT(r.n_updates, 1);
	CHECK_STR(r.updates[0].provider_message_id, "K2");
	CHECK_INT(r.updates[0].occurred_at_ms, 1717677100123LL);
	cb(st, "", HOOK,
	   "{\"event\":\"messages.update\",\"data\":{\"key\":{\"id\":\"K3\"},"
	   "\"status\":\"READ\"}}",
	   &r);
	CHECK_STR(r.updates[0].provider_message_id, "K3");
	/* Incoming messages' receipts are not ours. */
	cb(st, "", HOOK,
	   "{\"event\":\"messages.update\",\"data\":{\"keyId\":\"K1\","
	   "\"fromMe\":false,\"status\":\"READ\"}}",
	   &r);
	CHECK_INT(r.n_updates, 0);
	cb(st, "", HOOK,
	   "{\"event\":\"send.message\",\"data\":{\"key\":{\"id\":\"K1\"},"
	   "\"status\":\"PENDING\"}}",
	   &r);
	CHECK_INT(r.http_status, 200);
	CHECK_INT(r.n_updates, 0);
	cb(st, "", HOOK, "{\"event\":\"messages.update\",\"data\":", &r);
	CHECK_INT(r.http_status, 400);
	cb(st, "", HOOK, "[1,2]", &r);
	CHECK_INT(r.http_status, 400);
	cb(st, "", HOOK, "{\"event\":\"messages.update\"} trailing", &r);
	CHECK_INT(r.http_status, 400);
	free(body);
	p->destroy(st);

	fh_set_config(nohook);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	cb(st, "token=", "", "{}", &r);
	CHECK_INT(r.http_status, 401);
	p->destroy(st);
}

int main(void)
{
	const char *extra[] = {KEY, HOOK, "5511999999999", NULL};

	p = fh_load("evolution");
	test_config();
	test_build_parse();
	test_callbacks();
	CHECK_INT(fh_secret_leaks(p, extra), 0);
	return wa_t_report();
}
