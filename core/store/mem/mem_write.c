/* mem_write.c - the in-memory store's write operations */
#include "store/mem/mem_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- changes ---- */

int wa_mem_hist_add(mem_msg *mm, wa_msg_status status, int64_t at_ms,
                    const char *detail, char *err, size_t err_len)
{
	wa_history_entry *h;

	if (mm->r.n_history == mm->hist_cap) {
		size_t ncap = mm->hist_cap ? mm->hist_cap * 2 : 4;

		h = realloc(mm->r.history, ncap * sizeof(*h));
		if (!h) {
			wa_mem_grow_fail(err, err_len);
			return -1;
		}
		mm->r.history = h;
		mm->hist_cap = ncap;
	}
	h = &mm->r.history[mm->r.n_history++];
	h->status = status;
	h->at_ms = at_ms;
	snprintf(h->detail, sizeof(h->detail), "%s", detail ? detail : "");
	return 0;
}

static int ob_add(mem_store *m, const mem_msg *mm, wa_msg_status status,
                  int64_t at_ms, const char *error, char *err, size_t err_len)
{
	mem_ob *o;

	if (!m->outbox || status == WA_MSG_QUEUED || status == WA_MSG_SENDING)
		return 0;
	if (m->n_obs == m->cap_obs) {
		size_t ncap = m->cap_obs ? m->cap_obs * 2 : 16;

		o = realloc(m->obs, ncap * sizeof(*o));
		if (!o) {
			wa_mem_grow_fail(err, err_len);
			return -1;
		}
		m->obs = o;
		m->cap_obs = ncap;
	}
	if (!wa_mem_undo_push(m, U_OB_NEW, m->n_obs)) {
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	o = &m->obs[m->n_obs++];
	memset(o, 0, sizeof(*o));
	o->e.seq = m->next_seq++;
	snprintf(o->e.message_id, sizeof(o->e.message_id), "%s", mm->r.id);
	snprintf(o->e.external_id, sizeof(o->e.external_id), "%s",
	         mm->r.external_id);
	o->e.status = status;
	snprintf(o->e.provider, sizeof(o->e.provider), "%s", mm->r.provider);
	snprintf(o->e.provider_message_id, sizeof(o->e.provider_message_id),
	         "%s", mm->r.provider_message_id);
	snprintf(o->e.error, sizeof(o->e.error), "%s", error ? error : "");
	o->e.occurred_ms = at_ms;
	snprintf(o->e.campaign_id, sizeof(o->e.campaign_id), "%s",
	         mm->r.campaign_id);
	return 0;
}

/* A status change: wa_mem_touch first, then set, then history and outbox. */
int wa_mem_change(mem_store *m, mem_msg *mm, wa_msg_status to, int64_t at_ms,
                  const char *detail, char *err, size_t err_len)
{
	mm->r.status = to;
	mm->r.updated_ms = at_ms;
	if (wa_mem_hist_add(mm, to, at_ms, detail, err, err_len) < 0)
		return -1;
	return ob_add(m, mm, to, at_ms, detail && *detail ? detail : NULL, err,
	              err_len);
}

static int mem_insert_locked(mem_store *m, const wa_new_message *n,
                             wa_insert_result *res, char *err, size_t err_len)
{
	const wa_contact *ct;
	mem_msg *mm;
	bool oom = false;

	memset(res, 0, sizeof(*res));
	mm = wa_mem_find_ext(m, n->external_id);
	if (mm) {
		bool same =
		    strcmp(mm->r.phone, n->phone) == 0 &&
		    strcmp(mm->r.body, n->body) == 0 &&
		    wa_mem_eq_opt(mm->r.template_json, n->template_json) &&
		    wa_mem_eq_opt(mm->r.media_url, n->media_url) &&
		    wa_mem_eq_opt(mm->r.content_json, n->content_json);

		res->kind = same ? WA_INSERT_REPLAYED : WA_INSERT_CONFLICT;
		snprintf(res->id, sizeof(res->id), "%s", mm->r.id);
		res->status = mm->r.status;
		res->created_ms = mm->r.created_ms;
		return 0;
	}
	if ((ct = wa_mem_opted_out(m, n->phone))) {
		res->kind = WA_INSERT_SUPPRESSED;
		snprintf(res->opt_source, sizeof(res->opt_source), "%s",
		         ct->opt_source);
		res->opt_at_ms = ct->opt_at_ms;
		return 0;
	}
	if (wa_mem_find_id(m, n->id)) {
		snprintf(err, err_len, "A message with id %s already exists.",
		         n->id);
		return -1;
	}
	if (m->n_msgs == m->cap_msgs) {
		size_t ncap = m->cap_msgs ? m->cap_msgs * 2 : 64;
		mem_msg **a = realloc(m->msgs, ncap * sizeof(*a));

		if (!a)
			goto oom;
		m->msgs = a;
		m->cap_msgs = ncap;
	}
	if (m->n_msgs >= m->n_buckets && wa_mem_rehash(m, m->n_buckets * 2) < 0)
		goto oom;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		goto oom;
	snprintf(mm->r.id, sizeof(mm->r.id), "%s", n->id);
	snprintf(mm->r.external_id, sizeof(mm->r.external_id), "%s",
	         n->external_id);
	snprintf(mm->r.phone, sizeof(mm->r.phone), "%s", n->phone);
	snprintf(mm->r.provider, sizeof(mm->r.provider), "%s", n->provider);
	mm->r.body = wa_mem_dup_opt(n->body, &oom);
	mm->r.template_json = wa_mem_dup_opt(n->template_json, &oom);
	mm->r.media_url = wa_mem_dup_opt(n->media_url, &oom);
	mm->r.content_json = wa_mem_dup_opt(n->content_json, &oom);
	mm->r.status = WA_MSG_QUEUED;
	mm->ord = ++m->next_ord;
	mm->r.created_ms = mm->r.updated_ms = n->created_ms;
	mm->r.next_attempt_ms = n->created_ms;
	mm->r.expires_ms = n->expires_ms;
	if ((mm->held = wa_mem_pace_insert_held(m, n->phone)))
		mm->r.next_attempt_ms =
		    wa_store_pace_hold_until(n->created_ms, n->created_ms);
	if (oom || !wa_mem_undo_push(m, U_MSG_NEW, m->n_msgs)) {
		wa_mem_msg_free(mm);
		goto oom;
	}
	m->msgs[m->n_msgs++] = mm;
	wa_mem_link_msg(m, m->n_msgs - 1);
	if (wa_mem_change(m, mm, WA_MSG_QUEUED, n->created_ms, "", err,
	                  err_len) < 0)
		return -1;
	res->kind = WA_INSERT_CREATED;
	snprintf(res->id, sizeof(res->id), "%s", n->id);
	res->status = WA_MSG_QUEUED;
	res->created_ms = n->created_ms;
	return 0;
oom:
	wa_mem_grow_fail(err, err_len);
	return -1;
}

int wa_mem_insert(wa_store *s, const wa_new_message *n, wa_insert_result *res,
                  char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own;

	if (wa_new_message_check(n, err, err_len) != 0)
		return -1;
	own = wa_mem_w_enter(m);
	return wa_mem_w_leave(m, own,
	                      mem_insert_locked(m, n, res, err, err_len));
}

static bool claim_before(const mem_msg *a, const mem_msg *b)
{
	/* messages are in insertion order: pointers compare by index */
	return a->r.next_attempt_ms < b->r.next_attempt_ms;
}

/* Into pick[0..*np) (room for max) the expired leases, oldest due first,
 * merged with the queued messages the pacing rules let go. */
static int claim_pick(mem_store *m, int64_t now_ms, size_t max, mem_msg **pick,
                      int64_t *counted, size_t *np, char *err, size_t err_len)
{
	mem_msg **q = calloc(max, sizeof(*q));
	int64_t *qc = calloc(max, sizeof(*qc));
	size_t nq = 0, iq = 0, j;

	*np = 0;
	if (!q || !qc ||
	    wa_mem_pace_pick(m, now_ms, max, q, qc, &nq, err, err_len) < 0) {
		if (!q || !qc)
			wa_mem_grow_fail(err, err_len);
		free(q);
		free(qc);
		return -1;
	}
	/* keep the max oldest due leases, in (next_attempt_ms, insertion) */
	for (size_t i = 0; i < m->n_msgs; i++) {
		mem_msg *mm = m->msgs[i];

		if (mm->r.status != WA_MSG_SENDING ||
		    mm->r.lease_until_ms >= now_ms ||
		    (*np == max && !claim_before(mm, pick[*np - 1])))
			continue;
		j = *np < max ? (*np)++ : *np - 1;
		while (j > 0 && claim_before(mm, pick[j - 1])) {
			pick[j] = pick[j - 1];
			j--;
		}
		pick[j] = mm;
	}
	/* merge the queued ones in (they are in order already) */
	if (nq > 0) {
		mem_msg **all = calloc(max, sizeof(*all));
		int64_t *ac = calloc(max, sizeof(*ac));
		size_t na = 0, l = 0, nl = *np;

		if (!all || !ac) {
			free(all);
			free(ac);
			free(q);
			free(qc);
			wa_mem_grow_fail(err, err_len);
			return -1;
		}
		while (na < max && (l < nl || iq < nq)) {
			if (l >= nl ||
			    (iq < nq && !claim_before(pick[l], q[iq]))) {
				ac[na] = qc[iq];
				all[na++] = q[iq++];
			} else {
				all[na++] = pick[l++];
			}
		}
		memcpy(pick, all, na * sizeof(*all));
		memcpy(counted, ac, na * sizeof(*ac));
		*np = na;
		free(all);
		free(ac);
	}
	free(q);
	free(qc);
	return 0;
}

int wa_mem_claim(wa_store *s, int64_t now_ms, int64_t lease_until_ms,
                 size_t max, wa_message_rec *out, size_t *n, char *err,
                 size_t err_len)
{
	mem_store *m = M(s);
	mem_msg **pick;
	int64_t *counted;
	size_t i, np = 0;
	bool own;
	int rc = 0;

	*n = 0;
	if (max == 0)
		return 0;
	pick = calloc(max, sizeof(*pick));
	counted = calloc(max, sizeof(*counted));
	if (!pick || !counted) {
		free(pick);
		free(counted);
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	own = wa_mem_w_enter(m);
	rc = claim_pick(m, now_ms, max, pick, counted, &np, err, err_len);
	if (rc < 0)
		np = 0;
	for (i = 0; i < np && rc == 0; i++) {
		mem_msg *mm = pick[i];
		char detail[32];

		rc = wa_mem_touch(m, mm, err, err_len);
		if (rc < 0)
			break;
		mm->r.attempts++;
		mm->r.lease_until_ms = lease_until_ms;
		mm->held = false;
		snprintf(detail, sizeof(detail), "attempt %d", mm->r.attempts);
		rc = wa_mem_change(m, mm, WA_MSG_SENDING, now_ms, detail, err,
		                   err_len);
		if (rc == 0)
			rc = wa_mem_pace_claimed(m, mm->r.phone, now_ms,
			                         counted[i], err, err_len);
	}
	for (i = 0; i < np && rc == 0; i++) {
		wa_message_rec *r = &out[i];
		bool oom = false;

		*r = pick[i]->r;
		r->n_history = 0;
		r->history = NULL;
		r->body = wa_mem_dup_opt(pick[i]->r.body, &oom);
		r->template_json =
		    wa_mem_dup_opt(pick[i]->r.template_json, &oom);
		r->media_url = wa_mem_dup_opt(pick[i]->r.media_url, &oom);
		r->content_json = wa_mem_dup_opt(pick[i]->r.content_json, &oom);
		*n = i + 1;
		if (oom) {
			wa_mem_grow_fail(err, err_len);
			rc = -1;
		}
	}
	if (rc < 0) {
		while (*n > 0)
			wa_message_rec_free(&out[--(*n)]);
	}
	free(pick);
	free(counted);
	return wa_mem_w_leave(m, own, rc);
}

static int mem_finish_locked(mem_store *m, const char *id, const wa_outcome *o,
                             char *err, size_t err_len)
{
	mem_msg *mm = wa_mem_find_id(m, id);
	const char *detail = o->error ? o->error : "";
	wa_msg_status to;

	if (!mm || mm->r.status != WA_MSG_SENDING)
		return 1;
	if (o->kind < WA_OUT_SENT || o->kind > WA_OUT_RELEASE) {
		snprintf(err, err_len, "Unknown outcome kind %d.",
		         (int)o->kind);
		return -1;
	}
	if (wa_mem_touch(m, mm, err, err_len) < 0)
		return -1;
	mm->r.lease_until_ms = 0;
	switch (o->kind) {
	case WA_OUT_SENT:
		to = WA_MSG_SENT;
		snprintf(mm->r.provider_message_id,
		         sizeof(mm->r.provider_message_id), "%s",
		         o->provider_message_id ? o->provider_message_id : "");
		detail = "";
		break;
	case WA_OUT_RETRY:
		to = WA_MSG_QUEUED;
		mm->r.next_attempt_ms = o->next_attempt_ms;
		snprintf(mm->r.last_error, sizeof(mm->r.last_error), "%s",
		         o->error ? o->error : "");
		break;
	case WA_OUT_FAILED:
		to = WA_MSG_FAILED;
		snprintf(mm->r.last_error, sizeof(mm->r.last_error), "%s",
		         o->error ? o->error : "");
		break;
	default: /* WA_OUT_RELEASE */
		to = WA_MSG_QUEUED;
		mm->r.next_attempt_ms = o->next_attempt_ms;
		if (mm->r.attempts > 0)
			mm->r.attempts--;
		detail = "released";
		break;
	}
	if (o->kind != WA_OUT_RELEASE) {
		snprintf(mm->r.upstream_code, sizeof(mm->r.upstream_code), "%s",
		         o->upstream_code ? o->upstream_code : "");
		mm->r.upstream_status = o->upstream_status;
		if (wa_mem_pace_finished(m, mm->r.phone, o->at_ms, err,
		                         err_len) < 0 ||
		    (o->kind != WA_OUT_RETRY &&
		     wa_mem_pace_pull(m, mm, o->at_ms, err, err_len) < 0))
			return -1;
	}
	return wa_mem_change(m, mm, to, o->at_ms, detail, err, err_len);
}

int wa_mem_finish(wa_store *s, const char *id, const wa_outcome *o, char *err,
                  size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);

	return wa_mem_w_leave(m, own,
	                      mem_finish_locked(m, id, o, err, err_len));
}

int wa_mem_cancel(wa_store *s, const char *id, int64_t now_ms,
                  wa_cancel_kind *kind, wa_msg_status *status, char *err,
                  size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	mem_msg *mm = wa_mem_find_id(m, id);
	int rc = 0;

	*status = WA_MSG_QUEUED;
	if (!mm) {
		*kind = WA_CANCEL_NOT_FOUND;
	} else if (!wa_msg_status_can_move(mm->r.status, WA_MSG_CANCELED)) {
		*kind = WA_CANCEL_TOO_LATE;
		*status = mm->r.status;
	} else {
		rc = wa_mem_touch(m, mm, err, err_len);
		if (rc == 0)
			rc = wa_mem_change(m, mm, WA_MSG_CANCELED, now_ms, "",
			                   err, err_len);
		if (rc == 0)
			rc = wa_mem_pace_pull(m, mm, now_ms, err, err_len);
		*kind = WA_CANCEL_DONE;
		*status = WA_MSG_CANCELED;
	}
	return wa_mem_w_leave(m, own, rc);
}

int wa_mem_apply_status(wa_store *s, const wa_status_change *c,
                        wa_apply_kind *kind, char *message_id, char *err,
                        size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	mem_msg *mm = wa_mem_find_pmid(m, c->provider, c->provider_message_id);
	bool reportable =
	    c->status == WA_MSG_SENT || c->status == WA_MSG_DELIVERED ||
	    c->status == WA_MSG_READ || c->status == WA_MSG_FAILED;
	int64_t at;
	int rc = 0;

	*kind = WA_APPLY_UNKNOWN;
	if (mm) {
		if (message_id)
			snprintf(message_id, WA_ID_MAX, "%s", mm->r.id);
		*kind = WA_APPLY_STALE;
		if (reportable &&
		    wa_msg_status_can_move(mm->r.status, c->status) &&
		    c->status == WA_MSG_FAILED && c->retryable &&
		    (at = wa_store_late_retry_at(&m->pace, mm->r.attempts,
		                                 mm->r.expires_ms, c->at_ms)) >
		        0) {
			char detail[WA_ERR_MAX];

			/* back in the queue, in its place */
			rc = wa_mem_touch(m, mm, err, err_len);
			if (rc == 0) {
				snprintf(mm->r.last_error,
				         sizeof(mm->r.last_error), "%s",
				         c->error ? c->error : "");
				mm->r.provider_message_id[0] = 0;
				mm->r.next_attempt_ms = at;
				mm->r.lease_until_ms = 0;
				snprintf(detail, sizeof(detail),
				         "late failure, retrying: %s",
				         c->error ? c->error : "");
				rc = wa_mem_change(m, mm, WA_MSG_QUEUED,
				                   c->at_ms, detail, err,
				                   err_len);
			}
			*kind = WA_APPLY_APPLIED;
		} else if (reportable &&
		           wa_msg_status_can_move(mm->r.status, c->status)) {
			rc = wa_mem_touch(m, mm, err, err_len);
			if (rc == 0 && c->status == WA_MSG_FAILED && c->error)
				snprintf(mm->r.last_error,
				         sizeof(mm->r.last_error), "%s",
				         c->error);
			if (rc == 0)
				rc = wa_mem_change(m, mm, c->status, c->at_ms,
				                   c->error ? c->error : "",
				                   err, err_len);
			*kind = WA_APPLY_APPLIED;
		}
	}
	return wa_mem_w_leave(m, own, rc);
}

long wa_mem_release_all(wa_store *s, int64_t now_ms, char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	long n = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < m->n_msgs && rc == 0; i++) {
		mem_msg *mm = m->msgs[i];

		if (mm->r.status != WA_MSG_SENDING)
			continue;
		rc = wa_mem_touch(m, mm, err, err_len);
		if (rc < 0)
			break;
		if (mm->r.attempts > 0)
			mm->r.attempts--;
		mm->r.next_attempt_ms = now_ms;
		mm->r.lease_until_ms = 0;
		rc = wa_mem_change(m, mm, WA_MSG_QUEUED, now_ms, "released",
		                   err, err_len);
		n++;
	}
	rc = wa_mem_w_leave(m, own, rc);
	return rc < 0 ? -1 : n;
}

