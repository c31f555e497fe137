/* test_pacing.c - campaign-safe sending (issue 14) end to end: order and
 * spacing per recipient with retries, the tier budget, the quality pause
 *
 * The mock records every call (MOCK_CALL_FILE: start and end in monotonic
 * ms, phone, message, attempt, class); the assertions are about that
 * record's structure (order, no overlap, interleaving) and lower bounds the
 * daemon guarantees (spacing), never about how fast something happened.
 * With DATABASE_URL (e2e_pacing_pg, under tests/lib/pgtmp.sh) the ordering
 * runs on two daemons sharing one database and one call file. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "testing.h"

#define NPHONE 5
#define NMSG 20
#define INTERVAL 150
#define ADMIN "pacing-admin-key-0123456789"

static const char *const phones[NPHONE] = {"+5511987001001", "+5511987001002",
                                           "+5511987001003", "+5511987001004",
                                           "+5511987001005"};

typedef struct call {
	long long start, end;
	char phone[24], id[64], ext[64], cls[8];
	unsigned attempt;
} call;

static int by_start(const void *a, const void *b)
{
	const call *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The call file's lines, sorted by start; *n of them (malloc'd). */
static call *read_calls(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	call *c = NULL;
	size_t cap = 0;
	char line[512];

	*n = 0;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		call k;

		if (sscanf(line, "%lld %lld %23s %63s %63s %u %7s", &k.start,
		           &k.end, k.phone, k.id, k.ext, &k.attempt,
		           k.cls) != 7)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			c = realloc(c, cap * sizeof(*c));
			if (!c)
				break;
		}
		c[(*n)++] = k;
	}
	fclose(f);
	if (c)
		qsort(c, *n, sizeof(*c), by_start);
	return c;
}

typedef struct want_lines {
	const char *path, *needle;
	int n;
} want_lines;

static int has_lines(void *arg)
{
	want_lines *w = arg;

	return wa_h_count_lines(w->path, w->needle) >= w->n;
}

static int start(wa_daemon *d, const char *const *knobs, const char *dir)
{
	static const char *const defaults[] = {
	    "API_KEY=" E2E_KEY,       "ADMIN_API_KEYS=" ADMIN,
	    "BIND_ADDRESS=127.0.0.1", "LOG_LEVEL=info",
	    "ACCESS_LOG=false",       NULL};
	const char *env[32];
	size_t n = 0;

	for (const char *const *k = knobs; k && *k && n < 24; k++)
		env[n++] = *k;
	for (const char *const *k = defaults; *k; k++)
		env[n++] = *k;
	env[n] = NULL;
	if (dir) { /* a second daemon: its own dir (store, log) */
		if (wa_h_daemon_init(d) != 0)
			return -1;
	}
	return wa_h_daemon_start(d, env);
}

/* Per recipient in order, one at a time, spaced; a retried message keeps
 * its place; the recipients interleave (none waits behind another). */
