/* routes_messages.c - send, batch, status lookups and cancel */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/validate.h"
#include "http/consent.h"
#include "http/content_accept.h"
#include "http/render.h"
#include "http/routes.h"

#define PREFER_WAIT_MAX 30
#define CONFLICT_MSG "external_id already used with different content"

/* ---- shared helpers -------------------------------------------------- */

/* Parse the body as a JSON object, or answer 400 and return NULL. */
static json_object *body_object(wa_req *r)
{
	char err[256];
	json_object *obj = wa_json_parse_strict(r->body ? r->body : "",
	                                        r->body_len, err, sizeof(err));
	if (!obj) {
		wa_req_error(r, 400, err, NULL);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		wa_req_error(r, 400, "Request body must be a JSON object",
		             NULL);
		return NULL;
	}
	return obj;
}

/* The raw body is parsed and its fields copied: free it, so a request
 * parked for Prefer: wait or the writer holds no more than it needs. */
static void drop_body(wa_req *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

static void busy(wa_req *r, const char *why)
{
	wa_req_add_header(r, "Retry-After", "1");
	wa_req_error(r, 503, why, NULL);
}

static void fill_new(wa_app *app, wa_new_message *m, const wa_send_fields *f,
                     int64_t now)
{
	memset(m, 0, sizeof(*m));
	wa_message_id_new(m->id, sizeof(m->id));
	m->external_id = f->external_id;
	m->phone = f->phone;
	m->body = f->body;
	m->template_json = f->template_json;
	m->media_url = f->media_url;
	m->provider = app->provider->table->name;
	m->created_ms = now;
	m->expires_ms = now + app->settings->message_ttl_ms;
	m->campaign_id = f->campaign_id;
	m->content_json = f->content_json;
	/* A send_at in the past means now. */
	m->send_at_ms = f->send_at_ms > now ? f->send_at_ms : 0;
}

/* send_at further ahead than MAX_SCHEDULE_AHEAD: the sentence, else NULL. */
static const char *too_far(wa_app *app, const wa_send_fields *f, int64_t now,
                           char *buf, size_t len)
{
	int64_t max = app->settings->max_schedule_ahead_ms;

	if (f->send_at_ms <= now + max)
		return NULL;
	if (max % 86400000 == 0)
		snprintf(buf, len,
		         "send_at is too far ahead: at most %lld days from now",
		         (long long)(max / 86400000));
	else
		snprintf(buf, len,
		         "send_at is too far ahead: at most %lld seconds from "
		         "now",
		         (long long)(max / 1000));
	return buf;
}

/* ---- POST /v1/messages/send ----------------------------------------- */

typedef struct send_job {
	wa_req *r;
	wa_send_fields f; /* owns the strings msg borrows */
	wa_new_message msg;
	wa_insert_result res;
	int wait_s;
} send_job;

static void send_job_free(void *p)
{
	send_job *j = p;
	wa_send_fields_clear(&j->f);
	free(j);
}

static int send_insert(wa_store *s, void *ud, char *err, size_t err_len)
{
	send_job *j = ud;
	return wa_store_insert_full(s, &j->msg, &j->res, err, err_len);
}

static void answer_send(send_job *j, const char *status, const char *pmid,
                        const char *error)
{
	size_t len = 0;
	char *out = wa_render_send(j->r->app, status, j->res.id,
	                           j->res.created_ms, pmid, error, &len);
	if (out)
		wa_req_json_take(j->r, 200, out, len);
	else
		wa_req_error(j->r, 500, "Internal server error",
		             "out of memory");
}

static void send_waited(void *ud, const wa_attempt_report *rep)
{
	send_job *j = ud;
	char applied[32];
	wa_msg_status st = rep->status;

	if (!rep->finished) {
		/* Timed out (or shutting down): say where the message is. */
		wa_message_rec m;
		char err[128];
		memset(&m, 0, sizeof(m));
		st = WA_MSG_QUEUED;
		if (j->r->app->store->ops->get(j->r->app->store, j->res.id, &m,
		                               err, sizeof(err)) == 0)
			st = m.status;
		wa_message_rec_free(&m);
	}
	snprintf(applied, sizeof(applied), "wait=%d", j->wait_s);
	wa_req_add_header(j->r, "Preference-Applied", applied);
	answer_send(j, wa_msg_status_name(st),
	            rep->finished ? rep->provider_message_id : NULL,
	            rep->finished ? rep->error : NULL);
	wa_req_resume(j->r);
}

static void send_done(void *ud, int rc, const char *err)
{
	send_job *j = ud;
	wa_req *r = j->r;
	char body[512];

	if (rc != 0) {
		wa_log(WA_LOG_ERROR, "store", "Insert failed: %s", err);
		wa_req_store_unavailable(r, err);
		wa_req_resume(r);
		return;
	}
	switch (j->res.kind) {
	case WA_INSERT_CREATED:
		wa_metrics_accepted(1);
		if (j->wait_s > 0 && r->app->engine &&
		    wa_engine_wait(r->app->engine, j->res.id,
		                   wa_now_ms() + (int64_t)j->wait_s * 1000,
		                   send_waited, j) == 0)
			return; /* answered by send_waited */
		answer_send(j, "queued", NULL, NULL);
		break;
	case WA_INSERT_REPLAYED:
		wa_req_add_header(r, "Idempotent-Replayed", "true");
		answer_send(j, wa_msg_status_name(j->res.status), NULL, NULL);
		break;
	case WA_INSERT_CONFLICT:
		snprintf(body, sizeof(body),
		         "{\"error\":\"" CONFLICT_MSG
		         "\",\"message_id\":\"%s\"}",
		         j->res.id);
		wa_req_json(r, 409, body);
		break;
	case WA_INSERT_SUPPRESSED: /* opted out after the early check */
		wa_consent_optout_msg(j->f.phone, j->res.opt_source,
		                      j->res.opt_at_ms, body, sizeof(body));
		wa_req_error(r, 409, body, NULL);
		break;
	}
	wa_req_resume(r);
}

void wa_route_send(wa_req *r)
{
	wa_app *app = r->app;
	const char *error = NULL;
	char msgbuf[320];
	int64_t now = wa_now_ms();
	send_job *j;
	json_object *obj;
	int rc;

	if (app->stopping) {
		busy(r, "Shutting down");
		return;
	}
	if (!(obj = body_object(r)))
		return;
	j = calloc(1, sizeof(*j));
	if (!j) {
		json_object_put(obj);
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	j->r = r;
	r->data = j;
	r->data_free = send_job_free;
	rc = wa_validate_send(obj, &j->f, &error, msgbuf, sizeof(msgbuf));
	/* The fields are copied: a parked request keeps only them, not the
	 * parse tree (unknown members included) or the raw body. */
	json_object_put(obj);
	drop_body(r);
	if (rc != 0 ||
	    (error = too_far(app, &j->f, now, msgbuf, sizeof(msgbuf)))) {
		wa_req_error(r, 400, error, NULL);
		return;
	}
	if ((rc = wa_content_accept(app, &j->f, msgbuf, sizeof(msgbuf)))) {
		wa_req_error(r, rc, msgbuf, NULL);
		return;
	}
	switch (wa_consent_check(app, &j->f, now, msgbuf, sizeof(msgbuf))) {
	case 0:
		break;
	case 409:
		wa_req_error(r, 409, msgbuf, NULL);
		return;
	default:
		wa_req_store_unavailable(r, msgbuf);
		return;
	}
	fill_new(app, &j->msg, &j->f, now);
	j->wait_s = wa_prefer_wait(wa_req_header(r, "Prefer"), PREFER_WAIT_MAX);
	wa_req_suspend(r);
	if (wa_writer_submit(app->writer, send_insert, j, send_done, j) != 0) {
		busy(r, "Server busy: too many messages waiting to be stored");
		wa_req_resume(r);
	}
}

/* ---- POST /v1/messages/batch ----------------------------------------- */

typedef struct batch_item {
	const char *error; /* validation error, or NULL */
	int code;          /* its HTTP status: 0 means 400 */
	char errbuf[256];
	wa_send_fields f;
	wa_new_message msg;
	wa_insert_result res;
} batch_item;

typedef struct batch_job {
	wa_req *r;
	size_t n;
	batch_item *items;
} batch_job;

static void batch_job_free(void *p)
{
	batch_job *b = p;
	for (size_t i = 0; i < b->n; i++)
		wa_send_fields_clear(&b->items[i].f);
	free(b->items);
	free(b);
}

static int batch_insert(wa_store *s, void *ud, char *err, size_t err_len)
{
	batch_job *b = ud;
	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].error)
			continue;
		if (wa_store_insert_full(s, &b->items[i].msg, &b->items[i].res,
		                         err, err_len) != 0)
			return -1;
	}
	return 0;
}

