/* pg_batch.c - the PostgreSQL group commit: inserts wait in memory until the
 * transaction's next statement or its commit, then go out together, sorted
 * by external_id, as one INSERT over unnest() of array parameters, in one
 * pipelined round trip with BEGIN, the lookup that resolves them, the
 * waiting outcomes (finish) and, at commit, COMMIT (libpq pipeline mode) */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable text buffer for array literals. */
typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* One element of a text[] literal: NULL, or quoted with " and \ escaped. */
static void sb_elem(sbuf *b, const char *s, bool first)
{
	if (!first)
		sb_put(b, ",", 1);
	if (!s) {
		sb_put(b, "NULL", 4);
		return;
	}
	sb_put(b, "\"", 1);
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\"\\");

		sb_put(b, p, n);
		p += n;
		if (*p) {
			sb_put(b, "\\", 1);
			sb_put(b, p, 1);
			p++;
		}
	}
	sb_put(b, "\"", 1);
}

static void sb_num(sbuf *b, int64_t v, bool first)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%s%lld", first ? "" : ",",
	                 (long long)v);

	sb_put(b, num, (size_t)n);
}

static int by_external(const void *a, const void *b)
{
	const wa_pg_pending *x = a, *y = b;

	return strcmp(x->m->external_id, y->m->external_id);
}

