/* sqlite_ckpt.c - WAL checkpoints on a thread and connection of their own,
 * so the writer thread (and every request waiting on its group commit)
 * does not wait for them.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses the
 * threshold: it copies the WAL's pages into the database file and syncs
 * it, on the writer thread. With random external_ids each message dirties
 * a leaf of the external_id index of its own, so a commit writes about
 * twice the pages of one with sequential ids and checkpoints come twice
 * as often: with the former 200-page threshold they took 15 % of the
 * writer's time with sequential ids and 25 % with random ones
 * (tests/bench/README.md, "Random external_ids and big backlogs").
 *
 * Here the writer's WAL hook (it replaces wal_autocheckpoint) wakes the
 * checkpointer every WA_SQ_CKPT_PAGES new frames; the checkpointer runs a
 * PASSIVE checkpoint, which never blocks the writer or a reader. The WAL
 * starts again from its beginning at the first write transaction that
 * finds every frame copied; under a steady stream of commits the
 * checkpointer rarely catches up that exactly, so once the WAL holds
 * WA_SQ_CKPT_CAP frames the writer copies what is left itself (what the
 * checkpointer has not copied yet, a few hundred pages at most: one
 * commit's wait, as every checkpoint used to be) and the WAL file stays
 * bounded (32 MiB).
 *
 * SQLite syncs the database file only at the end of a checkpoint that
 * copied the WAL up to its last commit, and under a steady stream of
 * commits the checkpointer's runs never get there: the writer commits
 * while they copy. Every page they copied then stayed dirty until the
 * writer's own checkpoint at WA_SQ_CKPT_CAP, whose sync wrote all of them
 * back inside a commit: 4-25 ms each on a store of 5 M messages with
 * random external_ids, the accept p99 (tests/bench/README.md). So the
 * checkpointer syncs the database file itself after each run that
 * copied something, and that checkpoint only has its own remainder to
 * write.
 *
 * The pages a run copies go to the disk a window at a time while it
 * copies, not all at its sync (sqlite_wback.c): the checkpoint
 * connection opens the file through wa_sq_ckpt_vfs(), whose database
 * file reports its writes and syncs to s->ck_wb. */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <string.h>

/* The writer's hook: runs after every commit, on the writer thread, with
 * the number of frames in the WAL. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
	wa_sq_store *s = ud;

	if (frames >= WA_SQ_CKPT_CAP) {
		/* SQLITE_BUSY while the checkpointer is at it: retried
		 * after the next commit */
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		                          NULL, NULL);
		return SQLITE_OK;
	}
	/* frames counts from the WAL's start: it falls back when the WAL
	 * starts again */
	if (frames < s->ck_signaled)
		s->ck_signaled = 0;
	if (frames - s->ck_signaled >= WA_SQ_CKPT_PAGES) {
		s->ck_signaled = frames;
		pthread_mutex_lock(&s->ck_mu);
		atomic_store(&s->ck_want, true);
		pthread_cond_signal(&s->ck_cv);
		pthread_mutex_unlock(&s->ck_mu);
	}
	return SQLITE_OK;
}

/* A run copied frames of the WAL into the database file. SQLite synced
 * the file only if no commit came while it copied, which it does not
 * say (its pnLog is the WAL's end when the run began). A sync with nothing
 * left to write costs little. */
