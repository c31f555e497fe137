/* pg_conn.c - what every PostgreSQL store file shares: connecting (errors
 * without the password), running a statement, reading columns and rows */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

/* Replace every occurrence of secret in s by "***" (in place, s shrinks or
 * stays; secrets shorter than 3 bytes are replaced by as many '*'). */
static void redact(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (n == 0)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		size_t k = n < 3 ? n : 3;

		memset(p, '*', k);
		memmove(p + k, p + n, strlen(p + n) + 1);
	}
}

/* Quoted parts of a libpq parse error may hold any part of the string,
 * the password included: drop them. */
static void drop_quoted(char *s, size_t n)
{
	char out[WA_ERR_MAX];
	size_t o = 0;
	bool in = false;

	for (const char *p = s; *p && o + 6 < sizeof(out); p++) {
		if (*p == '"') {
			if (!in) {
				memcpy(out + o, "\"...\"", 5);
				o += 5;
			}
			in = !in;
			continue;
		}
		if (!in)
			out[o++] = *p;
	}
	out[o] = '\0';
	snprintf(s, n, "%s", out);
}

/* "." unless msg already ends a sentence. */
static const char *stop(const char *msg)
{
	size_t n = strlen(msg);

	return n && (msg[n - 1] == '?' || msg[n - 1] == '!') ? "" : ".";
}

void wa_pg_msg(const char *msg, char *out, size_t out_len)
{
	size_t n = 0;
	bool space = false;

	if (out_len == 0)
		return;
	/* one line, each run of white space one blank */
	for (const char *p = msg ? msg : ""; *p && n + 1 < out_len; p++) {
		bool ws = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';

		if (ws && (space || n == 0))
			continue;
		out[n++] = ws ? ' ' : *p;
		space = ws;
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '.'))
		n--;
	out[n] = '\0';
}

/* Server notices ("relation ... already exists, skipping") are not ours
 * to print on stderr, which is the daemon's JSON log. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *wa_pg_connect(const char *conninfo, char *err, size_t err_len)
{
	const char *keys[] = {"connect_timeout", "application_name", "dbname",
	                      NULL};
	const char *vals[] = {"10", "wadispatchd", conninfo, NULL};
	PQconninfoOption *opts;
	char *perr = NULL, msg[WA_ERR_MAX];
	char *password = NULL;
	PGconn *c;

	opts = PQconninfoParse(conninfo, &perr);
	if (!opts) {
		wa_pg_msg(perr ? perr : "out of memory", msg, sizeof(msg));
		drop_quoted(msg, sizeof(msg));
		snprintf(err, err_len,
		         "DATABASE_URL is not a valid PostgreSQL connection "
		         "string (%s).",
		         msg);
		PQfreemem(perr);
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val)
			password = strdup(o->val);
	PQconninfoFree(opts);
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		wa_pg_msg(c ? PQerrorMessage(c) : "out of memory", msg,
		          sizeof(msg));
		redact(msg, password);
		snprintf(err, err_len, "Cannot connect to PostgreSQL: %s%s",
		         msg, stop(msg));
		PQfinish(c);
		c = NULL;
	} else {
		PQsetNoticeProcessor(c, quiet, NULL);
	}
	free(password);
	return c;
}

void wa_pg_p_str(wa_pg_params *p, const char *s)
{
	if (p->n < WA_PG_MAX_PARAMS)
		p->v[p->n++] = s;
}

void wa_pg_p_i64(wa_pg_params *p, int64_t v)
{
	if (p->n >= WA_PG_MAX_PARAMS)
		return;
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

PGresult *wa_pg_exec(PGconn *c, const char *sql, const wa_pg_params *p,
                     const char *what, char *err, size_t err_len)
{
	PGresult *r;
	ExecStatusType st;
	char msg[WA_ERR_MAX];

	r = PQexecParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL,
	                 NULL, 0);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	wa_pg_msg(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r)
	                                        : PQerrorMessage(c),
	          msg, sizeof(msg));
	snprintf(err, err_len, "Store %s failed: %s.", what, msg);
	PQclear(r);
	return NULL;
}

void wa_pg_copy(const PGresult *r, int row, int col, char *dst, size_t n)
{
	snprintf(dst, n, "%s",
	         PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int64_t wa_pg_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int wa_pg_status(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return -1;
	return wa_msg_status_parse(PQgetvalue(r, row, col));
}

static int dup_col(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	*out = strdup(PQgetvalue(r, row, col));
	return *out ? 0 : -1;
}

int wa_pg_fill_rec(const PGresult *r, int row, wa_message_rec *m)
{
	int status;

	memset(m, 0, sizeof(*m));
	wa_pg_copy(r, row, 0, m->id, sizeof(m->id));
	wa_pg_copy(r, row, 1, m->external_id, sizeof(m->external_id));
	wa_pg_copy(r, row, 2, m->phone, sizeof(m->phone));
	if (dup_col(r, row, 3, &m->body) < 0 ||
	    dup_col(r, row, 4, &m->template_json) < 0 ||
	    dup_col(r, row, 5, &m->media_url) < 0)
		goto oom;
	if (!m->body && !(m->body = strdup("")))
		goto oom;
	wa_pg_copy(r, row, 6, m->provider, sizeof(m->provider));
	status = wa_pg_status(r, row, 7);
	m->status = status < 0 ? WA_MSG_FAILED : (wa_msg_status)status;
	m->attempts = (int)wa_pg_i64(r, row, 8);
	wa_pg_copy(r, row, 9, m->provider_message_id,
	           sizeof(m->provider_message_id));
	wa_pg_copy(r, row, 10, m->last_error, sizeof(m->last_error));
	wa_pg_copy(r, row, 11, m->upstream_code, sizeof(m->upstream_code));
	m->upstream_status = (long)wa_pg_i64(r, row, 12);
	m->created_ms = wa_pg_i64(r, row, 13);
	m->updated_ms = wa_pg_i64(r, row, 14);
	m->next_attempt_ms = wa_pg_i64(r, row, 15);
	m->expires_ms = wa_pg_i64(r, row, 16);
	m->lease_until_ms = wa_pg_i64(r, row, 17);
	m->claim_seq = wa_pg_i64(r, row, 18);
	wa_pg_copy(r, row, 19, m->campaign_id, sizeof(m->campaign_id));
	if (dup_col(r, row, 20, &m->content_json) < 0)
		goto oom;
	return 0;
oom:
	wa_message_rec_free(m);
	return -1;
}

void wa_pg_set_fault(wa_pg_store *s, const char *why)
{
	pthread_mutex_lock(&s->fault_mu);
	snprintf(s->fault, sizeof(s->fault), "%s", why ? why : "");
	pthread_mutex_unlock(&s->fault_mu);
	if (why)
		atomic_store(&s->fault_mono_ms, (long long)wa_mono_ms());
	atomic_store(&s->write_down, why != NULL);
}
