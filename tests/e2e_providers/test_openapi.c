/* test_openapi.c - the daemon's answers match docs/openapi.json
 *
 * Prism (npm @stoplight/prism-cli@5, installed once by prism_install.sh) runs
 * `prism proxy docs/openapi.json <daemon>`: each request goes through it to
 * the real daemon (mock provider), and Prism reports in an sl-violations
 * header every part of the exchange that the document does not describe.
 * Every route is called, with each status the test can provoke; no answer
 * may carry a response violation (request violations are expected only
 * where the test sends a bad request on purpose). Then a second Prism on a
 * copy of the document with one constant changed must report a violation
 * for the same answer: the check can fail. Exit 77 (skipped) only when
 * node/npm or the npm registry is unavailable.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "prism.h"
#include "testing.h"

#define PHONE "+5511987650001"
#define ADMIN_KEY "e2e-admin-key-0123456789"

static wa_daemon via; /* only .base: requests through Prism */
static int n_exchanges;

/* The violations Prism found in the answer r, into buf ("" if none). */
static const char *violations(const wa_http_reply *r, char *buf, size_t len)
{
	buf[0] = 0;
	return wa_h_header(r, "sl-violations", buf, len) ? buf : "";
}

/* One exchange through Prism: the status must be want and the answer must
 * match the document; bad_request says the request breaks it on purpose. */
static void exchange(const char *what, long got, wa_http_reply *r, long want,
                     int bad_request)
{
	char v[4096];

	n_exchanges++;
	violations(r, v, sizeof(v));
	if (got != want || strstr(v, "\"response\"") ||
	    (!bad_request && v[0]) || (bad_request && !strstr(v, "request")))
		fprintf(stderr, "%s: status %ld (want %ld), violations: %s\n",
		        what, got, want, v[0] ? v : "none");
	CHECK_INT(got, want);
	CHECK(strstr(v, "\"response\"") == NULL);
	if (bad_request)
		CHECK(strstr(v, "request") != NULL);
	else
		CHECK_STR(v, "");
	wa_h_reply_free(r);
}

static long raw(const char *method, const char *path, const char *const *h,
                const char *body, wa_http_reply *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", via.base, path);
	if (wa_h_http(method, url, h, body, body ? strlen(body) : 0, r) != 0)
		return -1;
	return r->status;
}

static void open_routes(void)
{
	wa_http_reply r;

	exchange("health", raw("GET", "/health", NULL, NULL, &r), &r, 200, 0);
	exchange("ready", raw("GET", "/ready", NULL, NULL, &r), &r, 200, 0);
	exchange("openapi", raw("GET", "/openapi.json", NULL, NULL, &r), &r,
	         200, 0);
	exchange("metrics", raw("GET", "/metrics", NULL, NULL, &r), &r, 200, 0);
	exchange(
	    "callback of a provider without one",
	    raw("POST", "/v1/providers/mock/callback",
	        (const char *const[]){"Content-Type: application/json", NULL},
	        "{}", &r),
	    &r, 404, 0);
}

static int queued_after_attempt(void *arg)
{
	wa_http_reply r;
	char status[32];
	int ok = 0;

	/* The message's own status is the first "status" member (its
	 * history's come later). */
	if (e2e_get(arg, "/v1/messages?external_id=oa-cancel", &r) == 200)
		ok = strcmp(e2e_field(r.body, "status", status, sizeof(status)),
		            "queued") == 0 &&
		     strstr(r.body, "\"attempts\":1");
	wa_h_reply_free(&r);
	return ok;
}

static char canceled[64]; /* the message sends() canceled */

