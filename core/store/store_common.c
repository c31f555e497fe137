/* store_common.c - status names, the monotonic status rule, record helpers */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[] = {
    "queued", "sending", "sent", "delivered", "read", "failed", "canceled",
};

#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *wa_msg_status_name(wa_msg_status s)
{
	if ((unsigned)s >= N_STATUS)
		return "unknown";
	return status_names[s];
}

int wa_msg_status_parse(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < N_STATUS; i++) {
		if (strcmp(name, status_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

bool wa_msg_status_can_move(wa_msg_status from, wa_msg_status to)
{
	switch (from) {
	case WA_MSG_QUEUED:
		return to == WA_MSG_SENDING || to == WA_MSG_FAILED ||
		       to == WA_MSG_CANCELED;
	case WA_MSG_SENDING:
		/* sending -> queued: a retry or a release (see finish) */
		return to == WA_MSG_SENT || to == WA_MSG_FAILED ||
		       to == WA_MSG_QUEUED;
	case WA_MSG_SENT:
		/* read may arrive without delivered */
		return to == WA_MSG_DELIVERED || to == WA_MSG_READ ||
		       to == WA_MSG_FAILED;
	case WA_MSG_DELIVERED:
		return to == WA_MSG_READ || to == WA_MSG_FAILED;
	case WA_MSG_READ:
	case WA_MSG_FAILED:
	case WA_MSG_CANCELED:
		return false;
	}
	return false;
}

int wa_new_message_check(const wa_new_message *m, char *err, size_t err_len)
{
	if (m->external_id && m->phone && m->body && m->provider && m->id[0])
		return 0;
	snprintf(err, err_len,
	         "A message needs an id, external_id, phone, body and "
	         "provider.");
	return -1;
}

void wa_message_rec_free(wa_message_rec *m)
{
	if (!m)
		return;
	free(m->body);
	free(m->template_json);
	free(m->media_url);
	free(m->history);
	free(m->content_json);
	m->content_json = NULL;
	m->body = NULL;
	m->template_json = NULL;
	m->media_url = NULL;
	m->history = NULL;
	m->n_history = 0;
}

void wa_store_instance_id(char *out, size_t n)
{
	char host[64] = "";
	uint32_t rnd = 0;

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[16] = '\0';
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	snprintf(out, n, "%s-%ld-%08x", host[0] ? host : "host", (long)getpid(),
	         rnd);
}

void wa_outbox_event_free(wa_outbox_event *ev)
{
	if (!ev)
		return;
	free(ev->body);
	ev->body = NULL;
}

void wa_inbound_rec_free(wa_inbound_rec *r)
{
	if (!r)
		return;
	free(r->json);
	r->json = NULL;
}

int64_t wa_store_late_retry_at(const wa_store_pacing *p, int attempts,
                               int64_t expires_ms, int64_t at_ms)
{
	int64_t d = p->retry_base_ms > 0 ? p->retry_base_ms : 1000;
	int64_t cap = p->retry_max_ms > 0 ? p->retry_max_ms : 300000;

	if (p->max_attempts > 0 && attempts >= p->max_attempts)
		return 0;
	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (d < p->interval_ms)
		d = p->interval_ms;
	if (expires_ms > 0 && at_ms + d >= expires_ms)
		return 0;
	return at_ms + d;
}

int64_t wa_store_pace_recheck(const wa_store_pacing *p, int64_t now_ms)
{
	return now_ms + (p->interval_ms > WA_PACE_RECHECK_MS
	                     ? p->interval_ms
	                     : WA_PACE_RECHECK_MS);
}

int64_t wa_store_pace_hold_until(int64_t now_ms, int64_t created_ms)
{
	int64_t waited = now_ms - created_ms;

	if (waited < WA_PACE_HOLD_MS)
		waited = WA_PACE_HOLD_MS;
	if (waited > WA_PACE_HOLD_MAX_MS)
		waited = WA_PACE_HOLD_MAX_MS;
	return now_ms + waited;
}

int64_t wa_store_pace_stale_ms(const wa_store_pacing *p, int64_t before_ms)
{
	int64_t w = p->window_ms > WA_SERVICE_WINDOW_MS ? p->window_ms
	                                                : WA_SERVICE_WINDOW_MS;

	return before_ms - w;
}
