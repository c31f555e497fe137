/* sqlite_pool.c - the SQLite store's pool of read connections (shared by
 * sqlite.c and sqlite_contacts.c) */
#include "store/sqlite/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>

void wa_sq_reader_free(wa_sq_reader *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < R_N; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r);
}

static wa_sq_reader *reader_open(wa_sq_store *s, char *err, size_t err_len)
{
	wa_sq_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, err_len, "Out of memory.");
		return NULL;
	}
	if (sqlite3_open_v2(s->path, &r->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, err_len, "Cannot open a read connection: %s.",
		         r->db ? sqlite3_errmsg(r->db) : "out of memory");
		wa_sq_reader_free(r);
		return NULL;
	}
	sqlite3_busy_timeout(r->db, WA_SQ_BUSY_TIMEOUT_MS);
	sqlite3_exec(r->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
	return r;
}

/* Check a reader out of the pool, opening one when all are in use and the
 * pool is not full; else wait for one. */
wa_sq_reader *wa_sq_reader_get(wa_sq_store *s, char *err, size_t err_len)
{
	wa_sq_reader *r = NULL;
	size_t i;

	pthread_mutex_lock(&s->pool_mu);
	for (;;) {
		for (i = 0; i < s->n_readers; i++) {
			if (!s->readers[i]->busy) {
				r = s->readers[i];
				r->busy = 1;
				pthread_mutex_unlock(&s->pool_mu);
				return r;
			}
		}
		if (s->n_readers < WA_SQ_POOL_MAX)
			break;
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	}
	r = reader_open(s, err, err_len);
	if (r) {
		r->busy = 1;
		s->readers[s->n_readers++] = r;
	}
	pthread_mutex_unlock(&s->pool_mu);
	return r;
}

void wa_sq_reader_put(wa_sq_store *s, wa_sq_reader *r)
{
	pthread_mutex_lock(&s->pool_mu);
	r->busy = 0;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}
