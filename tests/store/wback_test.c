/* wback_test.c - the checkpointer's pages reach the disk a window at a
 * time (sqlite_wback.c).
 *
 * First the pacer alone, on a file of its own: pages written and reported
 * to it are handed to the disk WA_SQ_WB_WINDOW runs of neighbours at a
 * time, the window before waited for, the rest at the sync; cachestat(2)
 * counts the pages still dirty. The same writes reported to a pacer
 * without a descriptor stay dirty, so the count can see them. Then a
 * store: its checkpointer's database file reports the pages it copies
 * (sqlite_vfs.c), and after reopening every message is there and the
 * file is intact.
 *
 * Skips (77) where cachestat is missing (Linux < 6.5) or the file system
 * keeps files in memory (tmpfs): no page of it is ever dirty there. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "store/sqlite/sqlite_impl.h"
#include "store_util.h"
#include "testing.h"

enum { W = WA_SQ_WB_WINDOW, PG = 4096, GROUPS = 30, GROUP = 200 };
enum { WAIT_MS = 10000 };

static unsigned char page[PG];

static void put(int fd, wa_sq_wback *wb, long pgno)
{
	CHECK_INT(pwrite(fd, page, PG, pgno * PG), PG);
	wa_sq_wb_wrote(wb, pgno * PG, PG);
}

/* 0, or 77 when dirty pages cannot be counted here */
static int pacer_alone(const char *dir)
{
	char file[1100];
	wa_sq_wback wb = {.fd = -1}, off = {.fd = -1};
	const char *why;
	int wfd, rfd;

	snprintf(file, sizeof(file), "%s/pace.bin", dir);
	wfd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	rfd = open(file, O_RDONLY);
	CHECK(wfd >= 0 && rfd >= 0);
	if ((why = su_no_dirty_pages(rfd)) != NULL) {
		printf("SKIP: %s\n", why);
		close(wfd);
		close(rfd);
		return 77;
	}
	memset(page, 'x', sizeof(page));
	wb.fd = rfd;

	/* Three windows of pages apart from each other (a run each): the
	 * first two are written, the third on its way. */
	for (long i = 0; i < 3 * W; i++)
		put(wfd, &wb, 2 * i);
	CHECK_INT(su_unwritten(rfd, false), 0);
	CHECK_INT(wb.pages, 3 * W);
	CHECK_INT(wb.waits, 2);

	/* Three windows' worth of neighbours: one run, a window counts
	 * runs; dirty until the sync. */
	for (long i = 0; i < 3 * W; i++)
		put(wfd, &wb, 10 * W + i);
	CHECK_INT(wb.win[wb.cur].runs, 1);
	CHECK_INT(wb.win[wb.cur].hi - wb.win[wb.cur].lo, 3 * W * PG);
	CHECK_INT(su_unwritten(rfd, false), 3 * W);
	CHECK_INT(wb.pages, 6 * W);
	CHECK_INT(wb.waits, 2);
	wa_sq_wb_sync(&wb);
	CHECK_INT(su_unwritten(rfd, false), 0);
	CHECK_INT(wb.win[0].runs + wb.win[1].runs, 0);
	CHECK_INT(fdatasync(wfd), 0);
	CHECK_INT(su_unwritten(rfd, true), 0);

	/* Without a descriptor nothing is handed over (nor counted): the
	 * pages stay dirty, and the count above could have seen them. */
	for (long i = 0; i < 3 * W; i++)
		put(wfd, &off, 20 * W + 2 * i);
	CHECK(su_unwritten(rfd, false) > 0);
	CHECK_INT(off.pages, 0);
	CHECK_INT(off.waits, 0);

	close(wfd);
	close(rfd);
	unlink(file);
	return 0;
}

int main(void)
{
	char path[1024], dir[1024];
	wa_store *s;
	wa_sq_store *q;
	unsigned seed = 77;
	int64_t deadline;

	su_init("sqlite");
	s = su_open(path, sizeof(path));
	CHECK(s != NULL);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	if (pacer_alone(dir) == 77) {
		wa_store_close(s);
		su_cleanup();
		return 77;
	}

	/* The store's checkpointer reports what it copies. */
	q = s->impl;
	CHECK(q->ck_wb.fd >= 0);
	for (int g = 0; g < GROUPS; g++)
		su_insert_random_group(s, g * GROUP, GROUP, &seed);
	deadline = wa_mono_ms() + WAIT_MS;
	while (atomic_load(&q->ck_wb.waits) == 0 && wa_mono_ms() < deadline)
		usleep(10000);
	CHECK(atomic_load(&q->ck_wb.pages) >= 2 * W);
	CHECK(atomic_load(&q->ck_wb.waits) > 0);
	wa_store_close(s);

	su_check_intact(path, GROUPS * GROUP);
	su_cleanup();
	return su_report();
}
