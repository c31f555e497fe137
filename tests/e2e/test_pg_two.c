/* test_pg_two.c - two daemons on one PostgreSQL database at scale (run
 * under tests/lib/pgtmp.sh): N messages sent through both, a tenth of them
 * also sent to the other daemon at the same time (the same external_ids),
 * and mid-run either
 *   kill       daemon 1 killed with SIGKILL, and restarted while the sends
 *              go on, or
 *   dbrestart  the database server restarted (pg_ctl stop, start).
 * Every acknowledged message is delivered, each external_id is one
 * message, and provider calls beyond one per message are counted: at most
 * the calls in flight at the kill (or, at the restart, those whose outcome
 * could not be written while the database was away).
 *
 * N is WA_PG_TWO_N (CTest runs 2,000; the run is 20,000:
 * WA_PG_TWO_N=20000 ctest -R e2e_pg_two). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "testing.h"

enum { THREADS = 6, WORKERS = 4, EXT_MAX = 40 };

typedef struct ack {
	char ext[EXT_MAX];
	char id[48];
} ack;

static wa_daemon d[2];
static char record[400];
static ack *acks;
static int n_total, n_uniq, n_dups;
static atomic_int n_acked, n_sent_req, d1_gone, n_replayed, n_503;
static char (*dup_id)[2][48];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void add_ack(const char *ext, const char *id)
{
	pthread_mutex_lock(&lock);
	int i = atomic_load(&n_acked);
	snprintf(acks[i].ext, sizeof(acks[i].ext), "%s", ext);
	snprintf(acks[i].id, sizeof(acks[i].id), "%s", id);
	atomic_store(&n_acked, i + 1);
	pthread_mutex_unlock(&lock);
}

static int ready(void *arg)
{
	wa_http_reply r;
	long st = e2e_get((const wa_daemon *)arg, "/ready", &r);

	wa_h_reply_free(&r);
	return st == 200;
}

/* Send ext to daemon k (daemon 0 while daemon 1 is gone) until a 200 or a
 * definite refusal; the message id into id. A 503 (the database away)
 * waits for that daemon's /ready before the next try. */
static long send_one(int k, const char *ext, char *id, size_t id_len)
{
	for (int tries = 0; tries < 200; tries++) {
		wa_http_reply r;
		char v[16];
		int to = k == 1 && atomic_load(&d1_gone) ? 0 : k;
		long st =
		    e2e_send(&d[to], ext, "+5564999998888", "two", NULL, &r);

		atomic_fetch_add(&n_sent_req, 1);
		if (st == 200) {
			e2e_field(r.body, "message_id", id, id_len);
			if (wa_h_header(&r, "Idempotent-Replayed", v,
			                sizeof(v)))
				atomic_fetch_add(&n_replayed, 1);
		}
		wa_h_reply_free(&r);
		if (st == 200 || (st > 0 && st != 503))
			return st;
		if (st == 503) {
			atomic_fetch_add(&n_503, 1);
			wa_h_wait_for(ready, &d[to], 30000);
		}
		/* st < 0: daemon 1 killed; d1_gone routes to daemon 0 */
	}
	return -1;
}

static void *sender(void *arg)
{
	int t = (int)(long)arg;

	for (int i = t; i < n_uniq; i += THREADS) {
		char ext[EXT_MAX], id[48] = "";

		snprintf(ext, sizeof(ext), "two-%d", i);
		if (send_one(i % 2, ext, id, sizeof(id)) == 200)
			add_ack(ext, id);
	}
	return NULL;
}

/* Daemon k sends dup-0.. while the other daemon sends the same keys. */
static void *dup_sender(void *arg)
{
	int k = (int)(long)arg;

	for (int j = 0; j < n_dups; j++) {
		char ext[EXT_MAX];

		snprintf(ext, sizeof(ext), "dup-%d", j);
		if (send_one(k, ext, dup_id[j][k], sizeof(dup_id[j][k])) == 200)
			add_ack(ext, dup_id[j][k]);
	}
	return NULL;
}

