/* pg_pace.c - the PostgreSQL store's claim rules per recipient (issue 14):
 * a phone's messages in the order accepted, one at a time, at least the
 * interval apart, and the tier budget, over all instances
 *
 * The candidates are locked (FOR UPDATE SKIP LOCKED) with, per row, whether
 * its phone has another message in flight or an earlier one queued (a
 * probe of messages_phone_pending each), its recipient's next allowed time
 * and budget count, and its contact's last inbound time. What may go is
 * claimed in the same transaction; what must wait is moved to when it may.
 * Two instances never claim two messages of one phone: the earlier message
 * stays queued or sending (and blocks the later one) in every snapshot
 * until its outcome is committed. The budget is decided under a
 * transaction-scoped advisory lock, so instances do not overspend it. */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Held while deciding the tier budget; any constant unique to it (not
 * MIGRATE_LOCK's ...809 nor WA_PG_PURGE_LOCK's ...810: sharing the purge's
 * key would make a retention round skip while a claim decides and a claim
 * wait out a purge). */
#define BUDGET_LOCK "7523094288207667811"

static const char cand_sql[] =
    "SELECT m.id, m.phone, ($3::boolean AND (EXISTS (SELECT 1 FROM"
    "  messages e WHERE e.phone = m.phone AND e.status IN"
    "  ('queued','sending') AND e.status = 'sending' AND e.id <> m.id)"
    "  OR EXISTS (SELECT 1 FROM messages e WHERE e.phone = m.phone"
    "  AND e.status IN ('queued','sending') AND e.status = 'queued'"
    "  AND e.seq < m.seq))),"
    " coalesce(r.next_ok_ms, 0), coalesce(r.counted_ms, 0),"
    " coalesce(c.last_inbound_ms, 0), m.created_ms"
    " FROM (SELECT id, phone, seq, next_attempt_ms, created_ms FROM messages"
    "  WHERE status = 'queued' AND next_attempt_ms <= $1"
    "  ORDER BY next_attempt_ms, seq LIMIT $2 FOR UPDATE SKIP LOCKED) AS m"
    " LEFT JOIN wadispatch_recipients r ON r.phone = m.phone"
    " LEFT JOIN contacts c ON c.phone = m.phone"
    " ORDER BY m.next_attempt_ms, m.seq";

void wa_pg_set_pacing(wa_store *st, const wa_store_pacing *p)
{
	wa_pg_store *s = st->impl;

	s->pace = *p;
}

void wa_pg_budget(wa_store *st, wa_store_budget *out)
{
	wa_pg_store *s = st->impl;

	memset(out, 0, sizeof(*out));
	out->limit = s->pace.messaging_limit;
	out->used = atomic_load(&s->b_used);
	out->held = atomic_load(&s->b_held);
	out->frees_ms = atomic_load(&s->b_frees);
}

bool wa_pg_pace_on(const wa_pg_store *s)
{
	return s->pace.per_recipient || s->pace.messaging_limit > 0;
}

/* A growing text[] literal: {"a","b"} (ids and phones need no escapes,
 * but quotes and backslashes are escaped anyway). */
typedef wa_pg_arr arr;

static void arr_add(arr *a, const char *v)
{
	size_t need = a->n + strlen(v) * 2 + 8;
	char sep;

	if (a->oom)
		return;
	if (need > a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 256;
		char *nb;

		while (ncap < need)
			ncap *= 2;
		if (!(nb = realloc(a->b, ncap))) {
			a->oom = true;
			return;
		}
		a->b = nb;
		a->cap = ncap;
	}
	sep = a->n == 0 ? '{' : ',';
	a->b[a->n++] = sep;
	a->b[a->n++] = '"';
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			a->b[a->n++] = '\\';
		a->b[a->n++] = *v;
	}
	a->b[a->n++] = '"';
	a->b[a->n] = 0;
}

static void arr_add_i64(arr *a, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	arr_add(a, num);
}

static const char *arr_str(arr *a)
{
	if (a->n == 0)
		return "{}";
	if (a->n + 2 > a->cap) { /* arr_add always leaves room */
		a->oom = true;
		return "{}";
	}
	a->b[a->n] = '}';
	a->b[a->n + 1] = 0;
	return a->b;
}

typedef struct budget_state {
	long used, held;
	int64_t frees;
} budget_state;

static int budget_load(wa_pg_store *s, int64_t now, budget_state *b, char *err,
                       size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	memset(b, 0, sizeof(*b));
	if (s->pace.messaging_limit <= 0)
		return 0;
	r = wa_pg_write(s, "SELECT pg_advisory_xact_lock(" BUDGET_LOCK ")",
	                NULL, "budget lock", err, err_len);
	if (!r)
		return -1;
	PQclear(r);
	wa_pg_p_i64(&p, now - s->pace.window_ms);
	r = wa_pg_write(s,
	                "SELECT count(*), coalesce(min(counted_ms), 0)"
	                " FROM wadispatch_recipients WHERE counted_ms > $1",
	                &p, "budget", err, err_len);
	if (!r)
		return -1;
	b->used = (long)wa_pg_i64(r, 0, 0);
	if (b->used)
		b->frees = wa_pg_i64(r, 0, 1) + s->pace.window_ms + 1;
	PQclear(r);
	if (b->used < s->pace.messaging_limit)
		atomic_store(&s->b_held, 0);
	return 0;
}

