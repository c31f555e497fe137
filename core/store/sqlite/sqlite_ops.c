/* sqlite_ops.c - the SQLite store's operator operations: schedule, list,
 * requeue, campaigns (store.h, the ops appended for issue 15) */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_filter.h"

#define LIST_SQL_MAX 1024

static inline wa_sq_store *S(wa_store *st)
{
	return st->impl;
}

/* The operators' read connection, opened on first use; returned locked
 * (ops_mu): one operator read at a time. NULL with err. */
static sqlite3 *ops_db_get(wa_sq_store *s, char *err, size_t err_len)
{
	pthread_mutex_lock(&s->ops_mu);
	if (!s->ops_db) {
		if (sqlite3_open_v2(s->path, &s->ops_db,
		                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
		                    NULL) != SQLITE_OK) {
			snprintf(err, err_len,
			         "Cannot open a read connection: %s.",
			         s->ops_db ? sqlite3_errmsg(s->ops_db)
			                   : "out of memory");
			sqlite3_close(s->ops_db);
			s->ops_db = NULL;
			pthread_mutex_unlock(&s->ops_mu);
			return NULL;
		}
		sqlite3_busy_timeout(s->ops_db, 5000);
		sqlite3_exec(s->ops_db, "PRAGMA query_only = 1", NULL, NULL,
		             NULL);
	}
	return s->ops_db;
}

static void ops_db_put(wa_sq_store *s)
{
	pthread_mutex_unlock(&s->ops_mu);
}

void wa_sq_ops_close(wa_sq_store *s)
{
	sqlite3_close(s->ops_db);
	s->ops_db = NULL;
	pthread_mutex_destroy(&s->ops_mu);
}

static int fail(sqlite3 *db, const char *what, char *err, size_t err_len)
{
	snprintf(err, err_len, "Store %s failed: %s.", what,
	         sqlite3_errmsg(db));
	return -1;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const char *what,
                          char *err, size_t err_len)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(db, what, err, err_len);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void bind_args(sqlite3_stmt *st, const wa_filter_args *a)
{
	for (int i = 0; i < a->n; i++) {
		if (a->s[i])
			wa_sq_bind_str(st, i + 1, a->s[i]);
		else
			sqlite3_bind_int64(st, i + 1, a->i[i]);
	}
}

/* Run a statement that returns no row; finalize it. */
static int run(sqlite3 *db, sqlite3_stmt *st, const char *what, char *err,
               size_t err_len)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(db, what, err, err_len);
}

int wa_sq_schedule(wa_store *base, const char *id, const char *campaign_id,
                   int64_t send_at_ms, char *err, size_t err_len)
{
	sqlite3 *db = S(base)->wdb;
	sqlite3_stmt *st;

	/* The delay moves the expiry too: MESSAGE_TTL counts from the time
	 * the message may first be sent. */
	st = prep(db,
	          "UPDATE messages SET campaign_id = ?2,"
	          " expires_ms = expires_ms + max(0, ?3 - created_ms),"
	          " next_attempt_ms = max(next_attempt_ms, ?3),"
	          " send_at_ms = nullif(?3, 0)"
	          " WHERE id = ?1 AND status = 'queued' AND attempts = 0",
	          "schedule", err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, id);
	wa_sq_bind_str(st, 2, campaign_id && *campaign_id ? campaign_id : NULL);
	sqlite3_bind_int64(st, 3, send_at_ms);
	if (run(db, st, "schedule", err, err_len) < 0)
		return -1;
	return sqlite3_changes(db) > 0 ? 0 : 1;
}