static void sends(const wa_daemon *d, char *id, size_t id_len)
{
	const char *wait[] = {"Prefer: wait=10", NULL};
	wa_http_reply r;
	char cid[64], path[128];

	/* The mock fails its first call with Retry-After 60 s: that message
	 * stays queued and can be canceled. */
	CHECK_INT(e2e_send(&via, "oa-cancel", PHONE, "first", NULL, &r), 200);
	e2e_field(r.body, "message_id", cid, sizeof(cid));
	snprintf(canceled, sizeof(canceled), "%s", cid);
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_wait_for(queued_after_attempt, (void *)d, 10000), 1);
	snprintf(path, sizeof(path), "/v1/messages/%s/cancel", cid);
	exchange("cancel", e2e_post(&via, path, "", NULL, &r), &r, 200, 0);
	exchange("cancel again", e2e_post(&via, path, "", NULL, &r), &r, 409,
	         0);
	exchange("cancel unknown",
	         e2e_post(&via, "/v1/messages/msg-none/cancel", "", NULL, &r),
	         &r, 404, 0);

	exchange("send, waited",
	         e2e_send(&via, "oa-1", PHONE, "hello", wait, &r), &r, 200, 0);
	exchange("send replayed",
	         e2e_send(&via, "oa-1", PHONE, "hello", NULL, &r), &r, 200, 0);
	exchange("send conflicting",
	         e2e_send(&via, "oa-1", PHONE, "other", NULL, &r), &r, 409, 0);
	exchange("send queued", e2e_send(&via, "oa-2", PHONE, "two", NULL, &r),
	         &r, 200, 0);
	exchange("send bad phone", e2e_send(&via, "oa-3", "12", "x", NULL, &r),
	         &r, 400, 0);
	/* Rich content (issue 14 item 5): a valid list, and four buttons
	 * (the schema's maxItems 3, the daemon's 400). */
	exchange("send with content",
	         e2e_post(&via, "/v1/messages/send",
	                  "{\"recipient_phone\":\"" PHONE
	                  "\",\"message_body\":\"Pick\",\"external_id\":"
	                  "\"oa-content\",\"content\":{\"interactive\":{"
	                  "\"type\":\"list\",\"button\":\"Go\",\"sections\":"
	                  "[{\"title\":\"S\",\"rows\":[{\"id\":\"r1\","
	                  "\"title\":\"One\",\"description\":\"d\"}]}]}}}",
	                  NULL, &r),
	         &r, 200, 0);
	exchange("send with four buttons",
	         e2e_post(&via, "/v1/messages/send",
	                  "{\"recipient_phone\":\"" PHONE
	                  "\",\"message_body\":\"x\",\"external_id\":"
	                  "\"oa-content-bad\",\"content\":{\"interactive\":{"
	                  "\"type\":\"buttons\",\"buttons\":[{\"id\":\"1\","
	                  "\"title\":\"a\"},{\"id\":\"2\",\"title\":\"b\"},"
	                  "{\"id\":\"3\",\"title\":\"c\"},{\"id\":\"4\","
	                  "\"title\":\"d\"}]}}}",
	                  NULL, &r),
	         &r, 400, 1);
	exchange("send missing field",
	         e2e_post(&via, "/v1/messages/send",
	                  "{\"recipient_phone\":\"" PHONE
	                  "\",\"message_body\":\"x\"}",
	                  NULL, &r),
	         &r, 400, 1);
	exchange(
	    "send without key",
	    raw("POST", "/v1/messages/send",
	        (const char *const[]){"Content-Type: application/json", NULL},
	        "{}", &r),
	    &r, 401, 1);
	exchange(
	    "send with a wrong key",
	    raw("POST", "/v1/messages/send",
	        (const char *const[]){"Content-Type: application/json",
	                              "X-API-Key: wrong-key-0123456789", NULL},
	        "{}", &r),
	    &r, 401, 1);
	exchange("send as text/plain",
	         raw("POST", "/v1/messages/send",
	             (const char *const[]){"Content-Type: text/plain",
	                                   "X-API-Key: " E2E_KEY, NULL},
	             "hi", &r),
	         &r, 415, 1);
	exchange(
	    "batch",
	    e2e_post(&via, "/v1/messages/batch",
	             "{\"messages\":[{\"recipient_phone\":\"" PHONE
	             "\",\"message_body\":\"b1\",\"external_id\":\"oa-b1\"},"
	             "{\"recipient_phone\":\"12\",\"message_body\":\"b2\","
	             "\"external_id\":\"oa-b2\"}]}",
	             NULL, &r),
	    &r, 200, 0);
	exchange(
	    "batch empty",
	    e2e_post(&via, "/v1/messages/batch", "{\"messages\":[]}", NULL, &r),
	    &r, 400, 1);

	CHECK_INT(e2e_get(d, "/v1/messages?external_id=oa-1", &r), 200);
	e2e_field(r.body, "message_id", id, id_len);
	wa_h_reply_free(&r);
}

static void reads(const char *id)
{
	wa_http_reply r;
	char path[128];

	snprintf(path, sizeof(path), "/v1/messages/%s", id);
	exchange("get", e2e_get(&via, path, &r), &r, 200, 0);
	exchange("get canceled",
	         e2e_get(&via, "/v1/messages?external_id=oa-cancel", &r), &r,
	         200, 0);
	exchange("get unknown", e2e_get(&via, "/v1/messages/msg-none", &r), &r,
	         404, 0);
	exchange("find", e2e_get(&via, "/v1/messages?external_id=oa-2", &r), &r,
	         200, 0);
	exchange("find unknown",
	         e2e_get(&via, "/v1/messages?external_id=none", &r), &r, 404,
	         0);
	exchange("find with an empty external_id",
	         e2e_get(&via, "/v1/messages?external_id=", &r), &r, 400, 0);
	exchange("list with a sending key", e2e_get(&via, "/v1/messages", &r),
	         &r, 403, 0);
}

