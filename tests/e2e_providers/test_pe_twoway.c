/* test_pe_twoway.c - two-way messaging end to end with the Cloud API plugin
 * and its fake: a stop keyword cancels the number's queued message (reason
 * in its history), the suppressions API, a batch refused per item, the
 * inbound listing's pages, WINDOW_POLICY=enforce (a text after the
 * 24-hour window refused, a template accepted), and a tapped quick-reply
 * or reply button whose payload or title is a keyword (opt out, opt in). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pe.h"
#include "receiver.h"
#include "testing.h"

#define PHONE_Q "+5511987650101" /* has a queued message when it stops */
#define PHONE_API "+5511987650102"
#define PHONE_OLD "+5511987650103" /* last replied two days ago */
#define PHONE_BTN "+5511987650104" /* taps a STOP button, then Voltar */
#define ADMIN "e2e-admin-key-0123456789"

static const pe_provider *prov;

/* An inbound Cloud API text from phone sent at unix time ts, signed. */
static long meta_text(const wa_daemon *d, const char *id, const char *phone,
                      const char *text, long long ts)
{
	char body[2048];

	snprintf(body, sizeof(body),
	         "{\"object\":\"whatsapp_business_account\",\"entry\":[{"
	         "\"id\":\"102290129340398\",\"changes\":[{\"value\":{"
	         "\"messaging_product\":\"whatsapp\",\"metadata\":{"
	         "\"display_phone_number\":\"15550783881\","
	         "\"phone_number_id\":\"106540352242922\"},"
	         "\"messages\":[{\"from\":\"%s\",\"id\":\"%s\","
	         "\"timestamp\":\"%lld\",\"type\":\"text\",\"text\":{"
	         "\"body\":\"%s\"}}]},\"field\":\"messages\"}]}]}",
	         phone + 1, id, ts, text);
	return pe_meta_webhook(d, body);
}

/* An inbound Cloud API button tap from phone, signed: kind "button" (a
 * template quick reply: {payload, text}) or "interactive" (a reply
 * button: {type: button_reply, button_reply: {id, title}}). */
static long meta_button(const wa_daemon *d, const char *id, const char *phone,
                        const char *kind, const char *payload,
                        const char *title)
{
	char body[2048], inner[512];

	if (strcmp(kind, "button") == 0)
		snprintf(inner, sizeof(inner),
		         "\"button\":{\"payload\":\"%s\",\"text\":\"%s\"}",
		         payload, title);
	else
		snprintf(inner, sizeof(inner),
		         "\"interactive\":{\"type\":\"button_reply\","
		         "\"button_reply\":{\"id\":\"%s\",\"title\":\"%s\"}}",
		         payload, title);
	snprintf(body, sizeof(body),
	         "{\"object\":\"whatsapp_business_account\",\"entry\":[{"
	         "\"id\":\"102290129340398\",\"changes\":[{\"value\":{"
	         "\"messaging_product\":\"whatsapp\",\"metadata\":{"
	         "\"display_phone_number\":\"15550783881\","
	         "\"phone_number_id\":\"106540352242922\"},"
	         "\"messages\":[{\"from\":\"%s\",\"id\":\"%s\","
	         "\"timestamp\":\"%lld\",\"type\":\"%s\",%s}]},"
	         "\"field\":\"messages\"}]}]}",
	         phone + 1, id, (long long)time(NULL), kind, inner);
	return pe_meta_webhook(d, body);
}

static long req(const wa_daemon *d, const char *method, const char *path,
                const char *body, wa_http_reply *r)
{
	char url[512];
	const char *h[] = {"X-API-Key: " E2E_KEY,
	                   "Content-Type: application/json", NULL};

	snprintf(url, sizeof(url), "%s%s", d->base, path);
	if (wa_h_http(method, url, h, body, body ? strlen(body) : 0, r) != 0)
		return -1;
	return r->status;
}

/* Does the file hold needle on some line? */
static bool file_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "r");
	char line[20000];
	bool found = false;

	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp))
		found = strstr(line, needle) != NULL;
	fclose(fp);
	return found;
}

static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

