/* sqlite_pace.c - the SQLite store's claim rules per recipient (issue 14):
 * a phone's messages in the order accepted, one at a time, at least the
 * interval apart, and the tier budget of distinct recipients per window
 *
 * The rules are checked on the claim's candidates (each check is one probe
 * of the partial index messages_phone_pending or of the recipients table),
 * and a due candidate that must wait is moved to when it may go, so a
 * backlog for one phone is not scanned again on every claim. */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	P_CAND,
	P_BLOCKED,
	P_LANE_GET,
	P_LANE_SET,
	P_PUSH,
	P_BUDGET,
	P_OPEN,
	P_LATE_GET,
	P_LATE_SET,
	P_LANE_DONE,
	P_HOLD,
	P_PULL
};

static const char *const pace_sql[] = {
    /* due candidates in claim order, after the last one read (?3, ?4) */
    [P_CAND] = "SELECT rowid, next_attempt_ms, phone, created_ms FROM messages"
               " WHERE status = 'queued' AND next_attempt_ms <= ?1"
               " AND (next_attempt_ms, rowid) > (?3, ?4)"
               " ORDER BY next_attempt_ms, rowid LIMIT ?2",
    /* another message of the phone in flight, or an earlier one queued.
     * The repeated status IN term lets the partial index serve; the
     * equality must come first, or SQLite seeks with the IN term and
     * walks every queued entry of the phone (a probe per candidate that
     * grew with the phone's backlog). The candidate itself is queued, so
     * "in flight" needs no rowid test. */
    [P_BLOCKED] = "SELECT EXISTS (SELECT 1 FROM messages WHERE phone = ?1"
                  " AND status = 'sending' AND status IN"
                  " ('queued','sending')) OR EXISTS (SELECT 1 FROM"
                  " messages WHERE phone = ?1 AND status = 'queued' AND"
                  " status IN ('queued','sending') AND rowid < ?2)",
    [P_LANE_GET] = "SELECT next_ok_ms, counted_ms FROM recipients"
                   " WHERE phone = ?1",
    [P_LANE_SET] = "INSERT INTO recipients (phone, next_ok_ms, counted_ms)"
                   " VALUES (?1, ?2, ?3) ON CONFLICT (phone) DO UPDATE SET"
                   " next_ok_ms = excluded.next_ok_ms,"
                   " counted_ms = max(counted_ms, excluded.counted_ms)",
    [P_PUSH] = "UPDATE messages SET next_attempt_ms = ?2 WHERE rowid = ?1",
    [P_BUDGET] = "SELECT count(*), min(counted_ms) FROM recipients"
                 " WHERE counted_ms > ?1",
    [P_OPEN] = "SELECT last_inbound_ms FROM contacts WHERE phone = ?1",
    /* VALUES, not SELECT: an INSERT ... SELECT makes SQLite keep a
     * statement journal (sqlite_insert.c, wa_sq_insert) */
    [P_LANE_DONE] = "INSERT INTO recipients (phone, next_ok_ms)"
                    " VALUES (?1, ?2) ON CONFLICT (phone) DO UPDATE SET"
                    " next_ok_ms = max(next_ok_ms, excluded.next_ok_ms)",
    [P_HOLD] = "UPDATE messages SET next_attempt_ms = ?2, held = 1"
               " WHERE rowid = ?1",
    /* the phone's first queued message, if it was held; not before its
     * send_at (equality first again: the index then gives rowid order) */
    [P_PULL] = "UPDATE messages SET held = 0,"
               " next_attempt_ms = max(?2, coalesce(send_at_ms, 0))"
               " WHERE rowid = (SELECT rowid FROM messages WHERE phone = ?1"
               " AND status = 'queued' AND status IN ('queued','sending')"
               " ORDER BY rowid LIMIT 1) AND held = 1",
    [P_LATE_GET] = "SELECT attempts, expires_ms FROM messages WHERE id = ?1",
    [P_LATE_SET] = "UPDATE messages SET status = 'queued',"
                   " next_attempt_ms = ?2, last_error = ?3,"
                   " provider_message_id = NULL, lease_until_ms = 0,"
                   " updated_ms = ?4 WHERE id = ?1",
};

