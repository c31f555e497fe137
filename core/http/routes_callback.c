/* routes_callback.c - provider callbacks (status updates, inbound messages,
 * contact events), handed to the provider's hook */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/timeutil.h"
#include "engine/early.h"
#include "engine/inbound.h"
#include "http/routes.h"

typedef struct cb_job {
	wa_req *r;
	wa_callback_request in;
	wa_callback_reply out;
	char public_url[WA_URL_MAX + 8192];
	const char *query;
	size_t applied, stale, unknown;
	bool is_unknown[WA_STATUS_UPDATES_MAX]; /* by update, last apply_fn */
	wa_twoway_counts tw; /* inbound messages and contact events, last try */
} cb_job;

static const char *cb_header(const wa_callback_request *req, const char *name)
{
	cb_job *j = req->host_ctx;
	return wa_req_header(j->r, name);
}

static wa_msg_status map_status(wa_message_status s, bool *ok)
{
	*ok = true;
	switch (s) {
	case WA_STATUS_SENT:
		return WA_MSG_SENT;
	case WA_STATUS_DELIVERED:
		return WA_MSG_DELIVERED;
	case WA_STATUS_READ:
		return WA_MSG_READ;
	case WA_STATUS_FAILED:
		return WA_MSG_FAILED;
	default:
		*ok = false;
		return WA_MSG_QUEUED;
	}
}

/* Update i of j as a store change; false when it carries no status we
 * track. error (WA_ERR_MAX + WA_CODE_MAX + 8) holds the error text. */
static bool update_change(const cb_job *j, size_t i, wa_status_change *c,
                          char *error, size_t error_len)
{
	const wa_status_update *u = &j->out.updates[i];
	bool ok;

	c->status = map_status(u->status, &ok);
	if (!ok || !u->provider_message_id[0])
		return false;
	if (u->error_code[0])
		snprintf(error, error_len, "%s%s%s", u->error_code,
		         u->error[0] ? ": " : "", u->error);
	else
		snprintf(error, error_len, "%s", u->error);
	c->provider = j->r->app->provider->table->name;
	c->provider_message_id = u->provider_message_id;
	c->at_ms = u->occurred_at_ms > 0 ? u->occurred_at_ms : wa_now_ms();
	c->error = error[0] ? error : NULL;
	/* the plugin classes a late failure; the store requeues a retryable
	 * one within MAX_ATTEMPTS (issue 14) */
	c->retryable = c->status == WA_MSG_FAILED &&
	               j->out.failure_class[i] == WA_FAILURE_RETRYABLE;
	return true;
}

static size_t n_updates(const cb_job *j)
{
	return j->out.n_updates < WA_STATUS_UPDATES_MAX ? j->out.n_updates
	                                                : WA_STATUS_UPDATES_MAX;
}

static size_t n_inbound(const wa_callback_reply *o)
{
	return o->n_inbound < WA_INBOUND_MAX ? o->n_inbound : WA_INBOUND_MAX;
}

static size_t n_contact_events(const wa_callback_reply *o)
{
	return o->n_contact_events < WA_CONTACT_EVENTS_MAX
	           ? o->n_contact_events
	           : WA_CONTACT_EVENTS_MAX;
}

/* Inbound messages and contact events, in the same transaction as the
 * status updates (a 503 makes the provider send all of them again; the
 * store keeps each inbound message once). */
static int apply_twoway(wa_store *s, cb_job *j, char *err, size_t err_len)
{
	const wa_settings *st = j->r->app->settings;
	const char *prov = j->r->app->provider->table->name;
	wa_twoway_config cfg = {st->stop_keywords, st->start_keywords};
	wa_callback_reply *o = &j->out;
	int64_t now = wa_now_ms();

	memset(&j->tw, 0, sizeof(j->tw));
	for (size_t i = 0; i < n_inbound(o); i++)
		if (wa_inbound_store(s, &cfg, prov, &o->inbound[i], now, &j->tw,
		                     err, err_len) != 0)
			return -1;
	for (size_t i = 0; i < n_contact_events(o); i++)
		if (wa_contact_event_store(s, prov, &o->contact_events[i], now,
		                           &j->tw, err, err_len) != 0)
			return -1;
	return 0;
}

