/* sqlite_insert.c - the SQLite store's accept: one message inserted, or
 * the answer for an external_id already stored or a phone opted out
 * (writer thread only) */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <string.h>

static bool same_str(const char *a, const unsigned char *b)
{
	if (!a || !b)
		return !a && !b;
	return strcmp(a, (const char *)b) == 0;
}

/* Is phone opted out? 1 (its source and time in res), 0, or -1 (err). */
static int opted_out(wa_sq_store *s, const char *phone, wa_insert_result *res,
                     char *err, size_t err_len)
{
	sqlite3_stmt *st = s->ws[W_FIND_OPTOUT];
	int rc;

	wa_sq_bind_str(st, 1, phone);
	rc = wa_sq_step_row(s, st, "opt-out lookup", err, err_len);
	if (rc == 1) {
		wa_sq_col_copy(st, 0, res->opt_source, sizeof(res->opt_source));
		res->opt_at_ms = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return rc;
}

/* The message stored under m->external_id, compared with m, into res
 * (kind, id, status, created_ms): 0, 1 when there is none, -1. */
static int find_existing(wa_sq_store *s, const wa_new_message *m,
                         wa_insert_result *res, char *err, size_t err_len)
{
	sqlite3_stmt *st = s->ws[W_FIND_EXT];
	int rc, status;
	bool same;

	wa_sq_bind_str(st, 1, m->external_id);
	rc = wa_sq_step_row(s, st, "lookup", err, err_len);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	same = same_str(m->phone, sqlite3_column_text(st, 3)) &&
	       same_str(m->body, sqlite3_column_text(st, 4)) &&
	       same_str(m->template_json, sqlite3_column_text(st, 5)) &&
	       same_str(m->media_url, sqlite3_column_text(st, 6)) &&
	       same_str(m->content_json, sqlite3_column_text(st, 7));
	res->kind = same ? WA_INSERT_REPLAYED : WA_INSERT_CONFLICT;
	wa_sq_col_copy(st, 0, res->id, sizeof(res->id));
	status = wa_sq_col_status(st, 1);
	res->status = status < 0 ? WA_MSG_FAILED : (wa_msg_status)status;
	res->created_ms = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

/* Insert first and look the external_id up only when the insert did
 * nothing: the unique index is searched once on the common path. Never
 * to a phone that opted out (store.h); that is a lookup of its own
 * because an INSERT ... SELECT ... WHERE NOT EXISTS would make SQLite
 * keep a statement journal (a copy of every page the insert changes):
 * measured with callgrind, 74,000 of the 131,000 instructions of each
 * insert. The writer is the only one writing, so nothing comes between
 * the lookup and the insert. */
int wa_sq_insert(wa_store *base, const wa_new_message *m, wa_insert_result *res,
                 char *err, size_t err_len)
{
	wa_sq_store *s = base->impl;
	sqlite3_stmt *st = s->ws[W_INSERT_MSG];
	wa_insert_result opt = {.kind = WA_INSERT_SUPPRESSED};
	int held, rc;

	if (wa_new_message_check(m, err, err_len) != 0)
		return -1;
	memset(res, 0, sizeof(*res));
	if ((rc = opted_out(s, m->phone, &opt, err, err_len)) != 0) {
		if (rc < 0)
			return -1;
		/* an external_id already stored still answers as a replay
		 * or a conflict */
		if ((rc = find_existing(s, m, res, err, err_len)) == 1)
			*res = opt;
		return rc < 0 ? -1 : 0;
	}
	/* behind an earlier message of its phone: held from the start, so
	 * the claim never has to look at it until that one's outcome pulls
	 * it (sqlite_pace.c) */
	if ((held = wa_sq_pace_insert_held(s, m->phone, err, err_len)) < 0)
		return -1;
	wa_sq_bind_str(st, 1, m->id);
	wa_sq_bind_str(st, 2, m->external_id);
	wa_sq_bind_str(st, 3, m->phone);
	wa_sq_bind_str(st, 4, m->body);
	wa_sq_bind_str(st, 5, m->template_json);
	wa_sq_bind_str(st, 6, m->media_url);
	wa_sq_bind_str(st, 7, m->provider);
	sqlite3_bind_int64(st, 8, m->created_ms);
	sqlite3_bind_int64(st, 9, m->expires_ms);
	wa_sq_bind_str(st, 10, m->content_json);
	sqlite3_bind_int64(
	    st, 11,
	    held ? wa_store_pace_hold_until(m->created_ms, m->created_ms)
	         : m->created_ms);
	sqlite3_bind_int(st, 12, held);
	/* No history row: the queued entry is implied by created_ms (see
	 * load_history in sqlite.c). Queued has no outbox event. */
	if (wa_sq_step_done(s, st, "insert", err, err_len) < 0)
		return -1;
	if (sqlite3_changes(s->wdb) == 0) {
		if ((rc = find_existing(s, m, res, err, err_len)) == 1)
			snprintf(err, err_len,
			         "The insert did nothing but no message holds "
			         "the external_id.");
		return rc == 0 ? 0 : -1;
	}
	res->kind = WA_INSERT_CREATED;
	snprintf(res->id, sizeof(res->id), "%s", m->id);
	res->status = WA_MSG_QUEUED;
	res->created_ms = m->created_ms;
	return 0;
}
