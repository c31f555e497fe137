/* pg.c - the PostgreSQL message store: open, the read connection pool,
 * reads and ping. Several wadispatchd instances may share one database. */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

/* ping reports a lost write connection this long unless a commit or a
 * reconnect succeeds first; afterwards a working read connection says the
 * database is back (the writer reconnects at its next write, which may be
 * long in coming on an idle daemon). */
#define FAULT_HOLD_MS 2000

/* ---- reads ---- */

/* The message and its history in one statement (one snapshot). The first
 * entry, queued at created_ms, is implied (store.h). */
#define GET_SQL(where)                                                         \
	"SELECT m.*, h.status, h.at_ms, h.detail FROM (SELECT " WA_PG_MSG_COLS \
	" FROM messages WHERE " where ") AS m LEFT JOIN history AS h"          \
	" ON h.message_id = m.id ORDER BY h.id"

static int fill_get(const PGresult *r, wa_message_rec *out, char *err,
                    size_t err_len)
{
	int rows = PQntuples(r), c = WA_PG_N_MSG_COLS;

	if (rows == 0)
		return 1;
	if (wa_pg_fill_rec(r, 0, out) < 0)
		goto oom;
	out->history = calloc((size_t)rows + 1, sizeof(*out->history));
	if (!out->history)
		goto oom;
	out->history[0].status = WA_MSG_QUEUED;
	out->history[0].at_ms = out->created_ms;
	out->n_history = 1;
	for (int i = 0; i < rows; i++) {
		wa_history_entry *h;
		int v;

		if (PQgetisnull(r, i, c))
			continue; /* no history rows: the LEFT JOIN's NULLs */
		h = &out->history[out->n_history++];
		v = wa_pg_status(r, i, c);
		h->status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
		h->at_ms = wa_pg_i64(r, i, c + 1);
		wa_pg_copy(r, i, c + 2, h->detail, sizeof(h->detail));
	}
	return 0;
oom:
	wa_message_rec_free(out);
	snprintf(err, err_len, "Out of memory.");
	return -1;
}

static int get_common(wa_store *base, const char *sql, const char *a,
                      const char *b, wa_message_rec *out, char *err,
                      size_t err_len)
{
	wa_pg_store *s = base->impl;
	wa_pg_params p = {0};
	wa_pg_reader *rd;
	PGresult *r;
	int rc;

	memset(out, 0, sizeof(*out));
	wa_pg_p_str(&p, a);
	if (b)
		wa_pg_p_str(&p, b);
	rd = wa_pg_reader_get(s);
	r = wa_pg_rx(s, rd, sql, &p, "read", err, err_len);
	wa_pg_reader_put(s, rd);
	if (!r)
		return -1;
	rc = fill_get(r, out, err, err_len);
	PQclear(r);
	return rc;
}

static int pg_get(wa_store *s, const char *id, wa_message_rec *out, char *err,
                  size_t err_len)
{
	if (!id)
		return memset(out, 0, sizeof(*out)), 1;
	return get_common(s, GET_SQL("id = $1"), id, NULL, out, err, err_len);
}

static int pg_get_by_external(wa_store *s, const char *external_id,
                              wa_message_rec *out, char *err, size_t err_len)
{
	if (!external_id)
		return memset(out, 0, sizeof(*out)), 1;
	return get_common(s, GET_SQL("external_id = $1"), external_id, NULL,
	                  out, err, err_len);
}

static int pg_get_by_provider_id(wa_store *s, const char *provider,
                                 const char *pmid, wa_message_rec *out,
                                 char *err, size_t err_len)
{
	if (!provider || !pmid || !*pmid)
		return memset(out, 0, sizeof(*out)), 1;
	return get_common(s,
	                  GET_SQL("provider = $1 AND provider_message_id = $2"
	                          " ORDER BY seq DESC LIMIT 1"),
	                  provider, pmid, out, err, err_len);
}