void wa_mem_set_outbox(wa_store *s, bool enabled)
{
	mem_store *m = M(s);

	pthread_mutex_lock(&m->mu);
	m->outbox = enabled;
	pthread_mutex_unlock(&m->mu);
}

/* Is obs[i] the oldest pending event of its message? */
static bool ob_first(mem_store *m, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!m->obs[j].deleted &&
		    strcmp(m->obs[j].e.message_id, m->obs[i].e.message_id) == 0)
			return false;
	return true;
}

int wa_mem_outbox_claim(wa_store *s, int64_t now_ms, int64_t lease_until_ms,
                        size_t max, wa_outbox_event *out, size_t *n, char *err,
                        size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	size_t i;
	int rc = 0;

	*n = 0;
	for (i = 0; i < m->n_obs && *n < max; i++) {
		mem_ob *o = &m->obs[i];
		undo *u;

		if (o->deleted || o->next_attempt_ms > now_ms ||
		    o->lease_until_ms >= now_ms || !ob_first(m, i))
			continue;
		u = wa_mem_undo_push(m, U_OB_SET, i);
		if (!u) {
			wa_mem_grow_fail(err, err_len);
			rc = -1;
			*n = 0;
			break;
		}
		u->u.ob = *o;
		o->lease_until_ms = lease_until_ms;
		out[*n] = o->e;
		out[*n].body = NULL;
		if (o->body && !(out[*n].body = strdup(o->body))) {
			while (*n > 0)
				wa_outbox_event_free(&out[--(*n)]);
			wa_mem_grow_fail(err, err_len);
			rc = -1;
			break;
		}
		(*n)++;
	}
	return wa_mem_w_leave(m, own, rc);
}

int wa_mem_outbox_finish(wa_store *s, int64_t seq, bool delivered,
                         int64_t next_attempt_ms, const char *error, char *err,
                         size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	size_t i;
	int rc = 1;

	for (i = 0; i < m->n_obs; i++) {
		mem_ob *o = &m->obs[i];
		undo *u;

		if (o->deleted || o->e.seq != seq)
			continue;
		u = wa_mem_undo_push(m, U_OB_SET, i);
		if (!u) {
			wa_mem_grow_fail(err, err_len);
			rc = -1;
			break;
		}
		u->u.ob = *o;
		if (delivered) {
			o->deleted = true;
			m->n_ob_deleted++;
		} else {
			o->e.attempts++;
			o->next_attempt_ms = next_attempt_ms;
			o->lease_until_ms = 0;
			snprintf(o->last_error, sizeof(o->last_error), "%s",
			         error ? error : "");
		}
		rc = 0;
		break;
	}
	return wa_mem_w_leave(m, own, rc);
}
