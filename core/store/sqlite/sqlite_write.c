/* sqlite_write.c - the SQLite store's write side (writer thread only) */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

static const char *const write_sql[W_N] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_FIND_EXT] = "SELECT id, status, created_ms, phone, body,"
                   " template_json, media_url, content_json FROM messages"
                   " WHERE external_id = ?1",
    [W_INSERT_MSG] = "INSERT INTO messages (id, external_id, phone, body,"
                     " template_json, media_url, provider, status,"
                     " attempts, created_ms, updated_ms, next_attempt_ms,"
                     " expires_ms, lease_until_ms, upstream_status,"
                     " content_json, held)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', 0,"
                     " ?8, ?8, ?11, ?9, 0, 0, ?10, ?12)"
                     " ON CONFLICT (external_id) DO NOTHING",
    [W_FIND_OPTOUT] = "SELECT opt_source, opt_at_ms FROM contacts"
                      " WHERE phone = ?1 AND opted_out = 1",
    [W_INSERT_HIST] = "INSERT INTO history (message_id, status, at_ms,"
                      " detail) VALUES (?1, ?2, ?3, ?4)",
    [W_INSERT_OUTBOX] = "INSERT INTO outbox (message_id, external_id,"
                        " status, provider, provider_message_id, error,"
                        " occurred_ms) VALUES (?1, ?5, ?2, ?6, ?7, ?3, ?4)",
    [W_CLAIM_LEASED] = "SELECT rowid, next_attempt_ms FROM messages"
                       " WHERE status = 'sending' AND lease_until_ms < ?1"
                       " ORDER BY next_attempt_ms, rowid LIMIT ?2",
    [W_SET_SENDING] = "UPDATE messages SET status = 'sending', held = 0,"
                      " attempts = attempts + 1, lease_until_ms = ?2,"
                      " updated_ms = ?3, claimed_by = ?4 WHERE rowid = ?1",
    /* not the UPDATE's RETURNING: SQLite runs that as a trigger, with a
     * statement journal and a temporary table (callgrind: 124,000
     * instructions a claimed message, against about 60,000 so) */
    [W_CLAIMED_ROW] = "SELECT " WA_SQ_MSG_COLS " FROM messages"
                      " WHERE rowid = ?1",
    /* what an outcome or a cancel needs besides the update: the state,
     * the phone (pacing) and the event's fields (outbox) */
    [W_GET_STATE] = "SELECT status, phone, external_id, provider,"
                    " provider_message_id FROM messages WHERE id = ?1",
    [W_FINISH_SENT] = "UPDATE messages SET status = 'sent',"
                      " provider_message_id = ?2, upstream_code = ?3,"
                      " upstream_status = ?4, lease_until_ms = 0,"
                      " updated_ms = ?5 WHERE id = ?1",
    [W_FINISH_RETRY] = "UPDATE messages SET status = 'queued',"
                       " next_attempt_ms = ?2, last_error = ?3,"
                       " upstream_code = ?4, upstream_status = ?5,"
                       " lease_until_ms = 0, updated_ms = ?6 WHERE id = ?1",
    [W_FINISH_FAILED] = "UPDATE messages SET status = 'failed',"
                        " last_error = ?2, upstream_code = ?3,"
                        " upstream_status = ?4, lease_until_ms = 0,"
                        " updated_ms = ?5 WHERE id = ?1",
    [W_FINISH_RELEASE] = "UPDATE messages SET status = 'queued',"
                         " attempts = max(attempts - 1, 0),"
                         " next_attempt_ms = ?2, lease_until_ms = 0,"
                         " updated_ms = ?3 WHERE id = ?1",
    [W_CANCEL] = "UPDATE messages SET status = 'canceled',"
                 " updated_ms = ?2 WHERE id = ?1",
    [W_FIND_PMID] = "SELECT id, status, external_id FROM messages"
                    " WHERE provider_message_id = ?2 AND provider = ?1"
                    " ORDER BY rowid DESC LIMIT 1",
    [W_SET_STATUS] = "UPDATE messages SET status = ?2, updated_ms = ?3,"
                     " last_error = coalesce(?4, last_error) WHERE id = ?1",
    [W_RELEASE_HIST] = "INSERT INTO history (message_id, status, at_ms,"
                       " detail) SELECT id, 'queued', ?1, 'released'"
                       " FROM messages WHERE status = 'sending'"
                       " AND claimed_by = ?2",
    [W_RELEASE_ALL] = "UPDATE messages SET status = 'queued',"
                      " attempts = max(attempts - 1, 0),"
                      " next_attempt_ms = ?1, lease_until_ms = 0,"
                      " updated_ms = ?1 WHERE status = 'sending'"
                      " AND claimed_by = ?2",
    /* a status event is ordered by its message, another event (two-way
     * messaging) by its event_key */
    [W_OB_CLAIM] = "SELECT seq, coalesce(message_id, event_key),"
                   " external_id, status, provider,"
                   " provider_message_id, error, occurred_ms, attempts,"
                   " event, body, (SELECT campaign_id FROM messages"
                   " WHERE messages.id = o.message_id)"
                   " FROM outbox AS o WHERE next_attempt_ms <= ?1"
                   " AND lease_until_ms < ?1 AND seq = CASE WHEN"
                   " o.message_id IS NOT NULL THEN (SELECT min(seq)"
                   " FROM outbox WHERE message_id = o.message_id)"
                   " ELSE (SELECT min(seq) FROM outbox"
                   " WHERE event_key = o.event_key) END"
                   " ORDER BY seq LIMIT ?2",
    [W_OB_LEASE] = "UPDATE outbox SET lease_until_ms = ?2 WHERE seq = ?1",
    [W_OB_DELETE] = "DELETE FROM outbox WHERE seq = ?1",
    [W_OB_RETRY] = "UPDATE outbox SET attempts = attempts + 1,"
                   " next_attempt_ms = ?2, last_error = ?3,"
                   " lease_until_ms = 0 WHERE seq = ?1",
    /* history and outbox rows go by ON DELETE CASCADE */
    [W_PURGE] = "DELETE FROM messages WHERE rowid IN (SELECT rowid"
                " FROM messages WHERE created_ms < ?1 AND status IN"
                " ('sent','delivered','read','failed','canceled')"
                " ORDER BY created_ms LIMIT ?2)",
};

