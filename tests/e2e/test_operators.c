/* test_operators.c - the operators' API end to end (issue 15): roles on
 * every route, the listing's keyset pagination under concurrent inserts,
 * requeue of failed and canceled messages (and 409 otherwise), the bulk
 * requeue's bound, send_at a few seconds ahead, campaign counts and cancel */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "e2e.h"
#include "testing.h"

#define ADMIN "e2e-admin-key-0123456789"
#define PHONE "+5511987650002"

static wa_daemon d;

static long req(const char *key, const char *method, const char *path,
                const char *body, wa_http_reply *r)
{
	char url[1024], kh[96];
	const char *h[3] = {"Content-Type: application/json", NULL, NULL};

	if (key) {
		snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
		h[1] = kh;
	}
	snprintf(url, sizeof(url), "%s%s", d.base, path);
	if (wa_h_http(method, url, h, body, body ? strlen(body) : 0, r) != 0)
		return -1;
	return r->status;
}

/* Status of a request, reply freed. */
static long st(const char *key, const char *method, const char *path,
               const char *body)
{
	wa_http_reply r;
	long s = req(key, method, path, body, &r);

	wa_h_reply_free(&r);
	return s;
}

/* Send one message with extra JSON members; its id into id. */
static long send_one(const char *ext, const char *extra, char *id, size_t len)
{
	char body[512];
	wa_http_reply r;
	long s;

	snprintf(body, sizeof(body),
	         "{\"recipient_phone\":\"" PHONE "\",\"message_body\":\"hi\","
	         "\"external_id\":\"%s\"%s%s}",
	         ext, extra ? "," : "", extra ? extra : "");
	s = req(E2E_KEY, "POST", "/v1/messages/send", body, &r);
	if (id)
		e2e_field(r.body, "message_id", id, len);
	if (s != 200)
		fprintf(stderr, "send %s: %ld %s\n", ext, s,
		        r.body ? r.body : "");
	wa_h_reply_free(&r);
	return s;
}

static void iso_in(int64_t ms_ahead, char *out, size_t len)
{
	wa_iso8601(wa_now_ms() + ms_ahead, out, len);
}

/* ---- roles: every authenticated route, with no key, a wrong key, a
 * sending key and an operator key ---- */
static void roles(void)
{
	static const struct {
		const char *method, *path, *body;
		int admin_only;
	} routes[] = {
	    {"POST", "/v1/messages/send", "{}", 0},
	    {"POST", "/v1/messages/batch", "{}", 0},
	    {"GET", "/v1/messages?external_id=none", NULL, 0},
	    {"GET", "/v1/messages/msg-none", NULL, 0},
	    {"POST", "/v1/messages/msg-none/cancel", NULL, 0},
	    {"GET", "/v1/campaigns/none", NULL, 0},
	    {"POST", "/v1/campaigns/none/cancel", NULL, 0},
	    {"GET", "/v1/messages", NULL, 1},
	    {"GET", "/v1/messages?status=failed", NULL, 1},
	    {"POST", "/v1/messages/msg-none/retry", NULL, 1},
	    {"POST", "/v1/messages/retry", "{}", 1},
	    {"GET", "/v1/stats", NULL, 1},
	};
	wa_http_reply r;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *m = routes[i].method, *p = routes[i].path,
		           *b = routes[i].body;
		long s;

		CHECK_INT(st(NULL, m, p, b), 401);
		CHECK_INT(st("not-a-key-0123456789", m, p, b), 401);
		s = req(E2E_KEY, m, p, b, &r);
		if (routes[i].admin_only) {
			CHECK_INT(s, 403);
			CHECK_CONTAINS(
			    r.body, "{\"error\":\"This needs an operator key");
		} else {
			CHECK(s != 401 && s != 403);
		}
		wa_h_reply_free(&r);
		s = st(ADMIN, m, p, b);
		if (s == 401 || s == 403)
			fprintf(stderr, "%s %s with the operator key: %ld\n", m,
			        p, s);
		CHECK(s != 401 && s != 403);
	}
}

/* ---- requeue: failed -> sent, canceled -> sent, else 409 ---- */

