/* sqlite.c - the SQLite message store: open, read pool, reads, ping */
#include "store/sqlite/sqlite_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/timeutil.h"

#define BUSY_TIMEOUT_MS WA_SQ_BUSY_TIMEOUT_MS

static const char *const read_sql[R_N] = {
    [R_BEGIN] = "BEGIN",
    [R_END] = "COMMIT",
    [R_GET_ID] = "SELECT " WA_SQ_MSG_COLS " FROM messages WHERE id = ?1",
    [R_GET_EXT] =
        "SELECT " WA_SQ_MSG_COLS " FROM messages WHERE external_id = ?1",
    [R_GET_PMID] =
        "SELECT " WA_SQ_MSG_COLS " FROM messages WHERE provider_message_id = ?2"
        " AND provider = ?1 ORDER BY rowid DESC LIMIT 1",
    [R_HIST] = "SELECT status, at_ms, detail FROM history"
               " WHERE message_id = ?1 ORDER BY id",
    /* kept as messages change (sqlite_counts.c): seven rows */
    [R_COUNTS] = "SELECT status, n FROM status_counts",
    /* one index entry: the first of the queued range of (status,
     * created_ms, id), whatever the number of messages */
    [R_OLDEST] = "SELECT min(created_ms) FROM messages"
                 " INDEXED BY messages_status_created"
                 " WHERE status = 'queued'",
    [R_OB_COUNT] = "SELECT count(*) FROM outbox",
    [R_OLDEST_ALL] = "SELECT min(created_ms) FROM messages",
    [R_NEXT_Q] = "SELECT min(next_attempt_ms) FROM messages"
                 " WHERE status = 'queued'",
    [R_NEXT_L] = "SELECT min(lease_until_ms) FROM messages"
                 " WHERE status = 'sending'",
    [R_PING] = "SELECT count(*) FROM sqlite_master",
    [R_OPTED_OUT] = "SELECT 1 FROM contacts WHERE phone = ?1 AND opted_out = 1",
};

static sqlite3_stmt *rd_stmt(wa_sq_reader *r, int which, char *err,
                             size_t err_len)
{
	if (!r->st[which] &&
	    sqlite3_prepare_v3(r->db, read_sql[which], -1,
	                       SQLITE_PREPARE_PERSISTENT, &r->st[which],
	                       NULL) != SQLITE_OK) {
		snprintf(err, err_len, "Cannot prepare a store query: %s.",
		         sqlite3_errmsg(r->db));
		return NULL;
	}
	return r->st[which];
}

static int rd_fail(wa_sq_reader *r, char *err, size_t err_len)
{
	snprintf(err, err_len, "Store read failed: %s.", sqlite3_errmsg(r->db));
	return -1;
}

/* Run a statement that returns no row or whose rows are ignored. */
static int rd_exec(wa_sq_reader *r, int which, char *err, size_t err_len)
{
	sqlite3_stmt *st = rd_stmt(r, which, err, err_len);
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rd_fail(r, err, err_len);
}

/* One integer from a single-row query with optional text params; *null
 * tells whether the value was NULL. */
static int rd_int(wa_sq_reader *r, int which, int64_t *v, int *null, char *err,
                  size_t err_len)
{
	sqlite3_stmt *st = rd_stmt(r, which, err, err_len);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rd_fail(r, err, err_len);
	}
	*null = sqlite3_column_type(st, 0) == SQLITE_NULL;
	*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* ---- reads ---- */

