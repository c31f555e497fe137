/* test_pe_outage.c - each provider's API fails transiently for a while: every
 * message is still sent exactly once
 *
 * The fake answers a plain 503 (Twilio) or its API's own transient error
 * (Evolution 500 "Connection Closed", Cloud API code 130429) to the first
 * OUTAGE requests; the daemon must retry until all N_MSG messages are sent,
 * each accepted once by the fake.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe.h"
#include "testing.h"

#define N_MSG 10
#define OUTAGE 6

static void run(const char *name, const char *const *fake_args)
{
	const pe_provider *p = pe_find(name);
	char rec[512], ids[N_MSG][64], ext[64], text[64], needle[96], st[32];
	wa_daemon d;
	wa_fake f;
	pe_env env;
	long total_attempts = 0;
	int retried = 0;

	memset(&d, 0, sizeof(d));
	if (wa_h_daemon_init(&d) != 0) {
		CHECK(0);
		return;
	}
	snprintf(rec, sizeof(rec), "%s/%s.jsonl", d.dir, name);
	if (wa_fake_start(&f, name, rec, fake_args) != 0) {
		fprintf(stderr, "cannot start the fake %s server\n", name);
		CHECK(0);
		return;
	}
	pe_env_init(&env, p, wa_h_free_port(), f.base, 0);
	pe_env_add(&env, "MAX_ATTEMPTS=20");
	/* every message goes to one number: keep the per-recipient order but
	 * not a second between sends, which is not this test's subject */
	pe_env_add(&env, "RECIPIENT_INTERVAL_MS=50");
	if (wa_h_daemon_start(&d, env.list) != 0) {
		fprintf(stderr, "daemon did not start; log %s\n", d.log_path);
		CHECK(0);
		wa_fake_stop(&f);
		return;
	}
	for (int i = 0; i < N_MSG; i++) {
		wa_http_reply r;

		snprintf(ext, sizeof(ext), "outage-%s-%d", name, i);
		snprintf(text, sizeof(text), "outage message %d", i);
		CHECK_INT(pe_send(&d, ext, "+5511987650001", text, false, &r),
		          200);
		pe_json(r.body, "message_id", ids[i], sizeof(ids[i]));
		wa_h_reply_free(&r);
	}
	for (int i = 0; i < N_MSG; i++) {
		wa_http_reply r;
		char path[128];
		long a;

		CHECK(e2e_wait_status(&d, ids[i], "sent", 20000));
		snprintf(path, sizeof(path), "/v1/messages/%s", ids[i]);
		CHECK_INT(e2e_get(&d, path, &r), 200);
		CHECK_STR(pe_json(r.body, "status", st, sizeof(st)), "sent");
		a = pe_json_int(r.body, "attempts");
		CHECK(a >= 1);
		total_attempts += a;
		retried += a > 1;
		wa_h_reply_free(&r);
		/* Exactly one accepted request per message at the fake. */
		snprintf(needle, sizeof(needle),
		         "\"text\":\"outage message %d\"", i);
		CHECK_INT(wa_h_count_lines(f.record, needle), 1);
	}
	CHECK_INT(wa_h_count_lines(f.record, "\"n\":"), N_MSG);
	/* Every failed request was one attempt of some message. */
	CHECK_INT(total_attempts, N_MSG + OUTAGE);
	CHECK(retried >= 1);
	printf("%s: %d of %d messages needed retries, %ld attempts\n", name,
	       retried, N_MSG, total_attempts);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 10000), 0);
	CHECK_INT(wa_fake_stop(&f), 0);
	if (wa_t_failed)
		fprintf(stderr, "daemon log: %s\n", d.log_path);
}

int main(void)
{
	const char *own[] = {"--outage", "6", NULL};
	const char *plain503[] = {"--outage", "6", "--outage-503", NULL};

	pe_clean_environ();
	run("twilio", plain503);
	run("evolution", own);
	run("cloudapi", own);
	return wa_t_report();
}