int wa_sq_prepare_writes(wa_sq_store *s, char *err, size_t err_len)
{
	int i;

	for (i = 0; i < W_N; i++) {
		if (sqlite3_prepare_v3(s->wdb, write_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &s->ws[i],
		                       NULL) != SQLITE_OK) {
			snprintf(err, err_len,
			         "Cannot prepare a store statement: %s.",
			         sqlite3_errmsg(s->wdb));
			return -1;
		}
	}
	return 0;
}

static wa_sq_store *S(wa_store *st)
{
	return st->impl;
}

/* A message's fields an outbox event carries, read by the caller with
 * the message (an INSERT ... SELECT would make SQLite keep a statement
 * journal of every page it changes, per event). */
typedef struct ev_src {
	const char *external_id, *provider, *pmid;
} ev_src;

static int add_history(wa_sq_store *s, const char *id, wa_msg_status status,
                       int64_t at_ms, const char *detail, char *err,
                       size_t err_len)
{
	sqlite3_stmt *st = s->ws[W_INSERT_HIST];

	wa_sq_bind_str(st, 1, id);
	wa_sq_bind_str(st, 2, wa_msg_status_name(status));
	sqlite3_bind_int64(st, 3, at_ms);
	wa_sq_bind_str(st, 4, detail ? detail : "");
	return wa_sq_step_done(s, st, "history insert", err, err_len);
}

/* Outbox events exist only for externally meaningful statuses (store.h);
 * ev may be NULL for the others (queued, sending). */
