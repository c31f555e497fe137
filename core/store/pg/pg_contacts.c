/* pg_contacts.c - the PostgreSQL store's inbound messages, contacts and
 * outbox events that are not about a message (two-way messaging). Every
 * write is one statement in the writer's transaction; instances sharing
 * the database agree through the unique keys. */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wa_pg_store *S(wa_store *st)
{
	return st->impl;
}

static long count0(PGresult *r)
{
	return PQntuples(r) > 0 ? (long)wa_pg_i64(r, 0, 0) : 0;
}

int wa_pg_inbound_add(wa_store *st, const wa_inbound_rec *in, bool *created,
                      char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	*created = false;
	wa_pg_p_str(&p, in->id);
	wa_pg_p_str(&p, in->provider);
	wa_pg_p_str(&p, in->provider_message_id);
	wa_pg_p_str(&p, in->phone);
	wa_pg_p_i64(&p, in->occurred_ms);
	wa_pg_p_i64(&p, in->received_ms);
	wa_pg_p_str(&p, in->json ? in->json : "{}");
	r = wa_pg_write(
	    S(st),
	    "WITH i AS (INSERT INTO inbound (id, provider,"
	    "  provider_message_id, phone, occurred_ms, received_ms, json)"
	    "  VALUES ($1, $2, $3, $4, $5, $6, $7)"
	    "  ON CONFLICT (provider, provider_message_id) DO NOTHING"
	    "  RETURNING phone, occurred_ms),"
	    " c AS (INSERT INTO contacts (phone, last_inbound_ms)"
	    "  SELECT phone, occurred_ms FROM i ON CONFLICT (phone) DO UPDATE"
	    "  SET last_inbound_ms = greatest(contacts.last_inbound_ms,"
	    "  excluded.last_inbound_ms))"
	    " SELECT count(*) FROM i",
	    &p, "inbound insert", err, err_len);
	if (!r)
		return -1;
	*created = count0(r) > 0;
	PQclear(r);
	return 0;
}

int wa_pg_contact_set_opt(wa_store *st, const char *phone, bool opted_out,
                          const char *source, int64_t at_ms, bool *changed,
                          char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	*changed = false;
	wa_pg_p_str(&p, phone);
	wa_pg_p_str(&p, source ? source : "");
	wa_pg_p_i64(&p, at_ms);
	/* a phone never seen is opted in: nothing to record for an opt-in */
	r = wa_pg_write(
	    S(st),
	    opted_out ? "INSERT INTO contacts (phone, opted_out,"
	                " opt_source, opt_at_ms) VALUES ($1, true, $2, $3)"
	                " ON CONFLICT (phone) DO UPDATE SET"
	                " opted_out = true, opt_source = $2,"
	                " opt_at_ms = $3 WHERE NOT contacts.opted_out"
	              : "UPDATE contacts SET opted_out = false,"
	                " opt_source = $2, opt_at_ms = $3"
	                " WHERE phone = $1 AND opted_out",
	    &p, "contact update", err, err_len);
	if (!r)
		return -1;
	*changed = strtol(PQcmdTuples(r), NULL, 10) > 0;
	PQclear(r);
	return 0;
}

int wa_pg_cancel_phone(wa_store *st, const char *phone, int64_t now_ms,
                       const char *detail, long *n, char *err, size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	PGresult *r;

	*n = 0;
	wa_pg_p_str(&p, phone);
	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_str(&p, detail ? detail : "");
	wa_pg_p_str(&p, atomic_load(&s->outbox) ? "t" : "f");
	r = wa_pg_write(
	    s,
	    "WITH c AS (UPDATE messages SET status = 'canceled',"
	    "  updated_ms = $2, lease_until_ms = 0"
	    "  WHERE phone = $1 AND status = 'queued'"
	    /* the predicate of messages_phone_pending (schema step 9) */
	    "  AND status IN ('queued','sending')"
	    "  RETURNING id, external_id, provider, provider_message_id),"
	    " h AS (INSERT INTO history (message_id, status, at_ms, detail)"
	    "  SELECT id, 'canceled', $2, $3 FROM c),"
	    " o AS (INSERT INTO outbox (message_id, external_id, status,"
	    "  provider, provider_message_id, error, occurred_ms)"
	    "  SELECT id, external_id, 'canceled', provider,"
	    "  provider_message_id, nullif($3, ''), $2 FROM c"
	    "  WHERE $4::boolean)"
	    " SELECT count(*) FROM c",
	    &p, "cancel", err, err_len);
	if (!r)
		return -1;
	*n = count0(r);
	PQclear(r);
	return 0;
}

