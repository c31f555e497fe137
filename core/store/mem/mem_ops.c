/* mem_ops.c - the memory store's operator operations: schedule, list,
 * requeue, campaigns (store.h, the ops appended for issue 15). Plain scans:
 * the memory store serves tests. */
#include "store/mem/mem_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool matches(const mem_msg *mm, const wa_msg_filter *f, bool final_only)
{
	const wa_message_rec *r = &mm->r;

	if (f->status >= 0 && (int)r->status != f->status)
		return false;
	if (final_only && r->status != WA_MSG_FAILED &&
	    r->status != WA_MSG_CANCELED)
		return false;
	if (f->campaign_id && *f->campaign_id &&
	    strcmp(r->campaign_id, f->campaign_id) != 0)
		return false;
	if (f->phone && *f->phone && strcmp(r->phone, f->phone) != 0)
		return false;
	if (f->since_ms > 0 && r->created_ms < f->since_ms)
		return false;
	if (f->until_ms > 0 && r->created_ms >= f->until_ms)
		return false;
	if (f->has_after && (r->created_ms > f->after_created_ms ||
	                     (r->created_ms == f->after_created_ms &&
	                      strcmp(r->id, f->after_id) >= 0)))
		return false;
	return true;
}

/* Newest first: created_ms DESC, id DESC. */
static int newest_first(const void *a, const void *b)
{
	const mem_msg *x = *(const mem_msg *const *)a;
	const mem_msg *y = *(const mem_msg *const *)b;

	if (x->r.created_ms != y->r.created_ms)
		return x->r.created_ms > y->r.created_ms ? -1 : 1;
	return -strcmp(x->r.id, y->r.id);
}

/* The matching messages, newest first, at most max (caller frees). */
static mem_msg **select_msgs(mem_store *m, const wa_msg_filter *f,
                             bool final_only, size_t max, size_t *n)
{
	mem_msg **sel = calloc(m->n_msgs ? m->n_msgs : 1, sizeof(*sel));

	*n = 0;
	if (!sel)
		return NULL;
	/* requeue (final_only): never for a phone that opted out */
	for (size_t i = 0; i < m->n_msgs; i++)
		if (matches(m->msgs[i], f, final_only) &&
		    !(final_only && wa_mem_opted_out(m, m->msgs[i]->r.phone)))
			sel[(*n)++] = m->msgs[i];
	qsort(sel, *n, sizeof(*sel), newest_first);
	if (*n > max)
		*n = max;
	return sel;
}

int wa_mem_schedule(wa_store *s, const char *id, const char *campaign_id,
                    int64_t send_at_ms, char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	mem_msg *mm = wa_mem_find_id(m, id);
	int rc = 1;

	if (mm && mm->r.status == WA_MSG_QUEUED && mm->r.attempts == 0) {
		rc = wa_mem_touch(m, mm, err, err_len);
		if (rc == 0) {
			snprintf(mm->r.campaign_id, sizeof(mm->r.campaign_id),
			         "%s", campaign_id ? campaign_id : "");
			if (send_at_ms > mm->r.created_ms)
				mm->r.expires_ms +=
				    send_at_ms - mm->r.created_ms;
			if (send_at_ms > mm->r.next_attempt_ms)
				mm->r.next_attempt_ms = send_at_ms;
			mm->send_at_ms = send_at_ms;
		}
	}
	return wa_mem_w_leave(m, own, rc);
}