#define P_N ((int)(sizeof(pace_sql) / sizeof(pace_sql[0])))

_Static_assert(sizeof(pace_sql) / sizeof(pace_sql[0]) <=
                   sizeof(((wa_sq_store *)0)->ps) /
                       sizeof(((wa_sq_store *)0)->ps[0]),
               "room for the pacing statements");

static sqlite3_stmt *ps(wa_sq_store *s, int which, char *err, size_t err_len)
{
	if (!s->ps[which] &&
	    sqlite3_prepare_v3(s->wdb, pace_sql[which], -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->ps[which],
	                       NULL) != SQLITE_OK) {
		wa_sq_werr(s, "prepare pacing", err, err_len);
		return NULL;
	}
	return s->ps[which];
}

void wa_sq_pace_close(wa_sq_store *s)
{
	for (int i = 0; i < P_N; i++) {
		sqlite3_finalize(s->ps[i]);
		s->ps[i] = NULL;
	}
}

void wa_sq_set_pacing(wa_store *st, const wa_store_pacing *p)
{
	wa_sq_store *s = st->impl;

	s->pace = *p;
}

void wa_sq_budget(wa_store *st, wa_store_budget *out)
{
	wa_sq_store *s = st->impl;

	memset(out, 0, sizeof(*out));
	out->limit = s->pace.messaging_limit;
	out->used = atomic_load(&s->b_used);
	out->held = atomic_load(&s->b_held);
	out->frees_ms = atomic_load(&s->b_frees);
}

static int push(wa_sq_store *s, int64_t rowid, int64_t at, bool hold, char *err,
                size_t err_len)
{
	sqlite3_stmt *st = ps(s, hold ? P_HOLD : P_PUSH, err, err_len);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_int64(st, 2, at);
	return wa_sq_step_done(s, st, "pacing move", err, err_len);
}

typedef struct pick_cand {
	int64_t rowid, next, created;
	char phone[WA_PHONE_MAX];
} pick_cand;

typedef struct budget_state {
	long used, held;
	int64_t frees;
} budget_state;

/* Read the budget at the start of a pick. */
static int budget_load(wa_sq_store *s, int64_t now, budget_state *b, char *err,
                       size_t err_len)
{
	sqlite3_stmt *st;
	int rc;

	memset(b, 0, sizeof(*b));
	if (s->pace.messaging_limit <= 0)
		return 0;
	if (!(st = ps(s, P_BUDGET, err, err_len)))
		return -1;
	sqlite3_bind_int64(st, 1, now - s->pace.window_ms);
	rc = wa_sq_step_row(s, st, "pacing", err, err_len);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		b->used = (long)sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			b->frees =
			    sqlite3_column_int64(st, 1) + s->pace.window_ms + 1;
		sqlite3_reset(st);
	}
	if (b->used < s->pace.messaging_limit)
		atomic_store(&s->b_held, 0); /* free again: nothing waits */
	return 0;
}

/* Is phone's customer service window open at now? 1, 0, -1. */
static int window_open(wa_sq_store *s, const char *phone, int64_t now,
                       char *err, size_t err_len)
{
	sqlite3_stmt *st = ps(s, P_OPEN, err, err_len);
	int rc, open = 0;

	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, phone);
	rc = wa_sq_step_row(s, st, "pacing", err, err_len);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		int64_t last = sqlite3_column_int64(st, 0);

		open = last > 0 && last > now - WA_SERVICE_WINDOW_MS;
		sqlite3_reset(st);
	}
	return open;
}

/* When c may go: 0 now (with *counted when it spends budget), else the
 * time to move it to; -1 on error. */
