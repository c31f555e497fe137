/* pg_shared.c - state every instance shares through the database: the
 * provider's pause, message states for Prefer: wait, and status updates
 * that came before their send was recorded (store.h, the ops appended for
 * several instances) */
#include "store/pg/pg_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wa_pg_store *S(wa_store *st)
{
	return st->impl;
}

static const char *const kind_name[WA_PAUSE_KINDS] = {"config", "quality"};

/* Both kinds in one statement: the claimer reads them once a second. */
int wa_pg_pause_get(wa_store *st, const char *provider,
                    wa_shared_pause out[WA_PAUSE_KINDS], char *err,
                    size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	memset(out, 0, WA_PAUSE_KINDS * sizeof(*out));
	wa_pg_p_str(&p, provider);
	r = wa_pg_read(S(st),
	               "SELECT kind, reason, until_ms FROM wadispatch_pause"
	               " WHERE provider = $1",
	               &p, "pause read", err, err_len);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r); row++) {
		const char *k = PQgetvalue(r, row, 0);

		for (int i = 0; i < WA_PAUSE_KINDS; i++) {
			if (strcmp(k, kind_name[i]) != 0)
				continue;
			out[i].on = true;
			wa_pg_copy(r, row, 1, out[i].reason,
			           sizeof(out[i].reason));
			out[i].until_ms = wa_pg_i64(r, row, 2);
		}
	}
	PQclear(r);
	return 0;
}

/* both kinds; a quality pause adds a WHERE (wa_pg_pause_set) */
#define PAUSE_UPSERT                                                           \
	"INSERT INTO wadispatch_pause AS w (provider, kind, reason, until_ms)" \
	" VALUES ($1, $2, $3, $4) ON CONFLICT (provider, kind)"                \
	" DO UPDATE SET reason = $3, until_ms = $4"

/* A CONFIG pause is rewritten as it is (a failed probe sets the next);
 * a quality pause keeps the later end, with the reason that set it. */
int wa_pg_pause_set(wa_store *st, const char *provider, wa_pause_kind kind,
                    const char *reason, int64_t until_ms, char *err,
                    size_t err_len)
{
	wa_pg_params p = {0};
	const char *sql;
	PGresult *r;

	if (kind < 0 || kind >= WA_PAUSE_KINDS) {
		snprintf(err, err_len, "Unknown pause kind %d.", (int)kind);
		return -1;
	}
	wa_pg_p_str(&p, provider);
	wa_pg_p_str(&p, kind_name[kind]);
	if (reason) {
		wa_pg_p_str(&p, reason);
		wa_pg_p_i64(&p, until_ms);
	}
	if (!reason)
		sql = "DELETE FROM wadispatch_pause"
		      " WHERE provider = $1 AND kind = $2";
	else if (kind == WA_PAUSE_CONFIG)
		sql = PAUSE_UPSERT;
	else
		sql = PAUSE_UPSERT " WHERE w.until_ms < $4";
	r = wa_pg_write(S(st), sql, &p, "pause write", err, err_len);
	PQclear(r);
	return r ? 0 : -1;
}

/* Message ids are the host's own ("msg-<uuid>"); anything else cannot be
 * one and is left out of the array literal. */