static int add_outbox(wa_sq_store *s, const char *id, const ev_src *ev,
                      wa_msg_status status, int64_t at_ms, const char *error,
                      char *err, size_t err_len)
{
	sqlite3_stmt *st = s->ws[W_INSERT_OUTBOX];

	if (!atomic_load(&s->outbox) || status == WA_MSG_QUEUED ||
	    status == WA_MSG_SENDING)
		return 0;
	if (!ev) {
		snprintf(err, err_len, "No event fields for message %s.", id);
		return -1;
	}
	wa_sq_bind_str(st, 1, id);
	wa_sq_bind_str(st, 2, wa_msg_status_name(status));
	wa_sq_bind_str(st, 3, error);
	sqlite3_bind_int64(st, 4, at_ms);
	wa_sq_bind_str(st, 5, ev->external_id);
	wa_sq_bind_str(st, 6, ev->provider);
	wa_sq_bind_str(st, 7, ev->pmid && *ev->pmid ? ev->pmid : NULL);
	return wa_sq_step_done(s, st, "outbox insert", err, err_len);
}

/* A status change: history always, outbox when on (ev: see add_outbox). */
static int record(wa_sq_store *s, const char *id, const ev_src *ev,
                  wa_msg_status status, int64_t at_ms, const char *detail,
                  char *err, size_t err_len)
{
	if (add_history(s, id, status, at_ms, detail, err, err_len) < 0)
		return -1;
	return add_outbox(s, id, ev, status, at_ms,
	                  detail && *detail ? detail : NULL, err, err_len);
}

int wa_sq_begin(wa_store *st, char *err, size_t err_len)
{
	wa_sq_store *s = S(st);

	wa_sq_counts_reset(s);
	return wa_sq_step_done(s, s->ws[W_BEGIN], "begin", err, err_len);
}

int wa_sq_commit(wa_store *st, char *err, size_t err_len)
{
	wa_sq_store *s = S(st);

	/* the group's status changes, once, in the same transaction */
	if (wa_sq_counts_flush(s) < 0)
		return wa_sq_werr(s, "status count update", err, err_len);
	if (wa_sq_step_done(s, s->ws[W_COMMIT], "commit", err, err_len) < 0)
		return -1;
	atomic_store(&s->write_fault, 0);
	return 0;
}