static int64_t judge(wa_sq_store *s, const pick_cand *c, int64_t now,
                     budget_state *b, int64_t *counted, bool *hold, char *err,
                     size_t err_len)
{
	sqlite3_stmt *st;
	int64_t lane_next = 0, lane_counted = 0;
	int blocked, rc;

	*counted = 0;
	*hold = false;
	if (!s->pace.per_recipient && s->pace.messaging_limit <= 0)
		return 0;
	if (!(st = ps(s, P_LANE_GET, err, err_len)))
		return -1;
	wa_sq_bind_str(st, 1, c->phone);
	rc = wa_sq_step_row(s, st, "pacing", err, err_len);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		lane_next = sqlite3_column_int64(st, 0);
		lane_counted = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	}
	if (!s->pace.per_recipient) {
		blocked = 0;
		lane_next = 0;
	} else {
		if (!(st = ps(s, P_BLOCKED, err, err_len)))
			return -1;
		wa_sq_bind_str(st, 1, c->phone);
		sqlite3_bind_int64(st, 2, c->rowid);
		if (wa_sq_step_row(s, st, "pacing", err, err_len) < 0)
			return -1;
		blocked = sqlite3_column_int(st, 0);
		sqlite3_reset(st);
	}
	if (blocked) { /* the earlier message's outcome brings it back */
		int64_t at = wa_store_pace_hold_until(now, c->created);

		*hold = true;
		return at > lane_next ? at : lane_next;
	}
	if (lane_next > now)
		return lane_next;
	if (s->pace.messaging_limit <= 0 ||
	    (lane_counted > 0 && lane_counted > now - s->pace.window_ms))
		return 0;
	rc = window_open(s, c->phone, now, err, err_len);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return 0;
	if (b->used < s->pace.messaging_limit) {
		b->used++;
		if (!b->frees)
			b->frees = now + s->pace.window_ms + 1;
		*counted = now;
		return 0;
	}
	b->held++;
	return b->frees > now ? b->frees : wa_store_pace_recheck(&s->pace, now);
}

/* Read up to want due candidates after (*after_next, *after_rowid) into
 * c, moving the bound past them. Read before any is judged: judging may
 * move rows of the index the statement walks. */
static int read_cands(wa_sq_store *s, int64_t now_ms, size_t want,
                      int64_t *after_next, int64_t *after_rowid, pick_cand *c,
                      size_t *nc, char *err, size_t err_len)
{
	sqlite3_stmt *st = ps(s, P_CAND, err, err_len);
	int rc = SQLITE_DONE;

	*nc = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)want);
	sqlite3_bind_int64(st, 3, *after_next);
	sqlite3_bind_int64(st, 4, *after_rowid);
	while (*nc < want && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		c[*nc].rowid = sqlite3_column_int64(st, 0);
		c[*nc].next = sqlite3_column_int64(st, 1);
		wa_sq_col_copy(st, 2, c[*nc].phone, sizeof(c[*nc].phone));
		c[*nc].created = sqlite3_column_int64(st, 3);
		(*nc)++;
	}
	if (*nc < want && rc != SQLITE_DONE) {
		wa_sq_werr(s, "claim", err, err_len);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	if (*nc) {
		*after_next = c[*nc - 1].next;
		*after_rowid = c[*nc - 1].rowid;
	}
	return 0;
}

/* How many candidates to read for a claim that still wants k: k, and a
 * quarter more and 8 when the rules may turn some away. */
static size_t chunk(bool paced, size_t k)
{
	return paced ? k + k / 4 + 8 : k;
}

/* The claim's candidates are read a chunk at a time and judged; at most
 * max * 4 + 64 in all, so a backlog the rules hold back bounds the work
 * of one claim. Reading that bound at once cost a table row per
 * candidate, most of them never judged when nothing held them. */
int wa_sq_pace_pick(wa_sq_store *s, int64_t now_ms, size_t max, wa_sq_cand *out,
                    size_t *n, char *err, size_t err_len)
{
	bool paced = s->pace.per_recipient || s->pace.messaging_limit > 0;
	size_t left = max * 4 + 64, nc;
	int64_t after_next = INT64_MIN, after_rowid = INT64_MIN;
	pick_cand *c = NULL;
	budget_state b;
	int ret = -1;

	*n = 0;
	if (budget_load(s, now_ms, &b, err, err_len) < 0)
		return -1;
	if (!(c = calloc(chunk(paced, max), sizeof(*c)))) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	while (*n < max && left > 0) {
		size_t want = chunk(paced, max - *n);

		if (want > left)
			want = left;
		if (read_cands(s, now_ms, want, &after_next, &after_rowid, c,
		               &nc, err, err_len) < 0)
			goto out;
		left -= nc;
		for (size_t i = 0; i < nc && *n < max; i++) {
			int64_t counted, at;
			bool hold;

			at = judge(s, &c[i], now_ms, &b, &counted, &hold, err,
			           err_len);
			if (at < 0)
				goto out;
			if (at > 0) {
				if (push(s, c[i].rowid, at, hold, err,
				         err_len) < 0)
					goto out;
				continue;
			}
			out[*n].rowid = c[i].rowid;
			out[*n].next = c[i].next;
			out[*n].counted = counted;
			(*n)++;
		}
		if (nc < want)
			break; /* nothing more is due */
	}
	if (s->pace.messaging_limit > 0) {
		atomic_store(&s->b_used, b.used);
		atomic_fetch_add(&s->b_held, b.held);
		atomic_store(&s->b_frees, b.used ? b.frees : 0);
	}
	ret = 0;
out:
	free(c);
	return ret;
}