static int apply_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	cb_job *j = ud;

	j->applied = j->stale = j->unknown = 0;
	for (size_t i = 0; i < n_updates(j); i++) {
		wa_status_change c;
		wa_apply_kind kind;
		char id[WA_ID_MAX];
		char error[WA_ERR_MAX + WA_CODE_MAX + 8];

		j->is_unknown[i] = false;
		if (!update_change(j, i, &c, error, sizeof(error)))
			continue;
		if (s->ops->apply_status(s, &c, &kind, id, err, err_len) != 0)
			return -1;
		if (kind == WA_APPLY_APPLIED) {
			j->applied++;
			wa_metrics_callback_status((int)c.status);
		} else if (kind == WA_APPLY_STALE) {
			j->stale++;
		} else {
			j->unknown++;
			/* a store shared by several instances keeps it in the
			 * same transaction, for whichever records the send */
			if (s->ops->early_keep) {
				if (s->ops->early_keep(s, &c, wa_now_ms(), err,
				                       err_len) != 0)
					return -1;
			} else {
				j->is_unknown[i] = true;
			}
		}
	}
	return apply_twoway(s, j, err, err_len);
}

/* Committed: keep the updates for unknown ids, which may be about a send
 * whose outcome is not written yet (the engine applies them when it is).
 * Only now, so a rolled-back try or a 503 the provider retries keeps
 * nothing twice. */
static void keep_unknown(cb_job *j)
{
	for (size_t i = 0; i < n_updates(j); i++) {
		wa_status_change c;
		char error[WA_ERR_MAX + WA_CODE_MAX + 8];

		if (j->is_unknown[i] &&
		    update_change(j, i, &c, error, sizeof(error)))
			wa_early_keep(j->r->app->early, &c, wa_mono_ms());
	}
}

/* Terminate a plugin-filled buffer, whatever the plugin left in it. */
#define CB_TERM(buf) ((buf)[sizeof(buf) - 1] = '\0')

/* Plugin-filled strings are terminated whatever the plugin left in them.
 * A late failure whose code says the account is throttled for quality or
 * at its tier (QUALITY_PAUSE_CODES) pauses sending (issue 14). */
static void prepare_twoway(cb_job *j)
{
	wa_callback_reply *o = &j->out;

	for (size_t i = 0; i < n_inbound(o); i++) {
		wa_inbound_message *m = &o->inbound[i];

		CB_TERM(m->provider_message_id);
		CB_TERM(m->from);
		CB_TERM(m->to);
		CB_TERM(m->sender_name);
		CB_TERM(m->text);
		CB_TERM(m->reply_id);
		CB_TERM(m->context_id);
		CB_TERM(m->media_id);
		CB_TERM(m->media_url);
		CB_TERM(m->media_mime);
		CB_TERM(m->media_file_name);
	}
	for (size_t i = 0; i < n_contact_events(o); i++) {
		wa_contact_event *e = &o->contact_events[i];

		CB_TERM(e->phone);
		CB_TERM(e->source);
		CB_TERM(e->detail);
	}
	for (size_t i = 0; i < n_updates(j); i++) {
		wa_status_update *u = &o->updates[i];

		if (u->status != WA_STATUS_FAILED)
			continue;
		CB_TERM(u->error_code);
		CB_TERM(u->error);
		wa_engine_quality_pause(j->r->app->engine, u->error_code,
		                        u->error);
	}
}

/* Committed: one line when the callback carried inbound messages or
 * contact events. */
static void log_twoway(cb_job *j)
{
	const wa_twoway_counts *c = &j->tw;

	if (!c->stored && !c->duplicates && !c->invalid && !c->opted_out &&
	    !c->opted_in)
		return;
	wa_log(c->invalid ? WA_LOG_WARN : WA_LOG_INFO, "callback",
	       "Inbound from %s: %zu message(s) stored, %zu repeated, %zu "
	       "dropped (no id or no valid sender); %zu opt-out(s), %zu "
	       "opt-in(s), %ld queued message(s) canceled",
	       j->r->app->provider->table->name, c->stored, c->duplicates,
	       c->invalid, c->opted_out, c->opted_in, c->canceled);
}

