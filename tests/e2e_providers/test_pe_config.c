/* test_pe_config.c - provider credentials: rejected ones pause delivery,
 * missing ones stop start-up
 *
 * 1. The fake answers every request with its API's authentication error:
 *    the plugin classes it CONFIG, the daemon pauses the provider, /ready
 *    answers 503 with the reason, and messages stay queued.
 * 2. A required credential is missing: the daemon exits non-zero at start
 *    with a sentence naming the variable.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_rules.h"
#include "pe.h"
#include "testing.h"

typedef struct ready_arg {
	const wa_daemon *d;
	char body[512];
} ready_arg;

static int not_ready(void *arg)
{
	ready_arg *a = arg;
	wa_http_reply r;
	char url[128];
	int hit = 0;

	snprintf(url, sizeof(url), "%s/ready", a->d->base);
	if (wa_h_http("GET", url, NULL, NULL, 0, &r) == 0) {
		hit = r.status == 503 && strstr(r.body, "provider paused");
		if (hit)
			snprintf(a->body, sizeof(a->body), "%s", r.body);
		wa_h_reply_free(&r);
	}
	return hit;
}

static void auth_fail(const char *name)
{
	const pe_provider *p = pe_find(name);
	const char *args[] = {"--auth-fail", NULL};
	char rec[512], id1[64], id2[64], st[32];
	ready_arg ra;
	wa_http_reply r;
	wa_daemon d;
	wa_fake f;
	pe_env env;

	memset(&d, 0, sizeof(d));
	if (wa_h_daemon_init(&d) != 0) {
		CHECK(0);
		return;
	}
	snprintf(rec, sizeof(rec), "%s/%s.jsonl", d.dir, name);
	if (wa_fake_start(&f, name, rec, args) != 0) {
		CHECK(0);
		return;
	}
	pe_env_init(&env, p, wa_h_free_port(), f.base, 0);
	if (wa_h_daemon_start(&d, env.list) != 0) {
		fprintf(stderr, "daemon did not start; log %s\n", d.log_path);
		CHECK(0);
		wa_fake_stop(&f);
		return;
	}
	/* The first attempt meets the auth error: the message goes back. */
	CHECK_INT(pe_send(&d, "cfg-1", "+5511987650001", "first", true, &r),
	          200);
	CHECK_STR(pe_json(r.body, "status", st, sizeof(st)), "queued");
	pe_json(r.body, "message_id", id1, sizeof(id1));
	wa_h_reply_free(&r);
	ra.d = &d;
	ra.body[0] = 0;
	CHECK_INT(wa_h_wait_for(not_ready, &ra, 10000), 1);
	CHECK_CONTAINS(ra.body, "provider paused");
	/* The reason is the provider's error, never a credential. */
	CHECK(!strstr(ra.body, FP_TWILIO_TOKEN));
	CHECK(!strstr(ra.body, FP_EVOLUTION_KEY));
	CHECK(!strstr(ra.body, FP_CLOUDAPI_TOKEN));
	printf("%s: /ready said %s\n", name, ra.body);

	/* While paused, new messages are accepted and wait. */
	CHECK_INT(pe_send(&d, "cfg-2", "+5511987650002", "second", false, &r),
	          200);
	pe_json(r.body, "message_id", id2, sizeof(id2));
	wa_h_reply_free(&r);
	/* Paused probes take one message at a time ("sending" for a moment)
	 * and put it back: both stay or come back to queued, never fail. */
	CHECK(e2e_wait_status(&d, id1, "queued", 5000));
	CHECK(e2e_wait_status(&d, id2, "queued", 5000));
	CHECK(not_ready(&ra));
	CHECK_INT(wa_h_count_lines(f.record, "\"n\":"), 0);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 10000), 0);
	CHECK_INT(wa_fake_stop(&f), 0);
	if (wa_t_failed)
		fprintf(stderr, "daemon log: %s\n", d.log_path);
}

