/* warm_test.c - the SQLite store's page cache warm-up (sqlite_warm.c,
 * STORE_PREWARM_MB).
 *
 * On a store of 30,000 messages with random external_ids:
 * - the b-tree page parser gives, for every inner page of the messages
 *   table and its indexes, exactly the children SQLite's dbstat table
 *   names; random bytes never make it name a page outside the file;
 * - after the file's pages are dropped from the page cache, a warm-up asks
 *   for exactly the external_id index's pages and the other trees' inner
 *   pages, they come into the cache, and most of the table's leaves do
 *   not (it is not a read of the whole file); it asks 16 pages at a
 *   time, waiting for the window before the last once per window;
 * - the budget caps the pages asked for; 0 and other stores do nothing.
 *
 * SQLite only: PostgreSQL keeps its own cache (docs/postgresql.md). Skips
 * (77) where the file system keeps files in memory whatever is asked
 * (tmpfs): nothing could be seen to come in. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite/sqlite_impl.h"
#include "store_util.h"
#include "testing.h"

enum { MESSAGES = 30000, GROUP = 1000, PSZ_MAX = 65536 };

typedef struct pg_row {
	char name[64];
	char path[64];
	uint32_t pageno;
	bool inner;
} pg_row;

static pg_row *rows;
static size_t nrows;
static char eid_name[64];

static void fill_store(wa_store *s)
{
	unsigned seed = 12345;

	for (int g = 0; g < MESSAGES / GROUP; g++)
		su_insert_random_group(s, g * GROUP, GROUP, &seed);
}

/* Every page of the messages table and its indexes, as dbstat sees them. */
static void load_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t cap = 0;

	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_prepare_v2(
	          db,
	          "SELECT name FROM sqlite_schema m WHERE (SELECT"
	          " group_concat(name) FROM pragma_index_info(m.name))"
	          " = 'external_id' AND tbl_name = 'messages'",
	          -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	snprintf(eid_name, sizeof(eid_name), "%s",
	         (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT name, path, pageno, pagetype FROM"
	                         " dbstat WHERE name IN (SELECT name FROM"
	                         " sqlite_schema WHERE tbl_name = 'messages')",
	                         -1, &st, NULL) == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		pg_row *r;

		if (nrows == cap) {
			cap = cap ? cap * 2 : 1024;
			rows = realloc(rows, cap * sizeof(*rows));
		}
		r = &rows[nrows++];
		snprintf(r->name, sizeof(r->name), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		snprintf(r->path, sizeof(r->path), "%s",
		         (const char *)sqlite3_column_text(st, 1));
		r->pageno = (uint32_t)sqlite3_column_int64(st, 2);
		r->inner = strcmp((const char *)sqlite3_column_text(st, 3),
		                  "internal") == 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* dbstat's children of rows[p]: one path component ("xxx/") deeper. */
static size_t children_of(size_t p, uint32_t *out)
{
	size_t n = 0, len = strlen(rows[p].path);

	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].name, rows[p].name) == 0 &&
		    strlen(rows[i].path) == len + 4 &&
		    strncmp(rows[i].path, rows[p].path, len) == 0 &&
		    !strchr(rows[i].path, '+'))
			out[n++] = rows[i].pageno;
	qsort(out, n, sizeof(*out), cmp_u32);
	return n;
}

static void test_parser_matches_dbstat(int fd, size_t psz, uint32_t npages)
{
	unsigned char *page = malloc(psz);
	uint32_t *got = malloc(psz * sizeof(*got)),
	         *want = malloc(nrows * sizeof(*want));
	size_t inner = 0, types[2] = {0, 0};

	for (size_t i = 0; i < nrows; i++) {
		size_t n, nw;
		int type;

		if (!rows[i].inner)
			continue;
		inner++;
		CHECK(pread(fd, page, psz, (off_t)(rows[i].pageno - 1) * psz) ==
		      (ssize_t)psz);
		type = wa_sq_btree_children(page, psz, rows[i].pageno, npages,
		                            got, psz, &n);
		CHECK(type == 2 || type == 5);
		types[type == 5]++;
		qsort(got, n, sizeof(*got), cmp_u32);
		nw = children_of(i, want);
		CHECK_INT(n, nw);
		CHECK(n == nw && memcmp(got, want, n * sizeof(*got)) == 0);
	}
	/* both kinds of inner page were seen: index and table */
	CHECK(types[0] > 0 && types[1] > 0);
	fprintf(stderr, "parser: %zu inner pages match dbstat\n", inner);
	/* a leaf has no children */
	for (size_t i = 0; i < nrows; i++) {
		size_t n = 1;

		if (rows[i].inner || strchr(rows[i].path, '+'))
			continue;
		CHECK(pread(fd, page, psz, (off_t)(rows[i].pageno - 1) * psz) ==
		      (ssize_t)psz);
		CHECK(wa_sq_btree_children(page, psz, rows[i].pageno, npages,
		                           got, psz, &n) >= 10);
		CHECK_INT(n, 0);
		break;
	}
	free(page);
	free(got);
	free(want);
}

