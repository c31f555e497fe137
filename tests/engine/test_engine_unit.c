/* test_engine_unit.c - backoff math, token bucket, log redaction, message
 * building */
#include <stdlib.h>
#include <string.h>

#include "base/ratelimit.h"
#include "engine/engine_int.h"
#include "engine/httpexec.h"
#include "testing.h"

static void test_backoff(void)
{
	/* ceiling doubles from base, rnd just under 1 reaches it */
	CHECK_INT(wa_backoff_ms(1, 1000, 300000, 0, 0.9999999), 999);
	CHECK_INT(wa_backoff_ms(2, 1000, 300000, 0, 0.9999999), 1999);
	CHECK_INT(wa_backoff_ms(3, 1000, 300000, 0, 0.9999999), 3999);
	CHECK_INT(wa_backoff_ms(3, 1000, 300000, 0, 0.5), 2000);
	/* capped at max, also for huge attempt numbers (no overflow) */
	CHECK_INT(wa_backoff_ms(10, 1000, 300000, 0, 0.5), 150000);
	CHECK_INT(wa_backoff_ms(1000, 1000, 300000, 0, 0.5), 150000);
	CHECK_INT(wa_backoff_ms(INT32_MAX, 1000, 300000, 0, 0.9999999), 299999);
	/* full jitter: 0 possible */
	CHECK_INT(wa_backoff_ms(5, 1000, 300000, 0, 0.0), 0);
	/* retry-after honoured as a floor, even above max */
	CHECK_INT(wa_backoff_ms(1, 1000, 300000, 5000, 0.1), 5000);
	CHECK_INT(wa_backoff_ms(1, 1000, 2000, 9000, 0.1), 9000);
	CHECK_INT(wa_backoff_ms(4, 1000, 300000, 500, 0.5), 4000);
	/* odd inputs stay in range */
	CHECK_INT(wa_backoff_ms(0, 1000, 300000, 0, 0.5), 500);
	CHECK_INT(wa_backoff_ms(1, 1000, 300000, 0, -1.0), 0);
	CHECK_INT(wa_backoff_ms(1, 1000, 300000, 0, 7.0), 999);

	/* the random source: in [0,1), spread over the range */
	{
		double lo = 1, hi = 0;
		int bad = 0;

		for (int i = 0; i < 10000; i++) {
			double u = wa_rand01();
			int64_t d = wa_backoff_ms(3, 100, 1000, 0, u);

			if (u < 0 || u >= 1 || d < 0 || d > 400)
				bad++;
			lo = u < lo ? u : lo;
			hi = u > hi ? u : hi;
		}
		CHECK_INT(bad, 0);
		CHECK(lo < 0.01);
		CHECK(hi > 0.99);
	}
}

static void test_ratelimit(void)
{
	wa_ratelimit rl;
	int64_t t = 1000000;
	size_t got = 0;

	/* the default bucket: a tenth of a second's tokens, at a low rate up
	 * to a quarter second's but at most 16; never below 1 */
	CHECK(wa_ratelimit_default_burst(1000) == 100.0);
	CHECK(wa_ratelimit_default_burst(160) == 16.0);
	CHECK(wa_ratelimit_default_burst(80) == 16.0);
	CHECK(wa_ratelimit_default_burst(40) == 10.0);
	CHECK(wa_ratelimit_default_burst(2) == 1.0);
	CHECK(wa_ratelimit_default_burst(0) == 1.0);

	/* 10/s, burst 1: over one simulated second taken one by one every
	 * ms: the initial token plus 10 refills */
	wa_ratelimit_init(&rl, 10, 1, t);
	CHECK(rl.burst == 1.0);
	for (int ms = 0; ms <= 1000; ms++)
		got += wa_ratelimit_take(&rl, t + (int64_t)ms * 1000, 1);
	CHECK_INT(got, 11);

	/* 100/s, burst 10: the burst at once, then nothing until time moves */
	wa_ratelimit_init(&rl, 100, 10, t);
	CHECK_INT(wa_ratelimit_take(&rl, t, 50), 10);
	CHECK_INT(wa_ratelimit_take(&rl, t, 1), 0);
	CHECK_INT(wa_ratelimit_wait_us(&rl, t), 10001);
	CHECK_INT(wa_ratelimit_take(&rl, t + 9000, 1), 0);
	CHECK_INT(wa_ratelimit_take(&rl, t + 10000, 5), 1);
	/* 200 ms later: 20 tokens accrued but only a burst is kept */
	CHECK_INT(wa_ratelimit_take(&rl, t + 210000, 50), 10);
	/* put back is capped at burst too */
	wa_ratelimit_put_back(&rl, 100);
	CHECK_INT(wa_ratelimit_take(&rl, t + 210000, 50), 10);
	/* N over T: 100/s for 2 s, asking constantly: 10 + 200 */
	wa_ratelimit_init(&rl, 100, 10, t);
	got = 0;
	for (int ms = 0; ms <= 2000; ms++)
		got += wa_ratelimit_take(&rl, t + (int64_t)ms * 1000, 100);
	CHECK_INT(got, 210);
	/* a clock going back adds nothing */
	CHECK_INT(wa_ratelimit_take(&rl, t, 100), 0);

	/* unlimited */
	wa_ratelimit_init(&rl, 0, 1, t);
	CHECK_INT(wa_ratelimit_take(&rl, t, 1000), 1000);
	CHECK_INT(wa_ratelimit_wait_us(&rl, t), 0);
}

