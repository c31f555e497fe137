/* store_counts.c - the write path's cost per message on a SQLite store:
 * N messages inserted, then claimed and recorded sent, in group commits of
 * 100 through the store interface (no HTTP, no writer thread), printing
 * CPU and wall microseconds per message for each phase and the sent count
 * that stats then reads. Not a test; tests/bench/README.md ("Counts per
 * status") says how it was used.
 *   bench_store_counts FILE [N]   (FILE must not exist; default N 40000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

#define GROUP 100

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "bench_store_counts: %s: %s\n", what, err);
	return 1;
}

static int insert_all(wa_store *s, int n, char *err, size_t len)
{
	wa_new_message m[GROUP];
	wa_insert_result r[GROUP];
	char ext[GROUP][32];

	for (int i = 0; i < n; i += GROUP) {
		if (s->ops->begin(s, err, len) != 0)
			return -1;
		for (int j = 0; j < GROUP; j++) {
			memset(&m[j], 0, sizeof(m[j]));
			snprintf(m[j].id, sizeof(m[j].id), "msg-%08d", i + j);
			snprintf(ext[j], sizeof(ext[j]), "ext-%08d", i + j);
			m[j].external_id = ext[j];
			m[j].phone = "+5511999990000";
			m[j].body = "hello";
			m[j].provider = "mock";
			m[j].created_ms = 1000 + i + j;
			m[j].expires_ms = 1000000000000LL;
			if (s->ops->insert(s, &m[j], &r[j], err, len) != 0)
				return -1;
		}
		if (s->ops->commit(s, err, len) != 0)
			return -1;
	}
	return 0;
}

static int send_all(wa_store *s, int n, char *err, size_t len)
{
	wa_message_rec rec[GROUP];
	const int64_t now = 100000000000LL;

	for (int i = 0; i < n; i += GROUP) {
		size_t got = 0;
		int rc = 0;

		if (s->ops->begin(s, err, len) != 0 ||
		    s->ops->claim(s, now, now + 60000, GROUP, rec, &got, err,
		                  len) != 0)
			return -1;
		for (size_t j = 0; j < got; j++) {
			wa_outcome o;

			memset(&o, 0, sizeof(o));
			o.kind = WA_OUT_SENT;
			o.at_ms = now;
			o.provider_message_id = rec[j].id;
			if (rc == 0 &&
			    s->ops->finish(s, rec[j].id, &o, err, len) < 0)
				rc = -1;
			wa_message_rec_free(&rec[j]);
		}
		if (rc != 0 || s->ops->commit(s, err, len) != 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[256] = "";
	int n = argc > 2 ? atoi(argv[2]) : 40000;
	double c0, c1, c2, t0, t1, t2;
	wa_store_stats st;
	wa_store *s;

	if (argc < 2 || n < GROUP) {
		fprintf(stderr, "usage: %s FILE [N >= %d]\n", argv[0], GROUP);
		return 2;
	}
	s = wa_store_open_sqlite(argv[1], false, err, sizeof(err));
	if (!s)
		return fail("open", err);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	t0 = clock_s(CLOCK_MONOTONIC);
	if (insert_all(s, n, err, sizeof(err)) < 0)
		return fail("insert", err);
	c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	t1 = clock_s(CLOCK_MONOTONIC);
	if (send_all(s, n, err, sizeof(err)) < 0)
		return fail("claim and finish", err);
	c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	t2 = clock_s(CLOCK_MONOTONIC);
	if (s->ops->stats(s, &st, err, sizeof(err)) != 0)
		return fail("stats", err);
	printf("insert %.1f us cpu/msg (%.1f wall)  claim+finish %.1f us "
	       "cpu/msg (%.1f wall)  stats: sent %lld of %d\n",
	       (c1 - c0) / n * 1e6, (t1 - t0) / n * 1e6, (c2 - c1) / n * 1e6,
	       (t2 - t1) / n * 1e6, st.count[WA_MSG_SENT], n);
	wa_store_close(s);
	return 0;
}
