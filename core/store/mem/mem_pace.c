/* mem_pace.c - the memory store's claim rules per recipient (issue 14): a
 * phone's messages in the order accepted, one at a time, at least the
 * interval apart, and the tier budget (the same rules as sqlite_pace.c) */
#include "store/mem/mem_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per phone during one pick: the first pending message (in insertion
 * order) and whether one is in flight. An open-addressing table. */
typedef struct phone_slot {
	const char *phone; /* NULL: empty */
	size_t first;      /* index of the first queued or sending message */
	bool sending;
} phone_slot;

static size_t hash_phone(const char *p)
{
	size_t h = 1469598103u;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static phone_slot *slot(phone_slot *t, size_t cap, const char *phone)
{
	size_t i = hash_phone(phone) & (cap - 1);

	while (t[i].phone && strcmp(t[i].phone, phone) != 0)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static mem_lane *lane_find(mem_store *m, const char *phone)
{
	for (size_t i = 0; i < m->n_lanes; i++)
		if (strcmp(m->lanes[i].phone, phone) == 0)
			return &m->lanes[i];
	return NULL;
}

void wa_mem_pace_free(mem_store *m)
{
	free(m->lanes);
	m->lanes = NULL;
	m->n_lanes = m->cap_lanes = 0;
}

void wa_mem_set_pacing(wa_store *s, const wa_store_pacing *p)
{
	mem_store *m = M(s);

	pthread_mutex_lock(&m->mu);
	m->pace = *p;
	pthread_mutex_unlock(&m->mu);
}

void wa_mem_budget(wa_store *s, wa_store_budget *out)
{
	mem_store *m = M(s);

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	out->limit = m->pace.messaging_limit;
	out->used = m->b_used;
	out->held = m->b_held;
	out->frees_ms = m->b_frees;
	pthread_mutex_unlock(&m->mu);
}

static bool window_open(mem_store *m, const char *phone, int64_t now)
{
	for (size_t i = 0; i < m->n_cts; i++)
		if (strcmp(m->cts[i].phone, phone) == 0)
			return m->cts[i].last_inbound_ms > 0 &&
			       m->cts[i].last_inbound_ms >
			           now - WA_SERVICE_WINDOW_MS;
	return false;
}

static int cand_cmp(const void *a, const void *b)
{
	const mem_msg *x = *(mem_msg *const *)a, *y = *(mem_msg *const *)b;

	if (x->r.next_attempt_ms != y->r.next_attempt_ms)
		return x->r.next_attempt_ms < y->r.next_attempt_ms ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord; /* insertion order */
}

typedef struct pick_state {
	long used, held;
	int64_t frees;
} pick_state;

static void budget_load(mem_store *m, int64_t now, pick_state *b)
{
	memset(b, 0, sizeof(*b));
	if (m->pace.messaging_limit <= 0)
		return;
	for (size_t i = 0; i < m->n_lanes; i++) {
		int64_t c = m->lanes[i].counted_ms;

		if (c > 0 && c > now - m->pace.window_ms) {
			b->used++;
			if (!b->frees || c + m->pace.window_ms + 1 < b->frees)
				b->frees = c + m->pace.window_ms + 1;
		}
	}
	if (b->used < m->pace.messaging_limit)
		m->b_held = 0;
}

/* 0: c may go now (*counted set when it spends budget); else when. */
static int64_t judge(mem_store *m, mem_msg *c, bool blocked, int64_t now,
                     pick_state *b, int64_t *counted, bool *hold)
{
	mem_lane *l = lane_find(m, c->r.phone);
	int64_t lane_next = l ? l->next_ok_ms : 0;

	*counted = 0;
	*hold = false;
	if (!m->pace.per_recipient) {
		blocked = false;
		lane_next = 0;
	}
	if (blocked) { /* the earlier message's outcome brings it back */
		int64_t at = wa_store_pace_hold_until(now, c->r.created_ms);

		*hold = true;
		return at > lane_next ? at : lane_next;
	}
	if (lane_next > now)
		return lane_next;
	if (m->pace.messaging_limit <= 0 ||
	    (l && l->counted_ms > 0 &&
	     l->counted_ms > now - m->pace.window_ms) ||
	    window_open(m, c->r.phone, now))
		return 0;
	if (b->used < m->pace.messaging_limit) {
		b->used++;
		if (!b->frees)
			b->frees = now + m->pace.window_ms + 1;
		*counted = now;
		return 0;
	}
	b->held++;
	return b->frees > now ? b->frees : wa_store_pace_recheck(&m->pace, now);
}

int wa_mem_pace_pick(mem_store *m, int64_t now_ms, size_t max, mem_msg **out,
                     int64_t *counted, size_t *n, char *err, size_t err_len)
{
	size_t cap = 16, nd = 0;
	phone_slot *t;
	mem_msg **due;
	pick_state b;
	int rc = 0;

	*n = 0;
	while (cap < m->n_msgs * 2)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	due = calloc(m->n_msgs ? m->n_msgs : 1, sizeof(*due));
	if (!t || !due) {
		free(t);
		free(due);
		wa_mem_grow_fail(err, err_len);
		return -1;
	}
	for (size_t i = 0; i < m->n_msgs; i++) {
		mem_msg *mm = m->msgs[i];
		phone_slot *ps;

		if (mm->r.status != WA_MSG_QUEUED &&
		    mm->r.status != WA_MSG_SENDING)
			continue;
		ps = slot(t, cap, mm->r.phone);
		if (!ps->phone) {
			ps->phone = mm->r.phone;
			ps->first = i;
		}
		if (mm->r.status == WA_MSG_SENDING)
			ps->sending = true;
		else if (mm->r.next_attempt_ms <= now_ms)
			due[nd++] = mm;
	}
	qsort(due, nd, sizeof(*due), cand_cmp);
	budget_load(m, now_ms, &b);
	for (size_t i = 0; i < nd && *n < max && rc == 0; i++) {
		mem_msg *mm = due[i];
		phone_slot *ps = slot(t, cap, mm->r.phone);
		bool blocked = ps->sending || m->msgs[ps->first] != mm;
		bool hold;
		int64_t at =
		    judge(m, mm, blocked, now_ms, &b, &counted[*n], &hold);

		if (at > 0) {
			rc = wa_mem_touch(m, mm, err, err_len);
			mm->r.next_attempt_ms = at;
			mm->held = mm->held || hold;
			continue;
		}
		out[(*n)++] = mm;
	}
	if (m->pace.messaging_limit > 0) {
		m->b_used = b.used;
		m->b_held += b.held;
		m->b_frees = b.used ? b.frees : 0;
	}
	free(t);
	free(due);
	return rc;
}

int wa_mem_pace_claimed(mem_store *m, const char *phone, int64_t now_ms,
                        int64_t counted, char *err, size_t err_len)
{
	mem_lane *l;
	int64_t gap = m->pace.per_recipient ? m->pace.interval_ms : 0;

	if (gap <= 0 && counted <= 0)
		return 0;
	l = lane_find(m, phone);
	if (!l) {
		if (m->n_lanes == m->cap_lanes) {
			size_t ncap = m->cap_lanes ? m->cap_lanes * 2 : 16;
			mem_lane *a = realloc(m->lanes, ncap * sizeof(*a));

			if (!a) {
				wa_mem_grow_fail(err, err_len);
				return -1;
			}
			m->lanes = a;
			m->cap_lanes = ncap;
		}
		l = &m->lanes[m->n_lanes++];
		memset(l, 0, sizeof(*l));
		snprintf(l->phone, sizeof(l->phone), "%s", phone);
	}
	l->next_ok_ms = now_ms + gap;
	if (counted > l->counted_ms)
		l->counted_ms = counted;
	return 0;
}

int wa_mem_pace_finished(mem_store *m, const char *phone, int64_t at, char *err,
                         size_t err_len)
{
	mem_lane *l;

	if (!m->pace.per_recipient || m->pace.interval_ms <= 0)
		return 0;
	l = lane_find(m, phone);
	if (!l) { /* claimed lanes exist: the claim made it */
		if (wa_mem_pace_claimed(m, phone, at, 0, err, err_len) < 0)
			return -1;
		l = lane_find(m, phone);
	}
	if (l && at + m->pace.interval_ms > l->next_ok_ms)
		l->next_ok_ms = at + m->pace.interval_ms;
	return 0;
}

bool wa_mem_pace_insert_held(const mem_store *m, const char *phone)
{
	if (!m->pace.per_recipient)
		return false;
	for (size_t i = 0; i < m->n_msgs; i++) {
		const mem_msg *x = m->msgs[i];

		if ((x->r.status == WA_MSG_QUEUED ||
		     x->r.status == WA_MSG_SENDING) &&
		    strcmp(x->r.phone, phone) == 0)
			return true;
	}
	return false;
}

int wa_mem_pace_pull(mem_store *m, const mem_msg *mm, int64_t now, char *err,
                     size_t err_len)
{
	if (!m->pace.per_recipient)
		return 0;
	for (size_t i = 0; i < m->n_msgs; i++) {
		mem_msg *x = m->msgs[i];

		if (x == mm || x->r.status != WA_MSG_QUEUED ||
		    strcmp(x->r.phone, mm->r.phone) != 0)
			continue;
		if (!x->held) /* the first queued one is not held */
			return 0;
		if (wa_mem_touch(m, x, err, err_len) < 0)
			return -1;
		x->held = false;
		x->r.next_attempt_ms = now + m->pace.interval_ms;
		if (x->send_at_ms > x->r.next_attempt_ms)
			x->r.next_attempt_ms = x->send_at_ms;
		return 0;
	}
	return 0;
}
