/* mem_contacts.c - the in-memory store's inbound messages, contacts and
 * custom outbox events (two-way messaging); linear scans, tests only */
#include "store/mem/mem_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	q = realloc(*p, ncap * size);
	if (!q)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

static wa_contact *find_ct(mem_store *m, const char *phone)
{
	for (size_t i = 0; i < m->n_cts; i++)
		if (strcmp(m->cts[i].phone, phone) == 0)
			return &m->cts[i];
	return NULL;
}

/* The contact of phone, created when new; its state saved for rollback. */
static wa_contact *touch_ct(mem_store *m, const char *phone, char *err,
                            size_t err_len)
{
	wa_contact *c = find_ct(m, phone);
	undo *u;

	if (c) {
		u = wa_mem_undo_push(m, U_CT_SET, (size_t)(c - m->cts));
		if (!u)
			goto oom;
		u->u.ct = *c;
		return c;
	}
	if (grow((void **)&m->cts, &m->cap_cts, m->n_cts, sizeof(*m->cts)) <
	        0 ||
	    !wa_mem_undo_push(m, U_CT_NEW, m->n_cts))
		goto oom;
	c = &m->cts[m->n_cts++];
	memset(c, 0, sizeof(*c));
	snprintf(c->phone, sizeof(c->phone), "%s", phone);
	return c;
oom:
	wa_mem_grow_fail(err, err_len);
	return NULL;
}

int wa_mem_inbound_add(wa_store *s, const wa_inbound_rec *in, bool *created,
                       char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	wa_inbound_rec *r;
	wa_contact *c;
	int rc = 0;

	*created = false;
	for (size_t i = 0; i < m->n_ins; i++)
		if (strcmp(m->ins[i].provider, in->provider) == 0 &&
		    strcmp(m->ins[i].provider_message_id,
		           in->provider_message_id) == 0)
			return wa_mem_w_leave(m, own, 0);
	if (grow((void **)&m->ins, &m->cap_ins, m->n_ins, sizeof(*m->ins)) <
	        0 ||
	    !wa_mem_undo_push(m, U_IN_NEW, m->n_ins)) {
		wa_mem_grow_fail(err, err_len);
		return wa_mem_w_leave(m, own, -1);
	}
	r = &m->ins[m->n_ins];
	*r = *in;
	r->json = strdup(in->json ? in->json : "{}");
	if (!r->json) {
		m->n_undo--;
		wa_mem_grow_fail(err, err_len);
		return wa_mem_w_leave(m, own, -1);
	}
	m->n_ins++;
	c = touch_ct(m, in->phone, err, err_len);
	if (!c)
		rc = -1;
	else if (in->occurred_ms > c->last_inbound_ms)
		c->last_inbound_ms = in->occurred_ms;
	if (rc == 0)
		*created = true;
	return wa_mem_w_leave(m, own, rc);
}

int wa_mem_contact_set_opt(wa_store *s, const char *phone, bool opted_out,
                           const char *source, int64_t at_ms, bool *changed,
                           char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	wa_contact *c = find_ct(m, phone);

	*changed = false;
	if ((c && c->opted_out == opted_out) || (!c && !opted_out))
		return wa_mem_w_leave(m, own, 0);
	c = touch_ct(m, phone, err, err_len);
	if (!c)
		return wa_mem_w_leave(m, own, -1);
	c->opted_out = opted_out;
	snprintf(c->opt_source, sizeof(c->opt_source), "%s",
	         source ? source : "");
	c->opt_at_ms = at_ms;
	*changed = true;
	return wa_mem_w_leave(m, own, 0);
}

int wa_mem_cancel_phone(wa_store *s, const char *phone, int64_t now_ms,
                        const char *detail, long *n, char *err, size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	int rc = 0;

	*n = 0;
	for (size_t i = 0; i < m->n_msgs && rc == 0; i++) {
		mem_msg *mm = m->msgs[i];

		if (mm->r.status != WA_MSG_QUEUED ||
		    strcmp(mm->r.phone, phone) != 0)
			continue;
		rc = wa_mem_touch(m, mm, err, err_len);
		if (rc == 0)
			rc = wa_mem_change(m, mm, WA_MSG_CANCELED, now_ms,
			                   detail, err, err_len);
		if (rc == 0)
			(*n)++;
	}
	if (rc < 0)
		*n = 0;
	return wa_mem_w_leave(m, own, rc);
}

