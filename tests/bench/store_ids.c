/* store_ids.c - the SQLite store's insert path per message with random
 * (UUID v4) or sequential external_ids, through the store interface (no
 * HTTP, no writer thread): N inserts in group commits of G, on FILE as it
 * is (a fresh file, or a copy of a big store), printing CPU and wall
 * microseconds per message and the bytes the process wrote (WAL frames,
 * checkpoints) per message. Not a test; tests/bench/README.md ("Issue 17:
 * random external_ids and big backlogs") says how it was used.
 *   bench_store_ids FILE N G seq|random [full|normal]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/uuid.h"
#include "store/store.h"

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* wchar and syscw from /proc/self/io */
static void io(long long *wchar, long long *syscw)
{
	char line[128];
	FILE *f = fopen("/proc/self/io", "r");

	*wchar = *syscw = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "wchar: %lld", wchar);
		sscanf(line, "syscw: %lld", syscw);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	char err[256] = "", ext[64][64];
	wa_new_message m;
	wa_insert_result r;
	long long w0, w1, c0, c1;
	double cpu0, cpu1, t0, t1;
	int n, g, rnd, run;
	wa_store *s;

	if (argc < 5 || (n = atoi(argv[2])) < 1 || (g = atoi(argv[3])) < 1 ||
	    g > 64) {
		fprintf(stderr,
		        "usage: %s FILE N G(1..64) seq|random "
		        "[full|normal]\n",
		        argv[0]);
		return 2;
	}
	rnd = strcmp(argv[4], "random") == 0;
	s = wa_store_open_sqlite(argv[1], argc < 6 || strcmp(argv[5], "normal"),
	                         err, sizeof(err));
	if (!s) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	srand((unsigned)time(NULL));
	run = rand();
	io(&w0, &c0);
	cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	t0 = clock_s(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i += g) {
		if (s->ops->begin(s, err, sizeof(err)) != 0)
			goto fail;
		for (int j = 0; j < g; j++) {
			memset(&m, 0, sizeof(m));
			wa_message_id_new(m.id, sizeof(m.id));
			if (rnd)
				wa_uuid_v4(ext[j], sizeof(ext[j]));
			else
				snprintf(ext[j], sizeof(ext[j]),
				         "bench-%d-%010d", run, i + j);
			m.external_id = ext[j];
			m.phone = "+5564999998888";
			m.body = "Bench message";
			m.provider = "mock";
			m.created_ms = (int64_t)(clock_s(CLOCK_REALTIME) * 1e3);
			m.expires_ms = m.created_ms + 86400000;
			if (s->ops->insert(s, &m, &r, err, sizeof(err)) != 0)
				goto fail;
		}
		if (s->ops->commit(s, err, sizeof(err)) != 0)
			goto fail;
	}
	cpu1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	t1 = clock_s(CLOCK_MONOTONIC);
	io(&w1, &c1);
	printf("%s n=%d g=%d cpu_us=%.1f wall_us=%.1f wbytes=%.0f "
	       "wcalls=%.2f\n",
	       argv[4], n, g, (cpu1 - cpu0) / n * 1e6, (t1 - t0) / n * 1e6,
	       (double)(w1 - w0) / n, (double)(c1 - c0) / n);
	wa_store_close(s);
	return 0;
fail:
	fprintf(stderr, "insert: %s\n", err);
	return 1;
}