static int acked_at_least(void *arg)
{
	return atomic_load(&n_acked) >= *(int *)arg;
}

/* ---- the record file: "<message id> <external id> <mock id>" lines ---- */

typedef struct line {
	char ext[EXT_MAX];
	char id[48];
} line;

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const line *)a)->ext, ((const line *)b)->ext);
}

/* The record's lines sorted by external id; their count in *n. */
static line *read_record(size_t *n)
{
	size_t len = 0, cap = 1024;
	char *text = wa_h_slurp(record, &len), *p, *save = NULL;
	line *v = malloc(cap * sizeof(*v));

	*n = 0;
	if (!text || !v) {
		free(text);
		return v;
	}
	for (p = strtok_r(text, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		char id[48], ext[EXT_MAX];

		if (sscanf(p, "%47s %39s", id, ext) != 2)
			continue;
		if (*n == cap) {
			line *g = realloc(v, 2 * cap * sizeof(*v));

			if (!g)
				break;
			v = g;
			cap *= 2;
		}
		snprintf(v[*n].ext, sizeof(v[*n].ext), "%s", ext);
		snprintf(v[*n].id, sizeof(v[*n].id), "%s", id);
		(*n)++;
	}
	free(text);
	qsort(v, *n, sizeof(*v), line_cmp);
	return v;
}

/* How many record lines carry ext (lines sorted); *first the first. */
static size_t calls_of(const line *v, size_t n, const char *ext,
                       const line **first)
{
	size_t lo = 0, hi = n, k;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(v[mid].ext, ext) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = lo; k < n && strcmp(v[k].ext, ext) == 0; k++)
		;
	*first = lo < n ? &v[lo] : NULL;
	return k - lo;
}

static int all_delivered(void *arg)
{
	int *missing = arg, acked = atomic_load(&n_acked);
	size_t n;
	line *v;

	*missing = acked;
	if ((size_t)wa_h_count_lines(record, " ") < (size_t)(acked / 2))
		return 0; /* far from done: skip the sort */
	v = read_record(&n);
	*missing = 0;
	for (int i = 0; v && i < acked; i++) {
		const line *f;

		if (calls_of(v, n, acks[i].ext, &f) == 0)
			(*missing)++;
	}
	free(v);
	return *missing == 0;
}