static void ordering(void)
{
	wa_daemon d, d2;
	char calls[400], calls_kv[420];
	const char *const knobs[] = {"RECIPIENT_ORDER=on",
	                             "RECIPIENT_INTERVAL_MS=150",
	                             "MOCK_DELAY_MS=10",
	                             "MOCK_RETRY_RATE=0.25",
	                             "RETRY_BASE_MS=20",
	                             "RETRY_MAX_MS=100",
	                             "MAX_ATTEMPTS=30",
	                             "WORKERS=8",
	                             calls_kv,
	                             NULL};
	bool two = getenv("DATABASE_URL") != NULL;
	long long first[NPHONE], last[NPHONE];
	want_lines w;
	size_t n = 0;
	call *c;
	int retries = 0;

	memset(&d, 0, sizeof(d));
	memset(&d2, 0, sizeof(d2));
	CHECK_INT(wa_h_daemon_init(&d), 0);
	snprintf(calls, sizeof(calls), "%s/calls", d.dir);
	snprintf(calls_kv, sizeof(calls_kv), "MOCK_CALL_FILE=%s", calls);
	CHECK_INT(start(&d, knobs, NULL), 0);
	if (two)
		CHECK_INT(start(&d2, knobs, d.dir), 0);
	/* accepted in order: message i of every phone before message i+1 */
	for (int i = 0; i < NMSG; i++)
		for (int p = 0; p < NPHONE; p++) {
			wa_http_reply r;
			char ext[32], body[32];

			snprintf(ext, sizeof(ext), "o%d-%02d", p, i);
			snprintf(body, sizeof(body), "message %d", i);
			CHECK_INT(e2e_send(two && (i + p) % 2 ? &d2 : &d, ext,
			                   phones[p], body, NULL, &r),
			          200);
			wa_h_reply_free(&r);
		}
	w = (want_lines){calls, " ok", NPHONE * NMSG};
	CHECK(wa_h_wait_for(has_lines, &w, 120000));
	c = read_calls(calls, &n);
	CHECK(c != NULL);
	for (int p = 0; p < NPHONE && c; p++) {
		const call *prev = NULL;
		int next = 0; /* the message this phone is at */

		first[p] = last[p] = -1;
		for (size_t i = 0; i < n; i++) {
			const call *k = &c[i];
			int idx = -1;

			if (strcmp(k->phone, phones[p]) != 0)
				continue;
			if (first[p] < 0)
				first[p] = k->start;
			last[p] = k->start;
			sscanf(k->ext + 3, "%d", &idx);
			/* in order: the same message again, or the next */
			CHECK_INT(idx, next);
			if (strcmp(k->cls, "ok") == 0)
				next++;
			else
				retries++;
			if (prev) {
				/* never overlapping, spaced */
				CHECK(k->start >= prev->end);
				CHECK(k->start - prev->start >= INTERVAL);
			}
			prev = k;
		}
		CHECK_INT(next, NMSG);
	}
	/* the mock failed some first attempts (a quarter of all calls) */
	CHECK(retries > 0);
	/* no recipient waited for another: every phone's calls began before
	 * any other phone's ended */
	for (int p = 0; p < NPHONE; p++)
		for (int q = 0; q < NPHONE; q++)
			if (p != q)
				CHECK(first[p] < last[q]);
	free(c);
	if (two)
		CHECK_INT(wa_h_daemon_stop(&d2, 15, 15000), 0);
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
}

/* GET /v1/stats with the operator key. */
static long get_stats(const wa_daemon *d, wa_http_reply *r)
{
	const char *h[] = {"X-API-Key: " ADMIN, NULL};
	char url[512];

	snprintf(url, sizeof(url), "%s/v1/stats", d->base);
	if (wa_h_http("GET", url, h, NULL, 0, r) != 0)
		return -1;
	return r->status;
}

static long stats_int(const wa_daemon *d, const char *key)
{
	wa_http_reply r;
	char got[64] = "";
	const char *p;

	if (get_stats(d, &r) != 200) {
		wa_h_reply_free(&r);
		return -1;
	}
	p = strstr(r.body, "\"messaging_limit\"");
	snprintf(got, sizeof(got), "\"%s\":", key);
	p = p ? strstr(p, got) : NULL;
	got[0] = 0;
	if (p)
		snprintf(got, sizeof(got), "%.20s", p + strlen(key) + 3);
	wa_h_reply_free(&r);
	return got[0] >= '0' && got[0] <= '9' ? strtol(got, NULL, 10) : -1;
}

static const wa_daemon *held_d;
static int two_held(void *arg)
{
	(void)arg;
	return stats_int(held_d, "held") == 2;
}

/* MESSAGING_LIMIT=3 and five recipients: three go, two wait (visible in
 * /v1/stats and /metrics) and go when the window moves. */
static void tier(void)
{
	wa_daemon d;
	char calls[400], calls_kv[420];
	const char *const knobs[] = {"MESSAGING_LIMIT=3",
	                             "MESSAGING_LIMIT_WINDOW=4s",
	                             "RECIPIENT_INTERVAL_MS=0",
	                             "MOCK_DELAY_MS=1",
	                             calls_kv,
	                             NULL};
	wa_http_reply r;
	want_lines w;
	size_t n = 0;
	call *c;

	memset(&d, 0, sizeof(d));
	CHECK_INT(wa_h_daemon_init(&d), 0);
	snprintf(calls, sizeof(calls), "%s/calls", d.dir);
	snprintf(calls_kv, sizeof(calls_kv), "MOCK_CALL_FILE=%s", calls);
	CHECK_INT(start(&d, knobs, NULL), 0);
	for (int p = 0; p < NPHONE; p++) {
		char ext[32];

		snprintf(ext, sizeof(ext), "t%d", p);
		CHECK_INT(e2e_send(&d, ext, phones[p], "tier", NULL, &r), 200);
		wa_h_reply_free(&r);
	}
	w = (want_lines){calls, " ok", 3};
	CHECK(wa_h_wait_for(has_lines, &w, 20000));
	held_d = &d;
	CHECK(wa_h_wait_for(two_held, NULL, 20000));
	CHECK_INT((int)stats_int(&d, "limit"), 3);
	CHECK_INT(e2e_get(&d, "/metrics", &r), 200);
	CHECK_CONTAINS(r.body, "wadispatch_messaging_limit 3\n");
	CHECK_CONTAINS(r.body, "wadispatch_messaging_limit_held 2\n");
	wa_h_reply_free(&r);
	/* the window moves: the two others go */
	w = (want_lines){calls, " ok", NPHONE};
	CHECK(wa_h_wait_for(has_lines, &w, 30000));
	c = read_calls(calls, &n);
	CHECK_INT((int)n, NPHONE);
	if (c && n == NPHONE) {
		/* three at once, then two a window (4 s) after the first was
		 * claimed (the claim comes just before the call: 100 ms
		 * slack for that, never for slowness) */
		CHECK(c[3].start - c[0].start >= 4000 - 100);
		CHECK(c[4].start - c[0].start >= 4000 - 100);
	}
	free(c);
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
}