/* A request with the operator key. */
static long admin(const char *method, const char *path, const char *body,
                  wa_http_reply *r)
{
	return raw(method, path,
	           (const char *const[]){"Content-Type: application/json",
	                                 "X-API-Key: " ADMIN_KEY, NULL},
	           body, r);
}

/* The operators' routes (issue 15): listing, requeue, campaigns, and
 * send's campaign_id and send_at. */
static void operators(const char *canceled_id)
{
	wa_http_reply r;
	char path[160], cursor[256] = "";

	exchange("send with campaign and send_at",
	         e2e_post(&via, "/v1/messages/send",
	                  "{\"recipient_phone\":\"" PHONE
	                  "\",\"message_body\":\"c\",\"external_id\":"
	                  "\"oa-c1\",\"campaign_id\":\"oa-camp\","
	                  "\"send_at\":\"2099-01-01T00:00:00Z\"}",
	                  NULL, &r),
	         &r, 400, 0);
	exchange("send with campaign",
	         e2e_post(&via, "/v1/messages/send",
	                  "{\"recipient_phone\":\"" PHONE
	                  "\",\"message_body\":\"c\",\"external_id\":"
	                  "\"oa-c2\",\"campaign_id\":\"oa-camp\","
	                  "\"send_at\":\"2000-01-01T00:00:00+01:00\"}",
	                  NULL, &r),
	         &r, 200, 0);
	exchange("list", admin("GET", "/v1/messages?limit=2", NULL, &r), &r,
	         200, 0);
	CHECK_INT(admin("GET", "/v1/messages?limit=2", NULL, &r), 200);
	e2e_field(r.body, "next_cursor", cursor, sizeof(cursor));
	wa_h_reply_free(&r);
	CHECK(cursor[0] != 0);
	snprintf(path, sizeof(path), "/v1/messages?limit=2&cursor=%s", cursor);
	exchange("list, next page", admin("GET", path, NULL, &r), &r, 200, 0);
	exchange("list filtered",
	         admin("GET",
	               "/v1/messages?status=canceled&campaign_id=x&phone=" PHONE
	               "&since=2020-01-01T00:00:00Z&until=2099-01-01T00:00:00Z",
	               NULL, &r),
	         &r, 200, 0);
	exchange("list with a bad limit",
	         admin("GET", "/v1/messages?limit=9999", NULL, &r), &r, 400, 1);
	exchange("list with a bad cursor",
	         admin("GET", "/v1/messages?cursor=zz", NULL, &r), &r, 400, 0);
	exchange("find with the operator key",
	         admin("GET", "/v1/messages?external_id=oa-2", NULL, &r), &r,
	         200, 0);

	snprintf(path, sizeof(path), "/v1/messages/%s/retry", canceled_id);
	exchange("retry with a sending key", e2e_post(&via, path, "", NULL, &r),
	         &r, 403, 0);
	exchange("retry", admin("POST", path, "{\"reason\":\"test\"}", &r), &r,
	         200, 0);
	exchange("retry again", admin("POST", path, NULL, &r), &r, 409, 0);
	exchange("retry unknown",
	         admin("POST", "/v1/messages/msg-none/retry", NULL, &r), &r,
	         404, 0);
	exchange("retry many",
	         admin("POST", "/v1/messages/retry",
	               "{\"status\":\"failed\",\"limit\":10}", &r),
	         &r, 200, 0);
	exchange("retry many over the bound",
	         admin("POST", "/v1/messages/retry", "{\"limit\":5000}", &r),
	         &r, 400, 1);
	exchange("retry many with a sending key",
	         e2e_post(&via, "/v1/messages/retry", "{}", NULL, &r), &r, 403,
	         0);

	exchange("campaign", e2e_get(&via, "/v1/campaigns/oa-camp", &r), &r,
	         200, 0);
	exchange("campaign unknown", e2e_get(&via, "/v1/campaigns/none", &r),
	         &r, 404, 0);
	exchange("stats", admin("GET", "/v1/stats", NULL, &r), &r, 200, 0);
	exchange("stats with a sending key", e2e_get(&via, "/v1/stats", &r), &r,
	         403, 0);
	exchange("campaign cancel",
	         e2e_post(&via, "/v1/campaigns/oa-camp/cancel", "", NULL, &r),
	         &r, 200, 0);
}

/* A copy of the document whose /health says "status": "fine". */
static int write_altered(const char *spec, const char *out)
{
	char *doc = wa_h_slurp(spec, NULL), *p;
	const char *from = "\"const\": \"ok\"";
	FILE *f;
	int rc = -1;

	if (!doc || !(p = strstr(doc, from)))
		goto done;
	f = fopen(out, "w");
	if (!f)
		goto done;
	fwrite(doc, 1, (size_t)(p - doc), f);
	fputs("\"const\": \"fine\"", f);
	fputs(p + strlen(from), f);
	rc = fclose(f) == 0 ? 0 : -1;
done:
	free(doc);
	return rc;
}