/* Rows of a SELECT WA_SQ_MSG_COLS into out[0..*n). */
static int fill_rows(sqlite3 *db, sqlite3_stmt *st, size_t max,
                     wa_message_rec *out, size_t *n, char *err, size_t err_len)
{
	int rc;

	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (wa_sq_fill_rec(st, &out[*n]) < 0) {
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		return fail(db, "list", err, err_len);
	return 0;
}

int wa_sq_list(wa_store *base, const wa_msg_filter *f, size_t max,
               wa_message_rec *out, size_t *n, char *err, size_t err_len)
{
	wa_sq_store *s = S(base);
	char sql[LIST_SQL_MAX], where[LIST_SQL_MAX / 2];
	wa_filter_args args;
	sqlite3 *db;
	sqlite3_stmt *st;
	int ret = -1;

	*n = 0;
	if (wa_filter_sql(f, false, '?', where, sizeof(where), &args) < 0) {
		snprintf(err, err_len, "The filter is too long.");
		return -1;
	}
	snprintf(sql, sizeof(sql),
	         "SELECT " WA_SQ_MSG_COLS " FROM messages%s"
	         " ORDER BY created_ms DESC, id DESC LIMIT %zu",
	         where, max);
	if (!(db = ops_db_get(s, err, err_len)))
		return -1;
	st = prep(db, sql, "list", err, err_len);
	if (st) {
		bind_args(st, &args);
		ret = fill_rows(db, st, max, out, n, err, err_len);
		sqlite3_finalize(st);
	}
	ops_db_put(s);
	if (ret < 0) {
		for (size_t i = 0; i < *n; i++)
			wa_message_rec_free(&out[i]);
		*n = 0;
	}
	return ret;
}

/* Requeue one message known to be failed or canceled. */
static int requeue_one(sqlite3 *db, const char *id, int64_t now_ms,
                       int64_t expires_ms, const char *reason, char *err,
                       size_t err_len)
{
	char detail[WA_ERR_MAX];
	sqlite3_stmt *st;

	st = prep(db,
	          "UPDATE messages SET status = 'queued', attempts = 0,"
	          " next_attempt_ms = ?2, updated_ms = ?2, expires_ms = ?3,"
	          " lease_until_ms = 0, provider_message_id = NULL"
	          " WHERE id = ?1 AND status IN ('failed', 'canceled')",
	          "requeue", err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, expires_ms);
	if (run(db, st, "requeue", err, err_len) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "requeued: %s",
	         reason && *reason ? reason : "by an operator");
	st = prep(db,
	          "INSERT INTO history (message_id, status, at_ms, detail)"
	          " VALUES (?1, 'queued', ?2, ?3)",
	          "history insert", err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	wa_sq_bind_str(st, 3, detail);
	return run(db, st, "history insert", err, err_len);
}

int wa_sq_requeue(wa_store *base, const char *id, int64_t now_ms,
                  int64_t expires_ms, const char *reason, wa_requeue_kind *kind,
                  wa_msg_status *status, char *err, size_t err_len)
{
	sqlite3 *db = S(base)->wdb;
	sqlite3_stmt *st;
	int rc, v;

	*kind = WA_REQUEUE_NOT_FOUND;
	*status = WA_MSG_QUEUED;
	st = prep(db, "SELECT status FROM messages WHERE id = ?1", "requeue",
	          err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, id);
	rc = sqlite3_step(st);
	v = rc == SQLITE_ROW ? wa_sq_col_status(st, 0) : -1;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(db, "requeue", err, err_len);
	if (rc == SQLITE_DONE)
		return 0;
	*status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
	if (v != WA_MSG_FAILED && v != WA_MSG_CANCELED) {
		*kind = WA_REQUEUE_NOT_FINAL;
		return 0;
	}
	if (requeue_one(db, id, now_ms, expires_ms, reason, err, err_len) < 0)
		return -1;
	*kind = WA_REQUEUE_DONE;
	*status = WA_MSG_QUEUED;
	return 0;
}

/* Up to max ids selected by sql (one text column) into a new array. */
static int select_ids(sqlite3 *db, sqlite3_stmt *st, size_t max,
                      char (**ids)[WA_ID_MAX], size_t *n, char *err,
                      size_t err_len)
{
	int rc = SQLITE_DONE;

	*n = 0;
	*ids = calloc(max ? max : 1, sizeof(**ids));
	if (!*ids) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		wa_sq_col_copy(st, 0, (*ids)[(*n)++], WA_ID_MAX);
	if (*n < max && rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		return fail(db, "select", err, err_len);
	}
	return 0;
}

long wa_sq_requeue_many(wa_store *base, const wa_msg_filter *f, size_t max,
                        int64_t now_ms, int64_t expires_ms, const char *reason,
                        char *err, size_t err_len)
{
	sqlite3 *db = S(base)->wdb;
	char sql[LIST_SQL_MAX], where[LIST_SQL_MAX / 2];
	char(*ids)[WA_ID_MAX] = NULL;
	wa_filter_args args;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;

	if (f->status >= 0 && f->status != WA_MSG_FAILED &&
	    f->status != WA_MSG_CANCELED)
		return 0;
	if (wa_filter_sql(f, true, '?', where, sizeof(where), &args) < 0) {
		snprintf(err, err_len, "The filter is too long.");
		return -1;
	}
	/* never back to queued for a phone that opted out (store.h) */
	snprintf(sql, sizeof(sql),
	         "SELECT id FROM messages%s AND NOT EXISTS (SELECT 1 FROM"
	         " contacts AS c WHERE c.phone = messages.phone AND"
	         " c.opted_out = 1)"
	         " ORDER BY created_ms DESC, id DESC LIMIT %zu",
	         where, max);
	if (!(st = prep(db, sql, "requeue", err, err_len)))
		return -1;
	bind_args(st, &args);
	rc = select_ids(db, st, max, &ids, &n, err, err_len);
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (requeue_one(db, ids[i], now_ms, expires_ms, reason, err,
		                err_len) < 0) {
			free(ids);
			return -1;
		}
	}
	free(ids);
	return (long)n;
}

long wa_sq_cancel_campaign(wa_store *base, const char *campaign_id,
                           int64_t now_ms, char *err, size_t err_len)
{
	sqlite3 *db = S(base)->wdb;
	char(*ids)[WA_ID_MAX] = NULL;
	sqlite3_stmt *st;
	size_t n = 0, max;
	long done = 0;
	int rc;

	st = prep(db,
	          "SELECT count(*) FROM messages"
	          " WHERE campaign_id = ?1 AND status = 'queued'",
	          "campaign cancel", err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, campaign_id);
	rc = sqlite3_step(st);
	max = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(db, "campaign cancel", err, err_len);
	if (max == 0)
		return 0;
	st = prep(db,
	          "SELECT id FROM messages"
	          " WHERE campaign_id = ?1 AND status = 'queued'",
	          "campaign cancel", err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, campaign_id);
	rc = select_ids(db, st, max, &ids, &n, err, err_len);
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	/* The ordinary cancel: same history and webhook as one by one. */
	for (size_t i = 0; i < n; i++) {
		wa_cancel_kind kind;
		wa_msg_status status;

		if (wa_sq_cancel(base, ids[i], now_ms, &kind, &status, err,
		                 err_len) < 0) {
			free(ids);
			return -1;
		}
		done += kind == WA_CANCEL_DONE;
	}
	free(ids);
	return done;
}

int wa_sq_campaign_counts(wa_store *base, const char *campaign_id,
                          wa_campaign_counts *out, char *err, size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	memset(out, 0, sizeof(*out));
	if (!(db = ops_db_get(s, err, err_len)))
		return -1;
	st = prep(db,
	          "SELECT status, count(*) FROM messages"
	          " WHERE campaign_id = ?1 GROUP BY status",
	          "campaign read", err, err_len);
	if (st) {
		wa_sq_bind_str(st, 1, campaign_id);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int v = wa_sq_col_status(st, 0);

			if (v >= 0) {
				out->count[v] = sqlite3_column_int64(st, 1);
				out->total += out->count[v];
			}
		}
		sqlite3_finalize(st);
		ret = rc == SQLITE_DONE
		          ? 0
		          : fail(db, "campaign read", err, err_len);
	}
	ops_db_put(s);
	return ret;
}

int wa_sq_failure_codes(wa_store *base, int64_t since_ms, size_t max,
                        wa_failure_count *out, size_t *n, char *err,
                        size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	*n = 0;
	if (!(db = ops_db_get(s, err, err_len)))
		return -1;
	st = prep(db,
	          "SELECT coalesce(nullif(upstream_code, ''), last_error, ''),"
	          " count(*) AS n FROM messages"
	          " WHERE status = 'failed' AND created_ms >= ?1"
	          " GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?2",
	          "stats read", err, err_len);
	if (st) {
		sqlite3_bind_int64(st, 1, since_ms);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
		while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			wa_sq_col_copy(st, 0, out[*n].code,
			               sizeof(out[*n].code));
			out[*n].n = sqlite3_column_int64(st, 1);
			(*n)++;
		}
		if (rc == SQLITE_ROW)
			rc = SQLITE_DONE;
		sqlite3_finalize(st);
		ret = rc == SQLITE_DONE ? 0
		                        : fail(db, "stats read", err, err_len);
	}
	ops_db_put(s);
	return ret;
}
