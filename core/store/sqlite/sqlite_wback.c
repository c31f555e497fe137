/* sqlite_wback.c - the checkpointer's pages reach the disk a window at a
 * time, not all at its sync.
 *
 * A checkpoint copies pages from the WAL into the database file with
 * buffered writes, and its sync then hands every one of them to the disk
 * at once. On a store of 5 M messages with random external_ids those are
 * a few hundred pages scattered over gigabytes: as many write requests,
 * queued ahead of the writer's next commit (its WAL write, the inode
 * block, the cache flush). Under `perf sched`, in 4 s at 5 M warm, the
 * writer spent 367 ms held by the block layer's writeback throttle
 * (wbt_wait) against 24 ms on an empty store, and each of its WAL writes
 * took 0.65 ms to complete against 0.45 (tests/bench/README.md).
 *
 * Here the checkpointer connection's database file (sqlite_vfs.c) reports
 * each page it writes. Neighbouring pages make one run, which the disk
 * gets as one request. Each time WA_SQ_WB_WINDOW runs are written, the
 * write-back of their span of the file is started (sync_file_range,
 * SYNC_FILE_RANGE_WRITE) and the window before is waited for
 * (SYNC_FILE_RANGE_WAIT_BEFORE). So at most two windows are on their way
 * to the disk, and a commit's sync waits behind those at most. A window
 * counts runs, not pages, because the disk's queue holds requests: a
 * checkpoint of long runs is not held back. At the sync the rest is
 * started, and the sync itself (fdatasync) waits for all and flushes the
 * disk's cache, as before: what is durable when, and after which sync,
 * does not change. sync_file_range only moves when the pages are
 * written; an error it meets is the sync's to report (each descriptor
 * sees it once).
 *
 * The descriptor is the store's own, not SQLite's: wa_sq_own_fd, here
 * because the warm-up (sqlite_warm.c) reads with it too. */
#include "store/sqlite/sqlite_impl.h"

#include <fcntl.h>

/* Start the write-back of window w's pages, or wait for it: one call for
 * the span, which holds only pages this window wrote (SQLite copies in
 * order, and the windows start afresh at each sync), so ext4 sends them
 * in one batch, not a batch per run. */
static void span(const wa_sq_wb_window *w, int fd, unsigned flags)
{
	(void)sync_file_range(fd, w->lo, w->hi - w->lo, flags);
}

void wa_sq_wb_wrote(wa_sq_wback *wb, sqlite3_int64 off, int amt)
{
	wa_sq_wb_window *w = &wb->win[wb->cur];

	if (wb->fd < 0 || amt <= 0)
		return;
	atomic_fetch_add(&wb->pages, 1);
	/* a neighbour of the last page: the same run, one request to the
	 * disk however long */
	if (w->runs && off == w->next) {
		w->next += amt;
		w->hi = w->next > w->hi ? w->next : w->hi;
		return;
	}
	if (!w->runs || off < w->lo)
		w->lo = off;
	w->next = off + amt;
	w->hi = !w->runs || w->next > w->hi ? w->next : w->hi;
	if (++w->runs < WA_SQ_WB_WINDOW)
		return;
	span(w, wb->fd, SYNC_FILE_RANGE_WRITE);
	wb->cur ^= 1;
	w = &wb->win[wb->cur]; /* the window before */
	if (w->runs) {
		span(w, wb->fd, SYNC_FILE_RANGE_WAIT_BEFORE);
		atomic_fetch_add(&wb->waits, 1);
	}
	w->runs = 0;
}

void wa_sq_wb_sync(wa_sq_wback *wb)
{
	if (wb->fd >= 0 && wb->win[wb->cur].runs)
		span(&wb->win[wb->cur], wb->fd, SYNC_FILE_RANGE_WRITE);
	/* the sync that follows waits for both windows */
	wb->win[0].runs = wb->win[1].runs = 0;
}

int wa_sq_own_fd(wa_sq_store *s)
{
	if (s->own_fd < 0)
		s->own_fd = open(s->path, O_RDONLY | O_CLOEXEC);
	return s->own_fd;
}