typedef struct retried {
	const wa_daemon *d;
	const char *id;
} retried;

/* Queued again after its first attempt (not merely not yet claimed). */
static int queued_after_attempt(void *arg)
{
	retried *q = arg;
	wa_http_reply r;
	char path[128], status[32];
	int ok = 0;

	snprintf(path, sizeof(path), "/v1/messages/%s", q->id);
	if (e2e_get(q->d, path, &r) == 200)
		ok = strcmp(e2e_field(r.body, "status", status, sizeof(status)),
		            "queued") == 0 &&
		     strstr(r.body, "\"attempts\":1") != NULL;
	wa_h_reply_free(&r);
	return ok;
}

/* A stop keyword cancels what is queued for the number, with the reason. */
static void stop_cancels_queued(const wa_daemon *d, const wa_fake *f)
{
	wa_http_reply r;
	char id[64], got[1024];

	/* The fake's first send fails with Retry-After: 60: queued. */
	CHECK_INT(pe_send(d, "tw-q1", PHONE_Q, "Offer", false, &r), 200);
	pe_json(r.body, "message_id", id, sizeof(id));
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_wait_for(queued_after_attempt, &(retried){d, id}, 5000),
	          1);
	CHECK_INT(meta_text(d, "wamid.TWQ1", PHONE_Q, " SAIR ",
	                    (long long)time(NULL)),
	          200);
	CHECK(e2e_wait_status(d, id, "canceled", 5000));
	snprintf(got, sizeof(got), "/v1/messages/%s", id);
	CHECK_INT(e2e_get(d, got, &r), 200);
	CHECK(strstr(r.body, "the recipient opted out (keyword:SAIR)") != NULL);
	wa_h_reply_free(&r);
	/* an operator cannot requeue it while the number is opted out */
	snprintf(got, sizeof(got), "/v1/messages/%s/retry", id);
	{
		char url[512];
		const char *h[] = {"X-API-Key: " ADMIN, NULL};

		snprintf(url, sizeof(url), "%s%s", d->base, got);
		CHECK_INT(wa_h_http("POST", url, h, NULL, 0, &r), 0);
	}
	CHECK_INT(r.status, 409);
	CHECK(strstr(r.body, "opted out of messages (keyword:SAIR") != NULL);
	CHECK(strstr(r.body, "\"status\":\"canceled\"") != NULL);
	wa_h_reply_free(&r);
	(void)f;
}

/* PUT/GET/DELETE /v1/suppressions, and a batch refused per item. */
static void suppressions_api(const wa_daemon *d)
{
	wa_http_reply r;
	char got[256];

	CHECK_INT(req(d, "PUT", "/v1/suppressions/%2B5511987650102", NULL, &r),
	          200);
	CHECK(strstr(r.body, "\"opted_out\":true") != NULL);
	CHECK_STR(pe_json(r.body, "opt_source", got, sizeof(got)), "api");
	wa_h_reply_free(&r);
	/* idempotent: the first source and time stay */
	CHECK_INT(req(d, "PUT", "/v1/suppressions/5511987650102", NULL, &r),
	          200);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "GET", "/v1/suppressions?limit=1", NULL, &r), 200);
	CHECK(strstr(r.body, "{\"suppressions\":[{\"phone\":\"+5511987650101\","
	                     "\"source\":\"keyword:SAIR\",\"at\":\"") != NULL);
	CHECK(strstr(r.body, "\"next_cursor\":\"5511987650101\"") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(
	    req(d, "GET", "/v1/suppressions?cursor=5511987650101", NULL, &r),
	    200);
	CHECK(
	    strstr(r.body, "\"phone\":\"+5511987650102\",\"source\":\"api\"") !=
	    NULL);
	CHECK(strstr(r.body, "\"next_cursor\":null") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "POST", "/v1/messages/batch",
	              "{\"messages\":[{\"recipient_phone\":\"" PHONE_API
	              "\",\"message_body\":\"x\",\"external_id\":\"tw-b1\"},"
	              "{\"recipient_phone\":\"+5511987650109\","
	              "\"message_body\":\"y\",\"external_id\":\"tw-b2\"}]}",
	              &r),
	          200);
	CHECK(strstr(r.body, "\"accepted\":1,\"rejected\":1") != NULL);
	CHECK(strstr(r.body, "\"code\":409") != NULL);
	CHECK(strstr(r.body, "opted out") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(
	    req(d, "DELETE", "/v1/suppressions/%2B5511987650102", NULL, &r),
	    200);
	CHECK(strstr(r.body, "\"opted_out\":false") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "GET", "/v1/contacts/%2B5511987650102", NULL, &r),
	          200);
	CHECK(strstr(r.body, "\"opted_out\":false") != NULL);
	CHECK(strstr(r.body, "\"last_inbound_at\":null") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "PUT", "/v1/suppressions/12", NULL, &r), 400);
	wa_h_reply_free(&r);
}

