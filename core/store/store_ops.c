/* store_ops.c - helpers over wa_store_ops shared by every caller */
#include "store/store.h"

/* schedule runs whether or not res already says CREATED: a store may give
 * insert results only at commit (PostgreSQL's pipelined inserts), and
 * schedule touches only a queued, never-attempted row with the new id, so
 * after a replay or a conflict (no row has m->id) it changes nothing. */
int wa_store_insert_full(wa_store *s, const wa_new_message *m,
                         wa_insert_result *res, char *err, size_t err_len)
{
	int rc = s->ops->insert(s, m, res, err, err_len);

	if (rc != 0)
		return rc;
	if ((m->campaign_id && *m->campaign_id) || m->send_at_ms > 0)
		rc = s->ops->schedule(s, m->id, m->campaign_id, m->send_at_ms,
		                      err, err_len);
	return rc < 0 ? -1 : 0;
}