typedef struct ready_want {
	const wa_daemon *d;
	long status;
} ready_want;

static int ready_is(void *arg)
{
	ready_want *w = arg;
	wa_http_reply r;
	long st = e2e_get(w->d, "/ready", &r);

	wa_h_reply_free(&r);
	return st == w->status;
}

/* An answer saying the account is throttled for quality pauses sending
 * for QUALITY_PAUSE (not a CONFIG pause: no probe), with /ready and one
 * log line saying why; the message is tried again after it. The mock's
 * REJECT code stands for 131048 here (QUALITY_PAUSE_CODES). */
static void quality(void)
{
	wa_daemon d;
	char calls[400], calls_kv[420], rej[400], rej_kv[420];
	char id[64], id2[64];
	const char *const knobs[] = {"QUALITY_PAUSE=3s",
	                             "QUALITY_PAUSE_CODES=131048,mock_reject",
	                             "MOCK_DELAY_MS=1",
	                             calls_kv,
	                             rej_kv,
	                             NULL};
	wa_http_reply r;
	ready_want rw;
	size_t n = 0;
	call *c;
	FILE *f;

	memset(&d, 0, sizeof(d));
	CHECK_INT(wa_h_daemon_init(&d), 0);
	snprintf(calls, sizeof(calls), "%s/calls", d.dir);
	snprintf(calls_kv, sizeof(calls_kv), "MOCK_CALL_FILE=%s", calls);
	snprintf(rej, sizeof(rej), "%s/reject", d.dir);
	snprintf(rej_kv, sizeof(rej_kv), "MOCK_REJECT_FILE=%s", rej);
	CHECK_INT(start(&d, knobs, NULL), 0);
	f = fopen(rej, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK_INT(e2e_send(&d, "q1", phones[0], "quality", NULL, &r), 200);
	e2e_field(r.body, "message_id", id, sizeof(id));
	wa_h_reply_free(&r);
	rw = (ready_want){&d, 503};
	CHECK(wa_h_wait_for(ready_is, &rw, 10000));
	unlink(rej);
	CHECK_INT(e2e_get(&d, "/ready", &r), 503);
	CHECK_CONTAINS(r.body, "sending paused for quality");
	CHECK_CONTAINS(r.body, "mock_reject");
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_count_lines(d.log_path, "Sending paused for 3 s"), 1);
	CHECK_INT(wa_h_count_lines(d.log_path, "paused after a configuration"),
	          0);
	/* back in the queue (its outcome is written a moment later) */
	CHECK(e2e_wait_status(&d, id, "queued", 10000));
	/* another message waits for the end of the pause too */
	CHECK_INT(e2e_send(&d, "q2", phones[1], "quality 2", NULL, &r), 200);
	e2e_field(r.body, "message_id", id2, sizeof(id2));
	wa_h_reply_free(&r);
	rw.status = 200;
	CHECK(wa_h_wait_for(ready_is, &rw, 20000));
	CHECK(e2e_wait_status(&d, id, "sent", 20000));
	CHECK(e2e_wait_status(&d, id2, "sent", 20000));
	CHECK_INT(wa_h_count_lines(d.log_path, "The quality pause is over"), 1);
	c = read_calls(calls, &n);
	CHECK_INT((int)n, 3);
	if (c && n == 3) {
		CHECK_STR(c[0].cls, "reject");
		/* nothing was called during the pause */
		CHECK(c[1].start >= c[0].end + 3000 - 5);
		CHECK(c[2].start >= c[0].end + 3000 - 5);
	}
	free(c);
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
}

int main(void)
{
	ordering();
	if (!getenv("DATABASE_URL")) {
		tier();
		quality();
	} else {
		tier();
	}
	return wa_t_report();
}
