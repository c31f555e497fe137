/* pg_write.c - the PostgreSQL store's write side (writer thread only): one
 * transaction per group commit on the write connection. Inserts wait for
 * the commit (pg_batch.c); every other operation is one statement (data-
 * modifying CTEs write its history and outbox rows with it), sent after
 * the inserts waiting before it. */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

static wa_pg_store *S(wa_store *st)
{
	return st->impl;
}

/* Connect the write connection when it is lost, at most once per backoff
 * step (100 ms doubling to 5 s). */
static int ensure_conn(wa_pg_store *s, char *err, size_t err_len)
{
	char e[WA_ERR_MAX];
	int64_t now;

	if (s->w && PQstatus(s->w) == CONNECTION_OK)
		return 0;
	now = wa_mono_ms();
	if (now < s->retry_mono_ms) {
		pthread_mutex_lock(&s->fault_mu);
		snprintf(err, err_len,
		         "The database connection is lost (reconnecting): %s",
		         s->fault);
		pthread_mutex_unlock(&s->fault_mu);
		return -1;
	}
	PQfinish(s->w);
	s->w = wa_pg_connect(s->conninfo, e, sizeof(e));
	if (!s->w) {
		s->backoff_ms =
		    s->backoff_ms ? s->backoff_ms * 2 : WA_PG_BACKOFF_MIN_MS;
		if (s->backoff_ms > WA_PG_BACKOFF_MAX_MS)
			s->backoff_ms = WA_PG_BACKOFF_MAX_MS;
		s->retry_mono_ms = now + s->backoff_ms;
		wa_pg_set_fault(s, e);
		snprintf(err, err_len, "%s", e);
		return -1;
	}
	s->backoff_ms = 0;
	s->retry_mono_ms = 0;
	wa_pg_set_fault(s, NULL);
	return 0;
}

/* Run a write statement (pg_wx.c). */
static PGresult *wx(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                    const char *what, char *err, size_t err_len)
{
	return wa_pg_write(s, sql, p, what, err, err_len);
}

static long changed(PGresult *r)
{
	return strtol(PQcmdTuples(r), NULL, 10);
}

/* Nothing goes out yet: BEGIN travels with the transaction's first
 * statement or its commit. */
int wa_pg_begin(wa_store *st, char *err, size_t err_len)
{
	wa_pg_store *s = S(st);

	if (ensure_conn(s, err, err_len) < 0)
		return -1;
	s->in_tx = true;
	s->began = false;
	s->n_pending = 0;
	s->n_dfin = 0;
	return 0;
}

int wa_pg_commit(wa_store *st, char *err, size_t err_len)
{
	wa_pg_store *s = S(st);
	int rc = 0;

	if (!s->w || PQstatus(s->w) != CONNECTION_OK) {
		snprintf(err, err_len, "The database connection is lost.");
		rc = -1;
	} else if (s->began || s->n_pending || s->n_dfin) {
		/* (else nothing was written: no round trip) */
		rc = wa_pg_flush(s, true, NULL, NULL, NULL, NULL, err, err_len);
	}
	s->in_tx = false;
	s->began = false;
	if (rc == 0 && atomic_load(&s->write_down))
		wa_pg_set_fault(s, NULL);
	return rc;
}

void wa_pg_rollback(wa_store *st)
{
	wa_pg_store *s = S(st);

	s->n_pending = 0;
	s->n_dfin = 0;
	s->began = false;
	s->in_tx = false;
	if (!s->w)
		return;
	if (PQpipelineStatus(s->w) != PQ_PIPELINE_OFF) {
		/* a pipeline left half read: start over on a new connection */
		PQfinish(s->w);
		s->w = NULL;
		return;
	}
	if (PQstatus(s->w) == CONNECTION_OK &&
	    PQtransactionStatus(s->w) != PQTRANS_IDLE)
		PQclear(PQexec(s->w, "ROLLBACK"));
}

