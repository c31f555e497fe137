/* pg_wx.c - run one write statement of the PostgreSQL store's current
 * transaction (every write file uses it; it calls none of them) */
#include "store/pg/pg_impl.h"

#include <stdio.h>

/* Run a write statement; a lost connection is remembered for ping. */
PGresult *wa_pg_write(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                      const char *what, char *err, size_t err_len)
{
	PGresult *r;

	if (!s->w || PQstatus(s->w) != CONNECTION_OK) {
		snprintf(err, err_len, "The database connection is lost.");
		return NULL;
	}
	/* BEGIN and the writes waiting before this statement go first, in
	 * the same round trip */
	r = NULL;
	if (s->in_tx && (!s->began || s->n_pending || s->n_dfin)) {
		if (wa_pg_flush(s, false, sql, p, what, &r, err, err_len) < 0)
			r = NULL;
	} else {
		r = wa_pg_exec(s->w, sql, p, what, err, err_len);
	}
	if (!r && PQstatus(s->w) != CONNECTION_OK) {
		s->retry_mono_ms = 0; /* try again at the next begin */
		wa_pg_set_fault(s, err);
	}
	return r;
}
