/* pg_ops.c - the PostgreSQL store's operator operations: schedule, list,
 * requeue, campaigns (store.h, the ops appended for issue 15) */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_filter.h"

#define LIST_SQL_MAX 1024

static wa_pg_store *S(wa_store *st)
{
	return st->impl;
}

/* A read on the operators' own connection, (re)connected when needed; a
 * connection lost since its last use (a database restart) is replaced
 * once. One read at a time: operators' requests are few. */
static PGresult *ops_read(wa_pg_store *s, const char *sql,
                          const wa_pg_params *p, const char *what, char *err,
                          size_t err_len)
{
	PGresult *res = NULL;

	pthread_mutex_lock(&s->ops_mu);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!s->ops_c || PQstatus(s->ops_c) != CONNECTION_OK) {
			PQfinish(s->ops_c);
			s->ops_c = wa_pg_connect(s->conninfo, err, err_len);
			if (!s->ops_c)
				break;
		}
		res = wa_pg_exec(s->ops_c, sql, p, what, err, err_len);
		if (res || PQstatus(s->ops_c) == CONNECTION_OK)
			break;
	}
	pthread_mutex_unlock(&s->ops_mu);
	return res;
}

void wa_pg_ops_close(wa_pg_store *s)
{
	PQfinish(s->ops_c);
	s->ops_c = NULL;
	pthread_mutex_destroy(&s->ops_mu);
}

static long changed(PGresult *r)
{
	return strtol(PQcmdTuples(r), NULL, 10);
}

static void filter_params(const wa_filter_args *a, wa_pg_params *p)
{
	for (int i = 0; i < a->n; i++) {
		if (a->s[i])
			wa_pg_p_str(p, a->s[i]);
		else
			wa_pg_p_i64(p, a->i[i]);
	}
}

int wa_pg_schedule(wa_store *st, const char *id, const char *campaign_id,
                   int64_t send_at_ms, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;
	long n;

	wa_pg_p_str(&p, id);
	wa_pg_p_str(&p, campaign_id && *campaign_id ? campaign_id : NULL);
	wa_pg_p_i64(&p, send_at_ms);
	/* The delay moves the expiry too: MESSAGE_TTL counts from the time
	 * the message may first be sent. */
	r = wa_pg_write(
	    S(st),
	    "UPDATE messages SET campaign_id = $2,"
	    " expires_ms = expires_ms + greatest(0, $3::bigint - created_ms),"
	    " next_attempt_ms = greatest(next_attempt_ms, $3::bigint),"
	    " send_at_ms = nullif($3::bigint, 0)"
	    " WHERE id = $1 AND status = 'queued' AND attempts = 0",
	    &p, "schedule", err, err_len);
	if (!r)
		return -1;
	n = changed(r);
	PQclear(r);
	return n > 0 ? 0 : 1;
}

int wa_pg_list(wa_store *st, const wa_msg_filter *f, size_t max,
               wa_message_rec *out, size_t *n, char *err, size_t err_len)
{
	char sql[LIST_SQL_MAX], where[LIST_SQL_MAX / 2];
	wa_filter_args args;
	wa_pg_params p = {0};
	PGresult *r;
	int rows;

	*n = 0;
	if (wa_filter_sql(f, false, '$', where, sizeof(where), &args) < 0) {
		snprintf(err, err_len, "The filter is too long.");
		return -1;
	}
	filter_params(&args, &p);
	snprintf(sql, sizeof(sql),
	         "SELECT " WA_PG_MSG_COLS " FROM messages%s"
	         " ORDER BY created_ms DESC, id DESC LIMIT %zu",
	         where, max);
	r = ops_read(S(st), sql, &p, "list", err, err_len);
	if (!r)
		return -1;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++) {
		if (wa_pg_fill_rec(r, i, &out[*n]) < 0) {
			for (size_t k = 0; k < *n; k++)
				wa_message_rec_free(&out[k]);
			*n = 0;
			PQclear(r);
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
		(*n)++;
	}
	PQclear(r);
	return 0;
}

/* Requeue the messages select picks (ids, locked), with the history
 * entry; $k is now, $k+1 the expiry, $k+2 the detail (after the
 * selection's own params). */
static long requeue_sql(wa_pg_store *s, const char *select, int k,
                        const wa_pg_params *p, char *err, size_t err_len)
{
	char sql[LIST_SQL_MAX + 512];
	PGresult *r;
	long n;

	snprintf(sql, sizeof(sql),
	         "WITH sel AS (%s), u AS (UPDATE messages m SET"
	         " status = 'queued', attempts = 0, next_attempt_ms = $%d,"
	         " updated_ms = $%d, expires_ms = $%d, lease_until_ms = 0,"
	         " provider_message_id = NULL FROM sel WHERE m.id = sel.id"
	         " AND m.status IN ('failed', 'canceled') RETURNING m.id)"
	         " INSERT INTO history (message_id, status, at_ms, detail)"
	         " SELECT id, 'queued', $%d, $%d FROM u",
	         select, k, k, k + 1, k, k + 2);
	r = wa_pg_write(s, sql, p, "requeue", err, err_len);
	if (!r)
		return -1;
	n = changed(r);
	PQclear(r);
	return n;
}

