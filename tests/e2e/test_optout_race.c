/* test_optout_race.c - a send that races an opt-out: the accept-time check
 * passes, then the opt-out commits before the send's insert runs. The
 * store's insert refuses it (WA_INSERT_SUPPRESSED) and the answer is the
 * early check's own 409 and sentence; in a batch, per item. The race is
 * made, not hoped for: the test holds the SQLite write lock with the
 * opt-out in its transaction until the writer is seen waiting on it
 * (/metrics gauges). */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"
#include "testing.h"

#define PHONE_OUT "+5511987650105"
#define PHONE_OK "+5511987650106"

static wa_daemon d;

typedef struct call {
	const char *path, *body;
	long status;
	char reply[2048];
} call;

static void *post(void *arg)
{
	call *c = arg;
	wa_http_reply r;

	c->status = e2e_post(&d, c->path, c->body, NULL, &r);
	snprintf(c->reply, sizeof(c->reply), "%s", r.body ? r.body : "");
	wa_h_reply_free(&r);
	return NULL;
}

/* The writer's gauges read from /metrics: *want is {queue, writing}. */
static int writer_at(void *arg)
{
	const int *want = arg;
	wa_http_reply r;
	char q[64], w[64];
	int at;

	if (e2e_get(&d, "/metrics", &r) != 200)
		return 0;
	snprintf(q, sizeof(q), "wadispatch_store_writer_queue %d\n", want[0]);
	snprintf(w, sizeof(w), "wadispatch_store_writer_writing %d\n", want[1]);
	at = strstr(r.body, q) && strstr(r.body, w);
	wa_h_reply_free(&r);
	return at;
}

int main(void)
{
	/* RETENTION=0: no retention pass may take the writer meanwhile */
	const char *env[] = {"API_KEY=" E2E_KEY, "BIND_ADDRESS=127.0.0.1",
	                     "MOCK_DELAY_MS=1", "RETENTION=0", NULL};
	call one = {.path = "/v1/messages/send",
	            .body = "{\"recipient_phone\":\"" PHONE_OUT
	                    "\",\"message_body\":\"Offer\","
	                    "\"external_id\":\"race-1\"}"};
	call batch = {.path = "/v1/messages/batch",
	              .body = "{\"messages\":[{\"recipient_phone\":\"" PHONE_OUT
	                      "\",\"message_body\":\"x\",\"external_id\":"
	                      "\"race-b1\"},{\"recipient_phone\":\"" PHONE_OK
	                      "\",\"message_body\":\"y\",\"external_id\":"
	                      "\"race-b2\"}]}"};
	int idle[2] = {0, 0}, blocked[2] = {0, 1}, queued[2] = {1, 1};
	char path[512], early[512] = "", late[512] = "", sql[256];
	wa_http_reply r;
	sqlite3 *db = NULL;
	pthread_t t1, t2;

	if (wa_h_daemon_init(&d) != 0 || wa_h_daemon_start(&d, env) != 0) {
		fprintf(stderr, "daemon did not start; log %s\n", d.log_path);
		return 1;
	}
	CHECK(wa_h_wait_for(writer_at, idle, 5000));
	snprintf(path, sizeof(path), "%s/wa.db", d.dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	/* the opt-out, written but not committed: invisible to the early
	 * check, and the writer waits for this lock */
	CHECK_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	          SQLITE_OK);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO contacts (phone, opted_out, opt_source,"
	         " opt_at_ms) VALUES ('%s', 1, 'api', 1765000000000)",
	         PHONE_OUT);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	pthread_create(&t1, NULL, post, &one);
	CHECK(wa_h_wait_for(writer_at, blocked, 5000));
	pthread_create(&t2, NULL, post, &batch);
	CHECK(wa_h_wait_for(writer_at, queued, 5000));
	CHECK_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);

	/* refused by the insert, answered as the early check answers */
	CHECK_INT(one.status, 409);
	CHECK_CONTAINS(one.reply, "opted out of messages (api, ");
	CHECK_CONTAINS(one.reply, "nothing was queued");
	e2e_field(one.reply, "error", late, sizeof(late));
	CHECK_INT(e2e_get(&d, "/v1/messages?external_id=race-1", &r), 404);
	wa_h_reply_free(&r);
	CHECK_INT(batch.status, 200);
	CHECK_CONTAINS(batch.reply, "\"accepted\":1,\"rejected\":1");
	CHECK_CONTAINS(batch.reply, "{\"index\":0,\"error\":\"");
	CHECK_CONTAINS(batch.reply, "\"code\":409");
	CHECK_CONTAINS(batch.reply, late);
	CHECK_INT(e2e_get(&d, "/v1/messages?external_id=race-b1", &r), 404);
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(&d, "/v1/messages?external_id=race-b2", &r), 200);
	wa_h_reply_free(&r);

	/* the same send now: refused by the early check, the same words */
	CHECK_INT(e2e_send(&d, "race-2", PHONE_OUT, "Offer", NULL, &r), 409);
	e2e_field(r.body, "error", early, sizeof(early));
	wa_h_reply_free(&r);
	CHECK(early[0] != '\0');
	CHECK_STR(late, early);

	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
	if (wa_t_failed)
		fprintf(stderr, "daemon log: %s\n", d.log_path);
	return wa_t_report();
}
