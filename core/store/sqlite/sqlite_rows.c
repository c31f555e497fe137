/* sqlite_rows.c - row helpers shared by the SQLite store's reads (sqlite.c)
 * and writes (sqlite_write.c): bind a string, copy a column, read a message,
 * describe a write error */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

void wa_sq_col_copy(sqlite3_stmt *st, int col, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int wa_sq_bind_str(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

int wa_sq_col_status(sqlite3_stmt *st, int col)
{
	return wa_msg_status_parse((const char *)sqlite3_column_text(st, col));
}

static int col_dup(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	*out = NULL;
	if (!t)
		return 0;
	*out = strdup((const char *)t);
	return *out ? 0 : -1;
}

int wa_sq_fill_rec(sqlite3_stmt *st, wa_message_rec *m)
{
	int status;

	memset(m, 0, sizeof(*m));
	wa_sq_col_copy(st, 0, m->id, sizeof(m->id));
	wa_sq_col_copy(st, 1, m->external_id, sizeof(m->external_id));
	wa_sq_col_copy(st, 2, m->phone, sizeof(m->phone));
	if (col_dup(st, 3, &m->body) < 0 ||
	    col_dup(st, 4, &m->template_json) < 0 ||
	    col_dup(st, 5, &m->media_url) < 0)
		goto oom;
	if (!m->body && !(m->body = strdup("")))
		goto oom;
	wa_sq_col_copy(st, 6, m->provider, sizeof(m->provider));
	status = wa_sq_col_status(st, 7);
	m->status = status < 0 ? WA_MSG_FAILED : (wa_msg_status)status;
	m->attempts = sqlite3_column_int(st, 8);
	wa_sq_col_copy(st, 9, m->provider_message_id,
	               sizeof(m->provider_message_id));
	wa_sq_col_copy(st, 10, m->last_error, sizeof(m->last_error));
	wa_sq_col_copy(st, 11, m->upstream_code, sizeof(m->upstream_code));
	m->upstream_status = (long)sqlite3_column_int64(st, 12);
	m->created_ms = sqlite3_column_int64(st, 13);
	m->updated_ms = sqlite3_column_int64(st, 14);
	m->next_attempt_ms = sqlite3_column_int64(st, 15);
	m->expires_ms = sqlite3_column_int64(st, 16);
	m->lease_until_ms = sqlite3_column_int64(st, 17);
	wa_sq_col_copy(st, 18, m->campaign_id, sizeof(m->campaign_id));
	if (col_dup(st, 19, &m->content_json) < 0)
		goto oom;
	return 0;
oom:
	wa_message_rec_free(m);
	return -1;
}

/* Describe the write connection's last error (-1); a fault that makes
 * the store unusable is remembered for ping. */
int wa_sq_werr(wa_sq_store *s, const char *what, char *err, size_t err_len)
{
	int code = sqlite3_errcode(s->wdb) & 0xff;

	switch (code) {
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		atomic_store(&s->fault_mono_ms, (long long)wa_mono_ms());
		atomic_store(&s->write_fault, code);
		break;
	default:
		break;
	}
	snprintf(err, err_len, "Store %s failed: %s.", what,
	         sqlite3_errmsg(s->wdb));
	return -1;
}

/* Step a one-row read: 1 with the row (left for the caller to read, reset
 * and clear), 0 none or -1 error (err set), the statement reset and
 * cleared. */
int wa_sq_step_row(wa_sq_store *s, sqlite3_stmt *st, const char *what,
                   char *err, size_t err_len)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		wa_sq_werr(s, what, err, err_len);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Step a statement expected to return no row, then reset it. 0 or -1. */
int wa_sq_step_done(wa_sq_store *s, sqlite3_stmt *st, const char *what,
                    char *err, size_t err_len)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		wa_sq_werr(s, what, err, err_len);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
