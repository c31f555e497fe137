/* sqlite_counts.c - counts per status kept as messages change: the write
 * connection's pre-update hook adds up each row's status change in memory,
 * and commit applies the sums to table status_counts once per group commit
 * (at most seven small UPDATEs, whatever the number of messages).
 *
 * The hook sees every change made on the write connection (inserts,
 * claims, outcomes, cancels, requeues, retention deletes, and any write
 * added later), so no write path has to remember to count. Writes made on
 * other connections (the sqlite3 shell) are not counted: README.md
 * ("/v1/stats and /metrics stay cheap") gives the statement that
 * recounts. The hook needs SQLite built with
 * SQLITE_ENABLE_PREUPDATE_HOOK (Debian's is); CMake checks it. */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <string.h>

static int status_of(sqlite3_value *v)
{
	const unsigned char *t = v ? sqlite3_value_text(v) : NULL;

	return t ? wa_msg_status_parse((const char *)t) : -1;
}

/* Runs inside sqlite3_step on the writer thread; must not touch the
 * connection beyond the sqlite3_preupdate_* calls. */
static void on_change(void *ud, sqlite3 *db, int op, const char *zdb,
                      const char *table, sqlite3_int64 k1, sqlite3_int64 k2)
{
	wa_sq_store *s = ud;
	sqlite3_value *v = NULL;
	int from = -1, to = -1;

	(void)k1;
	(void)k2;
	if (strcmp(table, "messages") != 0 || strcmp(zdb, "main") != 0)
		return;
	if (op != SQLITE_INSERT &&
	    sqlite3_preupdate_old(db, s->status_col, &v) == SQLITE_OK)
		from = status_of(v);
	if (op != SQLITE_DELETE &&
	    sqlite3_preupdate_new(db, s->status_col, &v) == SQLITE_OK)
		to = status_of(v);
	if (from == to)
		return;
	if (from >= 0)
		s->count_delta[from]--;
	if (to >= 0)
		s->count_delta[to]++;
}

int wa_sq_counts_init(wa_sq_store *s, char *err, size_t err_len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	s->status_col = -1;
	rc = sqlite3_prepare_v2(s->wdb,
	                        "SELECT cid FROM pragma_table_info('messages')"
	                        " WHERE name = 'status'",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		s->status_col = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (s->status_col < 0) {
		snprintf(err, err_len,
		         "Cannot find the messages table's status column: %s.",
		         sqlite3_errmsg(s->wdb));
		return -1;
	}
	rc = sqlite3_prepare_v3(s->wdb,
	                        "UPDATE status_counts SET n = n + ?2"
	                        " WHERE status = ?1",
	                        -1, SQLITE_PREPARE_PERSISTENT, &s->count_st,
	                        NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "Cannot prepare a store statement: %s.",
		         sqlite3_errmsg(s->wdb));
		return -1;
	}
	wa_sq_counts_reset(s);
	sqlite3_preupdate_hook(s->wdb, on_change, s);
	return 0;
}

void wa_sq_counts_finish(wa_sq_store *s)
{
	if (s->wdb)
		sqlite3_preupdate_hook(s->wdb, NULL, NULL);
	sqlite3_finalize(s->count_st);
	s->count_st = NULL;
}

void wa_sq_counts_reset(wa_sq_store *s)
{
	memset(s->count_delta, 0, sizeof(s->count_delta));
}

int wa_sq_counts_flush(wa_sq_store *s)
{
	sqlite3_stmt *st = s->count_st;

	for (int i = 0; i < 7; i++) {
		if (!s->count_delta[i])
			continue;
		sqlite3_bind_text(st, 1, wa_msg_status_name((wa_msg_status)i),
		                  -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s->count_delta[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(
			    st); /* the error stays on the connection */
			return -1;
		}
		sqlite3_reset(st);
	}
	wa_sq_counts_reset(s);
	return 0;
}