static bool plain_id(const char *id)
{
	if (!*id)
		return false;
	for (const char *c = id; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return false;
	return true;
}

int wa_pg_peek(wa_store *st, const char *const *ids, size_t n, wa_msg_peek *out,
               char *err, size_t err_len)
{
	wa_pg_params p = {0};
	size_t cap = n * (WA_ID_MAX + 1) + 3, len = 0;
	char *arr;
	PGresult *r;

	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return 0;
	if (!(arr = malloc(cap))) {
		snprintf(err, err_len, "Out of memory.");
		return -1;
	}
	arr[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (!plain_id(ids[i]) || strlen(ids[i]) >= WA_ID_MAX)
			continue;
		len += (size_t)snprintf(arr + len, cap - len, "%s%s",
		                        len > 1 ? "," : "", ids[i]);
	}
	arr[len++] = '}';
	arr[len] = 0;
	wa_pg_p_str(&p, arr);
	r = wa_pg_read(S(st),
	               "SELECT id, status, attempts, provider_message_id,"
	               " last_error FROM messages WHERE id = ANY($1::text[])",
	               &p, "read", err, err_len);
	free(arr);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r); row++) {
		const char *id = PQgetvalue(r, row, 0);

		for (size_t i = 0; i < n; i++) {
			wa_msg_peek *o = &out[i];
			int v;

			if (o->found || strcmp(ids[i], id) != 0)
				continue;
			o->found = true;
			v = wa_pg_status(r, row, 1);
			o->status = v < 0 ? WA_MSG_FAILED : (wa_msg_status)v;
			o->attempts = (int)wa_pg_i64(r, row, 2);
			wa_pg_copy(r, row, 3, o->provider_message_id,
			           sizeof(o->provider_message_id));
			wa_pg_copy(r, row, 4, o->last_error,
			           sizeof(o->last_error));
		}
	}
	PQclear(r);
	return 0;
}

int wa_pg_early_keep(wa_store *st, const wa_status_change *c, int64_t now_ms,
                     char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	if (!c->provider || !c->provider_message_id || !*c->provider_message_id)
		return 0;
	wa_pg_p_str(&p, c->provider);
	wa_pg_p_str(&p, c->provider_message_id);
	wa_pg_p_str(&p, wa_msg_status_name(c->status));
	wa_pg_p_i64(&p, c->at_ms);
	wa_pg_p_str(&p, c->error && *c->error ? c->error : NULL);
	wa_pg_p_i64(&p, now_ms);
	wa_pg_p_str(&p, c->retryable ? "t" : "f");
	r = wa_pg_write(S(st),
	                "INSERT INTO early_status (provider,"
	                " provider_message_id, status, at_ms, error, kept_ms,"
	                " retryable) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	                &p, "early status keep", err, err_len);
	PQclear(r);
	return r ? 0 : -1;
}

/* Rows another instance is taking are skipped (SKIP LOCKED): each kept
 * update is applied once, by one instance. */
int wa_pg_early_take(wa_store *st, int64_t min_kept_ms, wa_kept_status *out,
                     size_t max, size_t *n, char *err, size_t err_len)
{
	wa_pg_params p = {0};
	PGresult *r;

	*n = 0;
	if (max == 0)
		return 0;
	wa_pg_p_i64(&p, min_kept_ms);
	wa_pg_p_i64(&p, (int64_t)max);
	r = wa_pg_write(
	    S(st),
	    "WITH old AS (DELETE FROM early_status WHERE kept_ms < $1),"
	    " c AS MATERIALIZED (SELECT e.id AS cid FROM early_status AS e"
	    "  WHERE e.kept_ms >= $1 AND EXISTS (SELECT 1 FROM messages AS m"
	    "   WHERE m.provider = e.provider"
	    "   AND m.provider_message_id = e.provider_message_id)"
	    "  ORDER BY e.id LIMIT $2 FOR UPDATE SKIP LOCKED),"
	    " d AS (DELETE FROM early_status USING c WHERE id = c.cid"
	    "  RETURNING id, provider, provider_message_id, status, at_ms,"
	    "  error, retryable)"
	    " SELECT provider, provider_message_id, status, at_ms, error,"
	    " retryable FROM d ORDER BY id",
	    &p, "early status take", err, err_len);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r) && *n < max; row++) {
		wa_kept_status *k = &out[*n];
		int v = wa_pg_status(r, row, 2);

		if (v < 0)
			continue;
		memset(k, 0, sizeof(*k));
		wa_pg_copy(r, row, 0, k->provider, sizeof(k->provider));
		wa_pg_copy(r, row, 1, k->provider_message_id,
		           sizeof(k->provider_message_id));
		k->status = (wa_msg_status)v;
		k->at_ms = wa_pg_i64(r, row, 3);
		wa_pg_copy(r, row, 4, k->error, sizeof(k->error));
		k->retryable = strcmp(PQgetvalue(r, row, 5), "t") == 0;
		(*n)++;
	}
	PQclear(r);
	return 0;
}