typedef struct claimed {
	int64_t next, seq;
	int row;
} claimed;

static int claimed_cmp(const void *a, const void *b)
{
	const claimed *x = a, *y = b;

	if (x->next != y->next)
		return x->next < y->next ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* While an instance has paused the provider (wadispatch_pause), no
 * instance claims until its next probe is due. */
#define NOT_PAUSED                                                             \
	" AND NOT EXISTS (SELECT 1 FROM wadispatch_pause WHERE until_ms > $1)"

/* One statement: pick due rows no other instance holds (SKIP LOCKED; the
 * MATERIALIZED CTEs keep each LIMIT where it is), mark them sending with a
 * new fencing token and this instance as owner, and write their history.
 * Queued and expired-lease rows are taken apart, each in its partial
 * index's order (a backlog is never sorted whole), then merged. */
#define CLAIM_TAIL                                                             \
	" l AS MATERIALIZED (SELECT id, next_attempt_ms AS n, seq AS s"        \
	"  FROM messages WHERE status = 'sending' AND lease_until_ms < "       \
	"$1" NOT_PAUSED                                                        \
	"  ORDER BY lease_until_ms LIMIT $2 FOR UPDATE SKIP LOCKED),"          \
	" c AS MATERIALIZED (SELECT id AS cid FROM (SELECT * FROM q"           \
	"  UNION ALL SELECT * FROM l) AS x ORDER BY n, s LIMIT $2),"           \
	" u AS (UPDATE messages SET status = 'sending',"                       \
	"  attempts = attempts + 1, lease_until_ms = $3, updated_ms = $1,"     \
	"  held = false,"                                                      \
	"  claim_seq = nextval('wadispatch_claim_seq'), claimed_by = $4"       \
	"  FROM c WHERE id = c.cid RETURNING " WA_PG_MSG_COLS ", seq),"        \
	" h AS (INSERT INTO history (message_id, status, at_ms, detail)"       \
	"  SELECT id, 'sending', $1, 'attempt ' || attempts FROM u)"           \
	" SELECT * FROM u"

/* With pacing on (pg_pace.c): the queued rows are those the rules let
 * go, already locked by this transaction ($5, a text[]). */
static const char claim_paced_sql[] =
    "WITH q AS MATERIALIZED (SELECT id, next_attempt_ms AS n, seq AS s"
    "  FROM messages WHERE id = ANY($5::text[]) AND status = "
    "'queued'" NOT_PAUSED ")," CLAIM_TAIL;

static const char claim_sql[] =
    "WITH q AS MATERIALIZED (SELECT id, next_attempt_ms AS n, seq AS s"
    "  FROM messages WHERE status = 'queued' AND next_attempt_ms <= "
    "$1" NOT_PAUSED "  ORDER BY next_attempt_ms, seq LIMIT $2 FOR UPDATE SKIP "
    "LOCKED)," CLAIM_TAIL;

static int claim_rows(wa_pg_store *s, int64_t now_ms, int64_t lease_until_ms,
                      size_t max, wa_message_rec *out, size_t *n, char *err,
                      size_t err_len);

void wa_pg_set_rate(wa_store *st, const char *provider, double rate,
                    double burst)
{
	wa_pg_store *s = S(st);

	snprintf(s->rate_provider, sizeof(s->rate_provider), "%s",
	         provider ? provider : "");
	s->rate = rate > 0 ? rate : 0;
	s->burst = burst >= 1 ? burst : 1;
}

/* Refill the shared bucket up to now and lock its row until the
 * transaction ends; how many whole tokens it holds (at most max), or -1. */
static long rate_take(wa_pg_store *s, int64_t now_ms, size_t max, char *err,
                      size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;
	double tokens;
	char num[2][32];

	snprintf(num[0], sizeof(num[0]), "%.6f", s->burst);
	snprintf(num[1], sizeof(num[1]), "%.6f", s->rate);
	wa_pg_p_str(&p, s->rate_provider);
	wa_pg_p_str(&p, num[0]);
	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_str(&p, num[1]);
	r = wx(s,
	       "INSERT INTO wadispatch_rate AS r (provider, tokens, updated_ms)"
	       " VALUES ($1, $2::float8, $3) ON CONFLICT (provider) DO UPDATE"
	       " SET tokens = least($2::float8, r.tokens"
	       "  + greatest($3 - r.updated_ms, 0) * $4::float8 / 1000.0),"
	       " updated_ms = greatest(r.updated_ms, $3) RETURNING tokens",
	       &p, "rate budget", err, err_len);
	if (!r)
		return -1;
	tokens = strtod(PQgetvalue(r, 0, 0), NULL);
	PQclear(r);
	if (tokens < 1)
		return 0;
	return tokens >= (double)max ? (long)max : (long)tokens;
}

static int rate_spend(wa_pg_store *s, size_t n, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	if (n == 0)
		return 0;
	wa_pg_p_str(&p, s->rate_provider);
	wa_pg_p_i64(&p, (int64_t)n);
	r = wx(s,
	       "UPDATE wadispatch_rate SET tokens = tokens - $2"
	       " WHERE provider = $1",
	       &p, "rate budget", err, err_len);
	PQclear(r);
	return r ? 0 : -1;
}

int wa_pg_claim(wa_store *st, int64_t now_ms, int64_t lease_until_ms,
                size_t max, wa_message_rec *out, size_t *n, char *err,
                size_t err_len)
{
	wa_pg_store *s = S(st);
	int rc;

	*n = 0;
	if (s->rate > 0) { /* the budget all instances share */
		long grant = rate_take(s, now_ms, max, err, err_len);

		if (grant <= 0)
			return grant < 0 ? -1 : 0;
		max = (size_t)grant;
	}
	rc = claim_rows(s, now_ms, lease_until_ms, max, out, n, err, err_len);
	if (rc == 0 && s->rate > 0 && rate_spend(s, *n, err, err_len) < 0) {
		while (*n > 0)
			wa_message_rec_free(&out[--(*n)]);
		return -1;
	}
	return rc;
}

static int claim_rows(wa_pg_store *s, int64_t now_ms, int64_t lease_until_ms,
                      size_t max, wa_message_rec *out, size_t *n, char *err,
                      size_t err_len)
{
	wa_pg_params p = {0};
	wa_pg_pick pick = {0};
	claimed *order = NULL;
	PGresult *r;
	int rows;

	*n = 0;
	if (max == 0)
		return 0;
	if (wa_pg_pace_on(s) &&
	    wa_pg_pace_pick(s, now_ms, max, &pick, err, err_len) < 0)
		return -1;
	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_i64(&p, (int64_t)max);
	wa_pg_p_i64(&p, lease_until_ms);
	wa_pg_p_str(&p, s->instance);
	if (wa_pg_pace_on(s))
		wa_pg_p_str(&p, wa_pg_pick_ids(&pick));
	r = wx(s, wa_pg_pace_on(s) ? claim_paced_sql : claim_sql, &p, "claim",
	       err, err_len);
	if (!r) {
		wa_pg_pick_free(&pick);
		return -1;
	}
	rows = PQntuples(r);
	if (rows > (int)max)
		rows = (int)max;
	order = calloc(rows ? (size_t)rows : 1, sizeof(*order));
	if (!order)
		goto oom;
	for (int i = 0; i < rows; i++) {
		order[i].next = wa_pg_i64(r, i, 15);
		order[i].seq = wa_pg_i64(r, i, WA_PG_N_MSG_COLS);
		order[i].row = i;
	}
	qsort(order, (size_t)rows, sizeof(*order), claimed_cmp);
	for (int i = 0; i < rows; i++) {
		if (wa_pg_fill_rec(r, order[i].row, &out[*n]) < 0)
			goto oom;
		(*n)++;
	}
	free(order);
	PQclear(r);
	if (wa_pg_pace_on(s) &&
	    wa_pg_pace_claimed(s, &pick, out, *n, now_ms, err, err_len) < 0) {
		wa_pg_pick_free(&pick);
		while (*n > 0)
			wa_message_rec_free(&out[--(*n)]);
		return -1;
	}
	wa_pg_pick_free(&pick);
	return 0;
oom:
	while (*n > 0)
		wa_message_rec_free(&out[--(*n)]);
	free(order);
	PQclear(r);
	wa_pg_pick_free(&pick);
	snprintf(err, err_len, "Out of memory.");
	return -1;
}

/* Run a change; its count of changed rows, or -1. */
static long run_change(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                       const char *what, char *err, size_t err_len)
{
	PGresult *r = wx(s, sql, p, what, err, err_len);
	long n;

	if (!r)
		return -1;
	n = (long)wa_pg_i64(r, 0, 0);
	PQclear(r);
	return n;
}

/* A finish inside a transaction whose caller takes the result later is
 * sent with the commit's pipeline (pg_batch.c). */
int wa_pg_finish(wa_store *st, const char *id, const wa_outcome *o, char *err,
                 size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	const char *sql;
	long n;

	if (o->result && s->in_tx)
		return wa_pg_defer_finish(s, id, o, err, err_len);
	sql = wa_pg_finish_stmt(s, id, o, &p, err, err_len);
	if (!sql)
		return -1;
	n = run_change(s, sql, &p, "finish", err, err_len);
	if (n < 0)
		return -1;
	/* not sending, not found, or a newer claim holds it (fenced) */
	return n == 0 ? 1 : 0;
}

/* The current status of id, its row locked until the transaction ends:
 * 0, 1 not found, -1 error. */
static int lock_state(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                      char *id, wa_msg_status *status, char *err,
                      size_t err_len)
{
	PGresult *r = wx(s, sql, p, "lookup", err, err_len);
	int v;

	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	if (id)
		wa_pg_copy(r, 0, 0, id, WA_ID_MAX);
	v = wa_pg_status(r, 0, 1);
	*status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
	PQclear(r);
	return 0;
}

int wa_pg_cancel(wa_store *st, const char *id, int64_t now_ms,
                 wa_cancel_kind *kind, wa_msg_status *status, char *err,
                 size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	wa_msg_status cur = WA_MSG_QUEUED;
	int rc;

	wa_pg_p_str(&p, id);
	rc = lock_state(s,
	                "SELECT id, status FROM messages WHERE id = $1"
	                " FOR UPDATE",
	                &p, NULL, &cur, err, err_len);
	if (rc < 0)
		return -1;
	*status = cur;
	if (rc == 1) {
		*kind = WA_CANCEL_NOT_FOUND;
		return 0;
	}
	if (!wa_msg_status_can_move(cur, WA_MSG_CANCELED)) {
		*kind = WA_CANCEL_TOO_LATE;
		return 0;
	}
	memset(&p, 0, sizeof(p));
	wa_pg_change_params(s, &p, id, now_ms, 0, WA_MSG_CANCELED, "");
	if (run_change(s,
	               "WITH u AS (UPDATE messages SET status = $4,"
	               " updated_ms = $2 WHERE id = $1 AND $3::bigint = "
	               "0" WA_PG_CHANGE_TAIL,
	               &p, "cancel", err, err_len) < 0 ||
	    wa_pg_pace_pull(s, id, now_ms, err, err_len) < 0)
		return -1;
	*kind = WA_CANCEL_DONE;
	*status = WA_MSG_CANCELED;
	return 0;
}

int wa_pg_apply_status(wa_store *st, const wa_status_change *c,
                       wa_apply_kind *kind, char *message_id, char *err,
                       size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	char id[WA_ID_MAX];
	wa_msg_status cur;
	int rc;
	bool reportable =
	    c->status == WA_MSG_SENT || c->status == WA_MSG_DELIVERED ||
	    c->status == WA_MSG_READ || c->status == WA_MSG_FAILED;

	*kind = WA_APPLY_UNKNOWN;
	if (!c->provider || !c->provider_message_id || !*c->provider_message_id)
		return 0;
	wa_pg_p_str(&p, c->provider);
	wa_pg_p_str(&p, c->provider_message_id);
	rc = lock_state(s,
	                "SELECT id, status FROM messages WHERE provider = $1"
	                " AND provider_message_id = $2 ORDER BY seq DESC"
	                " LIMIT 1 FOR UPDATE",
	                &p, id, &cur, err, err_len);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (message_id)
		snprintf(message_id, WA_ID_MAX, "%s", id);
	if (!reportable || !wa_msg_status_can_move(cur, c->status)) {
		*kind = WA_APPLY_STALE;
		return 0;
	}
	if (c->status == WA_MSG_FAILED && c->retryable) {
		int64_t at = wa_pg_late_requeue(s, id, c, err, err_len);

		if (at < 0)
			return -1;
		if (at > 0) { /* back in the queue, in its place */
			*kind = WA_APPLY_APPLIED;
			return 0;
		}
	}
	memset(&p, 0, sizeof(p));
	wa_pg_change_params(s, &p, id, c->at_ms, 0, c->status,
	                    c->error ? c->error : "");
	wa_pg_p_str(&p, c->status == WA_MSG_FAILED ? c->error : NULL);
	if (run_change(s,
	               "WITH u AS (UPDATE messages SET status = $4,"
	               " updated_ms = $2, last_error = coalesce($8::text,"
	               " last_error) WHERE id = $1 AND $3::bigint = "
	               "0" WA_PG_CHANGE_TAIL,
	               &p, "status update", err, err_len) < 0)
		return -1;
	*kind = WA_APPLY_APPLIED;
	return 0;
}

/* Only this instance's claims: another instance's are its own to give
 * back (or to expire). */
long wa_pg_release_all(wa_store *st, int64_t now_ms, char *err, size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};

	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_str(&p, s->instance);
	return run_change(
	    s,
	    "WITH u AS (UPDATE messages SET status = 'queued',"
	    " attempts = greatest(attempts - 1, 0), next_attempt_ms = $1,"
	    " lease_until_ms = 0, updated_ms = $1"
	    " WHERE status = 'sending' AND claimed_by = $2 RETURNING id),"
	    " h AS (INSERT INTO history (message_id, status, at_ms, detail)"
	    "  SELECT id, 'queued', $1, 'released' FROM u)"
	    " SELECT count(*) FROM u",
	    &p, "release", err, err_len);
}