static int load_history(wa_sq_reader *r, wa_message_rec *m, char *err,
                        size_t err_len)
{
	sqlite3_stmt *st = rd_stmt(r, R_HIST, err, err_len);
	size_t cap = 0;
	int rc, status;

	if (!st)
		return -1;
	/* The first entry, queued at creation, is not stored: it is implied
	 * by created_ms (one row and one index entry less per accepted
	 * message, on the path every request waits for). */
	m->history = calloc(8, sizeof(*m->history));
	if (!m->history) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	cap = 8;
	m->history[0].status = WA_MSG_QUEUED;
	m->history[0].at_ms = m->created_ms;
	m->n_history = 1;
	wa_sq_bind_str(st, 1, m->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wa_history_entry *h;

		if (m->n_history == cap) {
			size_t ncap = cap ? cap * 2 : 8;

			h = realloc(m->history, ncap * sizeof(*h));
			if (!h) {
				sqlite3_reset(st);
				snprintf(err, err_len, "Out of memory.");
				return -1;
			}
			m->history = h;
			cap = ncap;
		}
		h = &m->history[m->n_history++];
		status = wa_sq_col_status(st, 0);
		h->status = status < 0 ? WA_MSG_FAILED : (wa_msg_status)status;
		h->at_ms = sqlite3_column_int64(st, 1);
		wa_sq_col_copy(st, 2, h->detail, sizeof(h->detail));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : rd_fail(r, err, err_len);
}

static int get_common(wa_store *base, int which, const char *a, const char *b,
                      wa_message_rec *out, char *err, size_t err_len)
{
	wa_sq_store *s = base->impl;
	wa_sq_reader *r;
	sqlite3_stmt *st;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (!a || (which == R_GET_PMID && (!b || !*b)))
		return 1;
	r = wa_sq_reader_get(s, err, err_len);
	if (!r)
		return -1;
	if (rd_exec(r, R_BEGIN, err, err_len) < 0)
		goto out;
	st = rd_stmt(r, which, err, err_len);
	if (!st)
		goto end;
	wa_sq_bind_str(st, 1, a);
	if (b)
		wa_sq_bind_str(st, 2, b);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (wa_sq_fill_rec(st, out) < 0)
			snprintf(err, err_len, "Out of memory.");
		else
			ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		rd_fail(r, err, err_len);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret == 0 && load_history(r, out, err, err_len) < 0) {
		wa_message_rec_free(out);
		ret = -1;
	}
end:
	rd_exec(r, R_END, err, err_len);
out:
	wa_sq_reader_put(s, r);
	return ret;
}

/* Which of a claimed batch's phones are opted out: one read transaction
 * for the batch (each takes and drops the WAL read lock, two fcntl calls),
 * its statements prepared once per read connection (the claimer asks on
 * every claim). */
int wa_sq_suppressed(wa_store *base, const char *const *phones, size_t n,
                     bool *out, char *err, size_t err_len)
{
	wa_sq_store *s = base->impl;
	wa_sq_reader *r;
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = -1;

	if (err_len)
		err[0] = '\0';
	r = wa_sq_reader_get(s, err, err_len);
	if (!r)
		return -1;
	if (rd_exec(r, R_BEGIN, err, err_len) < 0)
		goto out;
	st = rd_stmt(r, R_OPTED_OUT, err, err_len);
	if (!st)
		goto end;
	for (size_t i = 0; i < n; i++) {
		out[i] = false;
		if (!phones[i])
			continue;
		if (i > 0 && phones[i - 1] &&
		    strcmp(phones[i], phones[i - 1]) == 0) {
			out[i] = out[i - 1]; /* a run of one phone's messages */
			continue;
		}
		wa_sq_bind_str(st, 1, phones[i]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		out[i] = rc == SQLITE_ROW;
		rc = SQLITE_DONE;
	}
	if (rc == SQLITE_DONE)
		ret = 0;
	else
		rd_fail(r, err, err_len);
end:
	rd_exec(r, R_END, err, err_len);
out:
	wa_sq_reader_put(s, r);
	return ret;
}

static int sq_get(wa_store *s, const char *id, wa_message_rec *out, char *err,
                  size_t err_len)
{
	return get_common(s, R_GET_ID, id, NULL, out, err, err_len);
}

static int sq_get_by_external(wa_store *s, const char *external_id,
                              wa_message_rec *out, char *err, size_t err_len)
{
	return get_common(s, R_GET_EXT, external_id, NULL, out, err, err_len);
}

static int sq_get_by_provider_id(wa_store *s, const char *provider,
                                 const char *pmid, wa_message_rec *out,
                                 char *err, size_t err_len)
{
	return get_common(s, R_GET_PMID, provider, pmid, out, err, err_len);
}

static int sq_stats(wa_store *base, wa_store_stats *out, char *err,
                    size_t err_len)
{
	wa_sq_store *s = base->impl;
	wa_sq_reader *r;
	sqlite3_stmt *st;
	int64_t v;
	int rc, null, ret = -1;

	memset(out, 0, sizeof(*out));
	r = wa_sq_reader_get(s, err, err_len);
	if (!r)
		return -1;
	if (rd_exec(r, R_BEGIN, err, err_len) < 0)
		goto out;
	st = rd_stmt(r, R_COUNTS, err, err_len);
	if (!st)
		goto end;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int status = wa_sq_col_status(st, 0);

		if (status >= 0)
			out->count[status] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rd_fail(r, err, err_len);
		goto end;
	}
	if (rd_int(r, R_OLDEST, &v, &null, err, err_len) < 0)
		goto end;
	out->oldest_queued_ms = null ? 0 : v;
	if (rd_int(r, R_OB_COUNT, &v, &null, err, err_len) < 0)
		goto end;
	out->outbox_pending = v;
	if (rd_int(r, R_OLDEST_ALL, &v, &null, err, err_len) < 0)
		goto end;
	out->oldest_ms = null ? 0 : v;
	ret = 0;
end:
	rd_exec(r, R_END, err, err_len);
out:
	wa_sq_reader_put(s, r);
	return ret;
}