int wa_mem_list(wa_store *s, const wa_msg_filter *f, size_t max,
                wa_message_rec *out, size_t *n, char *err, size_t err_len)
{
	mem_store *m = M(s);
	mem_msg **sel;
	bool oom = false;

	*n = 0;
	pthread_mutex_lock(&m->mu);
	sel = select_msgs(m, f, false, max, n);
	if (!sel) {
		pthread_mutex_unlock(&m->mu);
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		out[i] = sel[i]->r;
		out[i].body = wa_mem_dup_opt(sel[i]->r.body, &oom);
		out[i].template_json =
		    wa_mem_dup_opt(sel[i]->r.template_json, &oom);
		out[i].media_url = wa_mem_dup_opt(sel[i]->r.media_url, &oom);
		out[i].content_json =
		    wa_mem_dup_opt(sel[i]->r.content_json, &oom);
		out[i].history = NULL;
		out[i].n_history = 0;
	}
	pthread_mutex_unlock(&m->mu);
	free(sel);
	if (oom) {
		for (size_t i = 0; i < *n; i++)
			wa_message_rec_free(&out[i]);
		*n = 0;
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	return 0;
}

static int requeue_one(mem_store *m, mem_msg *mm, int64_t now_ms,
                       int64_t expires_ms, const char *reason, char *err,
                       size_t err_len)
{
	char detail[WA_ERR_MAX];

	if (wa_mem_touch(m, mm, err, err_len) < 0)
		return -1;
	mm->r.status = WA_MSG_QUEUED;
	mm->r.attempts = 0;
	mm->r.next_attempt_ms = now_ms;
	mm->r.updated_ms = now_ms;
	mm->r.expires_ms = expires_ms;
	mm->r.lease_until_ms = 0;
	mm->r.provider_message_id[0] = 0;
	snprintf(detail, sizeof(detail), "requeued: %s",
	         reason && *reason ? reason : "by an operator");
	return wa_mem_hist_add(mm, WA_MSG_QUEUED, now_ms, detail, err, err_len);
}

int wa_mem_requeue(wa_store *s, const char *id, int64_t now_ms,
                   int64_t expires_ms, const char *reason,
                   wa_requeue_kind *kind, wa_msg_status *status, char *err,
                   size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	mem_msg *mm = wa_mem_find_id(m, id);
	int rc = 0;

	*kind = WA_REQUEUE_NOT_FOUND;
	*status = WA_MSG_QUEUED;
	if (mm) {
		*status = mm->r.status;
		if (mm->r.status != WA_MSG_FAILED &&
		    mm->r.status != WA_MSG_CANCELED) {
			*kind = WA_REQUEUE_NOT_FINAL;
		} else {
			rc = requeue_one(m, mm, now_ms, expires_ms, reason, err,
			                 err_len);
			*kind = WA_REQUEUE_DONE;
			*status = WA_MSG_QUEUED;
		}
	}
	return wa_mem_w_leave(m, own, rc);
}

long wa_mem_requeue_many(wa_store *s, const wa_msg_filter *f, size_t max,
                         int64_t now_ms, int64_t expires_ms, const char *reason,
                         char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own;
	mem_msg **sel;
	size_t n = 0;
	int rc = 0;

	if (f->status >= 0 && f->status != WA_MSG_FAILED &&
	    f->status != WA_MSG_CANCELED)
		return 0;
	own = wa_mem_w_enter(m);
	sel = select_msgs(m, f, true, max, &n);
	if (!sel) {
		wa_mem_grow_fail(err, err_len);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = requeue_one(m, sel[i], now_ms, expires_ms, reason, err,
		                 err_len);
	free(sel);
	rc = wa_mem_w_leave(m, own, rc);
	return rc < 0 ? -1 : (long)n;
}

long wa_mem_cancel_campaign(wa_store *s, const char *campaign_id,
                            int64_t now_ms, char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	wa_msg_filter f;
	mem_msg **sel;
	size_t n = 0;
	long done = 0;
	int rc = 0;

	memset(&f, 0, sizeof(f));
	f.status = WA_MSG_QUEUED;
	f.campaign_id = campaign_id;
	sel = select_msgs(m, &f, false, m->n_msgs, &n);
	if (!sel) {
		wa_mem_grow_fail(err, err_len);
		rc = -1;
	}
	/* The ordinary cancel: same history and webhook as one by one. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		wa_cancel_kind kind;
		wa_msg_status status;

		rc = wa_mem_cancel(s, sel[i]->r.id, now_ms, &kind, &status, err,
		                   err_len);
		done += rc == 0 && kind == WA_CANCEL_DONE;
	}
	free(sel);
	rc = wa_mem_w_leave(m, own, rc);
	return rc < 0 ? -1 : done;
}

int wa_mem_campaign_counts(wa_store *s, const char *campaign_id,
                           wa_campaign_counts *out, char *err, size_t err_len)
{
	mem_store *m = M(s);

	(void)err;
	(void)err_len;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n_msgs; i++) {
		const wa_message_rec *r = &m->msgs[i]->r;

		if (strcmp(r->campaign_id, campaign_id) == 0 &&
		    (unsigned)r->status < 7) {
			out->count[r->status]++;
			out->total++;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const wa_failure_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->code, y->code);
}

int wa_mem_failure_codes(wa_store *s, int64_t since_ms, size_t max,
                         wa_failure_count *out, size_t *n, char *err,
                         size_t err_len)
{
	mem_store *m = M(s);
	wa_failure_count *all;
	size_t k = 0;

	*n = 0;
	pthread_mutex_lock(&m->mu);
	all = calloc(m->n_msgs ? m->n_msgs : 1, sizeof(*all));
	if (!all) {
		pthread_mutex_unlock(&m->mu);
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	for (size_t i = 0; i < m->n_msgs; i++) {
		const wa_message_rec *r = &m->msgs[i]->r;
		const char *code =
		    r->upstream_code[0] ? r->upstream_code : r->last_error;
		size_t j;

		if (r->status != WA_MSG_FAILED || r->created_ms < since_ms)
			continue;
		for (j = 0; j < k && strcmp(all[j].code, code) != 0; j++)
			;
		if (j == k)
			snprintf(all[k++].code, sizeof(all->code), "%s", code);
		all[j].n++;
	}
	pthread_mutex_unlock(&m->mu);
	qsort(all, k, sizeof(*all), by_count);
	for (; *n < k && *n < max; (*n)++)
		out[*n] = all[*n];
	free(all);
	return 0;
}
