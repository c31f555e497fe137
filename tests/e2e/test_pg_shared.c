/* test_pg_shared.c - state two daemons on one PostgreSQL database share
 * (run under tests/lib/pgtmp.sh):
 *   - a provider paused for bad credentials by one daemon is paused for
 *     both (/ready of each says so), and the pause is lifted for both;
 *   - a quality pause (issue 14: the provider says the account is
 *     throttled for quality) one daemon learns holds both: /ready of each
 *     says why, neither calls the provider until it ends by itself, then
 *     the message is delivered once;
 *   - a send with Prefer: wait parked on daemon A is answered with the
 *     provider's reply when daemon B delivered it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "testing.h"

static wa_daemon d[2];

typedef struct ready_want {
	const wa_daemon *d;
	long status;
	const char *needle; /* in the body, or NULL */
} ready_want;

static int ready_is(void *arg)
{
	const ready_want *w = arg;
	wa_http_reply r;
	long st = e2e_get(w->d, "/ready", &r);
	int ok = st == w->status &&
	         (!w->needle || (r.body && strstr(r.body, w->needle)));

	wa_h_reply_free(&r);
	return ok;
}

static int status_is(const wa_daemon *dm, const char *id, const char *want)
{
	return e2e_wait_status(dm, id, want, 30000);
}

static void send_id(const wa_daemon *dm, const char *ext, char *id, size_t len)
{
	wa_http_reply r;

	CHECK_INT(e2e_send(dm, ext, "+5564999998888", "shared", NULL, &r), 200);
	e2e_field(r.body ? r.body : "", "message_id", id, len);
	wa_h_reply_free(&r);
}

/* ---- one pause for both ------------------------------------------------ */

static void shared_pause(void)
{
	char fail_file[512], fail_kv[600], rec_kv[2][600], record[2][400];
	char id[64];
	int paused_here = 0, paused_there = 0;
	FILE *f;

	snprintf(fail_file, sizeof(fail_file), "%s/config-fail", d[0].dir);
	f = fopen(fail_file, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	snprintf(fail_kv, sizeof(fail_kv), "MOCK_CONFIG_FAIL_FILE=%s",
	         fail_file);
	for (int k = 0; k < 2; k++) {
		snprintf(record[k], sizeof(record[k]), "%s/record.txt",
		         d[k].dir);
		snprintf(rec_kv[k], sizeof(rec_kv[k]), "MOCK_RECORD_FILE=%s",
		         record[k]);
		/* The first probe comes 10 s after the pause: the other daemon
		 * reads the shared pause long before (about once a second). */
		const char *env[] = {"API_KEY=" E2E_KEY,
		                     "BIND_ADDRESS=127.0.0.1",
		                     "MOCK_DELAY_MS=1",
		                     "PROBE_INTERVAL_MS=10000",
		                     fail_kv,
		                     rec_kv[k],
		                     NULL};
		CHECK_INT(wa_h_daemon_start(&d[k], env), 0);
	}
	/* one message, bad credentials: whichever daemon tries it pauses,
	 * and the other follows without calling the provider itself */
	send_id(&d[0], "pause-1", id, sizeof(id));
	for (int k = 0; k < 2; k++) {
		ready_want w = {&d[k], 503, "provider paused"};

		CHECK(wa_h_wait_for(ready_is, &w, 20000));
	}
	for (int k = 0; k < 2; k++) {
		paused_here += wa_h_count_lines(
		    d[k].log_path, "paused after a configuration error");
		paused_there += wa_h_count_lines(d[k].log_path,
		                                 "paused by another instance");
	}
	printf("paused by a provider answer: %d daemon(s); by the shared "
	       "pause: %d\n",
	       paused_here, paused_there);
	CHECK_INT(paused_here, 1);
	CHECK_INT(paused_there, 1);
	CHECK(status_is(&d[1], id, "queued"));

	/* credentials fixed: the next probe succeeds and both resume */
	unlink(fail_file);
	for (int k = 0; k < 2; k++) {
		ready_want w = {&d[k], 200, NULL};

		CHECK(wa_h_wait_for(ready_is, &w, 30000));
	}
	CHECK(status_is(&d[0], id, "sent"));
	CHECK_INT(wa_h_count_lines(record[0], " pause-1 ") +
	              wa_h_count_lines(record[1], " pause-1 "),
	          1);
	for (int k = 0; k < 2; k++)
		CHECK_INT(wa_h_daemon_stop(&d[k], SIGTERM, 15000), 0);
}

/* ---- one quality pause for both --------------------------------------- */

typedef struct mock_call {
	long long start, end; /* monotonic ms (one clock for both daemons) */
	char ext[64], cls[8];
} mock_call;

/* The calls of both daemons (one MOCK_CALL_FILE), in file order. */
static size_t read_calls(const char *path, mock_call *c, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[512], phone[32], id[64];
	unsigned attempt;
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lld %lld %31s %63s %63s %u %7s", &c[n].start,
		           &c[n].end, phone, id, c[n].ext, &attempt,
		           c[n].cls) == 7)
			n++;
	fclose(f);
	return n;
}

