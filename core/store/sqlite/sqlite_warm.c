/* sqlite_warm.c - read the store file's hot pages into the OS page cache at
 * start, on a thread of the store's own (STORE_PREWARM_MB).
 *
 * A new message with a random external_id (a UUID, as many callers send)
 * lands on a leaf of the external_id index that no other recent message
 * touched. After a reboot none of those leaves is cached, and the writer
 * reads the one each insert needs from the disk, one at a time, inside
 * the group commit every request waits for: on a store of 5 million
 * messages that halved accepts for the 10-15 s the cache took to fill
 * (tests/bench/README.md, "Issue 17 item 4").
 *
 * Here a thread walks the b-trees of the messages table and its indexes
 * level by level from their roots, asks the kernel for each level's pages
 * (POSIX_FADV_WILLNEED, which queues the reads and returns), and reads the
 * inner levels back to find the next one. First the inner pages of every
 * tree, which each insert and lookup descends (an eighth of what is
 * read), then the leaves of the external_id index, only asked for. The
 * reads are asked for 16 pages at a time, so that the writer's own reads
 * and commits do not queue behind them (pace). On this machine the
 * 62,000 leaves of a 5 M store came in 1.3-1.8 s, against 3.1 s read one
 * by one; the accepts meanwhile go on.
 * Pages cached already (one mincore of the file when the walk begins)
 * are not asked for again: on a warm cache that would be a system call
 * per page for nothing.
 *
 * The walk reads the file as SQLite left it on disk, not through SQLite:
 * a page changed since the last checkpoint is newer in the WAL, so a link
 * read here may be stale. That only warms a page nobody needs: every page
 * number is checked against the file's size, and nothing read here is
 * ever used but as a page number to ask for.
 *
 * It reads through the store's own descriptor (wa_sq_own_fd), which
 * stays open until the store's connections are all closed. */
#include "store/sqlite/sqlite_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"

static uint32_t be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int wa_sq_btree_children(const unsigned char *page, size_t psz, uint32_t pgno,
                         uint32_t npages, uint32_t *out, size_t cap, size_t *n)
{
	size_t hdr = pgno == 1 ? 100 : 0, i, ncell, cells;
	uint32_t child;

	*n = 0;
	if (psz < 512 || hdr + 12 > psz)
		return 0;
	switch (page[hdr]) {
	case 10:
	case 13:
		return page[hdr];
	case 2:
	case 5:
		break;
	default:
		return 0;
	}
	ncell = be16(page + hdr + 3);
	cells = hdr + 12;
	if (cells + 2 * ncell > psz)
		return 0;
	for (i = 0; i <= ncell && *n < cap; i++) {
		if (i < ncell) {
			size_t off = be16(page + cells + 2 * i);

			if (off < cells + 2 * ncell || off + 4 > psz)
				continue;
			child = be32(page + off);
		} else {
			child = be32(page + hdr + 8); /* the right-most child */
		}
		/* page 1 is sqlite_schema's root, never a child */
		if (child >= 2 && child <= npages)
			out[(*n)++] = child;
	}
	return page[hdr];
}

typedef struct warm {
	wa_sq_store *s;
	int fd;
	size_t psz;
	uint32_t npages;
	size_t budget;                /* pages still allowed */
	size_t leaves, inner, cached; /* pages; cached: already were */
	unsigned char *buf;
	/* which OS pages of the file were cached when the walk began (NULL:
	 * unknown): those are not asked for again */
	unsigned char *incore;
	size_t os_page;
	/* the reads asked for and maybe not done: since the last wait, and
	 * the last page of the window before (0: none) */
	size_t asked;
	uint32_t window_end;
	size_t waits;
} warm;

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool stopping(const warm *w)
{
	return atomic_load(&w->s->pw_stop);
}

static bool cached(const warm *w, uint32_t pgno)
{
	return w->incore &&
	       (w->incore[(size_t)(pgno - 1) * w->psz / w->os_page] & 1);
}

/* Note which pages of the file are in the page cache now: on a warm
 * cache, asking for them again would cost a system call each for
 * nothing (one per 4 KiB page of the index). When mmap or mincore fails
 * (a system call filter without mincore), none is known cached and every
 * page is asked for. */
static void note_cached(warm *w, size_t bytes)
{
	void *map;

	w->os_page = (size_t)sysconf(_SC_PAGESIZE);
	if (bytes == 0 || w->os_page == 0)
		return;
	map = mmap(NULL, bytes, PROT_READ, MAP_SHARED, w->fd, 0);
	if (map == MAP_FAILED)
		return;
	w->incore = malloc(bytes / w->os_page + 1);
	if (w->incore && mincore(map, bytes, w->incore) != 0) {
		free(w->incore);
		w->incore = NULL;
	}
	munmap(map, bytes);
}