/* The check can fail: the altered document makes /health a violation. */
static void check_detects(const char *dir, const char *spec, const char *tmp,
                          const wa_daemon *d)
{
	char altered[512], v[4096];
	wa_http_reply r;
	prism bad;

	snprintf(altered, sizeof(altered), "%s/altered.json", tmp);
	CHECK_INT(write_altered(spec, altered), 0);
	if (prism_start(&bad, dir,
	                (const char *const[]){"proxy", altered, d->base, NULL},
	                tmp) != 0) {
		CHECK(0);
		prism_stop(&bad);
		return;
	}
	snprintf(via.base, sizeof(via.base), "%s", bad.base);
	CHECK_INT(raw("GET", "/health", NULL, NULL, &r), 200);
	violations(&r, v, sizeof(v));
	CHECK_CONTAINS(v, "\"response\"");
	wa_h_reply_free(&r);
	prism_stop(&bad);
	unlink(altered);
}

/* Two-way messaging (issue 13): contacts, replies, suppressions, and a
 * send refused because its recipient opted out. */
static void twoway(void)
{
	const char *num = "/v1/suppressions/%2B5511987650077";
	wa_http_reply r;

	exchange("contact", e2e_get(&via, "/v1/contacts/%2B5511987650001", &r),
	         &r, 200, 0);
	exchange("contact, bad phone", e2e_get(&via, "/v1/contacts/12", &r), &r,
	         400, 0);
	exchange("inbound", e2e_get(&via, "/v1/inbound?limit=5", &r), &r, 200,
	         0);
	exchange("suppress",
	         raw("PUT", num,
	             (const char *const[]){"X-API-Key: " E2E_KEY, NULL}, NULL,
	             &r),
	         &r, 200, 0);
	exchange("suppressions", e2e_get(&via, "/v1/suppressions", &r), &r, 200,
	         0);
	exchange("send to an opted-out number",
	         e2e_send(&via, "oa-optout", "+5511987650077", "hi", NULL, &r),
	         &r, 409, 0);
	exchange("unsuppress",
	         raw("DELETE", num,
	             (const char *const[]){"X-API-Key: " E2E_KEY, NULL}, NULL,
	             &r),
	         &r, 200, 0);
}

int main(void)
{
	const char *script = getenv("WA_PRISM_INSTALL");
	const char *dir = getenv("WA_PRISM_DIR");
	const char *spec = getenv("WA_OPENAPI_SPEC");
	const char *env[] = {"API_KEY=" E2E_KEY,
	                     "ADMIN_API_KEYS=" ADMIN_KEY,
	                     "WHATSAPP_PROVIDER=mock",
	                     "MOCK_DELAY_MS=5",
	                     "MOCK_FAIL_FIRST=1",
	                     "MOCK_RETRY_AFTER_MS=60000",
	                     NULL};
	char tmp[] = "/tmp/wa-openapi-XXXXXX", id[64] = "";
	wa_daemon d;
	prism p;
	int rc;

	if (!script || !dir || !spec) {
		fprintf(stderr, "WA_PRISM_INSTALL, WA_PRISM_DIR and "
		                "WA_OPENAPI_SPEC must be set (run through "
		                "ctest)\n");
		return 1;
	}
	rc = prism_install(script, dir);
	if (rc == PRISM_SKIP) {
		printf(
		    "SKIPPED: Prism could not be installed (node/npm or the "
		    "npm registry is unavailable); the daemon's answers were "
		    "not checked against docs/openapi.json\n");
		return PRISM_SKIP;
	}
	if (rc != 0 || !mkdtemp(tmp) || wa_h_daemon_init(&d) != 0)
		return 1;
	CHECK_INT(wa_h_daemon_start(&d, env), 0);
	if (d.pid <= 0)
		return wa_t_report() | 1;
	if (prism_start(&p, dir,
	                (const char *const[]){"proxy", spec, d.base, NULL},
	                tmp) != 0) {
		prism_stop(&p);
		wa_h_daemon_stop(&d, SIGTERM, 10000);
		return 1;
	}
	snprintf(via.base, sizeof(via.base), "%s", p.base);
	open_routes();
	sends(&d, id, sizeof(id));
	CHECK(id[0] != 0);
	reads(id);
	operators(canceled);
	twoway();
	prism_stop(&p);
	check_detects(dir, spec, tmp, &d);
	printf("openapi: %d exchanges checked against %s\n", n_exchanges, spec);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 10000), 0);
	if (wa_t_failed) {
		fprintf(stderr, "prism log: %s; daemon log: %s\n", p.log,
		        d.log_path);
	} else {
		unlink(p.log);
		rmdir(tmp);
	}
	return wa_t_report();
}