static void sync_db(wa_sq_store *s)
{
	sqlite3_file *f = NULL;

	/* The connection is this thread's own and idle between runs. An
	 * error is left to the next sync: SQLite's, or ours after the next
	 * run. */
	if (sqlite3_file_control(s->ck_db, "main", SQLITE_FCNTL_FILE_POINTER,
	                         &f) == SQLITE_OK &&
	    f && f->pMethods)
		f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static void *ckpt_main(void *arg)
{
	wa_sq_store *s = arg;
	int synced = 0; /* frames copied when the file was last synced */

	for (;;) {
		int ckpt = 0;

		pthread_mutex_lock(&s->ck_mu);
		while (!atomic_load(&s->ck_want) && !atomic_load(&s->ck_stop))
			pthread_cond_wait(&s->ck_cv, &s->ck_mu);
		atomic_store(&s->ck_want, false);
		if (atomic_load(&s->ck_stop)) {
			pthread_mutex_unlock(&s->ck_mu);
			break;
		}
		pthread_mutex_unlock(&s->ck_mu);
		/* Errors are left to the next run and to the writer's own
		 * checkpoint at WA_SQ_CKPT_CAP; a failing disk shows in the
		 * writer's commits first. */
		if (sqlite3_wal_checkpoint_v2(s->ck_db, NULL,
		                              SQLITE_CHECKPOINT_PASSIVE, NULL,
		                              &ckpt) != SQLITE_OK)
			continue;
		if (ckpt < synced) /* the WAL started again */
			synced = 0;
		if (ckpt > synced)
			sync_db(s);
		synced = ckpt;
	}
	return NULL;
}

int wa_sq_ckpt_start(wa_sq_store *s, bool sync_full, char *err, size_t err_len)
{
	sqlite3_file *f = NULL;
	int rc;

	pthread_mutex_init(&s->ck_mu, NULL);
	pthread_cond_init(&s->ck_cv, NULL);
	atomic_init(&s->ck_want, false);
	atomic_init(&s->ck_stop, false);
	s->ck_inited = true;
	if (sqlite3_open_v2(s->path, &s->ck_db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    wa_sq_ckpt_vfs()) != SQLITE_OK) {
		snprintf(err, err_len,
		         "Cannot open the checkpoint connection: %s.",
		         s->ck_db ? sqlite3_errmsg(s->ck_db) : "out of memory");
		return -1;
	}
	/* The checkpoint syncs the WAL and the database file as this
	 * connection's synchronous setting says. */
	if (sqlite3_exec(s->ck_db,
	                 sync_full ? "PRAGMA synchronous = FULL"
	                           : "PRAGMA synchronous = NORMAL",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, err_len,
		         "Cannot set up the checkpoint connection: %s.",
		         sqlite3_errmsg(s->ck_db));
		return -1;
	}
	/* Its pages go to the disk a window at a time (sqlite_wback.c).
	 * Without the descriptor or the VFS they go at the sync, as
	 * SQLite's own checkpoint sends them. */
	s->ck_wb.fd = wa_sq_own_fd(s);
	if (sqlite3_file_control(s->ck_db, "main", SQLITE_FCNTL_FILE_POINTER,
	                         &f) != SQLITE_OK ||
	    !wa_sq_vfs_pace(f, &s->ck_wb))
		s->ck_wb.fd = -1;
	rc = pthread_create(&s->ck_thread, NULL, ckpt_main, s);
	if (rc != 0) {
		snprintf(err, err_len,
		         "Cannot start the checkpoint thread: %s.",
		         strerror(rc));
		return -1;
	}
	pthread_setname_np(s->ck_thread, "wa-checkpoint");
	s->ck_running = true;
	sqlite3_wal_hook(s->wdb, wal_hook, s);
	return 0;
}

void wa_sq_ckpt_stop(wa_sq_store *s)
{
	if (!s->ck_inited)
		return;
	if (s->wdb)
		sqlite3_wal_hook(s->wdb, NULL, NULL);
	if (s->ck_running) {
		pthread_mutex_lock(&s->ck_mu);
		atomic_store(&s->ck_stop, true);
		pthread_cond_signal(&s->ck_cv);
		pthread_mutex_unlock(&s->ck_mu);
		pthread_join(s->ck_thread, NULL);
		s->ck_running = false;
	}
	sqlite3_close(s->ck_db);
	s->ck_db = NULL;
	pthread_cond_destroy(&s->ck_cv);
	pthread_mutex_destroy(&s->ck_mu);
	s->ck_inited = false;
}
