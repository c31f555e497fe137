/* sqlite_contacts.c - the SQLite store's inbound messages, contacts and
 * outbox events that are not about a message (two-way messaging)
 *
 * These run far less often than the send path, so their statements are
 * prepared per call rather than kept on every connection. */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wa_sq_store *S(wa_store *st)
{
	return st->impl;
}

/* Prepare sql on the write connection; NULL with err. */
static sqlite3_stmt *wprep(wa_sq_store *s, const char *sql, char *err,
                           size_t err_len)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL) != SQLITE_OK) {
		wa_sq_werr(s, "prepare", err, err_len);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Step a prepared write to its end and finalize it: 0 or -1. */
static int wdone(wa_sq_store *s, sqlite3_stmt *st, const char *what, char *err,
                 size_t err_len)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		wa_sq_werr(s, what, err, err_len);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int wa_sq_inbound_add(wa_store *base, const wa_inbound_rec *in, bool *created,
                      char *err, size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st;

	*created = false;
	st = wprep(s,
	           "INSERT INTO inbound (id, provider, provider_message_id,"
	           " phone, occurred_ms, received_ms, json)"
	           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	           " ON CONFLICT (provider, provider_message_id) DO NOTHING",
	           err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, in->id);
	wa_sq_bind_str(st, 2, in->provider);
	wa_sq_bind_str(st, 3, in->provider_message_id);
	wa_sq_bind_str(st, 4, in->phone);
	sqlite3_bind_int64(st, 5, in->occurred_ms);
	sqlite3_bind_int64(st, 6, in->received_ms);
	wa_sq_bind_str(st, 7, in->json ? in->json : "{}");
	if (wdone(s, st, "inbound insert", err, err_len) < 0)
		return -1;
	if (sqlite3_changes(s->wdb) == 0)
		return 0; /* a provider's retry: known already */
	st = wprep(s,
	           "INSERT INTO contacts (phone, last_inbound_ms)"
	           " VALUES (?1, ?2) ON CONFLICT (phone) DO UPDATE SET"
	           " last_inbound_ms = max(last_inbound_ms,"
	           " excluded.last_inbound_ms)",
	           err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, in->phone);
	sqlite3_bind_int64(st, 2, in->occurred_ms);
	if (wdone(s, st, "contact update", err, err_len) < 0)
		return -1;
	*created = true;
	return 0;
}

int wa_sq_contact_set_opt(wa_store *base, const char *phone, bool opted_out,
                          const char *source, int64_t at_ms, bool *changed,
                          char *err, size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st;

	*changed = false;
	/* a phone never seen is opted in: nothing to record for an opt-in */
	st = wprep(s,
	           opted_out
	               ? "INSERT INTO contacts (phone, opted_out, opt_source,"
	                 " opt_at_ms) VALUES (?1, 1, ?2, ?3)"
	                 " ON CONFLICT (phone) DO UPDATE SET opted_out = 1,"
	                 " opt_source = ?2, opt_at_ms = ?3"
	                 " WHERE opted_out = 0"
	               : "UPDATE contacts SET opted_out = 0, opt_source = ?2,"
	                 " opt_at_ms = ?3 WHERE phone = ?1 AND opted_out = 1",
	           err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, phone);
	wa_sq_bind_str(st, 2, source ? source : "");
	sqlite3_bind_int64(st, 3, at_ms);
	if (wdone(s, st, "contact update", err, err_len) < 0)
		return -1;
	*changed = sqlite3_changes(s->wdb) > 0;
	return 0;
}

int wa_sq_cancel_phone(wa_store *base, const char *phone, int64_t now_ms,
                       const char *detail, long *n, char *err, size_t err_len)
{
	static const char *const sql[] = {
	    "INSERT INTO history (message_id, status, at_ms, detail)"
	    " SELECT id, 'canceled', ?2, ?3 FROM messages"
	    " WHERE phone = ?1 AND status = 'queued'"
	    " AND status IN ('queued','sending')",
	    "INSERT INTO outbox (message_id, external_id, status, provider,"
	    " provider_message_id, error, occurred_ms)"
	    " SELECT id, external_id, 'canceled', provider,"
	    " provider_message_id, ?3, ?2 FROM messages"
	    " WHERE phone = ?1 AND status = 'queued'"
	    " AND status IN ('queued','sending')",
	    "UPDATE messages SET status = 'canceled', updated_ms = ?2,"
	    " lease_until_ms = 0 WHERE phone = ?1 AND status = 'queued'"
	    " AND status IN ('queued','sending')",
	};
	wa_sq_store *s = S(base);

	*n = 0;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st;

		if (i == 1 && !atomic_load(&s->outbox))
			continue;
		st = wprep(s, sql[i], err, err_len);
		if (!st)
			return -1;
		wa_sq_bind_str(st, 1, phone);
		sqlite3_bind_int64(st, 2, now_ms);
		wa_sq_bind_str(st, 3, detail ? detail : "");
		if (wdone(s, st, "cancel", err, err_len) < 0)
			return -1;
		*n = (long)sqlite3_changes(s->wdb);
	}
	return 0;
}