/* A daemon on store path with extra knobs first. */
static int start(const char *store, const char *knob1, const char *knob2)
{
	char sp[600];
	const char *env[] = {knob1 ? knob1 : "MOCK_SEED=1",
	                     knob2 ? knob2 : "MOCK_SEED=1",
	                     sp,
	                     "API_KEY=" E2E_KEY,
	                     "ADMIN_API_KEYS=" ADMIN,
	                     "BIND_ADDRESS=127.0.0.1",
	                     "WHATSAPP_PROVIDER=mock",
	                     "MOCK_DELAY_MS=2",
	                     NULL};

	snprintf(sp, sizeof(sp), "STORE_PATH=%s", store);
	if (wa_h_daemon_init(&d) != 0)
		return -1;
	return wa_h_daemon_start(&d, env);
}

/* A message fails under a daemon whose provider answers RETRY with one
 * attempt allowed (MOCK_FAIL_FIRST=1, MAX_ATTEMPTS=1); then the daemon
 * restarts on the same store with the provider fixed. id: the message. */
static int make_failed(const char *store, char *id, size_t len)
{
	if (start(store, "MOCK_FAIL_FIRST=1", "MAX_ATTEMPTS=1") != 0 ||
	    d.pid <= 0)
		return -1;
	CHECK_INT(send_one("op-fail", NULL, id, len), 200);
	CHECK_INT(e2e_wait_status(&d, id, "failed", 10000), 1);
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
	return start(store, NULL, NULL);
}

static void requeue(const char *failed_id)
{
	char id[64], path[160], sched[40], extra[96];
	wa_http_reply r;

	snprintf(id, sizeof(id), "%s", failed_id);
	snprintf(path, sizeof(path), "/v1/messages/%s/retry", id);
	CHECK_INT(
	    req(ADMIN, "POST", path, "{\"reason\":\"fixed the number\"}", &r),
	    200);
	CHECK_CONTAINS(r.body, "\"status\":\"queued\"");
	wa_h_reply_free(&r);
	CHECK_INT(e2e_wait_status(&d, id, "sent", 10000), 1);
	snprintf(path, sizeof(path), "/v1/messages/%s", id);
	CHECK_INT(req(E2E_KEY, "GET", path, NULL, &r), 200);
	CHECK_CONTAINS(r.body, "\"detail\":\"requeued: fixed the number\"");
	CHECK_CONTAINS(r.body, "\"external_id\":\"op-fail\"");
	CHECK_CONTAINS(r.body, "\"attempts\":1");
	wa_h_reply_free(&r);
	/* sent: 409 with a sentence and the status */
	snprintf(path, sizeof(path), "/v1/messages/%s/retry", id);
	CHECK_INT(req(ADMIN, "POST", path, NULL, &r), 409);
	CHECK_CONTAINS(r.body, "Only a failed or canceled message can be "
	                       "requeued");
	CHECK_CONTAINS(r.body, "\"status\":\"sent\"");
	wa_h_reply_free(&r);

	/* canceled (a scheduled message, canceled before its time) */
	iso_in(60000, sched, sizeof(sched));
	snprintf(extra, sizeof(extra), "\"send_at\":\"%s\"", sched);
	CHECK_INT(send_one("op-cancel", extra, id, sizeof(id)), 200);
	snprintf(path, sizeof(path), "/v1/messages/%s/retry", id);
	CHECK_INT(req(ADMIN, "POST", path, NULL, &r), 409); /* queued */
	CHECK_CONTAINS(r.body, "\"status\":\"queued\"");
	wa_h_reply_free(&r);
	snprintf(path, sizeof(path), "/v1/messages/%s/cancel", id);
	CHECK_INT(st(E2E_KEY, "POST", path, NULL), 200);
	snprintf(path, sizeof(path), "/v1/messages/%s/retry", id);
	CHECK_INT(st(ADMIN, "POST", path, NULL), 200);
	/* requeued means due now, not at its old send_at */
	CHECK_INT(e2e_wait_status(&d, id, "sent", 10000), 1);
	CHECK_INT(st(ADMIN, "POST", "/v1/messages/msg-none/retry", NULL), 404);
}