int wa_sq_pace_insert_held(wa_sq_store *s, const char *phone, char *err,
                           size_t err_len)
{
	sqlite3_stmt *st;
	int held;

	if (!s->pace.per_recipient)
		return 0;
	if (!(st = ps(s, P_BLOCKED, err, err_len)))
		return -1;
	wa_sq_bind_str(st, 1, phone);
	sqlite3_bind_int64(st, 2, INT64_MAX);
	if (wa_sq_step_row(s, st, "pacing", err, err_len) < 0)
		return -1;
	held = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return held;
}

int wa_sq_pace_claimed(wa_sq_store *s, const char *phone, int64_t now_ms,
                       int64_t counted, char *err, size_t err_len)
{
	sqlite3_stmt *st;
	int64_t gap = s->pace.per_recipient ? s->pace.interval_ms : 0;

	if (gap <= 0 && counted <= 0)
		return 0;
	if (!(st = ps(s, P_LANE_SET, err, err_len)))
		return -1;
	wa_sq_bind_str(st, 1, phone);
	sqlite3_bind_int64(st, 2, now_ms + gap);
	sqlite3_bind_int64(st, 3, counted);
	return wa_sq_step_done(s, st, "pacing lane", err, err_len);
}

int64_t wa_sq_late_requeue(wa_sq_store *s, const char *id,
                           const wa_status_change *c, char *err, size_t err_len)
{
	sqlite3_stmt *st = ps(s, P_LATE_GET, err, err_len);
	int64_t at;
	int rc, attempts;

	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, id);
	rc = wa_sq_step_row(s, st, "pacing", err, err_len);
	if (rc <= 0)
		return rc;
	attempts = sqlite3_column_int(st, 0);
	at = wa_store_late_retry_at(&s->pace, attempts,
	                            sqlite3_column_int64(st, 1), c->at_ms);
	sqlite3_reset(st);
	if (at <= 0)
		return 0;
	if (!(st = ps(s, P_LATE_SET, err, err_len)))
		return -1;
	wa_sq_bind_str(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	wa_sq_bind_str(st, 3, c->error);
	sqlite3_bind_int64(st, 4, c->at_ms);
	return wa_sq_step_done(s, st, "late retry", err, err_len) < 0 ? -1 : at;
}

/* Run pacing statement which on (?1 phone, ?2 a time). 0 or -1. */
static int phone_write(wa_sq_store *s, int which, const char *phone,
                       int64_t at_ms, const char *what, char *err,
                       size_t err_len)
{
	sqlite3_stmt *st = ps(s, which, err, err_len);

	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, phone);
	sqlite3_bind_int64(st, 2, at_ms);
	return wa_sq_step_done(s, st, what, err, err_len);
}

int wa_sq_pace_finished(wa_sq_store *s, const char *phone, int64_t at_ms,
                        char *err, size_t err_len)
{
	if (!s->pace.per_recipient || s->pace.interval_ms <= 0)
		return 0;
	return phone_write(s, P_LANE_DONE, phone, at_ms + s->pace.interval_ms,
	                   "pacing lane", err, err_len);
}

int wa_sq_pace_pull(wa_sq_store *s, const char *phone, int64_t now_ms,
                    char *err, size_t err_len)
{
	if (!s->pace.per_recipient)
		return 0;
	return phone_write(s, P_PULL, phone, now_ms + s->pace.interval_ms,
	                   "pacing pull", err, err_len);
}
