/* test_stop.c - SIGTERM while clients keep sending, several times over:
 * the daemon exits 0 every time, answers nothing but 200 or 503 meanwhile,
 * and every message it answered 200 is in the store after a restart. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "testing.h"

enum { ROUNDS = 40, THREADS = 4, MAX_PER_THREAD = 2000, STOP_AFTER = 40 };

static wa_daemon d;
static atomic_int acked, odd_answers, stop_sending;
static char acked_ids[THREADS * MAX_PER_THREAD][48];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int round_no;

static void *sender(void *arg)
{
	int t = (int)(long)arg;

	for (int i = 0; i < MAX_PER_THREAD && !atomic_load(&stop_sending);
	     i++) {
		char ext[48];
		wa_http_reply r;
		long st;

		snprintf(ext, sizeof(ext), "stop-%d-%d-%d", round_no, t, i);
		st = e2e_send(&d, ext, "+5564999998888", "stop test", NULL, &r);
		if (st == 200) {
			pthread_mutex_lock(&lock);
			snprintf(acked_ids[atomic_fetch_add(&acked, 1)], 48,
			         "%s", ext);
			pthread_mutex_unlock(&lock);
		} else if (st > 0 && st != 503) {
			fprintf(stderr, "unexpected %ld: %s\n", st,
			        r.body ? r.body : "");
			atomic_fetch_add(&odd_answers, 1);
		}
		wa_h_reply_free(&r);
		if (st < 0)
			break; /* the daemon is gone */
	}
	return NULL;
}

static int enough_acked(void *arg)
{
	return atomic_load(&acked) >= *(int *)arg;
}

static int start(void)
{
	static const char *const env[] = {"API_KEY=" E2E_KEY,
	                                  "BIND_ADDRESS=127.0.0.1",
	                                  "WHATSAPP_PROVIDER=mock",
	                                  "MOCK_DELAY_MS=1",
	                                  "SHUTDOWN_TIMEOUT=10",
	                                  "LOG_LEVEL=info",
	                                  NULL};
	return wa_h_daemon_start(&d, env);
}

int main(void)
{
	int first = 0;

	CHECK_INT(wa_h_daemon_init(&d), 0);
	for (round_no = 0; round_no < ROUNDS; round_no++) {
		pthread_t th[THREADS];
		int want = first + STOP_AFTER, rc;

		if (start() != 0) {
			CHECK(!"the daemon started");
			break;
		}
		atomic_store(&stop_sending, 0);
		for (long t = 0; t < THREADS; t++)
			pthread_create(&th[t], NULL, sender, (void *)t);
		CHECK(wa_h_wait_for(enough_acked, &want, 20000));
		rc = wa_h_daemon_stop(&d, SIGTERM, 15000);
		if (rc != 0)
			fprintf(stderr, "round %d: exit %d; log %s\n", round_no,
			        rc, d.log_path);
		CHECK_INT(rc, 0);
		atomic_store(&stop_sending, 1);
		for (int t = 0; t < THREADS; t++)
			pthread_join(th[t], NULL);
		first = atomic_load(&acked);
	}
	CHECK_INT(atomic_load(&odd_answers), 0);

	/* every 200 is in the store */
	CHECK_INT(start(), 0);
	int missing = 0, total = atomic_load(&acked);
	for (int i = 0; i < total; i++) {
		char path[128];
		wa_http_reply r;

		snprintf(path, sizeof(path), "/v1/messages?external_id=%s",
		         acked_ids[i]);
		if (e2e_get(&d, path, &r) != 200)
			missing++;
		wa_h_reply_free(&r);
	}
	printf("%d rounds, %d messages answered 200, %d missing\n", ROUNDS,
	       total, missing);
	CHECK_INT(missing, 0);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 15000), 0);
	return wa_t_report();
}