/* The counts per status and the ages in one statement, through a plpgsql
 * function (pg_schema.c, version 13): its plan is made once per
 * connection and kept, where the same query sent as text is planned again
 * at every call (about half a millisecond at a million rows, three times
 * what running it costs). Nothing named on the connection: PgBouncer's
 * transaction pooling still works. */
static int pg_stats(wa_store *base, wa_store_stats *out, char *err,
                    size_t err_len)
{
	wa_pg_store *s = base->impl;
	wa_pg_reader *rd;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	rd = wa_pg_reader_get(s);
	r = wa_pg_rx(s, rd, "SELECT k, v FROM wadispatch_stats()", NULL,
	             "stats read", err, err_len);
	wa_pg_reader_put(s, rd);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *k = PQgetvalue(r, i, 0);
		int v = wa_msg_status_parse(k);

		if (v >= 0)
			out->count[v] = wa_pg_i64(r, i, 1);
		else if (strcmp(k, "~oldest") == 0)
			out->oldest_queued_ms = wa_pg_i64(r, i, 1);
		else if (strcmp(k, "~outbox") == 0)
			out->outbox_pending = wa_pg_i64(r, i, 1);
		else if (strcmp(k, "~oldest_all") == 0)
			out->oldest_ms = wa_pg_i64(r, i, 1);
	}
	PQclear(r);
	return 0;
}

static int pg_next_due(wa_store *base, int64_t *due_ms, char *err,
                       size_t err_len)
{
	wa_pg_store *s = base->impl;
	wa_pg_reader *rd;
	PGresult *r;
	int64_t q, l;
	bool qnull, lnull;

	rd = wa_pg_reader_get(s);
	r = wa_pg_rx(s, rd,
	             "SELECT (SELECT min(next_attempt_ms) FROM messages"
	             "  WHERE status = 'queued'),"
	             " (SELECT min(lease_until_ms) FROM messages"
	             "  WHERE status = 'sending')",
	             NULL, "read", err, err_len);
	wa_pg_reader_put(s, rd);
	if (!r)
		return -1;
	qnull = PQgetisnull(r, 0, 0);
	lnull = PQgetisnull(r, 0, 1);
	q = wa_pg_i64(r, 0, 0);
	l = wa_pg_i64(r, 0, 1) + 1; /* reclaimable once lease < now */
	PQclear(r);
	if (qnull && lnull)
		return 1;
	*due_ms = qnull ? l : lnull ? q : (q < l ? q : l);
	return 0;
}

/* A write connection lost moments ago: what ping reports (a working read
 * connection says no more after FAULT_HOLD_MS). */
static bool write_fault(wa_pg_store *s, char *err, size_t err_len)
{
	if (!atomic_load(&s->write_down) ||
	    wa_mono_ms() - atomic_load(&s->fault_mono_ms) >= FAULT_HOLD_MS)
		return false;
	pthread_mutex_lock(&s->fault_mu);
	snprintf(err, err_len, "%s", s->fault);
	pthread_mutex_unlock(&s->fault_mu);
	return true;
}

static int pg_ping(wa_store *base, char *err, size_t err_len)
{
	wa_pg_store *s = base->impl;
	wa_pg_reader *rd;
	PGresult *r;

	rd = wa_pg_reader_get(s);
	r = wa_pg_rx(s, rd, "SELECT 1", NULL, "ping", err, err_len);
	wa_pg_reader_put(s, rd);
	PQclear(r);
	if (!r)
		return -1;
	return write_fault(s, err, err_len) ? -1 : 0;
}

/* /metrics: the stats read answers ping's question too (a read
 * connection works), so one round trip instead of two. */
static int pg_stats_up(wa_store *base, wa_store_stats *out, bool *up, char *err,
                       size_t err_len)
{
	*up = false;
	if (pg_stats(base, out, err, err_len) != 0)
		return -1;
	*up = !write_fault(base->impl, err, err_len);
	return 0;
}