#define QUALITY_MS 3000

/* The mock's REJECT code stands for Cloud API 131048 here (as in
 * e2e_pacing): QUALITY_PAUSE_CODES lists it. */
static void shared_quality(void)
{
	char rej[512], rej_kv[600], calls[512], calls_kv[600], record[512];
	char rec_kv[600], id[2][64];
	const char *env[] = {"API_KEY=" E2E_KEY,
	                     "BIND_ADDRESS=127.0.0.1",
	                     "MOCK_DELAY_MS=1",
	                     "QUALITY_PAUSE=3s",
	                     "QUALITY_PAUSE_CODES=131048,mock_reject",
	                     rej_kv,
	                     calls_kv,
	                     rec_kv,
	                     NULL};
	int here[2], there[2], over[2], learned = -1;
	mock_call c[8];
	wa_http_reply r;
	size_t n;
	FILE *f;

	snprintf(rej, sizeof(rej), "%s/quality-reject", d[0].dir);
	snprintf(rej_kv, sizeof(rej_kv), "MOCK_REJECT_FILE=%s", rej);
	snprintf(calls, sizeof(calls), "%s/quality-calls", d[0].dir);
	snprintf(calls_kv, sizeof(calls_kv), "MOCK_CALL_FILE=%s", calls);
	snprintf(record, sizeof(record), "%s/quality-record", d[0].dir);
	snprintf(rec_kv, sizeof(rec_kv), "MOCK_RECORD_FILE=%s", record);
	f = fopen(rej, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	for (int k = 0; k < 2; k++)
		CHECK_INT(wa_h_daemon_start(&d[k], env), 0);

	/* one message: whichever daemon tries it is told "quality" and
	 * records the pause; the other reads it (about once a second) */
	send_id(&d[0], "quality-1", id[0], sizeof(id[0]));
	for (int k = 0; k < 2; k++) {
		ready_want w = {&d[k], 503, "sending paused for quality"};

		CHECK(wa_h_wait_for(ready_is, &w, QUALITY_MS));
	}
	unlink(rej);
	for (int k = 0; k < 2; k++) {
		CHECK_INT(e2e_get(&d[k], "/ready", &r), 503);
		CHECK_CONTAINS(r.body, "the provider answered mock_reject");
		CHECK(r.body && !strstr(r.body, "provider paused"));
		wa_h_reply_free(&r);
		here[k] = wa_h_count_lines(d[k].log_path,
		                           "Sending paused for 3 s: provider");
		there[k] = wa_h_count_lines(
		    d[k].log_path, "s by another instance: the provider "
		                   "answered mock_reject");
		if (here[k])
			learned = k;
	}
	printf("quality pause from an answer: %d + %d; from the shared "
	       "pause: %d + %d\n",
	       here[0], here[1], there[0], there[1]);
	CHECK_INT(here[0] + here[1], 1);
	CHECK(learned >= 0 && there[learned] == 0 && there[!learned] == 1);
	/* a second message (another phone: not held behind the first),
	 * due at once, sent to the daemon that did not get the answer:
	 * neither takes it before the pause ends */
	CHECK_INT(e2e_send(&d[learned >= 0 ? !learned : 1], "quality-2",
	                   "+5564999997777", "shared", NULL, &r),
	          200);
	e2e_field(r.body ? r.body : "", "message_id", id[1], sizeof(id[1]));
	wa_h_reply_free(&r);
	for (int k = 0; k < 2; k++) {
		ready_want w = {&d[k], 200, NULL};

		CHECK(wa_h_wait_for(ready_is, &w, 20000));
	}
	CHECK(status_is(&d[0], id[0], "sent"));
	CHECK(status_is(&d[1], id[1], "sent"));
	n = read_calls(calls, c, 8);
	CHECK_INT((int)n, 3);
	if (n == 3) {
		CHECK_STR(c[0].ext, "quality-1");
		CHECK_STR(c[0].cls, "reject");
		/* nothing was called during the pause, by either daemon */
		for (size_t i = 1; i < n; i++) {
			printf("call %zu (%s) %lld ms after the answer\n", i,
			       c[i].ext, c[i].start - c[0].end);
			CHECK(c[i].start >= c[0].end + QUALITY_MS - 5);
			CHECK_STR(c[i].cls, "ok");
		}
	}
	/* each delivered once */
	CHECK_INT(wa_h_count_lines(record, " quality-1 "), 1);
	CHECK_INT(wa_h_count_lines(record, " quality-2 "), 1);
	for (int k = 0; k < 2; k++) {
		over[k] = wa_h_count_lines(d[k].log_path,
		                           "The quality pause is over");
		CHECK_INT(over[k], 1);
		CHECK_INT(e2e_metric(&d[k], "\nwadispatch_quality_paused "), 0);
	}
	for (int k = 0; k < 2; k++)
		CHECK_INT(wa_h_daemon_stop(&d[k], SIGTERM, 15000), 0);
}

/* ---- Prefer: wait answered by the other daemon's delivery -------------- */

static void wait_across(void)
{
	char rec_kv[2][600], record[2][400], id[64], blocker[64], v[32];
	char pmid[128], st[32], needle[200];
	const char *prefer[] = {"Prefer: wait=25", NULL};
	wa_http_reply r;

	for (int k = 0; k < 2; k++) {
		snprintf(record[k], sizeof(record[k]), "%s/record-w.txt",
		         d[k].dir);
		snprintf(rec_kv[k], sizeof(rec_kv[k]), "MOCK_RECORD_FILE=%s",
		         record[k]);
	}
	/* A: one worker, held by a slow send; B: fast */
	/* both to one number, the second while the first is in flight: its
	 * subject is Prefer: wait across instances, not the order per
	 * recipient (issue 14), so RECIPIENT_ORDER=off */
	const char *env_a[] = {"API_KEY=" E2E_KEY,
	                       "BIND_ADDRESS=127.0.0.1",
	                       "WORKERS=1",
	                       "MOCK_DELAY_MS=40000",
	                       "RECIPIENT_ORDER=off",
	                       rec_kv[0],
	                       NULL};
	const char *env_b[] = {"API_KEY=" E2E_KEY, "BIND_ADDRESS=127.0.0.1",
	                       "MOCK_DELAY_MS=1",  "RECIPIENT_ORDER=off",
	                       rec_kv[1],          NULL};

	CHECK_INT(wa_h_daemon_start(&d[0], env_a), 0);
	/* only A runs: A claims the blocker, its one worker is busy */
	send_id(&d[0], "blocker", blocker, sizeof(blocker));
	CHECK(status_is(&d[0], blocker, "sending"));
	CHECK_INT(wa_h_daemon_start(&d[1], env_b), 0);

	/* parked on A, which cannot take it: B delivers it */
	CHECK_INT(e2e_send(&d[0], "waited", "+5564999998888", "wait for me",
	                   prefer, &r),
	          200);
	CHECK_STR(wa_h_header(&r, "Preference-Applied", v, sizeof(v)),
	          "wait=25");
	e2e_field(r.body ? r.body : "", "status", st, sizeof(st));
	e2e_field(r.body ? r.body : "", "message_id", id, sizeof(id));
	e2e_field(r.body ? r.body : "", "mock_id", pmid, sizeof(pmid));
	printf("Prefer: wait on A answered: %s\n", r.body ? r.body : "");
	wa_h_reply_free(&r);
	CHECK_STR(st, "sent");
	/* the provider's reply (a timed-out wait carries none) */
	CHECK(pmid[0] != 0);
	snprintf(needle, sizeof(needle), "%s waited %s", id, pmid);
	CHECK_INT(wa_h_count_lines(record[1], needle), 1);
	CHECK_INT(wa_h_count_lines(record[0], " waited "), 0);

	CHECK_INT(wa_h_daemon_stop(&d[1], SIGTERM, 15000), 0);
	/* A's worker is inside a 40 s send: end it here */
	CHECK_INT(wa_h_daemon_stop(&d[0], SIGKILL, 5000), 128 + SIGKILL);
}

int main(void)
{
	if (!getenv("DATABASE_URL")) {
		printf("skipped: DATABASE_URL is not set; run this test "
		       "through tests/lib/pgtmp.sh\n");
		return 77;
	}
	CHECK_INT(wa_h_daemon_init(&d[0]), 0);
	CHECK_INT(wa_h_daemon_init(&d[1]), 0);
	shared_pause();
	shared_quality();
	wait_across();
	return wa_t_report();
}