int wa_mem_outbox_add(wa_store *s, const char *key, const char *event,
                      const char *body, int64_t at_ms, char *err,
                      size_t err_len)
{
	mem_store *m = M(s);
	bool own = wa_mem_w_enter(m);
	mem_ob *o;
	char *b;

	if (!m->outbox)
		return wa_mem_w_leave(m, own, 0);
	b = strdup(body ? body : "{}");
	if (!b ||
	    grow((void **)&m->obs, &m->cap_obs, m->n_obs, sizeof(*m->obs)) <
	        0 ||
	    !wa_mem_undo_push(m, U_OB_NEW, m->n_obs)) {
		free(b);
		wa_mem_grow_fail(err, err_len);
		return wa_mem_w_leave(m, own, -1);
	}
	o = &m->obs[m->n_obs++];
	memset(o, 0, sizeof(*o));
	o->e.seq = m->next_seq++;
	snprintf(o->e.message_id, sizeof(o->e.message_id), "%s", key);
	snprintf(o->e.event, sizeof(o->e.event), "%s", event);
	o->e.occurred_ms = at_ms;
	o->body = b;
	return wa_mem_w_leave(m, own, 0);
}

int wa_mem_suppressed(wa_store *s, const char *const *phones, size_t n,
                      bool *out, char *err, size_t err_len)
{
	mem_store *m = M(s);

	(void)err;
	(void)err_len;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < n; i++)
		out[i] = phones[i] && wa_mem_opted_out(m, phones[i]) != NULL;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

int wa_mem_contact_get(wa_store *s, const char *phone, wa_contact *out,
                       char *err, size_t err_len)
{
	mem_store *m = M(s);
	wa_contact *c;

	(void)err;
	(void)err_len;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	c = find_ct(m, phone);
	if (c)
		*out = *c;
	pthread_mutex_unlock(&m->mu);
	return c ? 0 : 1;
}

static bool in_after(const wa_inbound_rec *r, int64_t ms, const char *id)
{
	return r->occurred_ms > ms ||
	       (r->occurred_ms == ms && strcmp(r->id, id) > 0);
}

static bool in_match(const wa_inbound_rec *r, const wa_inbound_query *q)
{
	if (q->phone && strcmp(r->phone, q->phone) != 0)
		return false;
	if (q->since_ms && r->occurred_ms < q->since_ms)
		return false;
	if (q->until_ms && r->occurred_ms >= q->until_ms)
		return false;
	return !q->after_id || !q->after_id[0] ||
	       in_after(r, q->after_ms, q->after_id);
}

int wa_mem_inbound_list(wa_store *s, const wa_inbound_query *q,
                        wa_inbound_rec *out, size_t max, size_t *n, char *err,
                        size_t err_len)
{
	mem_store *m = M(s);
	const wa_inbound_rec *last = NULL;

	*n = 0;
	pthread_mutex_lock(&m->mu);
	/* selection by repeated minimum: tests keep few messages */
	while (*n < max) {
		const wa_inbound_rec *best = NULL;

		for (size_t i = 0; i < m->n_ins; i++) {
			const wa_inbound_rec *r = &m->ins[i];

			if (!in_match(r, q) ||
			    (last && !in_after(r, last->occurred_ms, last->id)))
				continue;
			if (!best || in_after(best, r->occurred_ms, r->id))
				best = r;
		}
		if (!best)
			break;
		out[*n] = *best;
		out[*n].json = strdup(best->json);
		if (!out[*n].json) {
			while (*n > 0)
				wa_inbound_rec_free(&out[--(*n)]);
			pthread_mutex_unlock(&m->mu);
			wa_mem_grow_fail(err, err_len);
			return -1;
		}
		(*n)++;
		last = best;
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}

int wa_mem_suppression_list(wa_store *s, const char *after_phone,
                            wa_contact *out, size_t max, size_t *n, char *err,
                            size_t err_len)
{
	mem_store *m = M(s);
	const char *last = after_phone ? after_phone : "";

	(void)err;
	(void)err_len;
	*n = 0;
	pthread_mutex_lock(&m->mu);
	while (*n < max) {
		const wa_contact *best = NULL;

		for (size_t i = 0; i < m->n_cts; i++) {
			const wa_contact *c = &m->cts[i];

			if (!c->opted_out || strcmp(c->phone, last) <= 0)
				continue;
			if (!best || strcmp(c->phone, best->phone) < 0)
				best = c;
		}
		if (!best)
			break;
		out[(*n)++] = *best;
		last = best->phone;
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}