static int sq_next_due(wa_store *base, int64_t *due_ms, char *err,
                       size_t err_len)
{
	wa_sq_store *s = base->impl;
	wa_sq_reader *r;
	int64_t q, l;
	int qnull, lnull, ret = -1;

	r = wa_sq_reader_get(s, err, err_len);
	if (!r)
		return -1;
	if (rd_exec(r, R_BEGIN, err, err_len) < 0)
		goto out;
	if (rd_int(r, R_NEXT_Q, &q, &qnull, err, err_len) < 0 ||
	    rd_int(r, R_NEXT_L, &l, &lnull, err, err_len) < 0)
		goto end;
	/* A lease is reclaimable once lease_until_ms < now. */
	l += 1;
	if (qnull && lnull) {
		ret = 1;
	} else {
		*due_ms = qnull ? l : lnull ? q : (q < l ? q : l);
		ret = 0;
	}
end:
	rd_exec(r, R_END, err, err_len);
out:
	wa_sq_reader_put(s, r);
	return ret;
}

static int sq_ping(wa_store *base, char *err, size_t err_len)
{
	wa_sq_store *s = base->impl;
	struct statvfs vfs;
	struct stat sb;
	wa_sq_reader *r;
	int64_t v;
	int null, fault, rc;

	/* A failed write (disk full, I/O error) makes the store unusable until
	 * a commit succeeds or, with no writes at all, for a while. */
	fault = atomic_load(&s->write_fault);
	if (fault && wa_mono_ms() - atomic_load(&s->fault_mono_ms) <
	                 WA_SQ_FAULT_HOLD_MS) {
		snprintf(err, err_len, "The last store write failed: %s.",
		         sqlite3_errstr(fault));
		return -1;
	}
	if (stat(s->path, &sb) < 0 || sb.st_ino != s->ino ||
	    sb.st_dev != s->dev) {
		snprintf(err, err_len,
		         "The database file was removed or replaced.");
		return -1;
	}
	if (statvfs(s->path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		snprintf(err, err_len,
		         "The database's file system is read-only.");
		return -1;
	}
	if (access(s->path, W_OK) < 0) {
		snprintf(err, err_len, "The database file is not writable: %s.",
		         strerror(errno));
		return -1;
	}
	r = wa_sq_reader_get(s, err, err_len);
	if (!r)
		return -1;
	rc = rd_int(r, R_PING, &v, &null, err, err_len);
	wa_sq_reader_put(s, r);
	return rc;
}

/* ---- open / close ---- */

static void sq_close(wa_store *base)
{
	wa_sq_store *s = base->impl;
	size_t i;

	wa_sq_warm_stop(s);
	wa_sq_ckpt_stop(s);
	for (i = 0; i < s->n_readers; i++)
		wa_sq_reader_free(s->readers[i]);
	for (i = 0; i < W_N; i++)
		sqlite3_finalize(s->ws[i]);
	wa_sq_pace_close(s);
	wa_sq_counts_finish(s);
	sqlite3_close(s->wdb);
	wa_sq_ops_close(s);
	if (s->own_fd >= 0)
		close(s->own_fd);
	pthread_cond_destroy(&s->pool_cv);
	pthread_mutex_destroy(&s->pool_mu);
	free(s->path);
	free(s);
}

static const wa_store_ops sq_ops = {
    .close = sq_close,
    .begin = wa_sq_begin,
    .commit = wa_sq_commit,
    .rollback = wa_sq_rollback,
    .insert = wa_sq_insert,
    .claim = wa_sq_claim,
    .finish = wa_sq_finish,
    .cancel = wa_sq_cancel,
    .apply_status = wa_sq_apply_status,
    .release_all = wa_sq_release_all,
    .set_outbox = wa_sq_set_outbox,
    .outbox_claim = wa_sq_outbox_claim,
    .outbox_finish = wa_sq_outbox_finish,
    .get = sq_get,
    .get_by_external = sq_get_by_external,
    .get_by_provider_id = sq_get_by_provider_id,
    .stats = sq_stats,
    .next_due = sq_next_due,
    .ping = sq_ping,
    .inbound_add = wa_sq_inbound_add,
    .contact_set_opt = wa_sq_contact_set_opt,
    .cancel_phone = wa_sq_cancel_phone,
    .outbox_add = wa_sq_outbox_add,
    .contact_get = wa_sq_contact_get,
    .inbound_list = wa_sq_inbound_list,
    .suppression_list = wa_sq_suppression_list,
    .purge = wa_sq_purge,
    .schedule = wa_sq_schedule,
    .list = wa_sq_list,
    .requeue = wa_sq_requeue,
    .requeue_many = wa_sq_requeue_many,
    .cancel_campaign = wa_sq_cancel_campaign,
    .campaign_counts = wa_sq_campaign_counts,
    .failure_codes = wa_sq_failure_codes,
    .set_pacing = wa_sq_set_pacing,
    .budget = wa_sq_budget,
    .purge_twoway = wa_sq_purge_twoway,
    .suppressed = wa_sq_suppressed,
};

static int exec_pragma(sqlite3 *db, const char *sql, const char *want,
                       char *err, size_t err_len)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	int ok = rc == SQLITE_OK;

	if (ok) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *v =
			    (const char *)sqlite3_column_text(st, 0);

			if (want && (!v || strcmp(v, want) != 0)) {
				snprintf(err, err_len,
				         "\"%s\" returned \"%s\", want \"%s\".",
				         sql, v ? v : "", want);
				sqlite3_finalize(st);
				return -1;
			}
		}
		ok = rc == SQLITE_DONE;
	}
	if (!ok)
		snprintf(err, err_len, "\"%s\" failed: %s.", sql,
		         sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/* Create the file with restrictive permissions before SQLite sees it; its
 * -wal and -shm files then inherit the mode. */
static int create_file(const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, err_len, "Cannot open the store file \"%s\": %s.",
		         path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* SQLite's memory statistics take one process-wide mutex on every
 * allocation, which every connection (writer and readers) would contend
 * on; nothing here reads them. Must run before SQLite initialises. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_global_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* A b-tree rebalance (every claim moves index entries) mallocs a
	 * scratch buffer of tens of KiB and frees it. With glibc's default
	 * 128 KiB trim threshold and nothing else holding the top of the
	 * writer's heap, each free gave the memory back and the next malloc
	 * faulted it in again: claim + finish cost 85 us of CPU per message
	 * instead of 28 (tests/bench/store_counts.c). Keeping 1 MiB of slack
	 * at the top of each heap stops that churn. (Version 5's per-message
	 * triggers had hidden it by holding the heap's top.) */
	mallopt(M_TOP_PAD, 1 << 20);
}

wa_store *wa_store_open_sqlite(const char *path, bool sync_full, char *err,
                               size_t err_len)
{
	char e[WA_ERR_MAX];
	wa_sq_store *s;
	struct stat sb;

	if (!path || !*path) {
		snprintf(err, err_len, "The store path is empty.");
		return NULL;
	}
	if (create_file(path, err, err_len) < 0)
		return NULL;
	pthread_once(&sqlite_once, sqlite_global_setup);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		snprintf(err, err_len, "Out of memory.");
		return NULL;
	}
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	pthread_mutex_init(&s->ops_mu, NULL);
	s->own_fd = -1;
	s->ck_wb.fd = -1;
	atomic_init(&s->outbox, false);
	atomic_init(&s->write_fault, 0);
	atomic_init(&s->fault_mono_ms, 0);
	s->base.ops = &sq_ops;
	s->base.kind = "sqlite";
	wa_store_instance_id(s->instance, sizeof(s->instance));
	s->base.impl = s;
	/* With synchronous=FULL the write connection's WAL writes are
	 * gathered until each commit's sync (sqlite_vfs.c). */
	if (sqlite3_open_v2(path, &s->wdb,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    sync_full ? wa_sq_wal_vfs() : NULL) != SQLITE_OK) {
		snprintf(e, sizeof(e), "%s",
		         s->wdb ? sqlite3_errmsg(s->wdb) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->wdb, BUSY_TIMEOUT_MS);
	if (exec_pragma(s->wdb, "PRAGMA journal_mode = WAL", "wal", e,
	                sizeof(e)) < 0 ||
	    exec_pragma(s->wdb,
	                sync_full ? "PRAGMA synchronous = FULL"
	                          : "PRAGMA synchronous = NORMAL",
	                NULL, e, sizeof(e)) < 0 ||
	    exec_pragma(s->wdb, "PRAGMA foreign_keys = ON", NULL, e,
	                sizeof(e)) < 0 ||
	    /* A statement that may write several rows keeps a statement
	     * journal (the original of every page it changes, so it can be
	     * undone alone inside the group's transaction); Debian's SQLite
	     * puts it in a temporary file once past 64 KiB. No per-message
	     * statement keeps one any more (sqlite_insert.c); the release,
	     * purge and bulk cancels still do, and in memory each is a copy
	     * that goes at the end of its statement, not pwrite calls. */
	    exec_pragma(s->wdb, "PRAGMA temp_store = MEMORY", NULL, e,
	                sizeof(e)) < 0 ||
	    /* messages.status has CHECK (status IN (seven names)) since
	     * version 1. SQLite evaluates an IN list of more than two
	     * constants through a temporary b-tree it builds on each run of
	     * a statement: on every insert and every status change (a third
	     * of an insert's instructions under callgrind, which counts the
	     * page it clears byte by byte). The writer only writes those
	     * names: literals in its SQL, and the one bound status
	     * (sqlite_write.c, W_SET_STATUS) has passed
	     * wa_msg_status_can_move, which admits no other. The constraint
	     * stays in the schema for every other connection. */
	    exec_pragma(s->wdb, "PRAGMA ignore_check_constraints = ON", NULL, e,
	                sizeof(e)) < 0 ||
	    wa_sq_migrate(s->wdb, e, sizeof(e)) < 0 ||
	    wa_sq_prepare_writes(s, e, sizeof(e)) < 0 ||
	    wa_sq_counts_init(s, e, sizeof(e)) < 0 ||
	    wa_sq_ckpt_start(s, sync_full, e, sizeof(e)) < 0)
		goto fail;
	if (stat(path, &sb) < 0) {
		snprintf(e, sizeof(e), "%s", strerror(errno));
		goto fail;
	}
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	return &s->base;

fail:
	snprintf(err, err_len, "Cannot open the SQLite store \"%s\": %s", path,
	         e);
	sq_close(&s->base);
	return NULL;
}
