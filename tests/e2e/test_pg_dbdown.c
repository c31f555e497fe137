/* test_pg_dbdown.c - the PostgreSQL server stops under a running daemon
 * (run under tests/lib/pgtmp.sh): sends answer 503 with Retry-After,
 * /ready says why, and once the server is back the daemon reconnects,
 * takes sends again and delivers everything it acknowledged. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "testing.h"

static wa_daemon d;
static char record[400];

static int pg_ctl(const char *what)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "\"%s\" ctl %s", getenv("WA_PGTMP"), what);
	return system(cmd);
}

static int is_ready(void *arg)
{
	wa_http_reply r;
	long st = e2e_get(&d, "/ready", &r);

	(void)arg;
	wa_h_reply_free(&r);
	return st == 200;
}

static int sent_ok(void *arg)
{
	wa_http_reply r;
	long st =
	    e2e_send(&d, (const char *)arg, "+5564999998888", "back", NULL, &r);

	wa_h_reply_free(&r);
	return st == 200;
}

static int delivered(void *arg)
{
	char needle[64];

	snprintf(needle, sizeof(needle), " %s ", (const char *)arg);
	return wa_h_count_lines(record, needle) == 1;
}

int main(void)
{
	char rec_kv[512], v[64];
	const char *env[] = {"API_KEY=" E2E_KEY, "BIND_ADDRESS=127.0.0.1",
	                     "MOCK_DELAY_MS=1", rec_kv, NULL};
	wa_http_reply r;
	long st;

	if (!getenv("DATABASE_URL") || !getenv("WA_PGTMP")) {
		printf("skipped: run this test through tests/lib/pgtmp.sh\n");
		return 77;
	}
	CHECK_INT(wa_h_daemon_init(&d), 0);
	snprintf(record, sizeof(record), "%s/record.txt", d.dir);
	snprintf(rec_kv, sizeof(rec_kv), "MOCK_RECORD_FILE=%s", record);
	CHECK_INT(wa_h_daemon_start(&d, env), 0);
	CHECK(wa_h_wait_for(is_ready, NULL, 10000));
	CHECK(sent_ok("before"));
	/* /metrics reads the store once (stats and store_up together) */
	CHECK_INT(e2e_metric(&d, "\nwadispatch_store_up "), 1);
	CHECK(e2e_metric(&d, "\nwadispatch_queue_depth ") >= 0);

	CHECK_INT(pg_ctl("stop"), 0);
	st = e2e_send(&d, "during", "+5564999998888", "down", NULL, &r);
	CHECK_INT(st, 503);
	CHECK(wa_h_header(&r, "Retry-After", v, sizeof(v)) != NULL);
	wa_h_reply_free(&r);
	st = e2e_get(&d, "/ready", &r);
	CHECK_INT(st, 503);
	CHECK(r.body && strstr(r.body, "store not writable") != NULL);
	printf("/ready while the database is down: %s\n", r.body ? r.body : "");
	wa_h_reply_free(&r);
	/* still answered: the store is down, its figures left out */
	CHECK_INT(e2e_get(&d, "/metrics", &r), 200);
	CHECK_CONTAINS(r.body, "\nwadispatch_store_up 0\n");
	CHECK(r.body && !strstr(r.body, "\nwadispatch_queue_depth "));
	wa_h_reply_free(&r);

	CHECK_INT(pg_ctl("start"), 0);
	CHECK(wa_h_wait_for(is_ready, NULL, 15000));
	CHECK_INT(e2e_metric(&d, "\nwadispatch_store_up "), 1);
	CHECK(wa_h_wait_for(sent_ok, "after", 15000));
	CHECK(wa_h_wait_for(delivered, "before", 15000));
	CHECK(wa_h_wait_for(delivered, "after", 15000));
	CHECK_INT(wa_h_count_lines(record, " during "), 0);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 15000), 0);
	return wa_t_report();
}