static void batch_done(void *ud, int rc, const char *err)
{
	batch_job *b = ud;
	wa_req *r = b->r;
	json_object *out, *results;
	size_t accepted = 0;
	const char *text;

	if (rc != 0) {
		wa_log(WA_LOG_ERROR, "store", "Batch insert failed: %s", err);
		wa_req_store_unavailable(r, err);
		wa_req_resume(r);
		return;
	}
	out = json_object_new_object();
	results = json_object_new_array_ext((int)b->n);
	for (size_t i = 0; i < b->n; i++) {
		batch_item *it = &b->items[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "index",
		                       json_object_new_int64((int64_t)i));
		if (it->error) {
			json_object_object_add(
			    o, "error", json_object_new_string(it->error));
			json_object_object_add(
			    o, "code",
			    json_object_new_int(it->code ? it->code : 400));
		} else if (it->res.kind == WA_INSERT_SUPPRESSED) {
			/* opted out after the early check */
			wa_consent_optout_msg(it->f.phone, it->res.opt_source,
			                      it->res.opt_at_ms, it->errbuf,
			                      sizeof(it->errbuf));
			json_object_object_add(
			    o, "error", json_object_new_string(it->errbuf));
			json_object_object_add(o, "code",
			                       json_object_new_int(409));
		} else if (it->res.kind == WA_INSERT_CONFLICT) {
			json_object_object_add(
			    o, "error", json_object_new_string(CONFLICT_MSG));
			json_object_object_add(o, "code",
			                       json_object_new_int(409));
			json_object_object_add(
			    o, "message_id",
			    json_object_new_string(it->res.id));
		} else {
			accepted++;
			if (it->res.kind == WA_INSERT_CREATED)
				wa_metrics_accepted(1);
			json_object_object_add(
			    o, "status",
			    json_object_new_string(
			        wa_msg_status_name(it->res.status)));
			json_object_object_add(
			    o, "message_id",
			    json_object_new_string(it->res.id));
			if (it->res.kind == WA_INSERT_REPLAYED)
				json_object_object_add(
				    o, "replayed", json_object_new_boolean(1));
		}
		json_object_array_add(results, o);
	}
	json_object_object_add(out, "accepted",
	                       json_object_new_int64((int64_t)accepted));
	json_object_object_add(
	    out, "rejected", json_object_new_int64((int64_t)(b->n - accepted)));
	json_object_object_add(out, "results", results);
	text = json_object_to_json_string_ext(
	    out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	wa_req_json(r, 200, text ? text : "{}");
	json_object_put(out);
	wa_req_resume(r);
}

void wa_route_batch(wa_req *r)
{
	wa_app *app = r->app;
	json_object *obj, *arr;
	batch_job *b;
	size_t n, valid = 0;
	int64_t now = wa_now_ms();
	int rc;
	char msg[128];

	if (app->stopping) {
		busy(r, "Shutting down");
		return;
	}
	if (!(obj = body_object(r)))
		return;
	if (!json_object_object_get_ex(obj, "messages", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0) {
		json_object_put(obj);
		wa_req_error(r, 400, "messages must be a non-empty array",
		             NULL);
		return;
	}
	if (n > app->settings->batch_max) {
		json_object_put(obj);
		snprintf(msg, sizeof(msg),
		         "Too many messages: at most %zu per batch",
		         app->settings->batch_max);
		wa_req_error(r, 413, msg, NULL);
		return;
	}
	if (!wa_req_rate_limit(r, n)) {
		json_object_put(obj);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b)
		b->items = calloc(n, sizeof(*b->items));
	if (!b || !b->items) {
		free(b);
		json_object_put(obj);
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	b->r = r;
	b->n = n;
	r->data = b;
	r->data_free = batch_job_free;
	for (size_t i = 0; i < n; i++) {
		batch_item *it = &b->items[i];
		if (wa_validate_send(json_object_array_get_idx(arr, i), &it->f,
		                     &it->error, it->errbuf,
		                     sizeof(it->errbuf)) != 0)
			continue;
		if ((it->error = too_far(app, &it->f, now, it->errbuf,
		                         sizeof(it->errbuf))))
			continue;
		if ((it->code = wa_content_accept(app, &it->f, it->errbuf,
		                                  sizeof(it->errbuf)))) {
			it->error = it->errbuf;
			continue;
		}
		rc = wa_consent_check(app, &it->f, now, it->errbuf,
		                      sizeof(it->errbuf));
		if (rc < 0) {
			wa_req_store_unavailable(r, it->errbuf);
			return;
		}
		if (rc == 409) {
			it->error = it->errbuf;
			it->code = 409;
			continue;
		}
		fill_new(app, &it->msg, &it->f, now);
		valid++;
	}
	json_object_put(obj); /* every item's fields are copies */
	drop_body(r);
	wa_req_suspend(r);
	if (wa_writer_submit(app->writer, batch_insert, b, batch_done, b) !=
	    0) {
		busy(r, "Server busy: too many messages waiting to be stored");
		wa_req_resume(r);
	}
	(void)valid;
}

/* ---- GET /v1/messages/{id}, GET /v1/messages?external_id= ------------ */

static void answer_rec(wa_req *r, int rc, wa_message_rec *m, const char *err)
{
	size_t len = 0;
	char *out;

	if (rc == 1) {
		wa_req_error(r, 404, "Message not found", NULL);
		return;
	}
	if (rc != 0) {
		wa_req_store_unavailable(r, err);
		return;
	}
	out = wa_render_message(r->app, m, &len);
	if (out)
		wa_req_json_take(r, 200, out, len);
	else
		wa_req_error(r, 500, "Internal server error", "out of memory");
}

void wa_route_get_message(wa_req *r)
{
	wa_store *s = r->app->store;
	wa_message_rec m;
	char err[256];
	int rc;

	memset(&m, 0, sizeof(m));
	rc = s->ops->get(s, r->param, &m, err, sizeof(err));
	answer_rec(r, rc, &m, err);
	wa_message_rec_free(&m);
}

void wa_route_find_message(wa_req *r)
{
	wa_store *s = r->app->store;
	const char *ext = wa_req_query(r, "external_id");
	wa_message_rec m;
	char err[256];
	int rc;

	if (!ext) {
		/* No external_id: the operators' listing. */
		if (!wa_req_is_admin(r))
			wa_req_forbidden(r);
		else
			wa_route_list_messages(r);
		return;
	}
	if (!*ext) {
		wa_req_error(r, 400, "external_id query parameter is required",
		             NULL);
		return;
	}
	memset(&m, 0, sizeof(m));
	rc = s->ops->get_by_external(s, ext, &m, err, sizeof(err));
	answer_rec(r, rc, &m, err);
	wa_message_rec_free(&m);
}

/* ---- POST /v1/messages/{id}/cancel ------------------------------------ */

typedef struct cancel_job {
	wa_req *r;
	wa_cancel_kind kind;
	wa_msg_status status;
} cancel_job;

static int cancel_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	cancel_job *c = ud;
	return s->ops->cancel(s, c->r->param, wa_now_ms(), &c->kind, &c->status,
	                      err, err_len);
}

static void cancel_done(void *ud, int rc, const char *err)
{
	cancel_job *c = ud;
	wa_req *r = c->r;
	char body[256];

	if (rc != 0) {
		wa_req_store_unavailable(r, err);
	} else if (c->kind == WA_CANCEL_NOT_FOUND) {
		wa_req_error(r, 404, "Message not found", NULL);
	} else if (c->kind == WA_CANCEL_TOO_LATE) {
		snprintf(body, sizeof(body),
		         "{\"error\":\"Message can no longer be canceled\","
		         "\"message_id\":\"%s\",\"status\":\"%s\"}",
		         r->param, wa_msg_status_name(c->status));
		wa_req_json(r, 409, body);
	} else {
		snprintf(body, sizeof(body),
		         "{\"status\":\"canceled\",\"message_id\":\"%s\"}",
		         r->param);
		wa_req_json(r, 200, body);
	}
	wa_req_resume(r);
}

void wa_route_cancel(wa_req *r)
{
	cancel_job *c = calloc(1, sizeof(*c));

	if (!c) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	c->r = r;
	r->data = c;
	r->data_free = free;
	wa_req_suspend(r);
	if (wa_writer_submit(r->app->writer, cancel_fn, c, cancel_done, c) !=
	    0) {
		busy(r, "Server busy, retry later");
		wa_req_resume(r);
	}
}