/* Two days old reply: with WINDOW_POLICY=enforce a text is refused, a
 * template accepted; the listing pages through every reply. */
static void window_and_listing(const wa_daemon *d)
{
	wa_http_reply r;
	char cursor[128], path[256];

	CHECK_INT(meta_text(d, "wamid.TWOLD", PHONE_OLD, "oi",
	                    (long long)time(NULL) - 2 * 86400),
	          200);
	CHECK_INT(req(d, "GET", "/v1/contacts/%2B5511987650103", NULL, &r),
	          200);
	CHECK(strstr(r.body, "\"window_open\":false") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(pe_send(d, "tw-w1", PHONE_OLD, "Free text", false, &r), 409);
	CHECK(strstr(r.body, "send a template") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "POST", "/v1/messages/send",
	              "{\"recipient_phone\":\"" PHONE_OLD
	              "\",\"message_body\":\"t\",\"external_id\":\"tw-w2\","
	              "\"template\":{\"name\":\"hello_world\","
	              "\"language\":\"en_US\"}}",
	              &r),
	          200);
	wa_h_reply_free(&r);
	/* Rich content: content.template passes the window like the 1.1
	 * template; media is free-form and is refused. */
	CHECK_INT(req(d, "POST", "/v1/messages/send",
	              "{\"recipient_phone\":\"" PHONE_OLD
	              "\",\"message_body\":\"t\",\"external_id\":\"tw-w4\","
	              "\"content\":{\"template\":{\"name\":\"hello_world\","
	              "\"body_parameters\":[\"Ana\"]}}}",
	              &r),
	          200);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "POST", "/v1/messages/send",
	              "{\"recipient_phone\":\"" PHONE_OLD
	              "\",\"message_body\":\"t\",\"external_id\":\"tw-w5\","
	              "\"content\":{\"media\":{\"type\":\"image\",\"url\":"
	              "\"https://cdn.example.com/p.png\"}}}",
	              &r),
	          409);
	CHECK(strstr(r.body, "send a template") != NULL);
	wa_h_reply_free(&r);
	/* A number never heard from is not refused. */
	CHECK_INT(pe_send(d, "tw-w3", "+5511987650199", "Hi", false, &r), 200);
	wa_h_reply_free(&r);

	/* Three replies so far (SAIR, oi, and none from PHONE_API): pages
	 * of one, oldest first. */
	CHECK_INT(req(d, "GET", "/v1/inbound?limit=1", NULL, &r), 200);
	CHECK_INT(count_str(r.body, "\"provider_message_id\""), 1);
	CHECK(strstr(r.body, "wamid.TWOLD") != NULL);
	pe_json(r.body, "next_cursor", cursor, sizeof(cursor));
	CHECK(cursor[0] != 0);
	wa_h_reply_free(&r);
	snprintf(path, sizeof(path), "/v1/inbound?limit=1&cursor=%s", cursor);
	CHECK_INT(req(d, "GET", path, NULL, &r), 200);
	CHECK(strstr(r.body, "wamid.TWQ1") != NULL);
	CHECK(strstr(r.body, "\"next_cursor\":null") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "GET",
	              "/v1/inbound?since=2000-01-01T00:00:00Z&until=1", NULL,
	              &r),
	          200);
	CHECK_INT(count_str(r.body, "\"provider_message_id\""), 0);
	wa_h_reply_free(&r);
	CHECK_INT(req(d, "GET", "/v1/inbound?since=yesterday", NULL, &r), 400);
	wa_h_reply_free(&r);
}