/* ---- open / close ---- */

static void pg_close(wa_store *base)
{
	wa_pg_store *s = base->impl;

	for (size_t i = 0; i < s->n_readers; i++)
		PQfinish(s->readers[i].c);
	PQfinish(s->w);
	free(s->pending);
	free(s->dfin);
	wa_pg_ops_close(s);
	pthread_cond_destroy(&s->pool_cv);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->fault_mu);
	free(s->conninfo);
	free(s);
}

static const wa_store_ops pg_ops = {
    .close = pg_close,
    .begin = wa_pg_begin,
    .commit = wa_pg_commit,
    .rollback = wa_pg_rollback,
    .insert = wa_pg_insert,
    .claim = wa_pg_claim,
    .finish = wa_pg_finish,
    .cancel = wa_pg_cancel,
    .apply_status = wa_pg_apply_status,
    .release_all = wa_pg_release_all,
    .set_outbox = wa_pg_set_outbox,
    .outbox_claim = wa_pg_outbox_claim,
    .outbox_finish = wa_pg_outbox_finish,
    .get = pg_get,
    .get_by_external = pg_get_by_external,
    .get_by_provider_id = pg_get_by_provider_id,
    .stats = pg_stats,
    .next_due = pg_next_due,
    .ping = pg_ping,
    .purge = wa_pg_purge,
    .set_rate = wa_pg_set_rate,
    .inbound_add = wa_pg_inbound_add,
    .contact_set_opt = wa_pg_contact_set_opt,
    .cancel_phone = wa_pg_cancel_phone,
    .outbox_add = wa_pg_outbox_add,
    .contact_get = wa_pg_contact_get,
    .inbound_list = wa_pg_inbound_list,
    .suppression_list = wa_pg_suppression_list,
    .schedule = wa_pg_schedule,
    .list = wa_pg_list,
    .requeue = wa_pg_requeue,
    .requeue_many = wa_pg_requeue_many,
    .cancel_campaign = wa_pg_cancel_campaign,
    .campaign_counts = wa_pg_campaign_counts,
    .failure_codes = wa_pg_failure_codes,
    .set_pacing = wa_pg_set_pacing,
    .budget = wa_pg_budget,
    .purge_twoway = wa_pg_purge_twoway,
    .suppressed = wa_pg_suppressed,
    .pause_get = wa_pg_pause_get,
    .pause_set = wa_pg_pause_set,
    .peek = wa_pg_peek,
    .early_keep = wa_pg_early_keep,
    .early_take = wa_pg_early_take,
    .stats_up = pg_stats_up,
};

wa_store *wa_store_open_pg(const char *conninfo, char *err, size_t err_len)
{
	char e[WA_ERR_MAX];
	wa_pg_store *s;

	if (!conninfo || !*conninfo) {
		snprintf(err, err_len, "DATABASE_URL is empty.");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->conninfo = strdup(conninfo))) {
		free(s);
		snprintf(err, err_len, "Out of memory.");
		return NULL;
	}
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	pthread_mutex_init(&s->fault_mu, NULL);
	pthread_mutex_init(&s->ops_mu, NULL);
	atomic_init(&s->outbox, false);
	atomic_init(&s->write_down, false);
	atomic_init(&s->fault_mono_ms, 0);
	wa_store_instance_id(s->instance, sizeof(s->instance));
	s->base.ops = &pg_ops;
	s->base.kind = "postgresql";
	s->base.impl = s;
	s->w = wa_pg_connect(conninfo, err, err_len);
	if (!s->w) {
		pg_close(&s->base);
		return NULL;
	}
	if (wa_pg_migrate(s->w, e, sizeof(e)) < 0) {
		snprintf(err, err_len, "Cannot open the PostgreSQL store: %s",
		         e);
		pg_close(&s->base);
		return NULL;
	}
	return &s->base;
}
