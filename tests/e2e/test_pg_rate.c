/* test_pg_rate.c - PROVIDER_RATE is the provider account's limit: two
 * daemons on one PostgreSQL database (run under tests/lib/pgtmp.sh) stay
 * within it together, not twice it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "testing.h"

enum { N = 60, RATE = 10 };

static wa_daemon d[2];
static char record[400];

static int all_delivered(void *arg)
{
	(void)arg;
	return wa_h_count_lines(record, " mock-") >= N;
}

int main(void)
{
	char rec_kv[512], line[256];
	const char *env[] = {
	    "API_KEY=" E2E_KEY, "BIND_ADDRESS=127.0.0.1", "MOCK_DELAY_MS=0",
	    /* all to one number, many at once */
	    "RECIPIENT_ORDER=off", "PROVIDER_RATE=10", rec_kv, NULL};
	long long first = 0, last = 0;
	int n = 0, acked = 0;
	double rate;
	FILE *f;

	if (!getenv("DATABASE_URL")) {
		printf("skipped: run this test through tests/lib/pgtmp.sh\n");
		return 77;
	}
	CHECK_INT(wa_h_daemon_init(&d[0]), 0);
	CHECK_INT(wa_h_daemon_init(&d[1]), 0);
	snprintf(record, sizeof(record), "%s/record.txt", d[0].dir);
	snprintf(rec_kv, sizeof(rec_kv), "MOCK_RECORD_FILE=%s", record);
	CHECK_INT(wa_h_daemon_start(&d[0], env), 0);
	CHECK_INT(wa_h_daemon_start(&d[1], env), 0);
	for (int i = 0; i < N; i++) {
		char ext[32];
		wa_http_reply r;

		snprintf(ext, sizeof(ext), "rate-%d", i);
		acked += e2e_send(&d[i % 2], ext, "+5564999998888", "rate",
		                  NULL, &r) == 200;
		wa_h_reply_free(&r);
	}
	CHECK_INT(acked, N);
	CHECK(wa_h_wait_for(all_delivered, NULL, 60000));
	/* the mock's ids are mock-<epoch ms>: the first and the last give
	 * the span of the deliveries of both daemons */
	f = fopen(record, "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		const char *m = strstr(line, " mock-");
		long long t = m ? atoll(m + 6) : 0;

		if (!t)
			continue;
		if (!n || t < first)
			first = t;
		if (!n || t > last)
			last = t;
		n++;
	}
	if (f)
		fclose(f);
	CHECK_INT(n, N);
	rate = last > first ? (n - 1) * 1000.0 / (double)(last - first) : 0;
	printf("two daemons at PROVIDER_RATE=%d: %d deliveries in %.2f s, "
	       "%.1f msg/s together\n",
	       RATE, n, (last - first) / 1000.0, rate);
	/* within the account's limit (a burst of 1 and timer jitter aside),
	 * where two separate budgets would give about twice it */
	CHECK(rate <= RATE * 1.15);
	CHECK(rate >= RATE * 0.5);
	CHECK_INT(wa_h_daemon_stop(&d[1], SIGTERM, 15000), 0);
	CHECK_INT(wa_h_daemon_stop(&d[0], SIGTERM, 15000), 0);
	return wa_t_report();
}
