/* test_engine_http.c - the engine's libcurl loop against a fake provider server
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "engine_testlib.h"
#include "fakehttp.h"
#include "testing.h"

/* A port on 127.0.0.1 nobody listens on (bound, then closed). */
static unsigned dead_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 1;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void set_urls(fakehttp *f)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", fakehttp_port(f));
	setenv("HTTPTEST_URL", url, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", dead_port());
	setenv("HTTPTEST_DEAD_URL", url, 1);
	setenv("HTTPTEST_TOKEN", "tok-abc123", 1);
	fakehttp_expect_token(f, "tok-abc123");
}

static void expect(et_rig *r, const char *id, wa_msg_status st, int attempts,
                   const char *error_part)
{
	wa_message_rec m;

	if (et_get(r, id, &m) != 0) {
		CHECK(!"message found");
		return;
	}
	if (m.status != st || m.attempts != attempts)
		fprintf(stderr, "%s: status %d attempts %d error \"%s\"\n", id,
		        (int)m.status, m.attempts, m.last_error);
	CHECK_INT(m.status, st);
	CHECK_INT(m.attempts, attempts);
	if (error_part)
		CHECK_CONTAINS(m.last_error, error_part);
	if (st == WA_MSG_SENT)
		CHECK(strncmp(m.provider_message_id, "ht-", 3) == 0);
	wa_message_rec_free(&m);
}

/* Every scenario at once on one engine, plus 200 slow ones in parallel. */
static void test_mixed(void)
{
	wa_engine_config c = et_config();
	fakehttp *f = fakehttp_start();
	et_rig r;
	char id[WA_ID_MAX];
	int64_t t1 = 0, t2 = 0;
	int n = 0;

	CHECK(f != NULL);
	if (!f)
		return;
	set_urls(f);
	c.max_attempts = 3;
	/* The slow ones test concurrency, not the timeout: under TSan on a
	 * loaded machine the fake's thread per connection can take seconds
	 * to answer one, which a 5 s timeout would turn into a retry. */
	c.http_timeout_ms = 30000;
	if (et_rig_open(&r, false, WA_HTTPTEST_SO, &c) != 0) {
		CHECK(!"rig");
		fakehttp_stop(f);
		return;
	}
	et_insert(&r, "msg-h-ok", "ok", 600000);
	et_insert(&r, "msg-h-flaky", "flaky", 600000);
	et_insert(&r, "msg-h-r429", "r429", 600000);
	et_insert(&r, "msg-h-bad", "bad", 600000);
	et_insert(&r, "msg-h-big", "big", 600000);
	et_insert(&r, "msg-h-redir", "redir", 600000);
	et_insert(&r, "msg-h-refused", "refused", 600000);
	et_insert(&r, "msg-h-toolong", "toolong", 600000);
	n = 8;
	/* Connections that end after each answer, amid kept-alive ones:
	 * sockets closed through the HTTP loop's close callback and new ones
	 * opened, often with the same numbers, which its epoll bookkeeping
	 * (kept-alive sockets stay in the set while idle) must watch afresh,
	 * or their answers are never read. */
	for (int i = 0; i < 40; i++, n++) {
		snprintf(id, sizeof(id), "msg-h-close-%d", i);
		et_insert(&r, id, "close", 600000);
	}
	for (int i = 0; i < 200; i++, n++) {
		snprintf(id, sizeof(id), "msg-h-slow-%d", i);
		et_insert(&r, id, "slow", 600000);
	}
	CHECK(et_wait_final(&r, n, 60000));

	expect(&r, "msg-h-ok", WA_MSG_SENT, 1, NULL);
	expect(&r, "msg-h-flaky", WA_MSG_SENT, 2, NULL);
	expect(&r, "msg-h-r429", WA_MSG_SENT, 2, NULL);
	/* Retry-After: 1 beat the 10..40 ms backoff */
	CHECK_INT(fakehttp_hits(f, "msg-h-r429", &t1, &t2), 2);
	printf("429 retry came after %lld ms\n", (long long)(t2 - t1));
	CHECK(t2 - t1 >= 900);
	expect(&r, "msg-h-bad", WA_MSG_FAILED, 1, "HTTP 400");
	/* a 200 too large to read: accepted upstream, so never resent */
	expect(&r, "msg-h-big", WA_MSG_FAILED, 1,
	       "not retried to avoid a duplicate");
	expect(&r, "msg-h-redir", WA_MSG_FAILED, 1, "redirect");
	CHECK_INT(fakehttp_landed(f), 0);
	expect(&r, "msg-h-refused", WA_MSG_FAILED, 3, "transport");
	CHECK_INT(fakehttp_hits(f, "msg-h-refused", NULL, NULL), 0);
	expect(&r, "msg-h-toolong", WA_MSG_FAILED, 1, "body too long");
	CHECK_INT(fakehttp_hits(f, "msg-h-toolong", NULL, NULL), 0);
	for (int i = 0; i < 200; i += 37) {
		snprintf(id, sizeof(id), "msg-h-slow-%d", i);
		expect(&r, id, WA_MSG_SENT, 1, NULL);
	}
	for (int i = 0; i < 40; i += 13) {
		snprintf(id, sizeof(id), "msg-h-close-%d", i);
		expect(&r, id, WA_MSG_SENT, 1, NULL);
	}
	CHECK_INT(et_count(&r, WA_MSG_SENT), 243);
	CHECK_INT(et_count(&r, WA_MSG_FAILED), 5);
	printf("max concurrent requests at the fake: %d\n",
	       fakehttp_max_concurrent(f));
	CHECK(fakehttp_max_concurrent(f) > 1);
	CHECK_INT(fakehttp_bad_auth(f), 0);
	et_rig_close(&r, 2000);
	fakehttp_stop(f);
}