static void test_redact(void)
{
	const char *secrets[] = {"s3cr3t-token", "AC123", NULL};
	char out[256];

	wa_httpexec_redact("Authorization: Basic QUMxMjM6eHl6", secrets, out,
	                   sizeof(out));
	CHECK_STR(out, "Authorization: [redacted]");
	wa_httpexec_redact("authorization:Bearer x", NULL, out, sizeof(out));
	CHECK_STR(out, "authorization: [redacted]");
	wa_httpexec_redact("apikey: abc", secrets, out, sizeof(out));
	CHECK_STR(out, "apikey: [redacted]");
	wa_httpexec_redact("X-Token: s3cr3t-token", secrets, out, sizeof(out));
	CHECK_STR(out, "X-Token: [redacted]");
	wa_httpexec_redact("https://api.example/2010/Accounts/AC123/"
	                   "Messages.json?k=s3cr3t-token&x=1",
	                   secrets, out, sizeof(out));
	CHECK_STR(out, "https://api.example/2010/Accounts/[redacted]/"
	               "Messages.json?k=[redacted]&x=1");
	wa_httpexec_redact("Content-Type: application/json", secrets, out,
	                   sizeof(out));
	CHECK_STR(out, "Content-Type: application/json");
	/* truncation keeps the output terminated and never shows a partial
	 * secret */
	wa_httpexec_redact("s3cr3t-token", secrets, out, 5);
	CHECK(strlen(out) < 5);
	CHECK(strstr(out, "s3c") == NULL);
}

static void test_message(void)
{
	wa_message_rec rec = {0};
	wa_job *j;

	snprintf(rec.id, sizeof(rec.id), "msg-1");
	snprintf(rec.external_id, sizeof(rec.external_id), "ext-1");
	snprintf(rec.phone, sizeof(rec.phone), "+5511999990000");
	rec.body = strdup("hello");
	rec.template_json =
	    strdup("{\"name\":\"order_update\",\"language\":\"pt_BR\","
	           "\"variables\":[\"Ana\",\"42\"]}");
	rec.media_url = strdup("https://cdn.example/a.png");
	rec.attempts = 3;
	j = wa_job_new(NULL, &rec);
	CHECK(j != NULL);
	if (!j)
		return;
	CHECK(rec.body == NULL); /* the job took the allocations */
	CHECK_INT(j->msg.struct_size, sizeof(wa_message));
	CHECK_INT(j->msg.attempt, 3);
	CHECK_STR(j->msg.message_id, "msg-1");
	CHECK_STR(j->msg.external_id, "ext-1");
	CHECK_STR(j->msg.recipient_phone, "+5511999990000");
	CHECK_STR(j->msg.message_body, "hello");
	CHECK_STR(j->msg.template_name, "order_update");
	CHECK_STR(j->msg.template_language, "pt_BR");
	CHECK_INT(j->msg.n_template_variables, 2);
	if (j->msg.n_template_variables == 2) {
		CHECK_STR(j->msg.template_variables[0], "Ana");
		CHECK_STR(j->msg.template_variables[1], "42");
	}
	CHECK_STR(j->msg.media_url, "https://cdn.example/a.png");
	CHECK_INT(j->res.struct_size, sizeof(wa_result));
	wa_job_free(j);

	/* no template, bad template: fields stay NULL */
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "msg-2");
	rec.body = strdup("x");
	rec.template_json = strdup("[1,2");
	j = wa_job_new(NULL, &rec);
	CHECK(j && j->msg.template_name == NULL &&
	      j->msg.n_template_variables == 0 && j->msg.media_url == NULL &&
	      j->msg.attempt == 1);
	wa_job_free(j);
}

int main(void)
{
	test_backoff();
	test_ratelimit();
	test_redact();
	test_message();
	return wa_t_report();
}