/* Start with var removed from the working set: must exit naming it. */
static void missing(const char *name, const char *var)
{
	const pe_provider *p = pe_find(name);
	wa_daemon d;
	pe_env env;
	char *log;

	memset(&d, 0, sizeof(d));
	pe_env_init(&env, p, wa_h_free_port(), "http://127.0.0.1:9", 0);
	pe_env_drop(&env, var);
	printf("%s without %s: the daemon must refuse to start\n", name, var);
	if (wa_h_daemon_start(&d, env.list) == 0) {
		fprintf(stderr, "%s started without %s\n", name, var);
		CHECK(0);
		wa_h_daemon_stop(&d, SIGTERM, 10000);
		return;
	}
	log = wa_h_slurp(d.log_path, NULL);
	if (!log || !strstr(log, var)) {
		fprintf(stderr, "%s without %s: output:\n%s\n", name, var,
		        log ? log : "(none)");
		CHECK(0);
	} else {
		CHECK(1);
	}
	CHECK(log && !strstr(log, FP_TWILIO_TOKEN));
	CHECK(log && !strstr(log, FP_EVOLUTION_KEY));
	CHECK(log && !strstr(log, FP_CLOUDAPI_TOKEN));
	free(log);
}

/* A lease no longer than the provider call's timeout: refused at start. */
static void short_lease(const char *name)
{
	wa_daemon d;
	pe_env env;
	char *log;

	memset(&d, 0, sizeof(d));
	pe_env_init(&env, pe_find(name), wa_h_free_port(), "http://127.0.0.1:9",
	            0);
	pe_env_add(&env, "LEASE_SECONDS=%d", 15);
	pe_env_add(&env, "HTTP_TIMEOUT_MS=%d", 15000);
	if (wa_h_daemon_start(&d, env.list) == 0) {
		CHECK(!"started with a lease as short as the HTTP timeout");
		wa_h_daemon_stop(&d, SIGTERM, 10000);
		return;
	}
	log = wa_h_slurp(d.log_path, NULL);
	CHECK_CONTAINS(log, "LEASE_SECONDS (15 s) must be longer than "
	                    "HTTP_TIMEOUT_MS (15000 ms)");
	free(log);
}

/* A stop no longer than the provider call's timeout: started, with a
 * warning; with the defaults, no warning. */
static void short_stop(const char *name)
{
	for (int i = 0; i < 2; i++) {
		bool with_short = i == 0;
		wa_daemon d;
		pe_env env;
		char *log;

		memset(&d, 0, sizeof(d));
		pe_env_init(&env, pe_find(name), wa_h_free_port(),
		            "http://127.0.0.1:9", 0);
		if (with_short)
			pe_env_add(&env, "SHUTDOWN_TIMEOUT=%d", 5);
		if (wa_h_daemon_init(&d) != 0 ||
		    wa_h_daemon_start(&d, env.list) != 0) {
			CHECK(!"started");
			continue;
		}
		CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 15000), 0);
		log = wa_h_slurp(d.log_path, NULL);
		if (with_short)
			CHECK_CONTAINS(log,
			               "SHUTDOWN_TIMEOUT (5 s) is not longer "
			               "than HTTP_TIMEOUT_MS (15000 ms)");
		else
			CHECK(log && !strstr(log, "SHUTDOWN_TIMEOUT ("));
		free(log);
	}
}

int main(void)
{
	pe_clean_environ();
	auth_fail("twilio");
	auth_fail("evolution");
	auth_fail("cloudapi");

	missing("twilio", "TWILIO_ACCOUNT_SID");
	missing("twilio", "TWILIO_AUTH_TOKEN");
	missing("twilio", "TWILIO_FROM");
	missing("evolution", "EVOLUTION_BASE_URL");
	missing("evolution", "EVOLUTION_INSTANCE");
	missing("evolution", "EVOLUTION_API_KEY");
	missing("cloudapi", "CLOUDAPI_TOKEN");
	missing("cloudapi", "CLOUDAPI_PHONE_NUMBER_ID");
	short_lease("twilio");
	short_stop("twilio");
	return wa_t_report();
}