/* A quick-reply button whose payload is STOP (its title is not a
 * keyword) opts the number out: the next send is refused with no
 * provider call; an interactive reply button titled "Voltar" opts it
 * back in. */
static void button_keywords(const wa_daemon *d, const wa_fake *f)
{
	wa_http_reply r;
	char got[128];

	CHECK_INT(meta_button(d, "wamid.TWB1", PHONE_BTN, "button", "STOP",
	                      "Stop promotions"),
	          200);
	CHECK_INT(req(d, "GET", "/v1/contacts/%2B5511987650104", NULL, &r),
	          200);
	CHECK(strstr(r.body, "\"opted_out\":true") != NULL);
	CHECK_STR(pe_json(r.body, "opt_source", got, sizeof(got)),
	          "keyword:STOP");
	wa_h_reply_free(&r);
	CHECK_INT(pe_send(d, "tw-btn1", PHONE_BTN, "Offer", false, &r), 409);
	CHECK(strstr(r.body, "opted out of messages (keyword:STOP") != NULL);
	CHECK(strstr(r.body, "nothing was queued") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(d, "/v1/messages?external_id=tw-btn1", &r), 404);
	wa_h_reply_free(&r);
	CHECK(!file_has(f->record, PHONE_BTN + 1)); /* no provider call */
	CHECK_INT(meta_button(d, "wamid.TWB2", PHONE_BTN, "interactive",
	                      "resume-1", "Voltar"),
	          200);
	CHECK_INT(req(d, "GET", "/v1/contacts/%2B5511987650104", NULL, &r),
	          200);
	CHECK(strstr(r.body, "\"opted_out\":false") != NULL);
	CHECK_STR(pe_json(r.body, "opt_source", got, sizeof(got)),
	          "keyword:VOLTAR");
	wa_h_reply_free(&r);
	CHECK_INT(pe_send(d, "tw-btn2", PHONE_BTN, "Welcome back", false, &r),
	          200);
	wa_h_reply_free(&r);
}

int main(void)
{
	const char *outage[] = {"--outage", "1", "--retry-after", "60", NULL};
	wa_daemon d;
	wa_fake f;
	pe_env env;
	receiver *rcv = rcv_start(PE_HOOK_SECRET, 0);
	char rec[512];

	pe_clean_environ();
	prov = pe_find("cloudapi");
	memset(&d, 0, sizeof(d));
	CHECK_INT(wa_h_daemon_init(&d), 0);
	snprintf(rec, sizeof(rec), "%s/cloudapi.jsonl", d.dir);
	if (!prov || !rcv || wa_fake_start(&f, "cloudapi", rec, outage) != 0) {
		fprintf(stderr, "cannot start the fake cloudapi server\n");
		return 1;
	}
	pe_env_init(&env, prov, wa_h_free_port(), f.base, rcv_port(rcv));
	pe_env_drop(&env, "RETRY_BASE_MS");
	pe_env_drop(&env, "RETRY_MAX_MS");
	pe_env_add(&env, "RETRY_BASE_MS=60000");
	pe_env_add(&env, "RETRY_MAX_MS=60000");
	pe_env_add(&env, "WINDOW_POLICY=enforce");
	pe_env_add(&env, "ADMIN_API_KEYS=" ADMIN);
	if (wa_h_daemon_start(&d, env.list) != 0) {
		fprintf(stderr, "daemon did not start; log %s\n", d.log_path);
		wa_fake_stop(&f);
		return 1;
	}
	stop_cancels_queued(&d, &f);
	suppressions_api(&d);
	window_and_listing(&d);
	button_keywords(&d, &f);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 10000), 0);
	CHECK_INT(wa_fake_stop(&f), 0);
	rcv_stop(rcv);
	if (wa_t_failed)
		fprintf(stderr, "daemon log: %s\n", d.log_path);
	return wa_t_report();
}