/* Random bytes, typed as an inner page or not: whatever they say, every
 * child named is a page of the file other than page 1, and no more than
 * cap of them. */
static void test_parser_random(void)
{
	static const unsigned char kinds[] = {2, 5, 10, 13, 0, 7};
	unsigned char page[4096];
	uint32_t out[64];
	unsigned seed = 99;
	int bad = 0;

	for (int k = 0; k < 20000; k++) {
		size_t psz = k % 3 ? 4096 : 512, n, cap = k % 2 ? 64 : 3;
		uint32_t pgno = k % 7 ? 2 + k : 1, npages = 1 + k % 5000;
		int type;

		for (size_t i = 0; i < psz; i++) {
			seed = seed * 1103515245u + 12345u;
			page[i] = (unsigned char)(seed >> 16);
		}
		/* few cells, so that many pointers fall inside the page */
		page[pgno == 1 ? 103 : 3] = 0;
		page[pgno == 1 ? 100 : 0] = kinds[k % 6];
		type =
		    wa_sq_btree_children(page, psz, pgno, npages, out, cap, &n);
		if (n > cap || ((type == 0 || type >= 10) && n != 0))
			bad++;
		for (size_t i = 0; i < n; i++)
			if (out[i] < 2 || out[i] > npages)
				bad++;
	}
	CHECK_INT(bad, 0);
}

static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	fsync(fd); /* dirty pages cannot be dropped */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* How many of the pages rows[i] for which pick(i) holds are in the page
 * cache; *total receives how many there are. */
static size_t resident(const char *path, size_t psz, bool (*pick)(size_t),
                       size_t *total)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	unsigned char *vec;
	void *map;
	size_t n = 0, os_pg = (size_t)sysconf(_SC_PAGESIZE);

	*total = 0;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return 0;
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc((size_t)sb.st_size / os_pg + 1);
	if (map != MAP_FAILED && vec &&
	    mincore(map, (size_t)sb.st_size, vec) == 0) {
		for (size_t i = 0; i < nrows; i++) {
			if (!pick(i))
				continue;
			(*total)++;
			n += vec[(rows[i].pageno - 1) * psz / os_pg] & 1;
		}
	}
	if (map != MAP_FAILED)
		munmap(map, (size_t)sb.st_size);
	free(vec);
	close(fd);
	return n;
}

static bool is_eid(size_t i)
{
	return strcmp(rows[i].name, eid_name) == 0;
}

/* what the warm-up asks for: the external_id index, the others' inner
 * pages */
static bool is_warmed(size_t i)
{
	return is_eid(i) || rows[i].inner;
}

static bool is_table_leaf(size_t i)
{
	return strcmp(rows[i].name, "messages") == 0 && !rows[i].inner &&
	       !strchr(rows[i].path, '+');
}

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