/* ---- send_at a few seconds ahead ---- */
static void scheduled(void)
{
	char id[64], sched[40], extra[96], s[32], path[160];
	wa_http_reply r;
	int64_t t0 = wa_now_ms();
	struct timespec one = {1, 0};

	iso_in(3000, sched, sizeof(sched));
	snprintf(extra, sizeof(extra), "\"send_at\":\"%s\"", sched);
	CHECK_INT(send_one("op-sched", extra, id, sizeof(id)), 200);
	nanosleep(&one, NULL);
	CHECK_STR(e2e_status(&d, id, s, sizeof(s)), "queued");
	snprintf(path, sizeof(path), "/v1/messages/%s", id);
	CHECK_INT(req(E2E_KEY, "GET", path, NULL, &r), 200);
	CHECK_CONTAINS(r.body, "\"attempts\":0");
	CHECK_CONTAINS(r.body, "\"next_attempt_at\":\"");
	wa_h_reply_free(&r);
	CHECK_INT(e2e_wait_status(&d, id, "sent", 15000), 1);
	CHECK(wa_now_ms() - t0 >= 2900);
	/* too far ahead: 400 with a sentence; in the past: at once */
	iso_in(40LL * 86400000, sched, sizeof(sched));
	snprintf(extra, sizeof(extra), "\"send_at\":\"%s\"", sched);
	snprintf(path, sizeof(path),
	         "{\"recipient_phone\":\"" PHONE "\",\"message_body\":\"x\","
	         "\"external_id\":\"op-far\",%s}",
	         extra);
	CHECK_INT(req(E2E_KEY, "POST", "/v1/messages/send", path, &r), 400);
	CHECK_CONTAINS(r.body, "{\"error\":\"send_at is too far ahead: at "
	                       "most 35 days from now\"}");
	wa_h_reply_free(&r);
	CHECK_INT(send_one("op-past", "\"send_at\":\"2001-01-01T00:00:00Z\"",
	                   id, sizeof(id)),
	          200);
	CHECK_INT(e2e_wait_status(&d, id, "sent", 10000), 1);
}

