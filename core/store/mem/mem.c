/* mem.c - the in-memory message store (tests): reads, open and close */
#include "store/mem/mem_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reads ---- */

static int copy_rec(const mem_msg *mm, wa_message_rec *out, char *err,
                    size_t err_len)
{
	bool oom = false;

	*out = mm->r;
	out->body = wa_mem_dup_opt(mm->r.body, &oom);
	out->template_json = wa_mem_dup_opt(mm->r.template_json, &oom);
	out->media_url = wa_mem_dup_opt(mm->r.media_url, &oom);
	out->content_json = wa_mem_dup_opt(mm->r.content_json, &oom);
	out->history = NULL;
	if (mm->r.n_history) {
		out->history = malloc(mm->r.n_history * sizeof(*out->history));
		if (out->history)
			memcpy(out->history, mm->r.history,
			       mm->r.n_history * sizeof(*out->history));
		else
			oom = true;
	}
	if (oom) {
		wa_message_rec_free(out);
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	return 0;
}

static int get_found(mem_store *m, const mem_msg *mm, wa_message_rec *out,
                     char *err, size_t err_len)
{
	int rc = mm ? copy_rec(mm, out, err, err_len) : 1;

	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mem_get(wa_store *s, const char *id, wa_message_rec *out, char *err,
                   size_t err_len)
{
	mem_store *m = M(s);

	memset(out, 0, sizeof(*out));
	if (!id)
		return 1;
	pthread_mutex_lock(&m->mu);
	return get_found(m, wa_mem_find_id(m, id), out, err, err_len);
}

static int mem_get_by_external(wa_store *s, const char *ext,
                               wa_message_rec *out, char *err, size_t err_len)
{
	mem_store *m = M(s);

	memset(out, 0, sizeof(*out));
	if (!ext)
		return 1;
	pthread_mutex_lock(&m->mu);
	return get_found(m, wa_mem_find_ext(m, ext), out, err, err_len);
}

static int mem_get_by_provider_id(wa_store *s, const char *provider,
                                  const char *pmid, wa_message_rec *out,
                                  char *err, size_t err_len)
{
	mem_store *m = M(s);

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	return get_found(m, wa_mem_find_pmid(m, provider, pmid), out, err,
	                 err_len);
}

static int mem_stats(wa_store *s, wa_store_stats *out, char *err,
                     size_t err_len)
{
	mem_store *m = M(s);
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	/* kept per commit (mem_core.c); the times below still scan: the
	 * memory store is for tests */
	memcpy(out->count, m->counts, sizeof(out->count));
	for (i = 0; i < m->n_msgs; i++) {
		const wa_message_rec *r = &m->msgs[i]->r;

		if (r->status == WA_MSG_QUEUED &&
		    (out->oldest_queued_ms == 0 ||
		     r->created_ms < out->oldest_queued_ms))
			out->oldest_queued_ms = r->created_ms;
		if (out->oldest_ms == 0 || r->created_ms < out->oldest_ms)
			out->oldest_ms = r->created_ms;
	}
	out->outbox_pending = (long long)(m->n_obs - m->n_ob_deleted);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static int mem_next_due(wa_store *s, int64_t *due_ms, char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool any = false;
	int64_t best = 0, t;
	size_t i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n_msgs; i++) {
		const wa_message_rec *r = &m->msgs[i]->r;

		if (r->status == WA_MSG_QUEUED)
			t = r->next_attempt_ms;
		else if (r->status == WA_MSG_SENDING)
			t = r->lease_until_ms + 1;
		else
			continue;
		if (!any || t < best)
			best = t;
		any = true;
	}
	pthread_mutex_unlock(&m->mu);
	if (!any)
		return 1;
	*due_ms = best;
	return 0;
}

static int mem_ping(wa_store *s, char *err, size_t err_len)
{
	return 0;
}

static void mem_close(wa_store *s)
{
	mem_store *m = M(s);
	size_t i;

	for (i = 0; i < m->n_msgs; i++)
		wa_mem_msg_free(m->msgs[i]);
	free(m->msgs);
	free(m->head_id);
	free(m->head_ext);
	for (i = 0; i < m->n_obs; i++)
		free(m->obs[i].body);
	free(m->obs);
	free(m->undo);
	for (i = 0; i < m->n_ins; i++)
		wa_inbound_rec_free(&m->ins[i]);
	free(m->ins);
	free(m->cts);
	wa_mem_pace_free(m);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static const wa_store_ops mem_ops = {
    .close = mem_close,
    .begin = wa_mem_begin,
    .commit = wa_mem_commit,
    .rollback = wa_mem_rollback,
    .insert = wa_mem_insert,
    .claim = wa_mem_claim,
    .finish = wa_mem_finish,
    .cancel = wa_mem_cancel,
    .apply_status = wa_mem_apply_status,
    .release_all = wa_mem_release_all,
    .set_outbox = wa_mem_set_outbox,
    .outbox_claim = wa_mem_outbox_claim,
    .outbox_finish = wa_mem_outbox_finish,
    .get = mem_get,
    .get_by_external = mem_get_by_external,
    .get_by_provider_id = mem_get_by_provider_id,
    .stats = mem_stats,
    .next_due = mem_next_due,
    .ping = mem_ping,
    .inbound_add = wa_mem_inbound_add,
    .contact_set_opt = wa_mem_contact_set_opt,
    .cancel_phone = wa_mem_cancel_phone,
    .outbox_add = wa_mem_outbox_add,
    .contact_get = wa_mem_contact_get,
    .inbound_list = wa_mem_inbound_list,
    .suppression_list = wa_mem_suppression_list,
    .schedule = wa_mem_schedule,
    .list = wa_mem_list,
    .requeue = wa_mem_requeue,
    .requeue_many = wa_mem_requeue_many,
    .cancel_campaign = wa_mem_cancel_campaign,
    .campaign_counts = wa_mem_campaign_counts,
    .failure_codes = wa_mem_failure_codes,
    .set_pacing = wa_mem_set_pacing,
    .budget = wa_mem_budget,
    .suppressed = wa_mem_suppressed,
};

wa_store *wa_store_open_memory(char *err, size_t err_len)
{
	mem_store *m = calloc(1, sizeof(*m));
	pthread_mutexattr_t attr;

	if (!m || wa_mem_rehash(m, 256) < 0) {
		free(m);
		wa_mem_grow_fail(err, err_len);
		return NULL;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	m->next_seq = 1;
	m->base.ops = &mem_ops;
	m->base.kind = "memory";
	m->base.impl = m;
	return &m->base;
}