long wa_pg_purge_twoway(wa_store *st, int64_t before_ms, size_t max, char *err,
                        size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	PGresult *r;
	bool mine;
	long n;

	r = wa_pg_write(
	    s, "SELECT pg_try_advisory_xact_lock(" WA_PG_PURGE_LOCK ")", NULL,
	    "purge lock", err, err_len);
	if (!r)
		return -1;
	mine = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!mine)
		return 0;
	wa_pg_p_i64(&p, before_ms);
	wa_pg_p_i64(&p, (int64_t)max);
	wa_pg_p_i64(&p, wa_store_pace_stale_ms(&s->pace, before_ms));
	/* an opted-out contact never goes; a contact that opts out while
	 * this runs is re-checked under its row lock (FOR UPDATE) */
	r = wa_pg_write(
	    s,
	    "WITH i AS (DELETE FROM inbound WHERE id IN (SELECT id"
	    "  FROM inbound WHERE occurred_ms < $1"
	    "  ORDER BY occurred_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
	    "  RETURNING 1),"
	    " c AS (DELETE FROM contacts WHERE phone IN (SELECT phone"
	    "  FROM contacts WHERE NOT opted_out AND last_inbound_ms < $1"
	    "  AND opt_at_ms < $1 ORDER BY last_inbound_ms LIMIT $2"
	    "  FOR UPDATE SKIP LOCKED) RETURNING 1),"
	    /* pacing rows no rule needs any more */
	    " r AS (DELETE FROM wadispatch_recipients WHERE phone IN"
	    "  (SELECT phone FROM wadispatch_recipients WHERE next_ok_ms < $1"
	    "  AND counted_ms < $3 LIMIT $2 FOR UPDATE SKIP LOCKED)"
	    "  RETURNING 1)"
	    " SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM c)"
	    " + (SELECT count(*) FROM r)",
	    &p, "inbound purge", err, err_len);
	if (!r)
		return -1;
	n = count0(r);
	PQclear(r);
	return n;
}

int wa_pg_outbox_add(wa_store *st, const char *key, const char *event,
                     const char *body, int64_t at_ms, char *err, size_t err_len)
{
	wa_pg_store *s = S(st);
	wa_pg_params p = {0};
	PGresult *r;

	if (!atomic_load(&s->outbox))
		return 0;
	wa_pg_p_str(&p, key);
	wa_pg_p_str(&p, event);
	wa_pg_p_str(&p, body ? body : "{}");
	wa_pg_p_i64(&p, at_ms);
	r = wa_pg_write(s,
	                "INSERT INTO outbox (event_key, event, body,"
	                " occurred_ms) VALUES ($1, $2, $3, $4)",
	                &p, "outbox insert", err, err_len);
	PQclear(r);
	return r ? 0 : -1;
}

/* ---- reads ---- */

#define CONTACT_COLS                                                           \
	"phone, last_inbound_ms, opted_out::int, opt_source, opt_at_ms"

static void fill_contact(const PGresult *r, int row, wa_contact *c)
{
	memset(c, 0, sizeof(*c));
	wa_pg_copy(r, row, 0, c->phone, sizeof(c->phone));
	c->last_inbound_ms = wa_pg_i64(r, row, 1);
	c->opted_out = wa_pg_i64(r, row, 2) != 0;
	wa_pg_copy(r, row, 3, c->opt_source, sizeof(c->opt_source));
	c->opt_at_ms = wa_pg_i64(r, row, 4);
}

int wa_pg_contact_get(wa_store *st, const char *phone, wa_contact *out,
                      char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;
	int rc;

	memset(out, 0, sizeof(*out));
	wa_pg_p_str(&p, phone);
	r = wa_pg_read(S(st),
	               "SELECT " CONTACT_COLS " FROM contacts WHERE phone = $1",
	               &p, "contact read", err, err_len);
	if (!r)
		return -1;
	rc = PQntuples(r) > 0 ? 0 : 1;
	if (rc == 0)
		fill_contact(r, 0, out);
	PQclear(r);
	return rc;
}

