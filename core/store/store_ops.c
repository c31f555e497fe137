/* store_ops.c - helpers over wa_store_ops shared by every caller */
#include "store/store.h"

int wa_store_insert_full(wa_store *s, const wa_new_message *m,
                         wa_insert_result *res, char *err, size_t err_len)
{
	int rc = s->ops->insert(s, m, res, err, err_len);

	if (rc != 0 || res->kind != WA_INSERT_CREATED)
		return rc;
	if ((m->campaign_id && *m->campaign_id) || m->send_at_ms > 0)
		rc = s->ops->schedule(s, m->id, m->campaign_id, m->send_at_ms,
		                      err, err_len);
	return rc < 0 ? -1 : 0;
}