static void reply(cb_job *j)
{
	wa_req *r = j->r;
	unsigned status =
	    j->out.http_status ? (unsigned)j->out.http_status : 200;

	j->out.body[sizeof(j->out.body) - 1] = 0;
	j->out.content_type[sizeof(j->out.content_type) - 1] = 0;
	snprintf(r->content_type, sizeof(r->content_type), "%s",
	         j->out.content_type[0] ? j->out.content_type : "text/plain");
	wa_req_json(r, status, j->out.body);
}

static void apply_done(void *ud, int rc, const char *err)
{
	cb_job *j = ud;

	if (rc != 0) {
		/* Let the provider retry later: its callbacks are retried. */
		wa_log(WA_LOG_ERROR, "callback",
		       "Cannot record a callback's updates: %s", err);
		wa_req_store_unavailable(j->r, NULL);
	} else {
		keep_unknown(j);
		log_twoway(j);
		if (j->applied) /* a late failure may be due again */
			wa_engine_kick(j->r->app->engine);
		if (j->unknown)
			wa_log(WA_LOG_WARN, "callback",
			       "%zu status update(s) for unknown provider "
			       "message ids, kept %d minutes in case their "
			       "send is recorded late",
			       j->unknown, WA_EARLY_TTL_MS / 60000);
		reply(j);
	}
	wa_req_resume(j->r);
}

void wa_route_callback(wa_req *r)
{
	wa_app *app = r->app;
	const wa_provider *t = app->provider->table;
	const char *base = wa_config_get("PUBLIC_BASE_URL");
	const char *q;
	cb_job *j;

	if (strcmp(r->param, t->name) != 0 || !t->on_callback) {
		wa_req_error(r, 404, "No callback for this provider", NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	j->r = r;
	r->data = j;
	r->data_free = free;
	q = r->raw_uri ? strchr(r->raw_uri, '?') : NULL;
	j->query = q ? q + 1 : "";
	if (base) {
		size_t bl = strlen(base);
		while (bl && base[bl - 1] == '/')
			bl--;
		snprintf(j->public_url, sizeof(j->public_url), "%.*s%s",
		         (int)bl, base, r->raw_uri ? r->raw_uri : r->url);
	} else {
		const char *host = wa_req_header(r, "Host");
		snprintf(j->public_url, sizeof(j->public_url), "http://%s%s",
		         host ? host : "localhost",
		         r->raw_uri ? r->raw_uri : r->url);
	}
	j->in.struct_size = sizeof(j->in);
	j->in.method = r->method;
	j->in.public_url = j->public_url;
	j->in.query = j->query;
	j->in.content_type = wa_req_header(r, "Content-Type");
	j->in.body = r->body ? r->body : "";
	j->in.body_len = r->body_len;
	j->in.header = cb_header;
	j->in.host_ctx = j;
	j->out.struct_size = sizeof(j->out);
	/* Verification and parsing only: pure CPU, no I/O in the hook. */
	t->on_callback(app->provider->state, &j->in, &j->out);
	if (j->out.http_status &&
	    (j->out.http_status < 200 || j->out.http_status > 299)) {
		static wa_log_throttle refused;
		unsigned long held;

		/* Anyone can post unsigned callbacks: count every one, log at
		 * most one line per 10 s. */
		atomic_fetch_add(&app->callbacks_refused, 1);
		if (wa_log_throttle_ok(&refused, (long long)wa_mono_ms(), 10000,
		                       &held))
			wa_log(WA_LOG_WARN, "callback",
			       "Refused a %s callback: HTTP %d (and %lu more "
			       "since the last such line)",
			       t->name, j->out.http_status, held);
		reply(j);
		return;
	}
	prepare_twoway(j);
	if (j->out.n_updates == 0 && n_inbound(&j->out) == 0 &&
	    n_contact_events(&j->out) == 0) {
		reply(j);
		return;
	}
	wa_req_suspend(r);
	if (wa_writer_submit(app->writer, apply_fn, j, apply_done, j) != 0) {
		wa_req_add_header(r, "Retry-After", "1");
		wa_req_error(r, 503, "Server busy, retry later", NULL);
		wa_req_resume(r);
	}
}