void wa_pg_set_outbox(wa_store *st, bool enabled)
{
	atomic_store(&S(st)->outbox, enabled);
}

static int ob_cmp(const void *a, const void *b)
{
	const wa_outbox_event *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Per message only its oldest event, and only when no instance holds a
 * lease on it: events of one message go out one at a time, in order. */
int wa_pg_outbox_claim(wa_store *st, int64_t now_ms, int64_t lease_until_ms,
                       size_t max, wa_outbox_event *out, size_t *n, char *err,
                       size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	PGresult *r;
	int v;

	*n = 0;
	if (max == 0)
		return 0;
	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_i64(&p, (int64_t)max);
	wa_pg_p_i64(&p, lease_until_ms);
	r = wx(
	    s,
	    "WITH c AS MATERIALIZED (SELECT seq AS cseq FROM outbox AS o"
	    "  WHERE next_attempt_ms <= $1 AND lease_until_ms < $1"
	    "  AND seq = CASE WHEN o.message_id IS NOT NULL"
	    "   THEN (SELECT min(seq) FROM outbox AS f"
	    "    WHERE f.message_id = o.message_id)"
	    /* two-way messaging: other events are ordered by event_key */
	    "   ELSE (SELECT min(seq) FROM outbox AS f"
	    "    WHERE f.event_key = o.event_key) END"
	    "  ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)"
	    " UPDATE outbox SET lease_until_ms = $3 FROM c WHERE seq = c.cseq"
	    " RETURNING seq, coalesce(message_id, event_key), external_id,"
	    " status, provider, provider_message_id, error, occurred_ms,"
	    " attempts, event, body, (SELECT campaign_id FROM messages AS m"
	    " WHERE m.id = outbox.message_id)",
	    &p, "outbox claim", err, err_len);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		wa_outbox_event *e = &out[(*n)++];

		memset(e, 0, sizeof(*e));
		e->seq = wa_pg_i64(r, i, 0);
		wa_pg_copy(r, i, 1, e->message_id, sizeof(e->message_id));
		wa_pg_copy(r, i, 2, e->external_id, sizeof(e->external_id));
		v = wa_pg_status(r, i, 3);
		e->status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
		wa_pg_copy(r, i, 4, e->provider, sizeof(e->provider));
		wa_pg_copy(r, i, 5, e->provider_message_id,
		           sizeof(e->provider_message_id));
		wa_pg_copy(r, i, 6, e->error, sizeof(e->error));
		e->occurred_ms = wa_pg_i64(r, i, 7);
		e->attempts = (int)wa_pg_i64(r, i, 8);
		wa_pg_copy(r, i, 9, e->event, sizeof(e->event));
		wa_pg_copy(r, i, 11, e->campaign_id, sizeof(e->campaign_id));
		if (!PQgetisnull(r, i, 10) &&
		    !(e->body = strdup(PQgetvalue(r, i, 10)))) {
			PQclear(r);
			while (*n > 0)
				wa_outbox_event_free(&out[--(*n)]);
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
	}
	PQclear(r);
	qsort(out, *n, sizeof(*out), ob_cmp);
	return 0;
}

int wa_pg_outbox_finish(wa_store *st, int64_t seq, bool delivered,
                        int64_t next_attempt_ms, const char *error, char *err,
                        size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	PGresult *r;
	long n;

	wa_pg_p_i64(&p, seq);
	if (!delivered) {
		wa_pg_p_i64(&p, next_attempt_ms);
		wa_pg_p_str(&p, error);
	}
	r = wx(s,
	       delivered ? "DELETE FROM outbox WHERE seq = $1"
	                 : "UPDATE outbox SET attempts = attempts + 1,"
	                   " next_attempt_ms = $2, last_error = $3,"
	                   " lease_until_ms = 0 WHERE seq = $1",
	       &p, "outbox finish", err, err_len);
	if (!r)
		return -1;
	n = changed(r);
	PQclear(r);
	return n > 0 ? 0 : 1;
}

long wa_pg_purge(wa_store *st, int64_t before_ms, size_t max, char *err,
                 size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	PGresult *r;
	bool mine;

	r = wx(s, "SELECT pg_try_advisory_xact_lock(" WA_PG_PURGE_LOCK ")",
	       NULL, "purge lock", err, err_len);
	if (!r)
		return -1;
	mine = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!mine)
		return 0;
	wa_pg_p_i64(&p, before_ms);
	wa_pg_p_i64(&p, (int64_t)max);
	/* history and outbox rows go by ON DELETE CASCADE */
	return run_change(s,
	                  "WITH c AS MATERIALIZED (SELECT id AS cid FROM"
	                  " messages WHERE created_ms < $1 AND status IN"
	                  " ('sent','delivered','read','failed','canceled')"
	                  " ORDER BY created_ms LIMIT $2 FOR UPDATE SKIP"
	                  " LOCKED), d AS (DELETE FROM messages USING c"
	                  " WHERE id = c.cid RETURNING id)"
	                  " SELECT count(*) FROM d",
	                  &p, "purge", err, err_len);
}
