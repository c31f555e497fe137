/* mem_core.c - the memory store's core, shared by its reads (mem.c) and
 * writes (mem_write.c): the hash indexes, the undo log and transactions */
#include "store/mem/mem_impl.h"

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
	s->expires_ms = mm->r.expires_ms;
	s->held = mm->held;
	s->send_at_ms = mm->send_at_ms;
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
	mm->r.expires_ms = s->expires_ms;
	mm->held = s->held;
	mm->send_at_ms = s->send_at_ms;
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
			free(m->obs[--m->n_obs].body);
			break;
		case U_OB_SET:
			if (m->obs[u->idx].deleted && !u->u.ob.deleted)
				m->n_ob_deleted--;
			m->obs[u->idx] = u->u.ob;
			break;
		case U_IN_NEW: /* always the newest inbound message */
			wa_inbound_rec_free(&m->ins[--m->n_ins]);
			break;
		case U_CT_NEW: /* always the newest contact */
			m->n_cts--;
			break;
		case U_CT_SET:
			m->cts[u->idx] = u->u.ct;
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
		else
			free(m->obs[i].body);
	m->n_obs = j;
	m->n_ob_deleted = 0;
}

/* The transaction's net change per status, from the undo log: a new
 * message counts in its status now; a changed one moves from its status
 * before the transaction (its first saved state) to its status now. */
static void count_changes(mem_store *m)
{
	unsigned long long gen = ++m->count_gen;

	for (size_t i = 0; i < m->n_undo; i++) {
		const undo *u = &m->undo[i];
		mem_msg *mm;

		if (u->kind != U_MSG_NEW && u->kind != U_MSG_SET)
			continue;
		mm = m->msgs[u->idx];
		if (mm->count_gen == gen)
			continue; /* counted from its first entry */
		mm->count_gen = gen;
		if (u->kind == U_MSG_SET)
			m->counts[u->u.ms.status]--;
		m->counts[mm->r.status]++;
	}
}

/* ---- transactions ---- */

int wa_mem_begin(wa_store *s, char *err, size_t err_len)
{
	mem_store *m = M(s);

	pthread_mutex_lock(&m->mu);
	m->in_tx = true;
	m->n_undo = 0;
	return 0;
}

int wa_mem_commit(wa_store *s, char *err, size_t err_len)
{
	mem_store *m = M(s);

	if (!m->in_tx) {
		snprintf(err, err_len, "No transaction is active.");
		return -1;
	}
	count_changes(m);
	m->n_undo = 0;
	compact_outbox(m);
	m->in_tx = false;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

void wa_mem_rollback(wa_store *s)
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
	wa_mem_begin(&m->base, NULL, 0);
	return true;
}

int wa_mem_w_leave(mem_store *m, bool own, int rc)
{
	if (own) {
		if (rc < 0)
			wa_mem_rollback(&m->base);
		else
			wa_mem_commit(&m->base, NULL, 0);
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

const wa_contact *wa_mem_opted_out(mem_store *m, const char *phone)
{
	for (size_t i = 0; i < m->n_cts; i++)
		if (strcmp(m->cts[i].phone, phone) == 0)
			return m->cts[i].opted_out ? &m->cts[i] : NULL;
	return NULL;
}