static bool paused(et_rig *r, void *ud)
{
	char reason[256];

	(void)ud;
	return !wa_engine_ready(r->engine, reason, sizeof(reason));
}

/* 401 -> CONFIG: paused, the message stays queued, attempts not counted. */
static void test_auth_pauses(void)
{
	wa_engine_config c = et_config();
	fakehttp *f = fakehttp_start();
	wa_engine_counts k;
	char reason[256], log_path[] = "/tmp/wa-engine-log-XXXXXX",
	                  logbuf[65536];
	int saved, log_fd;
	ssize_t got;
	et_rig r;

	CHECK(f != NULL);
	if (!f)
		return;
	set_urls(f);
	c.probe_interval_ms = 60000; /* no probe during this test */
	/* debug logging on, stderr to a file: secrets must not show */
	fflush(stderr);
	saved = dup(2);
	log_fd = mkstemp(log_path);
	CHECK(saved >= 0 && log_fd >= 0);
	if (log_fd >= 0)
		dup2(log_fd, 2);
	wa_log_set_level(WA_LOG_DEBUG);
	if (et_rig_open(&r, false, WA_HTTPTEST_SO, &c) != 0) {
		CHECK(!"rig");
		fakehttp_stop(f);
		return;
	}
	et_insert(&r, "msg-a-1", "auth", 600000);
	CHECK(et_wait_until(&r, paused, NULL, 10000));
	CHECK(!wa_engine_ready(r.engine, reason, sizeof(reason)));
	CHECK_CONTAINS(reason,
	               "provider paused: credentials refused (HTTP 401)");
	/* the outcome is committed shortly after the pause begins */
	{
		int64_t end = wa_mono_ms() + 10000;

		do {
			wa_engine_get_counts(r.engine, &k);
		} while (k.in_flight && wa_mono_ms() < end);
	}
	CHECK_INT(k.config_errors, 1);
	CHECK_INT(et_count(&r, WA_MSG_QUEUED), 1);
	expect(&r, "msg-a-1", WA_MSG_QUEUED, 0, NULL);
	/* more messages wait while paused */
	et_insert(&r, "msg-a-2", "ok", 600000);
	CHECK_INT(et_count(&r, WA_MSG_QUEUED), 2);
	et_rig_close(&r, 1000);
	fakehttp_stop(f);

	wa_log_set_level(WA_LOG_INFO);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	got = log_fd >= 0 ? pread(log_fd, logbuf, sizeof(logbuf) - 1, 0) : -1;
	CHECK(got > 0);
	logbuf[got > 0 ? got : 0] = 0;
	CHECK_CONTAINS(logbuf, "Provider request POST http://127.0.0.1:");
	CHECK_CONTAINS(logbuf, "/auth?key=[redacted]");
	CHECK_CONTAINS(logbuf, "[Authorization: [redacted]]");
	CHECK_CONTAINS(logbuf, "[X-Message-Id: msg-a-1]");
	CHECK(strstr(logbuf, "tok-abc123") == NULL);
	if (log_fd >= 0)
		close(log_fd);
	unlink(log_path);
}

int main(void)
{
	/* only 127.0.0.1 is contacted: no proxy in the way */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	test_mixed();
	test_auth_pauses();
	return wa_t_report();
}
