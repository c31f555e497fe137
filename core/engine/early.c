/* early.c - status updates that arrive before their send is recorded */
#include "engine/early.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
	bool used;
	uint64_t seq; /* order of arrival */
	wa_early_change c;
} slot;

struct wa_early {
	pthread_mutex_t mu;
	slot *slots;
	size_t max, used;
	uint64_t next_seq;
	int64_t ttl_ms;
};

wa_early *wa_early_new(size_t max, int64_t ttl_ms)
{
	wa_early *b = calloc(1, sizeof(*b));

	if (!b || max == 0 || !(b->slots = calloc(max, sizeof(*b->slots)))) {
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	b->max = max;
	b->ttl_ms = ttl_ms;
	return b;
}

void wa_early_free(wa_early *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b->slots);
	free(b);
}

void wa_early_keep(wa_early *b, const wa_status_change *c, int64_t now_mono)
{
	slot *to = NULL;

	if (!b || !c->provider || !c->provider_message_id)
		return;
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->max; i++) {
		slot *s = &b->slots[i];

		if (!s->used || now_mono - s->c.kept_mono_ms > b->ttl_ms) {
			to = s; /* free, or expired */
			break;
		}
		if (!to || s->seq < to->seq)
			to = s; /* the oldest, if nothing is free */
	}
	if (!to->used)
		b->used++;
	to->used = true;
	to->seq = b->next_seq++;
	snprintf(to->c.provider, sizeof(to->c.provider), "%s", c->provider);
	snprintf(to->c.provider_message_id, sizeof(to->c.provider_message_id),
	         "%s", c->provider_message_id);
	to->c.status = c->status;
	to->c.at_ms = c->at_ms;
	to->c.retryable = c->retryable;
	snprintf(to->c.error, sizeof(to->c.error), "%s",
	         c->error ? c->error : "");
	to->c.kept_mono_ms = now_mono;
	pthread_mutex_unlock(&b->mu);
}

size_t wa_early_take(wa_early *b, const char *provider,
                     const char *provider_message_id, int64_t now_mono,
                     wa_early_change *out, size_t max)
{
	size_t n = 0;

	if (!b || !provider || !provider_message_id || max == 0)
		return 0;
	pthread_mutex_lock(&b->mu);
	while (b->used && n < max) { /* oldest match first */
		slot *pick = NULL;

		for (size_t i = 0; i < b->max; i++) {
			slot *s = &b->slots[i];

			if (!s->used ||
			    strcmp(s->c.provider_message_id,
			           provider_message_id) != 0 ||
			    strcmp(s->c.provider, provider) != 0)
				continue;
			if (now_mono - s->c.kept_mono_ms > b->ttl_ms) {
				s->used = false; /* too old to trust */
				b->used--;
				continue;
			}
			if (!pick || s->seq < pick->seq)
				pick = s;
		}
		if (!pick)
			break;
		out[n++] = pick->c;
		pick->used = false;
		b->used--;
	}
	pthread_mutex_unlock(&b->mu);
	return n;
}