/* Row i of the candidates: 0 it may go (*counted when it spends budget),
 * else when it may. */
static int64_t judge(wa_pg_store *s, PGresult *r, int i, int64_t now,
                     budget_state *b, int64_t *counted, bool *hold)
{
	bool blocked = PQgetvalue(r, i, 2)[0] == 't';
	int64_t lane_next = wa_pg_i64(r, i, 3),
	        lane_counted = wa_pg_i64(r, i, 4);
	int64_t last_in = wa_pg_i64(r, i, 5);

	*counted = 0;
	*hold = false;
	if (!s->pace.per_recipient)
		lane_next = 0;
	if (blocked) { /* the earlier message's outcome brings it back */
		int64_t at = wa_store_pace_hold_until(now, wa_pg_i64(r, i, 6));

		*hold = true;
		return at > lane_next ? at : lane_next;
	}
	if (lane_next > now)
		return lane_next;
	if (s->pace.messaging_limit <= 0 ||
	    (lane_counted > 0 && lane_counted > now - s->pace.window_ms) ||
	    (last_in > 0 && last_in > now - WA_SERVICE_WINDOW_MS))
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

int wa_pg_pace_pick(wa_pg_store *s, int64_t now_ms, size_t max,
                    wa_pg_pick *pick, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	arr push_id = {0}, push_at = {0}, push_hold = {0};
	budget_state b;
	PGresult *r;
	int rows, ret = -1;

	memset(pick, 0, sizeof(*pick));
	if (budget_load(s, now_ms, &b, err, err_len) < 0)
		return -1;
	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_i64(&p, (int64_t)(max * 4 + 64));
	wa_pg_p_str(&p, s->pace.per_recipient ? "true" : "false");
	r = wa_pg_write(s, cand_sql, &p, "claim", err, err_len);
	if (!r)
		return -1;
	rows = PQntuples(r);
	pick->id = calloc(max ? max : 1, sizeof(*pick->id));
	pick->counted = calloc(max ? max : 1, sizeof(*pick->counted));
	if (!pick->id || !pick->counted)
		goto oom;
	for (int i = 0; i < rows && pick->n < max; i++) {
		int64_t counted;
		bool hold;
		int64_t at = judge(s, r, i, now_ms, &b, &counted, &hold);

		if (at > 0) {
			arr_add(&push_id, PQgetvalue(r, i, 0));
			arr_add_i64(&push_at, at);
			arr_add(&push_hold, hold ? "t" : "f");
			continue;
		}
		snprintf(pick->id[pick->n], WA_ID_MAX, "%s",
		         PQgetvalue(r, i, 0));
		pick->counted[pick->n] = counted;
		arr_add(&pick->ids, PQgetvalue(r, i, 0));
		pick->n++;
	}
	PQclear(r);
	r = NULL;
	if (push_id.oom || push_at.oom || push_hold.oom || pick->ids.oom)
		goto oom;
	if (push_id.n) {
		memset(&p, 0, sizeof(p));
		wa_pg_p_str(&p, arr_str(&push_id));
		wa_pg_p_str(&p, arr_str(&push_at));
		wa_pg_p_str(&p, arr_str(&push_hold));
		r = wa_pg_write(
		    s,
		    "UPDATE messages AS m SET next_attempt_ms = v.t,"
		    " held = v.h FROM unnest($1::text[], $2::bigint[],"
		    " $3::boolean[]) AS v(id, t, h) WHERE m.id = v.id"
		    " AND m.status = 'queued'",
		    &p, "pacing move", err, err_len);
		if (!r)
			goto out;
		PQclear(r);
	}
	if (s->pace.messaging_limit > 0) {
		atomic_store(&s->b_used, b.used);
		atomic_fetch_add(&s->b_held, b.held);
		atomic_store(&s->b_frees, b.used ? b.frees : 0);
	}
	ret = 0;
	goto out;
oom:
	PQclear(r);
	snprintf(err, err_len, "Out of memory.");
out:
	free(push_id.b);
	free(push_at.b);
	free(push_hold.b);
	if (ret < 0)
		wa_pg_pick_free(pick);
	return ret;
}

const char *wa_pg_pick_ids(wa_pg_pick *pick)
{
	return arr_str(&pick->ids);
}

void wa_pg_pick_free(wa_pg_pick *pick)
{
	free(pick->id);
	free(pick->counted);
	free(pick->ids.b);
	memset(pick, 0, sizeof(*pick));
}

int wa_pg_pace_claimed(wa_pg_store *s, const wa_pg_pick *pick,
                       const wa_message_rec *recs, size_t n, int64_t now_ms,
                       char *err, size_t err_len)
{
	int64_t gap = s->pace.per_recipient ? s->pace.interval_ms : 0;
	arr phones = {0}, counts = {0};
	wa_pg_params p = {0};
	PGresult *r;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		int64_t counted = 0;

		for (size_t k = 0; k < pick->n; k++)
			if (strcmp(pick->id[k], recs[i].id) == 0)
				counted = pick->counted[k];
		if (gap <= 0 && counted <= 0)
			continue;
		arr_add(&phones, recs[i].phone);
		arr_add_i64(&counts, counted);
		any = true;
	}
	if (!any || phones.oom || counts.oom) {
		free(phones.b);
		free(counts.b);
		if (any) {
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
		return 0;
	}
	wa_pg_p_str(&p, arr_str(&phones));
	wa_pg_p_str(&p, arr_str(&counts));
	wa_pg_p_i64(&p, now_ms + gap);
	r = wa_pg_write(s,
	                "INSERT INTO wadispatch_recipients AS r"
	                " (phone, next_ok_ms, counted_ms)"
	                " SELECT DISTINCT ON (v.p) v.p, $3, v.c FROM"
	                " unnest($1::text[], $2::bigint[]) AS v(p, c)"
	                " ORDER BY v.p, v.c DESC"
	                " ON CONFLICT (phone) DO UPDATE SET"
	                " next_ok_ms = excluded.next_ok_ms,"
	                " counted_ms = greatest(r.counted_ms,"
	                " excluded.counted_ms)",
	                &p, "pacing lane", err, err_len);
	free(phones.b);
	free(counts.b);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* With per-recipient order on, run sql on ($1 message id, $2 a time); the
 * result is not needed. 0 or -1. */
static int phone_write(wa_pg_store *s, const char *sql, const char *id,
                       int64_t at_ms, const char *what, char *err,
                       size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	if (!s->pace.per_recipient)
		return 0;
	wa_pg_p_str(&p, id);
	wa_pg_p_i64(&p, at_ms);
	if (!(r = wa_pg_write(s, sql, &p, what, err, err_len)))
		return -1;
	PQclear(r);
	return 0;
}

/* The message id is queued again, before later messages of its phone:
 * hold those (they wait for its outcome, which brings the next back). On
 * PostgreSQL this is what keeps two of the phone's messages from going at
 * once when another instance claims the next one in the same instant: a
 * claim whose snapshot still had id as sent either locked that row first
 * (this statement then waits for the claim's commit and finds it sending:
 * id waits for it) or meets the row updated here, and PostgreSQL rechecks
 * the claim's due condition on the new version, which no longer holds. */
static const char hold_later_sql[] =
    "UPDATE messages AS x SET held = true, next_attempt_ms ="
    " greatest(x.next_attempt_ms, $2) FROM messages AS a"
    " WHERE a.id = $1 AND x.phone = a.phone AND x.status IN"
    " ('queued','sending') AND x.status = 'queued' AND x.seq > a.seq";

int64_t wa_pg_late_requeue(wa_pg_store *s, const char *id,
                           const wa_status_change *c, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	char detail[WA_ERR_MAX];
	PGresult *r;
	int64_t at;

	wa_pg_p_str(&p, id);
	r = wa_pg_write(s,
	                "SELECT attempts, expires_ms FROM messages"
	                " WHERE id = $1",
	                &p, "late retry", err, err_len);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	at = wa_store_late_retry_at(&s->pace, (int)wa_pg_i64(r, 0, 0),
	                            wa_pg_i64(r, 0, 1), c->at_ms);
	PQclear(r);
	if (at <= 0)
		return 0;
	snprintf(detail, sizeof(detail), "late failure, retrying: %s",
	         c->error ? c->error : "");
	memset(&p, 0, sizeof(p));
	wa_pg_change_params(s, &p, id, c->at_ms, 0, WA_MSG_QUEUED, detail);
	wa_pg_p_i64(&p, at);
	wa_pg_p_str(&p, c->error);
	r = wa_pg_write(s,
	                "WITH u AS (UPDATE messages SET status = $4,"
	                " updated_ms = $2, next_attempt_ms = $8,"
	                " last_error = $9::text, provider_message_id = NULL,"
	                " lease_until_ms = 0 WHERE id = $1"
	                " AND $3::bigint = 0" WA_PG_CHANGE_TAIL,
	                &p, "late retry", err, err_len);
	if (!r)
		return -1;
	PQclear(r);
	return phone_write(s, hold_later_sql, id, c->at_ms + WA_PACE_HOLD_MS,
	                   "late retry hold", err, err_len) < 0
	           ? -1
	           : at;
}

int wa_pg_pace_pull(wa_pg_store *s, const char *id, int64_t now_ms, char *err,
                    size_t err_len)
{
	return phone_write(
	    s,
	    "UPDATE messages AS m SET next_attempt_ms ="
	    " greatest($2, coalesce(m.send_at_ms, 0)),"
	    " held = false FROM (SELECT x.id FROM messages x"
	    " WHERE x.phone = (SELECT phone FROM messages"
	    " WHERE id = $1) AND x.status IN ('queued','sending')"
	    " AND x.status = 'queued' ORDER BY x.seq LIMIT 1) AS f"
	    " WHERE m.id = f.id AND m.held",
	    id, now_ms + s->pace.interval_ms, "pacing pull", err, err_len);
}
