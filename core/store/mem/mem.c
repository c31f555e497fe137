/* store_mem.c - the in-memory message store (tests): index, undo, reads */
#include "store_mem_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

bool wa_mem_eq_opt(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return strcmp(a, b) == 0;
}

void wa_mem_grow_fail(char *err, size_t err_len)
{
	snprintf(err, err_len, "Out of memory.");
}

/* ---- hash index (chains with the newest first, so popping the newest
 * message unlinks a chain head) ---- */

void wa_mem_link_msg(mem_store *m, size_t idx)
{
	mem_msg *mm = m->msgs[idx];
	size_t b;

	b = hash_str(mm->r.id) & (m->n_buckets - 1);
	mm->next_id = m->head_id[b];
	m->head_id[b] = idx + 1;
	b = hash_str(mm->r.external_id) & (m->n_buckets - 1);
	mm->next_ext = m->head_ext[b];
	m->head_ext[b] = idx + 1;
}

int wa_mem_rehash(mem_store *m, size_t n_buckets)
{
	size_t *hi = calloc(n_buckets, sizeof(*hi));
	size_t *he = calloc(n_buckets, sizeof(*he));
	size_t i;

	if (!hi || !he) {
		free(hi);
		free(he);
		return -1;
	}
	free(m->head_id);
	free(m->head_ext);
	m->head_id = hi;
	m->head_ext = he;
	m->n_buckets = n_buckets;
	for (i = 0; i < m->n_msgs; i++)
		wa_mem_link_msg(m, i);
	return 0;
}

mem_msg *wa_mem_find_id(mem_store *m, const char *id)
{
	size_t i = m->head_id[hash_str(id) & (m->n_buckets - 1)];

	while (i) {
		if (strcmp(m->msgs[i - 1]->r.id, id) == 0)
			return m->msgs[i - 1];
		i = m->msgs[i - 1]->next_id;
	}
	return NULL;
}

mem_msg *wa_mem_find_ext(mem_store *m, const char *ext)
{
	size_t i = m->head_ext[hash_str(ext) & (m->n_buckets - 1)];

	while (i) {
		if (strcmp(m->msgs[i - 1]->r.external_id, ext) == 0)
			return m->msgs[i - 1];
		i = m->msgs[i - 1]->next_ext;
	}
	return NULL;
}

/* Newest first, like the SQLite store. */
mem_msg *wa_mem_find_pmid(mem_store *m, const char *provider, const char *pmid)
{
	size_t i;

	if (!provider || !pmid || !*pmid)
		return NULL;
	for (i = m->n_msgs; i > 0; i--) {
		mem_msg *mm = m->msgs[i - 1];

		if (strcmp(mm->r.provider_message_id, pmid) == 0 &&
		    strcmp(mm->r.provider, provider) == 0)
			return mm;
	}
	return NULL;
}

static size_t index_of(mem_store *m, const mem_msg *mm)
{
	size_t i;

	for (i = m->n_msgs; i > 0; i--)
		if (m->msgs[i - 1] == mm)
			return i - 1;
	return (size_t)-1;
}

void wa_mem_msg_free(mem_msg *mm)
{
	if (!mm)
		return;
	wa_message_rec_free(&mm->r);
	free(mm);
}

/* ---- undo log ---- */

undo *wa_mem_undo_push(mem_store *m, int kind, size_t idx)
{
	undo *u;

	if (m->n_undo == m->cap_undo) {
		size_t ncap = m->cap_undo ? m->cap_undo * 2 : 16;

		u = realloc(m->undo, ncap * sizeof(*u));
		if (!u)
			return NULL;
		m->undo = u;
		m->cap_undo = ncap;
	}
	u = &m->undo[m->n_undo++];
	u->kind = kind;
	u->idx = idx;
	return u;
}