/* ---- campaigns and the bulk requeue's bound ---- */
static long field_int(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = json ? strstr(json, pat) : NULL;
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static void campaigns(void)
{
	char sched[40], body[16384];
	size_t o = 0;
	wa_http_reply r;

	/* 30 messages due in a minute, in one campaign */
	iso_in(60000, sched, sizeof(sched));
	o += (size_t)snprintf(body + o, sizeof(body) - o, "{\"messages\":[");
	for (int i = 0; i < 30; i++)
		o += (size_t)snprintf(
		    body + o, sizeof(body) - o,
		    "%s{\"recipient_phone\":\"" PHONE "\",\"message_body\":"
		    "\"c\",\"external_id\":\"op-camp-%d\",\"campaign_id\":"
		    "\"spring\",\"send_at\":\"%s\"}",
		    i ? "," : "", i, sched);
	snprintf(body + o, sizeof(body) - o, "]}");
	CHECK_INT(st(E2E_KEY, "POST", "/v1/messages/batch", body), 200);
	CHECK_INT(req(E2E_KEY, "GET", "/v1/campaigns/spring", NULL, &r), 200);
	CHECK_INT(field_int(r.body, "total"), 30);
	CHECK_INT(field_int(r.body, "queued"), 30);
	CHECK_INT(field_int(r.body, "done"), 0);
	CHECK_CONTAINS(r.body, "\"progress\":0");
	wa_h_reply_free(&r);
	CHECK_INT(req(E2E_KEY, "POST", "/v1/campaigns/spring/cancel", NULL, &r),
	          200);
	CHECK_INT(field_int(r.body, "canceled"), 30);
	wa_h_reply_free(&r);
	CHECK_INT(req(E2E_KEY, "GET", "/v1/campaigns/spring", NULL, &r), 200);
	CHECK_INT(field_int(r.body, "canceled"), 30);
	CHECK_INT(field_int(r.body, "done"), 30);
	CHECK_CONTAINS(r.body, "\"progress\":1");
	wa_h_reply_free(&r);
	CHECK_INT(st(E2E_KEY, "GET", "/v1/campaigns/none", NULL), 404);

	/* bulk requeue: bounded by limit (at most 1000), says how many */
	CHECK_INT(st(ADMIN, "POST", "/v1/messages/retry", "{\"limit\":1001}"),
	          400);
	CHECK_INT(
	    st(ADMIN, "POST", "/v1/messages/retry", "{\"status\":\"sent\"}"),
	    400);
	for (int want = 12, left = 30; left >= 0; left -= 12) {
		want = left < 12 ? left : 12;
		CHECK_INT(req(ADMIN, "POST", "/v1/messages/retry",
		              "{\"campaign_id\":\"spring\",\"status\":"
		              "\"canceled\",\"limit\":12,\"reason\":\"again\"}",
		              &r),
		          200);
		CHECK_INT(field_int(r.body, "requeued"), want);
		CHECK_INT(field_int(r.body, "limit"), 12);
		wa_h_reply_free(&r);
	}
	CHECK_INT(req(E2E_KEY, "GET", "/v1/campaigns/spring", NULL, &r), 200);
	CHECK_INT(field_int(r.body, "canceled"), 0);
	wa_h_reply_free(&r);
}

/* ---- the listing: keyset pages while inserts go on ---- */
static atomic_int stop_inserts, n_late;

static void *inserter(void *arg)
{
	char ext[64];

	(void)arg;
	for (int i = 0; !atomic_load(&stop_inserts) && i < 2000; i++) {
		snprintf(ext, sizeof(ext), "op-page-late-%d", i);
		if (send_one(ext, "\"campaign_id\":\"pages\"", NULL, 0) == 200)
			atomic_fetch_add(&n_late, 1);
	}
	return NULL;
}

#define N_BEFORE 120

static void pagination(void)
{
	static char ids[N_BEFORE][64], seen[4096][64];
	char path[512], cursor[256] = "", body[32000];
	size_t n_seen = 0, o = 0;
	wa_http_reply r;
	pthread_t th;
	int pages = 0;

	o += (size_t)snprintf(body + o, sizeof(body) - o, "{\"messages\":[");
	for (int i = 0; i < N_BEFORE; i++)
		o += (size_t)snprintf(
		    body + o, sizeof(body) - o,
		    "%s{\"recipient_phone\":\"" PHONE "\",\"message_body\":"
		    "\"p\",\"external_id\":\"op-page-%d\",\"campaign_id\":"
		    "\"pages\"}",
		    i ? "," : "", i);
	snprintf(body + o, sizeof(body) - o, "]}");
	CHECK_INT(req(E2E_KEY, "POST", "/v1/messages/batch", body, &r), 200);
	{
		const char *p = r.body;
		for (int i = 0; i < N_BEFORE && p; i++) {
			p = strstr(p, "\"message_id\":\"");
			if (!p)
				break;
			e2e_field(p, "message_id", ids[i], sizeof(ids[i]));
			p += 14;
		}
	}
	wa_h_reply_free(&r);
	atomic_store(&stop_inserts, 0);
	pthread_create(&th, NULL, inserter, NULL);
	while (atomic_load(&n_late) < 3)
		nanosleep(&(struct timespec){0, 1000000L}, NULL);
	for (;;) {
		const char *p;

		snprintf(path, sizeof(path),
		         "/v1/messages?campaign_id=pages&limit=7%s%s",
		         cursor[0] ? "&cursor=" : "", cursor);
		CHECK_INT(req(ADMIN, "GET", path, NULL, &r), 200);
		pages++;
		for (p = r.body; (p = strstr(p, "\"message_id\":\""));
		     p += 14) {
			if (n_seen < 4096)
				e2e_field(p, "message_id", seen[n_seen++],
				          sizeof(seen[0]));
		}
		cursor[0] = 0;
		e2e_field(r.body, "next_cursor", cursor, sizeof(cursor));
		wa_h_reply_free(&r);
		if (!cursor[0] || pages > 600)
			break;
		/* let inserts land between pages */
		nanosleep(&(struct timespec){0, 5000000L}, NULL);
	}
	atomic_store(&stop_inserts, 1);
	pthread_join(th, NULL);
	/* no message twice; every message stored before the walk, once */
	for (size_t i = 0; i < n_seen; i++)
		for (size_t j = i + 1; j < n_seen; j++)
			if (strcmp(seen[i], seen[j]) == 0) {
				fprintf(stderr, "listed twice: %s\n", seen[i]);
				CHECK(0);
			}
	for (int i = 0; i < N_BEFORE; i++) {
		int found = 0;

		for (size_t j = 0; j < n_seen; j++)
			found += strcmp(ids[i], seen[j]) == 0;
		if (found != 1)
			fprintf(stderr, "%s listed %d times\n", ids[i], found);
		CHECK_INT(found, 1);
	}
	CHECK(pages >= N_BEFORE / 7);
	printf("pagination: %zu messages over %d pages while %d were "
	       "inserted\n",
	       n_seen, pages, atomic_load(&n_late));
	CHECK(atomic_load(&n_late) > 3);
	/* once quiet, one walk sees every message of the campaign once */
	n_seen = 0;
	cursor[0] = 0;
	do {
		const char *p;

		snprintf(path, sizeof(path),
		         "/v1/messages?campaign_id=pages&limit=500%s%s",
		         cursor[0] ? "&cursor=" : "", cursor);
		CHECK_INT(req(ADMIN, "GET", path, NULL, &r), 200);
		for (p = r.body; (p = strstr(p, "\"message_id\":\"")); p += 14)
			n_seen++;
		cursor[0] = 0;
		e2e_field(r.body, "next_cursor", cursor, sizeof(cursor));
		wa_h_reply_free(&r);
	} while (cursor[0]);
	CHECK_INT(n_seen, (size_t)(N_BEFORE + atomic_load(&n_late)));
	/* filters and bad input */
	CHECK_INT(st(ADMIN, "GET", "/v1/messages?limit=0", NULL), 400);
	CHECK_INT(st(ADMIN, "GET", "/v1/messages?limit=501", NULL), 400);
	CHECK_INT(st(ADMIN, "GET", "/v1/messages?status=lost", NULL), 400);
	CHECK_INT(st(ADMIN, "GET", "/v1/messages?since=yesterday", NULL), 400);
	CHECK_INT(st(ADMIN, "GET", "/v1/messages?cursor=abc", NULL), 400);
	CHECK_INT(req(ADMIN, "GET",
	              "/v1/messages?status=sent&phone=" PHONE
	              "&campaign_id=nothing",
	              NULL, &r),
	          200);
	CHECK_STR(r.body, "{\"messages\":[],\"next_cursor\":null}");
	wa_h_reply_free(&r);
	/* the lookup by external_id is unchanged, for every key */
	CHECK_INT(
	    st(E2E_KEY, "GET", "/v1/messages?external_id=op-page-3", NULL),
	    200);
}

static void stats(void)
{
	wa_http_reply r;

	CHECK_INT(req(ADMIN, "GET", "/v1/stats", NULL, &r), 200);
	CHECK_CONTAINS(r.body, "\"counts\":{\"queued\":");
	CHECK_CONTAINS(r.body, "\"per_minute\":[{\"minute\":");
	CHECK_CONTAINS(r.body, "\"provider_latency_seconds\":{\"p50\":");
	CHECK(field_int(r.body, "accepted") >= 0);
	wa_h_reply_free(&r);
}

int main(void)
{
	char dir[] = "/tmp/wa-operators-XXXXXX", store[128], failed[64] = "";

	if (!mkdtemp(dir))
		return 1;
	snprintf(store, sizeof(store), "%s/wadispatch.db", dir);
	CHECK_INT(make_failed(store, failed, sizeof(failed)), 0);
	if (d.pid <= 0)
		return wa_t_report() | 1;
	requeue(failed);
	roles();
	scheduled();
	campaigns();
	pagination();
	stats();
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
	if (wa_t_failed) {
		fprintf(stderr, "daemon log: %s; store: %s\n", d.log_path,
		        store);
	} else {
		char path[200];

		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return wa_t_report();
}