long wa_sq_purge_twoway(wa_store *base, int64_t before_ms, size_t max,
                        char *err, size_t err_len)
{
	static const char *const sql[] = {
	    "DELETE FROM inbound WHERE id IN (SELECT id FROM inbound"
	    " WHERE occurred_ms < ?1 ORDER BY occurred_ms, id LIMIT ?2)",
	    /* an opted-out contact never goes (store.h) */
	    "DELETE FROM contacts WHERE phone IN (SELECT phone FROM contacts"
	    " WHERE opted_out = 0 AND last_inbound_ms < ?1 AND opt_at_ms < ?1"
	    " ORDER BY last_inbound_ms LIMIT ?2)",
	    /* pacing rows no rule needs any more (wa_store_pace_stale_ms) */
	    "DELETE FROM recipients WHERE phone IN (SELECT phone FROM"
	    " recipients WHERE next_ok_ms < ?1 AND counted_ms < ?3 LIMIT ?2)",
	};
	wa_sq_store *s = S(base);
	long n = 0;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = wprep(s, sql[i], err, err_len);

		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, before_ms);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
		if (i == 2)
			sqlite3_bind_int64(
			    st, 3, wa_store_pace_stale_ms(&s->pace, before_ms));
		if (wdone(s, st, "inbound purge", err, err_len) < 0)
			return -1;
		n += (long)sqlite3_changes(s->wdb);
	}
	return n;
}

int wa_sq_outbox_add(wa_store *base, const char *key, const char *event,
                     const char *body, int64_t at_ms, char *err, size_t err_len)
{
	wa_sq_store *s = S(base);
	sqlite3_stmt *st;

	if (!atomic_load(&s->outbox))
		return 0;
	st = wprep(s,
	           "INSERT INTO outbox (event_key, event, body, occurred_ms)"
	           " VALUES (?1, ?2, ?3, ?4)",
	           err, err_len);
	if (!st)
		return -1;
	wa_sq_bind_str(st, 1, key);
	wa_sq_bind_str(st, 2, event);
	wa_sq_bind_str(st, 3, body ? body : "{}");
	sqlite3_bind_int64(st, 4, at_ms);
	return wdone(s, st, "outbox insert", err, err_len);
}

/* ---- reads ---- */

/* A read: a pooled connection, one statement, rows to fill. */
typedef struct rd {
	wa_sq_store *s;
	wa_sq_reader *r;
	sqlite3_stmt *st;
} rd;

static int rd_open(rd *x, wa_store *base, const char *sql, char *err,
                   size_t err_len)
{
	x->s = S(base);
	x->st = NULL;
	x->r = wa_sq_reader_get(x->s, err, err_len);
	if (!x->r)
		return -1;
	if (sqlite3_prepare_v2(x->r->db, sql, -1, &x->st, NULL) != SQLITE_OK) {
		snprintf(err, err_len, "Cannot prepare a store query: %s.",
		         sqlite3_errmsg(x->r->db));
		wa_sq_reader_put(x->s, x->r);
		return -1;
	}
	return 0;
}

static int rd_close(rd *x, int rc, char *err, size_t err_len)
{
	if (rc < 0 && err && !err[0])
		snprintf(err, err_len, "Store read failed: %s.",
		         sqlite3_errmsg(x->r->db));
	sqlite3_finalize(x->st);
	wa_sq_reader_put(x->s, x->r);
	return rc;
}

#define CONTACT_COLS "phone, last_inbound_ms, opted_out, opt_source, opt_at_ms"

static void fill_contact(sqlite3_stmt *st, wa_contact *c)
{
	memset(c, 0, sizeof(*c));
	wa_sq_col_copy(st, 0, c->phone, sizeof(c->phone));
	c->last_inbound_ms = sqlite3_column_int64(st, 1);
	c->opted_out = sqlite3_column_int(st, 2) != 0;
	wa_sq_col_copy(st, 3, c->opt_source, sizeof(c->opt_source));
	c->opt_at_ms = sqlite3_column_int64(st, 4);
}