/* Save a message's mutable state before changing it. */
int wa_mem_touch(mem_store *m, mem_msg *mm, char *err, size_t err_len)
{
	undo *u = wa_mem_undo_push(m, U_MSG_SET, index_of(m, mm));
	msg_state *s;

	if (!u) {
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	s = &u->u.ms;
	s->status = mm->r.status;
	s->attempts = mm->r.attempts;
	memcpy(s->provider_message_id, mm->r.provider_message_id,
	       sizeof(s->provider_message_id));
	memcpy(s->last_error, mm->r.last_error, sizeof(s->last_error));
	memcpy(s->upstream_code, mm->r.upstream_code, sizeof(s->upstream_code));
	s->upstream_status = mm->r.upstream_status;
	s->updated_ms = mm->r.updated_ms;
	s->next_attempt_ms = mm->r.next_attempt_ms;
	s->lease_until_ms = mm->r.lease_until_ms;
	s->n_history = mm->r.n_history;
	return 0;
}

static void restore(mem_msg *mm, const msg_state *s)
{
	mm->r.status = s->status;
	mm->r.attempts = s->attempts;
	memcpy(mm->r.provider_message_id, s->provider_message_id,
	       sizeof(s->provider_message_id));
	memcpy(mm->r.last_error, s->last_error, sizeof(s->last_error));
	memcpy(mm->r.upstream_code, s->upstream_code, sizeof(s->upstream_code));
	mm->r.upstream_status = s->upstream_status;
	mm->r.updated_ms = s->updated_ms;
	mm->r.next_attempt_ms = s->next_attempt_ms;
	mm->r.lease_until_ms = s->lease_until_ms;
	mm->r.n_history = s->n_history;
}

static void undo_all(mem_store *m)
{
	while (m->n_undo > 0) {
		undo *u = &m->undo[--m->n_undo];
		mem_msg *mm;
		size_t b;

		switch (u->kind) {
		case U_MSG_NEW: /* always the newest message */
			mm = m->msgs[--m->n_msgs];
			b = hash_str(mm->r.id) & (m->n_buckets - 1);
			m->head_id[b] = mm->next_id;
			b = hash_str(mm->r.external_id) & (m->n_buckets - 1);
			m->head_ext[b] = mm->next_ext;
			wa_mem_msg_free(mm);
			break;
		case U_MSG_SET:
			restore(m->msgs[u->idx], &u->u.ms);
			break;
		case U_OB_NEW:
			m->n_obs--;
			break;
		case U_OB_SET:
			if (m->obs[u->idx].deleted && !u->u.ob.deleted)
				m->n_ob_deleted--;
			m->obs[u->idx] = u->u.ob;
			break;
		}
	}
}

/* Drop delivered outbox rows once they are many (no undo entry may point
 * at them: only called with an empty undo log). */
static void compact_outbox(mem_store *m)
{
	size_t i, j = 0;

	if (m->n_ob_deleted < 64 || m->n_ob_deleted * 2 < m->n_obs)
		return;
	for (i = 0; i < m->n_obs; i++)
		if (!m->obs[i].deleted)
			m->obs[j++] = m->obs[i];
	m->n_obs = j;
	m->n_ob_deleted = 0;
}

/* ---- transactions ---- */

static int mem_begin(wa_store *s, char *err, size_t err_len)
{
	mem_store *m = M(s);

	pthread_mutex_lock(&m->mu);
	m->in_tx = true;
	m->n_undo = 0;
	return 0;
}

static int mem_commit(wa_store *s, char *err, size_t err_len)
{
	mem_store *m = M(s);

	if (!m->in_tx) {
		snprintf(err, err_len, "No transaction is active.");
		return -1;
	}
	m->n_undo = 0;
	compact_outbox(m);
	m->in_tx = false;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static void mem_rollback(wa_store *s)
{
	mem_store *m = M(s);

	if (!m->in_tx)
		return;
	undo_all(m);
	m->in_tx = false;
	pthread_mutex_unlock(&m->mu);
}

/* Write operations called outside begin/commit run in their own
 * transaction, like SQLite's autocommit. */
bool wa_mem_w_enter(mem_store *m)
{
	if (m->in_tx)
		return false;
	mem_begin(&m->base, NULL, 0);
	return true;
}

int wa_mem_w_leave(mem_store *m, bool own, int rc)
{
	if (own) {
		if (rc < 0)
			mem_rollback(&m->base);
		else
			mem_commit(&m->base, NULL, 0);
	}
	return rc;
}

char *wa_mem_dup_opt(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* ---- reads ---- */

static int copy_rec(const mem_msg *mm, wa_message_rec *out, char *err,
                    size_t err_len)
{
	bool oom = false;

	*out = mm->r;
	out->body = wa_mem_dup_opt(mm->r.body, &oom);
	out->template_json = wa_mem_dup_opt(mm->r.template_json, &oom);
	out->media_url = wa_mem_dup_opt(mm->r.media_url, &oom);
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
	for (i = 0; i < m->n_msgs; i++) {
		const wa_message_rec *r = &m->msgs[i]->r;

		out->count[r->status]++;
		if (r->status == WA_MSG_QUEUED &&
		    (out->oldest_queued_ms == 0 ||
		     r->created_ms < out->oldest_queued_ms))
			out->oldest_queued_ms = r->created_ms;
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
	free(m->obs);
	free(m->undo);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static const wa_store_ops mem_ops = {
    .close = mem_close,
    .begin = mem_begin,
    .commit = mem_commit,
    .rollback = mem_rollback,
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
