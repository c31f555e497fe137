/* soak_client.c - steady-rate sender for the soak script
 *
 * Usage: bench_soak_client BASE_URL API_KEY RATE SECONDS PREFIX ACKED_FILE
 * Sends RATE requests per second for SECONDS (POST /v1/messages/send, ids
 * PREFIX-<n>) from 8 threads and appends each external_id that got a 200 to
 * ACKED_FILE. Connection errors are counted, not fatal (the daemon may be
 * killed on purpose). Prints "sent=N acked=N errors=N" at the end.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *base, *key, *prefix;
static double rate;
static int seconds;
static FILE *acked_f;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long next_n, sent, acked, errors;
static double t0;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t drop(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void *worker(void *arg)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], hdr[300], body[512];

	(void)arg;
	snprintf(url, sizeof(url), "%s/v1/messages/send", base);
	snprintf(hdr, sizeof(hdr), "X-API-Key: %s", key);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop);
	for (;;) {
		long n = atomic_fetch_add(&next_n, 1);
		double due = t0 + (double)n / rate, wait;
		long code = 0;

		if (due - t0 >= seconds)
			break;
		wait = due - now_s();
		if (wait > 0) {
			struct timespec ts = {
			    (time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
			nanosleep(&ts, NULL);
		}
		/* a recipient each, as a campaign has: the per-recipient
		 * interval (on by default) then holds nothing back */
		snprintf(body, sizeof(body),
		         "{\"recipient_phone\":\"+5564%09ld\",\"message_"
		         "body\":\"soak %ld\","
		         "\"external_id\":\"%s-%ld\"}",
		         n % 1000000000L, n, prefix, n);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		atomic_fetch_add(&sent, 1);
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) ==
		        CURLE_OK &&
		    code == 200) {
			atomic_fetch_add(&acked, 1);
			pthread_mutex_lock(&lock);
			fprintf(acked_f, "%s-%ld\n", prefix, n);
			fflush(acked_f);
			pthread_mutex_unlock(&lock);
		} else {
			atomic_fetch_add(&errors, 1);
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[8];

	if (argc != 7) {
		fprintf(stderr,
		        "usage: %s BASE_URL API_KEY RATE SECONDS PREFIX "
		        "ACKED_FILE\n",
		        argv[0]);
		return 2;
	}
	base = argv[1];
	key = argv[2];
	rate = atof(argv[3]);
	seconds = atoi(argv[4]);
	prefix = argv[5];
	acked_f = fopen(argv[6], "a");
	if (!acked_f || rate <= 0 || seconds <= 0)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t0 = now_s();
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	fclose(acked_f);
	printf("sent=%ld acked=%ld errors=%ld\n", atomic_load(&sent),
	       atomic_load(&acked), atomic_load(&errors));
	curl_global_cleanup();
	return 0;
}