int wa_sq_contact_get(wa_store *base, const char *phone, wa_contact *out,
                      char *err, size_t err_len)
{
	rd x;
	int rc = SQLITE_DONE;

	memset(out, 0, sizeof(*out));
	if (err_len)
		err[0] = '\0';
	if (rd_open(&x, base,
	            "SELECT " CONTACT_COLS " FROM contacts WHERE phone = ?1",
	            err, err_len) < 0)
		return -1;
	wa_sq_bind_str(x.st, 1, phone);
	rc = sqlite3_step(x.st);
	if (rc == SQLITE_ROW)
		fill_contact(x.st, out);
	return rd_close(&x,
	                rc == SQLITE_ROW    ? 0
	                : rc == SQLITE_DONE ? 1
	                                    : -1,
	                err, err_len);
}

int wa_sq_inbound_list(wa_store *base, const wa_inbound_query *q,
                       wa_inbound_rec *out, size_t max, size_t *n, char *err,
                       size_t err_len)
{
	bool after = q->after_id && q->after_id[0];
	rd x;
	int rc = SQLITE_DONE;

	*n = 0;
	if (err_len)
		err[0] = '\0';
	if (rd_open(&x, base,
	            "SELECT id, provider, provider_message_id, phone,"
	            " occurred_ms, received_ms, json FROM inbound"
	            " WHERE (?1 IS NULL OR phone = ?1)"
	            " AND (?2 = 0 OR occurred_ms >= ?2)"
	            " AND (?3 = 0 OR occurred_ms < ?3)"
	            " AND (?5 IS NULL OR (occurred_ms, id) > (?4, ?5))"
	            " ORDER BY occurred_ms, id LIMIT ?6",
	            err, err_len) < 0)
		return -1;
	wa_sq_bind_str(x.st, 1, q->phone);
	sqlite3_bind_int64(x.st, 2, q->since_ms);
	sqlite3_bind_int64(x.st, 3, q->until_ms);
	sqlite3_bind_int64(x.st, 4, q->after_ms);
	wa_sq_bind_str(x.st, 5, after ? q->after_id : NULL);
	sqlite3_bind_int64(x.st, 6, (sqlite3_int64)max);
	while (*n < max && (rc = sqlite3_step(x.st)) == SQLITE_ROW) {
		wa_inbound_rec *r = &out[*n];

		memset(r, 0, sizeof(*r));
		wa_sq_col_copy(x.st, 0, r->id, sizeof(r->id));
		wa_sq_col_copy(x.st, 1, r->provider, sizeof(r->provider));
		wa_sq_col_copy(x.st, 2, r->provider_message_id,
		               sizeof(r->provider_message_id));
		wa_sq_col_copy(x.st, 3, r->phone, sizeof(r->phone));
		r->occurred_ms = sqlite3_column_int64(x.st, 4);
		r->received_ms = sqlite3_column_int64(x.st, 5);
		r->json = strdup((const char *)sqlite3_column_text(x.st, 6));
		if (!r->json) {
			snprintf(err, err_len, "Out of memory.");
			rc = SQLITE_NOMEM;
			break;
		}
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE) {
		while (*n > 0)
			wa_inbound_rec_free(&out[--(*n)]);
		return rd_close(&x, -1, err, err_len);
	}
	return rd_close(&x, 0, err, err_len);
}

int wa_sq_suppression_list(wa_store *base, const char *after_phone,
                           wa_contact *out, size_t max, size_t *n, char *err,
                           size_t err_len)
{
	rd x;
	int rc = SQLITE_DONE;

	*n = 0;
	if (err_len)
		err[0] = '\0';
	if (rd_open(&x, base,
	            "SELECT " CONTACT_COLS " FROM contacts WHERE opted_out = 1"
	            " AND phone > ?1 ORDER BY phone LIMIT ?2",
	            err, err_len) < 0)
		return -1;
	wa_sq_bind_str(x.st, 1, after_phone ? after_phone : "");
	sqlite3_bind_int64(x.st, 2, (sqlite3_int64)max);
	while (*n < max && (rc = sqlite3_step(x.st)) == SQLITE_ROW)
		fill_contact(x.st, &out[(*n)++]);
	if (*n < max && rc != SQLITE_DONE) {
		*n = 0;
		return rd_close(&x, -1, err, err_len);
	}
	return rd_close(&x, 0, err, err_len);
}