static int pg_ctl(const char *what)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "\"%s\" ctl %s", getenv("WA_PGTMP"), what);
	return system(cmd);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "kill";
	bool kill_mode = strcmp(mode, "kill") == 0;
	char rec_kv[512];
	const char *env[] = {"API_KEY=" E2E_KEY, "BIND_ADDRESS=127.0.0.1",
	                     "MOCK_DELAY_MS=2", "WORKERS=4",
	                     /* all to one number, many at once */
	                     "RECIPIENT_ORDER=off",
	                     /* kill: daemon 0 takes over daemon 1's claims
	                      * once their lease runs out; dbrestart: no lease
	                      * runs out while the database is away */
	                     kill_mode ? "LEASE_SECONDS=2" : "LEASE_SECONDS=30",
	                     "RETRY_BASE_MS=10", rec_kv, NULL};
	pthread_t t[THREADS + 2];
	int missing = 0, extra = 0, twice = 0, split = 0, total, distinct = 0;
	int mid, late, patience;
	size_t n_lines = 0;
	line *v;

	if (!getenv("DATABASE_URL") || !getenv("WA_PGTMP")) {
		printf("skipped: DATABASE_URL is not set; run this test "
		       "through tests/lib/pgtmp.sh\n");
		return 77;
	}
	if (!kill_mode && strcmp(mode, "dbrestart") != 0) {
		fprintf(stderr, "usage: %s [kill|dbrestart]\n", argv[0]);
		return 2;
	}
	n_total = getenv("WA_PG_TWO_N") ? atoi(getenv("WA_PG_TWO_N")) : 2000;
	if (n_total < 100)
		n_total = 100;
	/* a slow, loaded machine: a minute, plus 30 ms per message */
	patience = 60000 + 30 * n_total;
	n_dups = n_total / 10;
	n_uniq = n_total - n_dups;
	acks = calloc((size_t)(n_uniq + 2 * n_dups), sizeof(*acks));
	dup_id = calloc((size_t)n_dups, sizeof(*dup_id));
	if (!acks || !dup_id)
		return 1;
	CHECK_INT(wa_h_daemon_init(&d[0]), 0);
	CHECK_INT(wa_h_daemon_init(&d[1]), 0);
	snprintf(record, sizeof(record), "%s/record.txt", d[0].dir);
	snprintf(rec_kv, sizeof(rec_kv), "MOCK_RECORD_FILE=%s", record);
	CHECK_INT(wa_h_daemon_start(&d[0], env), 0);
	CHECK_INT(wa_h_daemon_start(&d[1], env), 0);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, sender, (void *)i);
	for (long k = 0; k < 2; k++)
		pthread_create(&t[THREADS + k], NULL, dup_sender, (void *)k);
	mid = n_total / 3;
	late = 2 * n_total / 3;
	CHECK(wa_h_wait_for(acked_at_least, &mid, patience));
	if (kill_mode) {
		/* daemon 1 dies with its claims; the sends go on through
		 * daemon 0, then through both again once it is back */
		atomic_store(&d1_gone, 1);
		CHECK_INT(wa_h_daemon_stop(&d[1], SIGKILL, 5000),
		          128 + SIGKILL);
		CHECK(wa_h_wait_for(acked_at_least, &late, patience));
		CHECK_INT(wa_h_daemon_start(&d[1], env), 0);
		atomic_store(&d1_gone, 0);
	} else {
		CHECK_INT(pg_ctl("stop"), 0);
		CHECK_INT(pg_ctl("start"), 0);
	}
	for (int i = 0; i < THREADS + 2; i++)
		pthread_join(t[i], NULL);

	total = atomic_load(&n_acked);
	CHECK(wa_h_wait_for(all_delivered, &missing, patience));
	if (missing)
		fprintf(stderr, "%d acknowledged messages never delivered\n",
		        missing);
	CHECK_INT(missing, 0);
	/* one message per external_id: both daemons answered one id ... */
	for (int j = 0; j < n_dups; j++)
		if (dup_id[j][0][0] && dup_id[j][1][0])
			CHECK_STR(dup_id[j][0], dup_id[j][1]);
	/* ... and every call for one external_id was for one message */
	v = read_record(&n_lines);
	CHECK(v != NULL);
	for (size_t i = 0; v && i < n_lines;) {
		const line *f;
		size_t c = calls_of(v, n_lines, v[i].ext, &f);

		distinct++;
		if (c > 1) {
			twice++;
			extra += (int)c - 1;
		}
		for (size_t k = i + 1; k < i + c; k++)
			split += strcmp(v[k].id, v[i].id) != 0;
		i += c;
	}
	free(v);
	printf("%s: sent %d requests for %d messages (%d external_ids sent "
	       "to both daemons), acknowledged %d (replays %d, 503s %d); "
	       "delivered %d external_ids in %zu provider calls: %d extra "
	       "(%d messages twice)\n",
	       mode, atomic_load(&n_sent_req), n_total, n_dups, total,
	       atomic_load(&n_replayed), atomic_load(&n_503), distinct, n_lines,
	       extra, twice);
	CHECK_INT(split, 0);
	CHECK_INT(distinct, n_total);
	/* kill: only daemon 1's calls in flight at the kill (at most its
	 * WORKERS); restart: only outcomes the database could not take,
	 * at most the calls in flight in both daemons */
	CHECK(extra <= (kill_mode ? WORKERS : 2 * WORKERS));
	CHECK_INT(wa_h_daemon_stop(&d[1], SIGTERM, 15000), 0);
	CHECK_INT(wa_h_daemon_stop(&d[0], SIGTERM, 15000), 0);
	free(acks);
	free(dup_id);
	return wa_t_report();
}