/* Wait for the reads asked for before the last window (a read of a byte
 * of its last page returns when that page is in), so that at most two
 * windows of WA_SQ_WARM_WINDOW pages wait at the disk at once. Asked for
 * all at once, the 62,000 leaves of a 5 M store queued for 1.8 s, and the
 * writer's reads and commits meanwhile waited behind them: the first 2 s
 * after a cold start answered 1,400 accepts a second with a p99 of 1.2 s.
 * With two windows of 16 the warm-up took as long (1.7 s) and that p99
 * was 50 ms (issue 17 item 4; tests/bench/README.md). */
static void pace(warm *w, uint32_t last)
{
	char byte;

	if (w->asked < WA_SQ_WARM_WINDOW)
		return;
	if (w->window_end) {
		(void)!pread(w->fd, &byte, 1,
		             (off_t)(w->window_end - 1) * (off_t)w->psz);
		w->waits++;
	}
	w->window_end = last;
	w->asked = 0;
}

/* Ask for pages[0..n) (sorted) but those cached, one call per run of
 * neighbours. */
static void advise(warm *w, const uint32_t *pages, size_t n)
{
	size_t i = 0, j;

	while (i < n && !stopping(w)) {
		if (cached(w, pages[i])) {
			w->cached++;
			i++;
			continue;
		}
		for (j = i; j + 1 < n && pages[j + 1] == pages[j] + 1 &&
		            !cached(w, pages[j + 1]) &&
		            w->asked + (j - i + 1) < WA_SQ_WARM_WINDOW;
		     j++)
			;
		posix_fadvise(w->fd, (off_t)(pages[i] - 1) * (off_t)w->psz,
		              (off_t)(j - i + 1) * (off_t)w->psz,
		              POSIX_FADV_WILLNEED);
		w->asked += j - i + 1;
		pace(w, pages[j]);
		i = j + 1;
	}
}

/* The type of page pgno (wa_sq_btree_children), its children appended to
 * *next; 0 when it cannot be read or is no b-tree page. */
static int read_page(warm *w, uint32_t pgno, uint32_t **next, size_t *nn,
                     size_t *cap)
{
	size_t got;
	int type;

	if (pread(w->fd, w->buf, w->psz, (off_t)(pgno - 1) * (off_t)w->psz) !=
	    (ssize_t)w->psz)
		return 0;
	/* room for a page's worth of children (at most psz / 4 + 1) */
	if (*cap - *nn < w->psz / 4 + 1) {
		size_t c = *cap * 2 + w->psz / 4 + 1;
		uint32_t *p = realloc(*next, c * sizeof(*p));

		if (!p)
			return 0;
		*next = p;
		*cap = c;
	}
	type = wa_sq_btree_children(w->buf, w->psz, pgno, w->npages,
	                            *next + *nn, *cap - *nn, &got);
	*nn += got;
	return type;
}

/* Walk one b-tree from root, a level at a time, reading the inner pages
 * back for the next level. Without leaves: ask for (and count) the inner
 * levels and stop above the leaves. With leaves: only read the inner
 * levels (an earlier walk asked for them) and ask for the leaves. SQLite
 * keeps every leaf of a b-tree at one depth, so the level's first page
 * tells what the level is. */
static void walk(warm *w, uint32_t root, bool leaves)
{
	uint32_t *level = malloc(sizeof(*level)), *next = NULL, *t;
	size_t n = 1, lcap = 1, ncap = 0, c;

	if (!level)
		return;
	level[0] = root;
	while (n > 0 && w->budget > 0 && !stopping(w)) {
		size_t nn = 0, i, u;
		int type;
		bool leaf;

		qsort(level, n, sizeof(*level), cmp_u32);
		for (i = 1, u = 1; i < n; i++)
			if (level[i] != level[u - 1])
				level[u++] = level[i];
		n = u;
		type = read_page(w, level[0], &next, &nn, &ncap);
		leaf = type == 10 || type == 13;
		if (type == 0 || (leaf && !leaves))
			break;
		if (leaf || !leaves) {
			n = n < w->budget ? n : w->budget;
			advise(w, level, n);
			w->budget -= n;
		}
		if (leaf) {
			w->leaves += n;
			break;
		}
		if (!leaves)
			w->inner += n;
		for (i = 1; i < n && !stopping(w); i++)
			read_page(w, level[i], &next, &nn, &ncap);
		t = level;
		level = next;
		next = t;
		c = lcap;
		lcap = ncap;
		ncap = c;
		n = nn;
	}
	free(level);
	free(next);
}

/* The root pages of the messages table and its indexes, the external_id
 * index's root first (*eid: whether it was found). */