void wa_sq_rollback(wa_store *st)
{
	wa_sq_store *s = S(st);
	int fault = atomic_load(&s->write_fault);

	wa_sq_counts_reset(s);
	if (!sqlite3_get_autocommit(s->wdb)) {
		sqlite3_step(s->ws[W_ROLLBACK]);
		sqlite3_reset(s->ws[W_ROLLBACK]);
	}
	/* A write past the file size limit (or a full disk) failed. The
	 * automatic checkpoint runs only after a commit, so without this the
	 * WAL would never start again from its beginning and every later
	 * transaction would append past the limit: writes would fail until a
	 * restart. A passive checkpoint copies what it can into the database
	 * (without waiting for readers); once all of it is in, the next
	 * transaction rewinds the WAL and fits again. */
	if (fault == SQLITE_FULL || fault == SQLITE_IOERR)
		sqlite3_wal_checkpoint_v2(
		    s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

typedef struct cand {
	int64_t rowid, next;
} cand;

/* Up to max (rowid, next_attempt_ms) pairs from a claim query. */
static int candidates(wa_sq_store *s, int which, int64_t now_ms, size_t max,
                      cand *out, size_t *n, char *err, size_t err_len)
{
	sqlite3_stmt *st = s->ws[which];
	int rc;

	*n = 0;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		out[*n].rowid = sqlite3_column_int64(st, 0);
		out[*n].next = sqlite3_column_int64(st, 1);
		(*n)++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		wa_sq_werr(s, "claim", err, err_len);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

static bool cand_before(const cand *a, const cand *b)
{
	return a->next < b->next || (a->next == b->next && a->rowid < b->rowid);
}

int wa_sq_claim(wa_store *base, int64_t now_ms, int64_t lease_until_ms,
                size_t max, wa_message_rec *out, size_t *n, char *err,
                size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st = s->ws[W_SET_SENDING], *row = s->ws[W_CLAIMED_ROW];
	wa_sq_cand *q;
	cand *l;
	size_t nq = 0, nl = 0, iq = 0, il = 0;
	char detail[32];
	int rc, ret = -1;

	*n = 0;
	if (max == 0)
		return 0;
	q = calloc(max, sizeof(*q));
	l = calloc(max, sizeof(*l));
	if (!q || !l) {
		snprintf(err, err_len, "Out of memory.");
		goto out;
	}
	/* queued: only what the per-recipient rules let go (sqlite_pace.c) */
	if (wa_sq_pace_pick(s, now_ms, max, q, &nq, err, err_len) < 0 ||
	    candidates(s, W_CLAIM_LEASED, now_ms, max, l, &nl, err, err_len) <
	        0)
		goto out;
	while (*n < max && (iq < nq || il < nl)) {
		cand c;
		int64_t counted = 0;
		wa_message_rec *m = &out[*n];

		if (il >= nl ||
		    (iq < nq &&
		     cand_before(&(cand){q[iq].rowid, q[iq].next}, &l[il]))) {
			c = (cand){q[iq].rowid, q[iq].next};
			counted = q[iq++].counted;
		} else {
			c = l[il++];
		}
		sqlite3_bind_int64(st, 1, c.rowid);
		sqlite3_bind_int64(st, 2, lease_until_ms);
		sqlite3_bind_int64(st, 3, now_ms);
		wa_sq_bind_str(st, 4, s->instance);
		if (wa_sq_step_done(s, st, "claim update", err, err_len) < 0)
			goto fail;
		if (sqlite3_changes(s->wdb) != 1) { /* a candidate vanished */
			snprintf(err, err_len,
			         "Store claim update changed no message.");
			goto fail;
		}
		sqlite3_bind_int64(row, 1, c.rowid);
		if (sqlite3_step(row) != SQLITE_ROW) {
			wa_sq_werr(s, "claimed row", err, err_len);
			sqlite3_reset(row);
			goto fail;
		}
		rc = wa_sq_fill_rec(row, m);
		sqlite3_reset(row);
		if (rc < 0) {
			snprintf(err, err_len, "Out of memory.");
			goto fail;
		}
		(*n)++;
		snprintf(detail, sizeof(detail), "attempt %d", m->attempts);
		if (record(s, m->id, NULL, WA_MSG_SENDING, now_ms, detail, err,
		           err_len) < 0 ||
		    wa_sq_pace_claimed(s, m->phone, now_ms, counted, err,
		                       err_len) < 0)
			goto fail;
	}
	ret = 0;
	goto out;
fail:
	while (*n > 0)
		wa_message_rec_free(&out[--(*n)]);
out:
	free(q);
	free(l);
	return ret;
}

/* A message's state and what its outcome or cancel needs besides. */
typedef struct msg_state {
	wa_msg_status status;
	char phone[WA_PHONE_MAX], external_id[WA_EXTERNAL_ID_MAX],
	    provider[WA_PROVIDER_NAME_MAX], pmid[WA_PMID_MAX];
} msg_state;

/* The event fields of a message read by get_state. */
static ev_src state_ev(const msg_state *m)
{
	return (ev_src){m->external_id, m->provider, m->pmid};
}

/* Read id's state into m: 0, 1 not found, -1 error. One read serves the
 * state check, the pacing updates and the outbox event (a statement
 * each before: issue 17, CPU per delivered message). */
static int get_state(wa_sq_store *s, const char *id, msg_state *m, char *err,
                     size_t err_len)
{
	sqlite3_stmt *st = s->ws[W_GET_STATE];
	int rc, v;

	wa_sq_bind_str(st, 1, id);
	rc = wa_sq_step_row(s, st, "lookup", err, err_len);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	v = wa_sq_col_status(st, 0);
	m->status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
	wa_sq_col_copy(st, 1, m->phone, sizeof(m->phone));
	wa_sq_col_copy(st, 2, m->external_id, sizeof(m->external_id));
	wa_sq_col_copy(st, 3, m->provider, sizeof(m->provider));
	wa_sq_col_copy(st, 4, m->pmid, sizeof(m->pmid));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

int wa_sq_finish(wa_store *base, const char *id, const wa_outcome *o, char *err,
                 size_t err_len)
{
	wa_sq_store *s = S(base);
	wa_msg_status to;
	sqlite3_stmt *st;
	const char *detail = o->error ? o->error : "";
	msg_state cur;
	ev_src ev;
	int rc;

	rc = get_state(s, id, &cur, err, err_len);
	if (rc != 0)
		return rc;
	if (cur.status != WA_MSG_SENDING)
		return 1;
	ev = state_ev(&cur);
	switch (o->kind) {
	case WA_OUT_SENT:
		to = WA_MSG_SENT;
		st = s->ws[W_FINISH_SENT];
		ev.pmid = o->provider_message_id; /* what the update stores */
		wa_sq_bind_str(st, 2,
		               o->provider_message_id && *o->provider_message_id
		                   ? o->provider_message_id
		                   : NULL);
		wa_sq_bind_str(st, 3, o->upstream_code);
		sqlite3_bind_int64(st, 4, o->upstream_status);
		sqlite3_bind_int64(st, 5, o->at_ms);
		detail = "";
		break;
	case WA_OUT_RETRY:
		to = WA_MSG_QUEUED;
		st = s->ws[W_FINISH_RETRY];
		sqlite3_bind_int64(st, 2, o->next_attempt_ms);
		wa_sq_bind_str(st, 3, o->error);
		wa_sq_bind_str(st, 4, o->upstream_code);
		sqlite3_bind_int64(st, 5, o->upstream_status);
		sqlite3_bind_int64(st, 6, o->at_ms);
		break;
	case WA_OUT_FAILED:
		to = WA_MSG_FAILED;
		st = s->ws[W_FINISH_FAILED];
		wa_sq_bind_str(st, 2, o->error);
		wa_sq_bind_str(st, 3, o->upstream_code);
		sqlite3_bind_int64(st, 4, o->upstream_status);
		sqlite3_bind_int64(st, 5, o->at_ms);
		break;
	case WA_OUT_RELEASE:
		to = WA_MSG_QUEUED;
		st = s->ws[W_FINISH_RELEASE];
		sqlite3_bind_int64(st, 2, o->next_attempt_ms);
		sqlite3_bind_int64(st, 3, o->at_ms);
		detail = "released";
		break;
	default:
		snprintf(err, err_len, "Unknown outcome kind %d.",
		         (int)o->kind);
		return -1;
	}
	wa_sq_bind_str(st, 1, id);
	if (wa_sq_step_done(s, st, "finish", err, err_len) < 0 ||
	    (o->kind != WA_OUT_RELEASE &&
	     wa_sq_pace_finished(s, cur.phone, o->at_ms, err, err_len) < 0) ||
	    ((o->kind == WA_OUT_SENT || o->kind == WA_OUT_FAILED) &&
	     wa_sq_pace_pull(s, cur.phone, o->at_ms, err, err_len) < 0))
		return -1;
	return record(s, id, &ev, to, o->at_ms, detail, err, err_len) < 0 ? -1
	                                                                  : 0;
}

int wa_sq_cancel(wa_store *base, const char *id, int64_t now_ms,
                 wa_cancel_kind *kind, wa_msg_status *status, char *err,
                 size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st = s->ws[W_CANCEL];
	msg_state cur = {.status = WA_MSG_QUEUED};
	ev_src ev;
	int rc;

	rc = get_state(s, id, &cur, err, err_len);
	if (rc < 0)
		return -1;
	*status = cur.status;
	if (rc == 1) {
		*kind = WA_CANCEL_NOT_FOUND;
		return 0;
	}
	if (!wa_msg_status_can_move(cur.status, WA_MSG_CANCELED)) {
		*kind = WA_CANCEL_TOO_LATE;
		return 0;
	}
	ev = state_ev(&cur);
	wa_sq_bind_str(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	if (wa_sq_step_done(s, st, "cancel", err, err_len) < 0 ||
	    wa_sq_pace_pull(s, cur.phone, now_ms, err, err_len) < 0 ||
	    record(s, id, &ev, WA_MSG_CANCELED, now_ms, "", err, err_len) < 0)
		return -1;
	*kind = WA_CANCEL_DONE;
	*status = WA_MSG_CANCELED;
	return 0;
}

int wa_sq_apply_status(wa_store *base, const wa_status_change *c,
                       wa_apply_kind *kind, char *message_id, char *err,
                       size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st = s->ws[W_FIND_PMID];
	char id[WA_ID_MAX], ext[WA_EXTERNAL_ID_MAX];
	wa_msg_status cur;
	ev_src ev = {ext, c->provider, c->provider_message_id};
	int rc, v;
	bool reportable =
	    c->status == WA_MSG_SENT || c->status == WA_MSG_DELIVERED ||
	    c->status == WA_MSG_READ || c->status == WA_MSG_FAILED;

	*kind = WA_APPLY_UNKNOWN;
	if (!c->provider || !c->provider_message_id || !*c->provider_message_id)
		return 0;
	wa_sq_bind_str(st, 1, c->provider);
	wa_sq_bind_str(st, 2, c->provider_message_id);
	rc = wa_sq_step_row(s, st, "lookup", err, err_len);
	if (rc != 1)
		return rc;
	wa_sq_col_copy(st, 0, id, sizeof(id));
	wa_sq_col_copy(st, 2, ext, sizeof(ext));
	v = wa_sq_col_status(st, 1);
	cur = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (message_id)
		snprintf(message_id, WA_ID_MAX, "%s", id);
	if (!reportable || !wa_msg_status_can_move(cur, c->status)) {
		*kind = WA_APPLY_STALE;
		return 0;
	}
	if (c->status == WA_MSG_FAILED && c->retryable) {
		char detail[WA_ERR_MAX];
		int64_t at = wa_sq_late_requeue(s, id, c, err, err_len);

		if (at < 0)
			return -1;
		if (at > 0) { /* back in the queue, in its place */
			snprintf(detail, sizeof(detail),
			         "late failure, retrying: %s",
			         c->error ? c->error : "");
			if (record(s, id, NULL, WA_MSG_QUEUED, c->at_ms, detail,
			           err, err_len) < 0)
				return -1;
			*kind = WA_APPLY_APPLIED;
			return 0;
		}
	}
	st = s->ws[W_SET_STATUS];
	wa_sq_bind_str(st, 1, id);
	wa_sq_bind_str(st, 2, wa_msg_status_name(c->status));
	sqlite3_bind_int64(st, 3, c->at_ms);
	wa_sq_bind_str(st, 4, c->status == WA_MSG_FAILED ? c->error : NULL);
	if (wa_sq_step_done(s, st, "status update", err, err_len) < 0 ||
	    record(s, id, &ev, c->status, c->at_ms, c->error ? c->error : "",
	           err, err_len) < 0)
		return -1;
	*kind = WA_APPLY_APPLIED;
	return 0;
}

long wa_sq_release_all(wa_store *base, int64_t now_ms, char *err,
                       size_t err_len)
{
	wa_sq_store *s = S(base);

	sqlite3_bind_int64(s->ws[W_RELEASE_HIST], 1, now_ms);
	wa_sq_bind_str(s->ws[W_RELEASE_HIST], 2, s->instance);
	if (wa_sq_step_done(s, s->ws[W_RELEASE_HIST], "release", err, err_len) <
	    0)
		return -1;
	sqlite3_bind_int64(s->ws[W_RELEASE_ALL], 1, now_ms);
	wa_sq_bind_str(s->ws[W_RELEASE_ALL], 2, s->instance);
	if (wa_sq_step_done(s, s->ws[W_RELEASE_ALL], "release", err, err_len) <
	    0)
		return -1;
	return (long)sqlite3_changes(s->wdb);
}

void wa_sq_set_outbox(wa_store *base, bool enabled)
{
	atomic_store(&S(base)->outbox, enabled);
}

int wa_sq_outbox_claim(wa_store *base, int64_t now_ms, int64_t lease_until_ms,
                       size_t max, wa_outbox_event *out, size_t *n, char *err,
                       size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st = s->ws[W_OB_CLAIM];
	size_t i;
	int rc = SQLITE_DONE, v;

	*n = 0;
	if (max == 0)
		return 0;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		wa_outbox_event *e = &out[(*n)++];

		memset(e, 0, sizeof(*e));
		e->seq = sqlite3_column_int64(st, 0);
		wa_sq_col_copy(st, 1, e->message_id, sizeof(e->message_id));
		wa_sq_col_copy(st, 2, e->external_id, sizeof(e->external_id));
		v = wa_sq_col_status(st, 3);
		e->status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
		wa_sq_col_copy(st, 4, e->provider, sizeof(e->provider));
		wa_sq_col_copy(st, 5, e->provider_message_id,
		               sizeof(e->provider_message_id));
		wa_sq_col_copy(st, 6, e->error, sizeof(e->error));
		e->occurred_ms = sqlite3_column_int64(st, 7);
		e->attempts = sqlite3_column_int(st, 8);
		wa_sq_col_copy(st, 9, e->event, sizeof(e->event));
		wa_sq_col_copy(st, 11, e->campaign_id, sizeof(e->campaign_id));
		if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
		    !(e->body =
		          strdup((const char *)sqlite3_column_text(st, 10)))) {
			sqlite3_reset(st);
			while (*n > 0)
				wa_outbox_event_free(&out[--(*n)]);
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
	}
	if (*n < max && rc != SQLITE_DONE) {
		wa_sq_werr(s, "outbox claim", err, err_len);
		sqlite3_reset(st);
		while (*n > 0)
			wa_outbox_event_free(&out[--(*n)]);
		return -1;
	}
	sqlite3_reset(st);
	st = s->ws[W_OB_LEASE];
	for (i = 0; i < *n; i++) {
		sqlite3_bind_int64(st, 1, out[i].seq);
		sqlite3_bind_int64(st, 2, lease_until_ms);
		if (wa_sq_step_done(s, st, "outbox lease", err, err_len) < 0) {
			while (*n > 0)
				wa_outbox_event_free(&out[--(*n)]);
			return -1;
		}
	}
	return 0;
}

int wa_sq_outbox_finish(wa_store *base, int64_t seq, bool delivered,
                        int64_t next_attempt_ms, const char *error, char *err,
                        size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st = s->ws[delivered ? W_OB_DELETE : W_OB_RETRY];

	sqlite3_bind_int64(st, 1, seq);
	if (!delivered) {
		sqlite3_bind_int64(st, 2, next_attempt_ms);
		wa_sq_bind_str(st, 3, error);
	}
	if (wa_sq_step_done(s, st, "outbox finish", err, err_len) < 0)
		return -1;
	return sqlite3_changes(s->wdb) > 0 ? 0 : 1;
}

long wa_sq_purge(wa_store *base, int64_t before_ms, size_t max, char *err,
                 size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st = s->ws[W_PURGE];

	sqlite3_bind_int64(st, 1, before_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	if (wa_sq_step_done(s, st, "purge", err, err_len) < 0)
		return -1;
	return (long)sqlite3_changes(s->wdb);
}