int wa_pg_suppressed(wa_store *st, const char *const *phones, size_t n,
                     bool *out, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;
	size_t cap = n * (WA_PHONE_MAX + 3) + 3, len = 1;
	char *arr;
	int rows;

	for (size_t i = 0; i < n; i++)
		out[i] = false;
	if (n == 0)
		return 0;
	arr = malloc(cap);
	if (!arr) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	/* E.164 phones: no quote or backslash to escape */
	arr[0] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(arr + len, cap - len, "%s\"%.*s\"",
		                        i ? "," : "", WA_PHONE_MAX - 1,
		                        phones[i] ? phones[i] : "");
	snprintf(arr + len, cap - len, "}");
	wa_pg_p_str(&p, arr);
	r = wa_pg_read(S(st),
	               "SELECT phone FROM contacts"
	               " WHERE opted_out AND phone = ANY ($1::text[])",
	               &p, "opt-out read", err, err_len);
	free(arr);
	if (!r)
		return -1;
	rows = PQntuples(r);
	for (int k = 0; k < rows; k++)
		for (size_t i = 0; i < n; i++)
			if (phones[i] &&
			    strcmp(phones[i], PQgetvalue(r, k, 0)) == 0)
				out[i] = true;
	PQclear(r);
	return 0;
}

int wa_pg_inbound_list(wa_store *st, const wa_inbound_query *q,
                       wa_inbound_rec *out, size_t max, size_t *n, char *err,
                       size_t err_len)
{
	bool after = q->after_id && q->after_id[0];
	wa_pg_params p = {0};
	PGresult *r;

	*n = 0;
	wa_pg_p_str(&p, q->phone);
	wa_pg_p_i64(&p, q->since_ms);
	wa_pg_p_i64(&p, q->until_ms);
	wa_pg_p_i64(&p, q->after_ms);
	wa_pg_p_str(&p, after ? q->after_id : NULL);
	wa_pg_p_i64(&p, (int64_t)max);
	r = wa_pg_read(S(st),
	               "SELECT id, provider, provider_message_id, phone,"
	               " occurred_ms, received_ms, json FROM inbound"
	               " WHERE ($1::text IS NULL OR phone = $1)"
	               " AND ($2::bigint = 0 OR occurred_ms >= $2)"
	               " AND ($3::bigint = 0 OR occurred_ms < $3)"
	               " AND ($5::text IS NULL OR (occurred_ms, id) >"
	               " ($4::bigint, $5::text))"
	               " ORDER BY occurred_ms, id LIMIT $6",
	               &p, "inbound list", err, err_len);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		wa_inbound_rec *x = &out[*n];

		memset(x, 0, sizeof(*x));
		wa_pg_copy(r, i, 0, x->id, sizeof(x->id));
		wa_pg_copy(r, i, 1, x->provider, sizeof(x->provider));
		wa_pg_copy(r, i, 2, x->provider_message_id,
		           sizeof(x->provider_message_id));
		wa_pg_copy(r, i, 3, x->phone, sizeof(x->phone));
		x->occurred_ms = wa_pg_i64(r, i, 4);
		x->received_ms = wa_pg_i64(r, i, 5);
		x->json = strdup(PQgetvalue(r, i, 6));
		if (!x->json) {
			while (*n > 0)
				wa_inbound_rec_free(&out[--(*n)]);
			PQclear(r);
			snprintf(err, err_len, "Out of memory.");
			return -1;
		}
		(*n)++;
	}
	PQclear(r);
	return 0;
}

int wa_pg_suppression_list(wa_store *st, const char *after_phone,
                           wa_contact *out, size_t max, size_t *n, char *err,
                           size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	*n = 0;
	wa_pg_p_str(&p, after_phone ? after_phone : "");
	wa_pg_p_i64(&p, (int64_t)max);
	/* COLLATE "C": the same byte order as the other stores' cursors */
	r = wa_pg_read(S(st),
	               "SELECT " CONTACT_COLS " FROM contacts WHERE opted_out"
	               " AND phone COLLATE \"C\" > $1"
	               " ORDER BY phone COLLATE \"C\" LIMIT $2",
	               &p, "suppression list", err, err_len);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		fill_contact(r, i, &out[(*n)++]);
	PQclear(r);
	return 0;
}