int main(void)
{
	char path[1024], err[256];
	wa_store *s;
	unsigned char head[100];
	size_t psz, total, warmed = 0, in, leaves_in, leaves;
	uint32_t npages;
	struct stat sb;
	int fd, rc = 0;

	su_init("sqlite");
	test_parser_random();

	s = su_open(path, sizeof(path));
	CHECK(s != NULL);
	fill_store(s);
	wa_store_close(s); /* the last connection checkpoints the WAL */
	load_rows(path);
	for (size_t i = 0; i < nrows; i++)
		warmed += is_warmed(i);
	CHECK(eid_name[0] != '\0');

	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, head, sizeof(head), 0) == sizeof(head));
	psz = (size_t)head[16] << 8 | head[17];
	CHECK(psz >= 512 && psz <= PSZ_MAX);
	CHECK(fstat(fd, &sb) == 0);
	npages = (uint32_t)(sb.st_size / (off_t)psz);
	test_parser_matches_dbstat(fd, psz, npages);
	close(fd);

	drop_cache(path);
	in = resident(path, psz, is_eid, &total);
	if (in * 2 > total) {
		printf("SKIP: the file system under TMPDIR keeps %zu of the "
		       "index's %zu pages cached after they were dropped "
		       "(tmpfs?): no warm-up could be seen\n",
		       in, total);
		rc = 77;
		goto out;
	}

	/* a warm-up with room for all: exactly the pages named */
	s = wa_store_open_sqlite(path, false, err, sizeof(err));
	CHECK(s != NULL);
	CHECK_INT(wa_store_sqlite_prewarm(s, 1 << 30, err, sizeof(err)), 0);
	/* the store works on while it warms (an insert, a read) */
	{
		wa_insert_result r = su_insert_simple(s, "while-warm", "ww", 1);

		CHECK(r.kind == WA_INSERT_CREATED);
		CHECK_INT(su_status(s, "while-warm"), WA_MSG_QUEUED);
	}
	CHECK_INT(wa_store_sqlite_prewarm_wait(s), (long)warmed);
	/* the reads were queued; wait for them to land (bounded) */
	for (int i = 0; i < 1000; i++) {
		in = resident(path, psz, is_warmed, &total);
		if (in == total)
			break;
		nap_ms(10);
	}
	CHECK_INT(in, total);
	/* asked for WA_SQ_WARM_WINDOW (16) pages at a time (those cached
	 * at the start are not asked for): it waited for the window before
	 * the last once per window after the first (runs of neighbours are
	 * cut at a window's end, so every window is full) */
	{
		wa_sq_store *q = s->impl;
		long asked = (long)warmed - q->pw_cached;

		CHECK(asked > WA_SQ_WARM_WINDOW * 4);
		CHECK_INT(q->pw_waits, asked / WA_SQ_WARM_WINDOW - 1);
	}
	leaves_in = resident(path, psz, is_table_leaf, &leaves);
	fprintf(stderr,
	        "warm-up: %zu pages asked for and cached; table leaves "
	        "cached %zu of %zu\n",
	        warmed, leaves_in, leaves);
	CHECK(leaves > 0 && leaves_in * 2 < leaves);
	/* again, now that they are cached: nothing is asked for twice */
	CHECK(((wa_sq_store *)s->impl)->pw_cached * 2 < (long)warmed);
	CHECK_INT(wa_store_sqlite_prewarm(s, 1 << 30, err, sizeof(err)), 0);
	CHECK_INT(wa_store_sqlite_prewarm_wait(s), (long)warmed);
	CHECK_INT(((wa_sq_store *)s->impl)->pw_cached, (long)warmed);
	/* and after */
	{
		wa_insert_result r = su_insert_simple(s, "after-warm", "aw", 1);

		CHECK(r.kind == WA_INSERT_CREATED);
	}
	wa_store_close(s);

	/* the budget: 5 pages */
	drop_cache(path);
	s = wa_store_open_sqlite(path, false, err, sizeof(err));
	CHECK(s != NULL);
	CHECK_INT(wa_store_sqlite_prewarm(s, 5 * psz, err, sizeof(err)), 0);
	CHECK_INT(wa_store_sqlite_prewarm_wait(s), 5);
	/* 0: off */
	CHECK_INT(wa_store_sqlite_prewarm(s, 0, err, sizeof(err)), 0);
	CHECK_INT(wa_store_sqlite_prewarm_wait(s), -1);
	/* closing while it runs stops it */
	CHECK_INT(wa_store_sqlite_prewarm(s, 1 << 30, err, sizeof(err)), 0);
	wa_store_close(s);

	/* another kind of store: nothing */
	s = wa_store_open_memory(err, sizeof(err));
	CHECK(s != NULL);
	CHECK_INT(wa_store_sqlite_prewarm(s, 1 << 30, err, sizeof(err)), 0);
	CHECK_INT(wa_store_sqlite_prewarm_wait(s), -1);
	wa_store_close(s);
out:
	free(rows);
	su_cleanup();
	return rc ? rc : su_report();
}