int wa_pg_insert(wa_store *st, const wa_new_message *m, wa_insert_result *res,
                 char *err, size_t err_len)
{
	wa_pg_store *s = st->impl;

	if (wa_new_message_check(m, err, err_len) != 0)
		return -1;
	if (s->n_pending == s->cap_pending) {
		size_t cap = s->cap_pending ? s->cap_pending * 2 : 64;
		wa_pg_pending *p = realloc(s->pending, cap * sizeof(*p));

		if (!p) {
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
		s->pending = p;
		s->cap_pending = cap;
	}
	memset(res, 0, sizeof(*res));
	s->pending[s->n_pending].m = m;
	s->pending[s->n_pending].res = res;
	s->n_pending++;
	return 0;
}

int wa_pg_defer_finish(wa_pg_store *s, const char *id, const wa_outcome *o,
                       char *err, size_t err_len)
{
	if ((unsigned)o->kind > (unsigned)WA_OUT_RELEASE) {
		snprintf(err, err_len, "Unknown outcome kind %d.",
		         (int)o->kind);
		return -1;
	}
	if (s->n_dfin == s->cap_dfin) {
		size_t cap = s->cap_dfin ? s->cap_dfin * 2 : 64;
		wa_pg_dfin *d = realloc(s->dfin, cap * sizeof(*d));

		if (!d) {
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
		s->dfin = d;
		s->cap_dfin = cap;
	}
	snprintf(s->dfin[s->n_dfin].id, WA_ID_MAX, "%s", id);
	s->dfin[s->n_dfin].o = *o;
	s->n_dfin++;
	return 0;
}

/* The arrays: $1 ids, $2 external ids, $3 phones, $4 bodies, $5 templates,
 * $6 media, $7 providers, $8 created, $9 expires, $10 content. */
enum { A_N = 10 };

static int build_arrays(wa_pg_store *s, sbuf *a)
{
	for (size_t i = 0; i < s->n_pending; i++) {
		const wa_new_message *m = s->pending[i].m;
		bool first = i == 0;

		sb_elem(&a[0], m->id, first);
		sb_elem(&a[1], m->external_id, first);
		sb_elem(&a[2], m->phone, first);
		sb_elem(&a[3], m->body, first);
		sb_elem(&a[4], m->template_json, first);
		sb_elem(&a[5], m->media_url, first);
		sb_elem(&a[6], m->provider, first);
		sb_num(&a[7], m->created_ms, first);
		sb_num(&a[8], m->expires_ms, first);
		sb_elem(&a[9], m->content_json, first);
	}
	for (int k = 0; k < A_N; k++) {
		sbuf t = {0};

		sb_put(&t, "{", 1);
		if (a[k].p)
			sb_put(&t, a[k].p, a[k].len);
		sb_put(&t, "}", 1);
		free(a[k].p);
		a[k] = t;
		if (t.oom)
			return -1;
	}
	return 0;
}

/* Sorted by external_id (bytewise, as COLLATE "C"), so two instances'
 * batches take the unique index's entries in the same order and never
 * deadlock. */
static const char insert_sql[] =
    "INSERT INTO messages (id, external_id, phone, body, template_json,"
    " media_url, provider, status, created_ms, updated_ms,"
    " next_attempt_ms, expires_ms, content_json, held)"
    " SELECT id, ext, phone, body, tj, mu, prov, 'queued', c, c,"
    " CASE WHEN h THEN c + $11::bigint ELSE c END, e, cj, h"
    " FROM (SELECT u.*,"
    /* held from insert (pg_pace.c) when pacing per recipient is on ($11,
     * the hold, > 0) and the phone has an earlier message: one already
     * queued or in flight, or one earlier in this batch */
    "  ($11::bigint > 0 AND (row_number() OVER (PARTITION BY u.phone"
    "  ORDER BY u.ext COLLATE \"C\") > 1 OR EXISTS (SELECT 1 FROM"
    "  messages x WHERE x.phone = u.phone AND x.status IN"
    "  ('queued','sending')))) AS h"
    "  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
    "  $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[],"
    "  $10::text[])"
    "  AS u (id, ext, phone, body, tj, mu, prov, c, e, cj)) AS u"
    /* never to a phone that opted out (store.h) */
    " WHERE NOT EXISTS (SELECT 1 FROM contacts AS ct"
    " WHERE ct.phone = u.phone AND ct.opted_out)"
    " ORDER BY ext COLLATE \"C\""
    " ON CONFLICT (external_id) DO NOTHING";

/* Every batch key's message, ours or one that was there before. */
static const char lookup_sql[] =
    "SELECT id, external_id, status, created_ms, phone, body,"
    " template_json, media_url, content_json FROM messages"
    " WHERE external_id = ANY ($1::text[])"
    " ORDER BY external_id COLLATE \"C\"";

/* The batch's phones that are opted out: a key with no message was
 * refused for that reason. */
static const char optout_sql[] =
    "SELECT phone, opt_source, opt_at_ms FROM contacts"
    " WHERE opted_out AND phone = ANY ($1::text[])";

/* Mark res SUPPRESSED from the opt-out rows; -1 when phone is not there. */
static int suppressed(const PGresult *o, const char *phone,
                      wa_insert_result *res)
{
	int rows = o ? PQntuples(o) : 0;

	for (int i = 0; i < rows; i++) {
		if (strcmp(PQgetvalue(o, i, 0), phone) != 0)
			continue;
		res->kind = WA_INSERT_SUPPRESSED;
		wa_pg_copy(o, i, 1, res->opt_source, sizeof(res->opt_source));
		res->opt_at_ms = wa_pg_i64(o, i, 2);
		return 0;
	}
	return -1;
}

static bool same_col(const char *a, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return !a;
	return a && strcmp(a, PQgetvalue(r, row, col)) == 0;
}

/* Fill each pending result from the lookup (both sorted by external_id). */
static int resolve(wa_pg_store *s, const PGresult *r, const PGresult *o,
                   char *err, size_t err_len)
{
	int rows = PQntuples(r), row = 0;

	for (size_t i = 0; i < s->n_pending; i++) {
		const wa_new_message *m = s->pending[i].m;
		wa_insert_result *res = s->pending[i].res;
		int c = 1, v;

		while (row < rows &&
		       (c = strcmp(PQgetvalue(r, row, 1), m->external_id)) < 0)
			row++;
		if ((row >= rows || c != 0) &&
		    suppressed(o, m->phone, res) == 0)
			continue;
		if (row >= rows || c != 0) {
			snprintf(err, err_len,
			         "The external_id was inserted but no message "
			         "holds it.");
			return -1;
		}
		wa_pg_copy(r, row, 0, res->id, sizeof(res->id));
		v = wa_pg_status(r, row, 2);
		res->status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
		res->created_ms = wa_pg_i64(r, row, 3);
		if (strcmp(res->id, m->id) == 0)
			res->kind = WA_INSERT_CREATED;
		else if (same_col(m->phone, r, row, 4) &&
		         same_col(m->body, r, row, 5) &&
		         same_col(m->template_json, r, row, 6) &&
		         same_col(m->media_url, r, row, 7) &&
		         same_col(m->content_json, r, row, 8))
			res->kind = WA_INSERT_REPLAYED;
		else
			res->kind = WA_INSERT_CONFLICT;
	}
	return 0;
}

/* Read a pipeline's results up to its sync: the first result of each of
 * the nq queries into keep[] (NULL if none came). 0, or -1 when the
 * connection broke. */
static int drain(PGconn *c, PGresult **keep, int nq)
{
	int q = 0;

	for (;;) {
		PGresult *r = PQgetResult(c);

		if (!r) {
			if (PQstatus(c) != CONNECTION_OK || ++q > nq + 1)
				return -1;
			continue; /* the end of one query's results */
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			return 0;
		}
		if (q < nq && !keep[q])
			keep[q] = r;
		else
			PQclear(r);
	}
}

static bool result_ok(const PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int wa_pg_flush(wa_pg_store *s, bool commit, const char *xsql,
                const wa_pg_params *xp, const char *xwhat, PGresult **xres,
                char *err, size_t err_len)
{
	size_t q_max = 6 + s->n_dfin;
	PGresult **keep = calloc(q_max, sizeof(*keep));
	const char **what = calloc(q_max, sizeof(*what));
	int nq = 0, q_lookup = -1, q_commit = -1, q_fin = -1, q_sql = -1;
	int q_optout = -1;
	int ret = -1;
	sbuf a[A_N];
	const char *vals[A_N + 1]; /* + the hold (insert_sql's $11) */
	char hold[24];
	char msg[WA_ERR_MAX];

	memset(a, 0, sizeof(a));
	if (!keep || !what) {
		snprintf(err, err_len, "Out of memory.");
		goto out;
	}
	if (s->n_pending) {
		qsort(s->pending, s->n_pending, sizeof(*s->pending),
		      by_external);
		if (build_arrays(s, a) < 0) {
			snprintf(err, err_len, "Out of memory.");
			goto out;
		}
		for (int k = 0; k < A_N; k++)
			vals[k] = a[k].p;
		snprintf(hold, sizeof(hold), "%d",
		         s->pace.per_recipient ? WA_PACE_HOLD_MS : 0);
		vals[A_N] = hold;
	}
	if (!PQenterPipelineMode(s->w))
		goto lost;
	if (!s->began) {
		what[nq++] = "begin";
		PQsendQueryParams(s->w, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
	}
	if (s->n_pending) {
		what[nq++] = "insert";
		PQsendQueryParams(s->w, insert_sql, A_N + 1, NULL, vals, NULL,
		                  NULL, 0);
		q_lookup = nq;
		what[nq++] = "insert lookup";
		PQsendQueryParams(s->w, lookup_sql, 1, NULL, &vals[1], NULL,
		                  NULL, 0);
		q_optout = nq;
		what[nq++] = "opt-out lookup";
		PQsendQueryParams(s->w, optout_sql, 1, NULL, &vals[2], NULL,
		                  NULL, 0);
	}
	q_fin = nq;
	for (size_t i = 0; i < s->n_dfin; i++) {
		wa_pg_params p = {0};
		const char *sql = wa_pg_finish_stmt(
		    s, s->dfin[i].id, &s->dfin[i].o, &p, err, err_len);

		if (!sql) /* not reached: defer_finish checked the kind */
			sql = "SELECT 1";
		what[nq++] = "finish";
		PQsendQueryParams(s->w, sql, p.n, NULL, p.v, NULL, NULL, 0);
	}
	if (xsql) {
		q_sql = nq;
		what[nq++] = xwhat;
		PQsendQueryParams(s->w, xsql, xp ? xp->n : 0, NULL,
		                  xp ? xp->v : NULL, NULL, NULL, 0);
	}
	if (commit) {
		q_commit = nq;
		what[nq++] = "commit";
		PQsendQueryParams(s->w, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	}
	if (!PQpipelineSync(s->w) || drain(s->w, keep, nq) < 0 ||
	    !PQexitPipelineMode(s->w))
		goto lost;
	for (int i = 0; i < nq; i++) {
		if (result_ok(keep[i]))
			continue;
		/* the first failure; those after it only say "aborted" */
		wa_pg_msg(keep[i] ? PQresultErrorMessage(keep[i]) : "no result",
		          msg, sizeof(msg));
		snprintf(err, err_len, "Store %s failed: %s.", what[i], msg);
		goto out;
	}
	s->began = true;
	if (q_commit >= 0 && strcmp(PQcmdStatus(keep[q_commit]), "COMMIT")) {
		snprintf(err, err_len, "Store commit failed: rolled back.");
		goto out;
	}
	if (q_lookup >= 0 &&
	    resolve(s, keep[q_lookup], keep[q_optout], err, err_len) < 0)
		goto out;
	/* each finish's count: 0 rows changed means ignored (1) */
	for (size_t i = 0; i < s->n_dfin; i++) {
		int *res = s->dfin[i].o.result;

		if (res)
			*res =
			    wa_pg_i64(keep[q_fin + (int)i], 0, 0) == 0 ? 1 : 0;
	}
	s->n_pending = 0;
	s->n_dfin = 0;
	if (q_sql >= 0 && xres) {
		*xres = keep[q_sql];
		keep[q_sql] = NULL;
	}
	ret = 0;
	goto out;
lost:
	wa_pg_msg(PQerrorMessage(s->w), msg, sizeof(msg));
	snprintf(err, err_len, "Store write failed: %s.",
	         *msg ? msg : "the database connection broke");
	if (PQstatus(s->w) != CONNECTION_OK)
		wa_pg_set_fault(s, err);
out:
	for (int i = 0; keep && i < nq; i++)
		PQclear(keep[i]);
	free(keep);
	free(what);
	for (int k = 0; k < A_N; k++)
		free(a[k].p);
	return ret;
}