static void requeue_params(wa_pg_params *p, int64_t now_ms, int64_t expires_ms,
                           const char *reason, char *detail, size_t len)
{
	snprintf(detail, len, "requeued: %s",
	         reason && *reason ? reason : "by an operator");
	wa_pg_p_i64(p, now_ms);
	wa_pg_p_i64(p, expires_ms);
	wa_pg_p_str(p, detail);
}

int wa_pg_requeue(wa_store *st, const char *id, int64_t now_ms,
                  int64_t expires_ms, const char *reason, wa_requeue_kind *kind,
                  wa_msg_status *status, char *err, size_t err_len)
{
	wa_pg_store *s = S(st);
	char detail[WA_ERR_MAX];
	wa_pg_params p = {0};
	PGresult *r;
	int v;

	*kind = WA_REQUEUE_NOT_FOUND;
	*status = WA_MSG_QUEUED;
	wa_pg_p_str(&p, id);
	r = wa_pg_write(s,
	                "SELECT status FROM messages WHERE id = $1 FOR UPDATE",
	                &p, "requeue", err, err_len);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	v = wa_pg_status(r, 0, 0);
	PQclear(r);
	*status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
	if (v != WA_MSG_FAILED && v != WA_MSG_CANCELED) {
		*kind = WA_REQUEUE_NOT_FINAL;
		return 0;
	}
	memset(&p, 0, sizeof(p));
	wa_pg_p_str(&p, id);
	requeue_params(&p, now_ms, expires_ms, reason, detail, sizeof(detail));
	if (requeue_sql(s, "SELECT $1::text AS id", 2, &p, err, err_len) < 0)
		return -1;
	*kind = WA_REQUEUE_DONE;
	*status = WA_MSG_QUEUED;
	return 0;
}

long wa_pg_requeue_many(wa_store *st, const wa_msg_filter *f, size_t max,
                        int64_t now_ms, int64_t expires_ms, const char *reason,
                        char *err, size_t err_len)
{
	char where[LIST_SQL_MAX / 2], select[LIST_SQL_MAX], detail[WA_ERR_MAX];
	wa_filter_args args;
	wa_pg_params p = {0};

	if (f->status >= 0 && f->status != WA_MSG_FAILED &&
	    f->status != WA_MSG_CANCELED)
		return 0;
	if (wa_filter_sql(f, true, '$', where, sizeof(where), &args) < 0) {
		snprintf(err, err_len, "The filter is too long.");
		return -1;
	}
	filter_params(&args, &p);
	requeue_params(&p, now_ms, expires_ms, reason, detail, sizeof(detail));
	/* never back to queued for a phone that opted out (store.h) */
	snprintf(select, sizeof(select),
	         "SELECT id FROM messages%s AND NOT EXISTS (SELECT 1 FROM"
	         " contacts AS c WHERE c.phone = messages.phone AND"
	         " c.opted_out)"
	         " ORDER BY created_ms DESC, id DESC LIMIT %zu FOR UPDATE",
	         where, max);
	return requeue_sql(S(st), select, args.n + 1, &p, err, err_len);
}

long wa_pg_cancel_campaign(wa_store *st, const char *campaign_id,
                           int64_t now_ms, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;
	long done = 0;
	int rows;

	wa_pg_p_str(&p, campaign_id);
	r = wa_pg_write(S(st),
	                "SELECT id FROM messages WHERE campaign_id = $1"
	                " AND status = 'queued' ORDER BY id FOR UPDATE",
	                &p, "campaign cancel", err, err_len);
	if (!r)
		return -1;
	rows = PQntuples(r);
	/* The ordinary cancel: same history and webhook as one by one. */
	for (int i = 0; i < rows; i++) {
		wa_cancel_kind kind;
		wa_msg_status status;

		if (wa_pg_cancel(st, PQgetvalue(r, i, 0), now_ms, &kind,
		                 &status, err, err_len) < 0) {
			PQclear(r);
			return -1;
		}
		done += kind == WA_CANCEL_DONE;
	}
	PQclear(r);
	return done;
}

int wa_pg_campaign_counts(wa_store *st, const char *campaign_id,
                          wa_campaign_counts *out, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	memset(out, 0, sizeof(*out));
	wa_pg_p_str(&p, campaign_id);
	r = ops_read(S(st),
	             "SELECT status, count(*) FROM messages"
	             " WHERE campaign_id = $1 GROUP BY status",
	             &p, "campaign read", err, err_len);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		int v = wa_pg_status(r, i, 0);

		if (v >= 0) {
			out->count[v] = wa_pg_i64(r, i, 1);
			out->total += out->count[v];
		}
	}
	PQclear(r);
	return 0;
}

int wa_pg_failure_codes(wa_store *st, int64_t since_ms, size_t max,
                        wa_failure_count *out, size_t *n, char *err,
                        size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	*n = 0;
	wa_pg_p_i64(&p, since_ms);
	wa_pg_p_i64(&p, (int64_t)max);
	r = ops_read(S(st),
	             "SELECT coalesce(nullif(upstream_code, ''), last_error,"
	             " '') AS code, count(*) AS n FROM messages"
	             " WHERE status = 'failed' AND created_ms >= $1"
	             " GROUP BY 1 ORDER BY n DESC, 1 LIMIT $2",
	             &p, "stats read", err, err_len);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		wa_pg_copy(r, i, 0, out[*n].code, sizeof(out[*n].code));
		out[*n].n = wa_pg_i64(r, i, 1);
		(*n)++;
	}
	PQclear(r);
	return 0;
}
