/* pg_pool.c - the PostgreSQL store's pool of read connections (shared by
 * pg.c and pg_contacts.c): reads never wait for the writer */
#include "store/pg/pg_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/timeutil.h"

wa_pg_reader *wa_pg_reader_get(wa_pg_store *s)
{
	wa_pg_reader *r = NULL;

	pthread_mutex_lock(&s->pool_mu);
	for (;;) {
		for (size_t i = 0; i < s->n_readers; i++) {
			if (!s->readers[i].busy) {
				r = &s->readers[i];
				break;
			}
		}
		if (!r && s->n_readers < WA_PG_POOL_MAX)
			r = &s->readers[s->n_readers++];
		if (r)
			break;
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	}
	r->busy = true;
	pthread_mutex_unlock(&s->pool_mu);
	return r;
}

void wa_pg_reader_put(wa_pg_store *s, wa_pg_reader *r)
{
	pthread_mutex_lock(&s->pool_mu);
	r->busy = false;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

/* Connect r, unless a connect failed moments ago (then fail at once with
 * that error); failures back off from 100 ms doubling to 5 s. */
static int reader_connect(wa_pg_store *s, wa_pg_reader *r, char *err,
                          size_t err_len)
{
	int64_t now = wa_mono_ms();

	pthread_mutex_lock(&s->pool_mu);
	if (now < s->read_retry_ms) {
		snprintf(err, err_len, "%s", s->read_fault);
		pthread_mutex_unlock(&s->pool_mu);
		return -1;
	}
	pthread_mutex_unlock(&s->pool_mu);
	PQfinish(r->c);
	r->c = wa_pg_connect(s->conninfo, err, err_len);
	pthread_mutex_lock(&s->pool_mu);
	if (r->c) {
		s->read_backoff_ms = 0;
		s->read_retry_ms = 0;
	} else {
		s->read_backoff_ms = s->read_backoff_ms ? s->read_backoff_ms * 2
		                                        : WA_PG_BACKOFF_MIN_MS;
		if (s->read_backoff_ms > WA_PG_BACKOFF_MAX_MS)
			s->read_backoff_ms = WA_PG_BACKOFF_MAX_MS;
		s->read_retry_ms = wa_mono_ms() + s->read_backoff_ms;
		snprintf(s->read_fault, sizeof(s->read_fault), "%s", err);
	}
	pthread_mutex_unlock(&s->pool_mu);
	return r->c ? 0 : -1;
}

/* Run a read on r, connecting it first when needed; a connection lost
 * since its last use (a database restart) is replaced once. */
PGresult *wa_pg_rx(wa_pg_store *s, wa_pg_reader *r, const char *sql,
                   const wa_pg_params *p, const char *what, char *err,
                   size_t err_len)
{
	PGresult *res = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!r->c || PQstatus(r->c) != CONNECTION_OK) {
			if (reader_connect(s, r, err, err_len) < 0)
				return NULL;
		}
		res = wa_pg_exec(r->c, sql, p, what, err, err_len);
		if (res || PQstatus(r->c) == CONNECTION_OK)
			break;
	}
	return res;
}

PGresult *wa_pg_read(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                     const char *what, char *err, size_t err_len)
{
	wa_pg_reader *rd = wa_pg_reader_get(s);
	PGresult *r = wa_pg_rx(s, rd, sql, p, what, err, err_len);

	wa_pg_reader_put(s, rd);
	return r;
}