static size_t roots(wa_sq_store *s, uint32_t *out, size_t cap, bool *eid)
{
	static const char sql[] =
	    "SELECT rootpage, (SELECT group_concat(name) FROM"
	    " pragma_index_info(m.name)) = 'external_id'"
	    " FROM sqlite_schema m WHERE tbl_name = 'messages'"
	    " AND type IN ('table', 'index') AND rootpage > 1"
	    " ORDER BY 2 DESC, rootpage";
	char err[256];
	wa_sq_reader *r = wa_sq_reader_get(s, err, sizeof(err));
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	*eid = false;
	if (!r)
		return 0;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK) {
		while (n < cap && sqlite3_step(st) == SQLITE_ROW) {
			if (n == 0)
				*eid = sqlite3_column_int(st, 1) == 1;
			out[n++] = (uint32_t)sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_finalize(st);
	wa_sq_reader_put(s, r);
	return n;
}

static void *warm_main(void *arg)
{
	wa_sq_store *s = arg;
	warm w = {.s = s, .fd = s->own_fd};
	unsigned char head[100];
	uint32_t root[32];
	size_t nroot, i;
	struct stat sb;
	int64_t t0 = wa_mono_ms();
	bool eid;

	/* below the threads that answer requests (on Linux the nice value
	 * is the calling thread's own); the packaged unit's system call
	 * filter refuses it (EPERM), and the walk runs as it is */
	setpriority(PRIO_PROCESS, 0, 10);
	posix_fadvise(w.fd, 0, 0, POSIX_FADV_RANDOM);
	if (pread(w.fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head, "SQLite format 3", 16) != 0 || fstat(w.fd, &sb) < 0)
		goto out;
	w.psz = be16(head + 16) == 1 ? 65536 : be16(head + 16);
	if (w.psz < 512 || (w.psz & (w.psz - 1)) != 0)
		goto out;
	w.npages = (uint32_t)((uint64_t)sb.st_size / w.psz);
	w.budget = s->pw_budget / w.psz;
	if (!(w.buf = malloc(w.psz)))
		goto out;
	note_cached(&w, (size_t)w.npages * w.psz);
	nroot = roots(s, root, sizeof(root) / sizeof(root[0]), &eid);
	/* every tree's inner pages first: the writer's first inserts descend
	 * them all, and they are an eighth of what is read; then the leaves
	 * of the external_id index */
	for (i = 0; i < nroot; i++)
		walk(&w, root[i], false);
	if (eid)
		walk(&w, root[0], true);
	free(w.buf);
	free(w.incore);
	wa_log(WA_LOG_INFO, "store",
	       "Page cache warm-up%s: asked in %lld ms for %.1f MiB of the"
	       " external_id index's leaves and %.1f MiB of inner pages"
	       " (%.1f MiB of them were cached already).",
	       stopping(&w)    ? " stopped by the store's close"
	       : w.budget == 0 ? " stopped at STORE_PREWARM_MB"
	                       : "",
	       (long long)(wa_mono_ms() - t0),
	       (double)(w.leaves * w.psz) / 1048576.0,
	       (double)(w.inner * w.psz) / 1048576.0,
	       (double)(w.cached * w.psz) / 1048576.0);
out:
	atomic_store(&s->pw_cached, (long)w.cached);
	atomic_store(&s->pw_waits, (long)w.waits);
	atomic_store(&s->pw_pages, (long)(w.leaves + w.inner));
	return NULL;
}

int wa_store_sqlite_prewarm(wa_store *st, size_t budget_bytes, char *err,
                            size_t err_len)
{
	wa_sq_store *s = st->impl;
	int rc;

	if (strcmp(st->kind, "sqlite") != 0 || budget_bytes == 0 ||
	    s->pw_running)
		return 0;
	if (wa_sq_own_fd(s) < 0) {
		snprintf(err, err_len, "Cannot open \"%s\" to warm it: %s.",
		         s->path, strerror(errno));
		return -1;
	}
	s->pw_budget = budget_bytes;
	atomic_store(&s->pw_stop, false);
	atomic_store(&s->pw_pages, -1L);
	atomic_store(&s->pw_cached, 0L);
	atomic_store(&s->pw_waits, 0L);
	rc = pthread_create(&s->pw_thread, NULL, warm_main, s);
	if (rc != 0) {
		snprintf(err, err_len, "Cannot start the warm-up thread: %s.",
		         strerror(rc));
		return -1;
	}
	pthread_setname_np(s->pw_thread, "wa-prewarm");
	s->pw_running = true;
	return 0;
}

long wa_store_sqlite_prewarm_wait(wa_store *st)
{
	wa_sq_store *s = st->impl;

	if (strcmp(st->kind, "sqlite") != 0 || !s->pw_running)
		return -1;
	pthread_join(s->pw_thread, NULL);
	s->pw_running = false;
	return atomic_load(&s->pw_pages);
}

void wa_store_sqlite_prewarm_stop(wa_store *st)
{
	if (strcmp(st->kind, "sqlite") == 0)
		wa_sq_warm_stop(st->impl);
}

void wa_sq_warm_stop(wa_sq_store *s)
{
	if (s->pw_running) {
		atomic_store(&s->pw_stop, true);
		pthread_join(s->pw_thread, NULL);
		s->pw_running = false;
	}
}
