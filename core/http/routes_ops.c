/* routes_ops.c - the operators' routes (issue 15): the listing, requeue
 * (one or many), campaign status and cancel */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/isotime.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/validate.h"
#include "http/consent.h"
#include "http/render.h"
#include "http/routes.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500
#define REQUEUE_MAX 1000
#define BAD_CURSOR                                                             \
	"cursor is not valid: pass next_cursor from the previous page "        \
	"unchanged"
#define BAD_STATUS                                                             \
	"status must be one of queued, sending, sent, delivered, read, "       \
	"failed, canceled"
#define NOT_FINAL "Only a failed or canceled message can be requeued"

static void busy(wa_req *r)
{
	wa_req_add_header(r, "Retry-After", "1");
	wa_req_error(r, 503, "Server busy, retry later", NULL);
}

/* ---- the cursor: hex of "<created_ms>:<id>", opaque to callers ---- */

static void cursor_make(const wa_message_rec *m, char *out, size_t len)
{
	char plain[WA_ID_MAX + 24];
	size_t i, o = 0;

	snprintf(plain, sizeof(plain), "%lld:%s", (long long)m->created_ms,
	         m->id);
	for (i = 0; plain[i] && o + 3 <= len; i++, o += 2)
		snprintf(out + o, len - o, "%02x", (unsigned char)plain[i]);
	out[o] = 0;
}

static int cursor_parse(const char *c, wa_msg_filter *f)
{
	char plain[WA_ID_MAX + 24], *colon, *end;
	size_t n = strlen(c), i;
	long long ms;

	if (n == 0 || n % 2 || n / 2 >= sizeof(plain))
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)c[2 * i]) ||
		    !isxdigit((unsigned char)c[2 * i + 1]) ||
		    sscanf(c + 2 * i, "%2x", &v) != 1 || v == 0)
			return -1;
		plain[i] = (char)v;
	}
	plain[i] = 0;
	colon = strchr(plain, ':');
	if (!colon || colon == plain || !colon[1] ||
	    strlen(colon + 1) >= sizeof(f->after_id))
		return -1;
	*colon = 0;
	ms = strtoll(plain, &end, 10);
	if (*end || ms < 0)
		return -1;
	f->has_after = true;
	f->after_created_ms = ms;
	snprintf(f->after_id, sizeof(f->after_id), "%s", colon + 1);
	return 0;
}

/* ---- filters, from the query (listing) or a JSON body (requeue) ---- */

typedef struct filter_buf {
	wa_msg_filter f;
	char phone[WA_PHONE_MAX];
	char campaign[WA_CAMPAIGN_ID_MAX];
	char msg[160];
} filter_buf;

/* One field's value into fb; error: the sentence, else NULL. */
static const char *filter_field(filter_buf *fb, const char *name, const char *v)
{
	int64_t ms;

	if (!v)
		return NULL;
	if (!strcmp(name, "status")) {
		if ((fb->f.status = wa_msg_status_parse(v)) < 0)
			return BAD_STATUS;
	} else if (!strcmp(name, "campaign_id")) {
		if (!*v || strlen(v) > WA_CAMPAIGN_ID_MAX_BYTES)
			return "campaign_id must be 1 to 64 bytes";
		snprintf(fb->campaign, sizeof(fb->campaign), "%s", v);
		fb->f.campaign_id = fb->campaign;
	} else if (!strcmp(name, "phone")) {
		if (wa_phone_normalize(v, fb->phone, sizeof(fb->phone)) != 0)
			return WA_ERR_BAD_PHONE;
		fb->f.phone = fb->phone;
	} else if (!strcmp(name, "since") || !strcmp(name, "until")) {
		if (wa_iso8601_parse(v, &ms) != 0) {
			snprintf(fb->msg, sizeof(fb->msg),
			         "%s must be an ISO 8601 date-time with a time "
			         "zone, e.g. 2026-01-31T09:00:00Z",
			         name);
			return fb->msg;
		}
		if (name[0] == 's')
			fb->f.since_ms = ms > 0 ? ms : 1;
		else
			fb->f.until_ms = ms > 0 ? ms : 1;
	}
	return NULL;
}

/* A limit from text: 1..max, def when absent; -1 when not valid. */
static long parse_limit(const char *v, long def, long max)
{
	char *end;
	long n;

	if (!v)
		return def;
	n = strtol(v, &end, 10);
	if (!*v || *end || n < 1 || n > max)
		return -1;
	return n;
}

/* ---- GET /v1/messages?status=&campaign_id=&phone=&since=&until= ---- */

void wa_route_list_messages(wa_req *r)
{
	static const char *const fields[] = {"status", "campaign_id", "phone",
	                                     "since", "until"};
	wa_store *s = r->app->store;
	wa_message_rec *recs;
	json_object *out, *arr;
	filter_buf fb;
	const char *e, *c;
	char err[256], cursor[2 * (WA_ID_MAX + 24) + 1];
	size_t n = 0, shown;
	long limit;

	memset(&fb, 0, sizeof(fb));
	fb.f.status = -1;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((e = filter_field(&fb, fields[i],
		                      wa_req_query(r, fields[i])))) {
			wa_req_error(r, 400, e, NULL);
			return;
		}
	}
	limit = parse_limit(wa_req_query(r, "limit"), LIST_DEFAULT, LIST_MAX);
	if (limit < 0) {
		wa_req_error(r, 400, "limit must be an integer from 1 to 500",
		             NULL);
		return;
	}
	c = wa_req_query(r, "cursor");
	if (c && cursor_parse(c, &fb.f) != 0) {
		wa_req_error(r, 400, BAD_CURSOR, NULL);
		return;
	}
	/* One more than shown says whether there is a next page. */
	recs = calloc((size_t)limit + 1, sizeof(*recs));
	if (!recs) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	if (s->ops->list(s, &fb.f, (size_t)limit + 1, recs, &n, err,
	                 sizeof(err)) != 0) {
		free(recs);
		wa_req_store_unavailable(r, err);
		return;
	}
	shown = n > (size_t)limit ? (size_t)limit : n;
	out = json_object_new_object();
	arr = json_object_new_array_ext((int)shown);
	for (size_t i = 0; i < shown; i++)
		json_object_array_add(
		    arr, wa_render_message_obj(r->app, &recs[i], false));
	json_object_object_add(out, "messages", arr);
	if (n > shown) {
		cursor_make(&recs[shown - 1], cursor, sizeof(cursor));
		json_object_object_add(out, "next_cursor",
		                       json_object_new_string(cursor));
	} else {
		json_object_object_add(out, "next_cursor", NULL);
	}
	for (size_t i = 0; i < n; i++)
		wa_message_rec_free(&recs[i]);
	free(recs);
	wa_req_json_obj(r, 200, out);
}

/* ---- POST /v1/messages/{id}/retry ------------------------------------ */

typedef struct requeue_job {
	wa_req *r;
	json_object *body; /* owns reason */
	const char *reason;
	filter_buf fb; /* many */
	long limit;    /* many */
	long done;     /* many: how many */
	wa_requeue_kind kind;
	wa_msg_status status;
} requeue_job;

static void requeue_job_free(void *p)
{
	requeue_job *j = p;

	json_object_put(j->body);
	free(j);
}

/* The optional "reason" of a JSON body; -1 after answering 400. */
static int take_reason(wa_req *r, requeue_job *j, bool need_object)
{
	json_object *v;
	char err[256];

	if ((!r->body || !r->body_len) && !need_object)
		return 0;
	j->body = wa_json_parse_strict(r->body ? r->body : "", r->body_len, err,
	                               sizeof(err));
	if (!j->body) {
		wa_req_error(r, 400, err, NULL);
		return -1;
	}
	if (!json_object_is_type(j->body, json_type_object)) {
		wa_req_error(r, 400, "Request body must be a JSON object",
		             NULL);
		return -1;
	}
	if (json_object_object_get_ex(j->body, "reason", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > 200) {
			wa_req_error(r, 400,
			             "reason must be a string of at most 200 "
			             "bytes",
			             NULL);
			return -1;
		}
		j->reason = json_object_get_string(v);
	}
	return 0;
}

static requeue_job *job_new(wa_req *r)
{
	requeue_job *j = calloc(1, sizeof(*j));

	if (!j) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return NULL;
	}
	j->r = r;
	r->data = j;
	r->data_free = requeue_job_free;
	return j;
}

static int requeue_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	requeue_job *j = ud;
	int64_t now = wa_now_ms();

	return s->ops->requeue(s, j->r->param, now,
	                       now + j->r->app->settings->message_ttl_ms,
	                       j->reason, &j->kind, &j->status, err, err_len);
}

static void requeue_done(void *ud, int rc, const char *err)
{
	requeue_job *j = ud;
	wa_req *r = j->r;
	json_object *o;

	if (rc != 0) {
		wa_req_store_unavailable(r, err);
	} else if (j->kind == WA_REQUEUE_NOT_FOUND) {
		wa_req_error(r, 404, "Message not found", NULL);
	} else {
		o = json_object_new_object();
		if (j->kind == WA_REQUEUE_NOT_FINAL)
			json_object_object_add(
			    o, "error", json_object_new_string(NOT_FINAL));
		json_object_object_add(o, "message_id",
		                       json_object_new_string(r->param));
		json_object_object_add(
		    o, "status",
		    json_object_new_string(wa_msg_status_name(j->status)));
		if (j->kind == WA_REQUEUE_DONE)
			wa_log(WA_LOG_INFO, "http", "Message %s requeued",
			       r->param);
		wa_req_json_obj(r, j->kind == WA_REQUEUE_NOT_FINAL ? 409 : 200,
		                o);
	}
	wa_req_resume(r);
}

/* A failed or canceled message to a phone that opted out is not requeued
 * (the claim would fail it unsent anyway): 409 with the send's sentence,
 * its id and status. True when answered. A read error is left to the
 * requeue itself. */
static bool refused_optout(wa_req *r)
{
	wa_store *s = r->app->store;
	wa_message_rec m;
	wa_contact c;
	char err[WA_ERR_MAX] = "", msg[320];
	bool refused = false;
	json_object *o;

	memset(&m, 0, sizeof(m));
	if (s->ops->get(s, r->param, &m, err, sizeof(err)) == 0 &&
	    (m.status == WA_MSG_FAILED || m.status == WA_MSG_CANCELED) &&
	    s->ops->contact_get(s, m.phone, &c, err, sizeof(err)) == 0 &&
	    c.opted_out) {
		wa_consent_optout_msg(m.phone, c.opt_source, c.opt_at_ms, msg,
		                      sizeof(msg));
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(msg));
		json_object_object_add(o, "message_id",
		                       json_object_new_string(r->param));
		json_object_object_add(
		    o, "status",
		    json_object_new_string(wa_msg_status_name(m.status)));
		wa_req_json_obj(r, 409, o);
		refused = true;
	}
	wa_message_rec_free(&m);
	return refused;
}

void wa_route_requeue(wa_req *r)
{
	requeue_job *j = job_new(r);

	if (!j || take_reason(r, j, false) != 0 || refused_optout(r))
		return;
	wa_req_suspend(r);
	if (wa_writer_submit(r->app->writer, requeue_fn, j, requeue_done, j) !=
	    0) {
		busy(r);
		wa_req_resume(r);
	}
}

/* ---- POST /v1/messages/retry: requeue many ---------------------------- */

static int requeue_many_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	requeue_job *j = ud;
	int64_t now = wa_now_ms();

	j->done = s->ops->requeue_many(
	    s, &j->fb.f, (size_t)j->limit, now,
	    now + j->r->app->settings->message_ttl_ms, j->reason, err, err_len);
	return j->done < 0 ? -1 : 0;
}

static void requeue_many_done(void *ud, int rc, const char *err)
{
	requeue_job *j = ud;
	json_object *o;

	if (rc != 0) {
		wa_req_store_unavailable(j->r, err);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "requeued",
		                       json_object_new_int64(j->done));
		json_object_object_add(o, "limit",
		                       json_object_new_int64(j->limit));
		wa_log(WA_LOG_INFO, "http", "%ld messages requeued", j->done);
		wa_req_json_obj(j->r, 200, o);
	}
	wa_req_resume(j->r);
}

void wa_route_requeue_many(wa_req *r)
{
	static const char *const fields[] = {"status", "campaign_id", "since",
	                                     "until"};
	requeue_job *j = job_new(r);
	json_object *v;
	const char *e;

	if (!j || take_reason(r, j, true) != 0)
		return;
	j->fb.f.status = -1;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *val = NULL;

		if (json_object_object_get_ex(j->body, fields[i], &v) &&
		    !json_object_is_type(v, json_type_null)) {
			if (!json_object_is_type(v, json_type_string)) {
				snprintf(j->fb.msg, sizeof(j->fb.msg),
				         "%s must be a string", fields[i]);
				wa_req_error(r, 400, j->fb.msg, NULL);
				return;
			}
			val = json_object_get_string(v);
		}
		if ((e = filter_field(&j->fb, fields[i], val))) {
			wa_req_error(r, 400, e, NULL);
			return;
		}
	}
	if (j->fb.f.status >= 0 && j->fb.f.status != WA_MSG_FAILED &&
	    j->fb.f.status != WA_MSG_CANCELED) {
		wa_req_error(r, 400, "status must be failed or canceled", NULL);
		return;
	}
	j->limit = REQUEUE_MAX;
	if (json_object_object_get_ex(j->body, "limit", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		j->limit = json_object_is_type(v, json_type_int)
		               ? (long)json_object_get_int64(v)
		               : -1;
		if (j->limit < 1 || j->limit > REQUEUE_MAX) {
			wa_req_error(r, 400,
			             "limit must be an integer from 1 to 1000",
			             NULL);
			return;
		}
	}
	wa_req_suspend(r);
	if (wa_writer_submit(r->app->writer, requeue_many_fn, j,
	                     requeue_many_done, j) != 0) {
		busy(r);
		wa_req_resume(r);
	}
}

/* ---- GET /v1/campaigns/{id}, POST /v1/campaigns/{id}/cancel ---------- */

void wa_route_campaign(wa_req *r)
{
	wa_store *s = r->app->store;
	wa_campaign_counts c;
	json_object *o, *counts;
	char err[256];
	long long done;

	if (s->ops->campaign_counts(s, r->param, &c, err, sizeof(err)) != 0) {
		wa_req_store_unavailable(r, err);
		return;
	}
	if (c.total == 0) {
		wa_req_error(r, 404, "Campaign not found", NULL);
		return;
	}
	o = json_object_new_object();
	counts = wa_render_counts(c.count);
	/* Done: no longer waiting for the provider (sent or beyond, failed,
	 * canceled). */
	done = c.total - c.count[WA_MSG_QUEUED] - c.count[WA_MSG_SENDING];
	json_object_object_add(o, "campaign_id",
	                       json_object_new_string(r->param));
	json_object_object_add(o, "total", json_object_new_int64(c.total));
	json_object_object_add(o, "counts", counts);
	json_object_object_add(o, "done", json_object_new_int64(done));
	json_object_object_add(
	    o, "progress",
	    json_object_new_double((double)done / (double)c.total));
	wa_req_json_obj(r, 200, o);
}

typedef struct campaign_job {
	wa_req *r;
	long canceled;
} campaign_job;

static int campaign_cancel_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	campaign_job *j = ud;

	j->canceled =
	    s->ops->cancel_campaign(s, j->r->param, wa_now_ms(), err, err_len);
	return j->canceled < 0 ? -1 : 0;
}

static void campaign_cancel_done(void *ud, int rc, const char *err)
{
	campaign_job *j = ud;
	json_object *o;

	if (rc != 0) {
		wa_req_store_unavailable(j->r, err);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "campaign_id",
		                       json_object_new_string(j->r->param));
		json_object_object_add(o, "canceled",
		                       json_object_new_int64(j->canceled));
		wa_req_json_obj(j->r, 200, o);
	}
	wa_req_resume(j->r);
}

void wa_route_campaign_cancel(wa_req *r)
{
	campaign_job *j = calloc(1, sizeof(*j));

	if (!j) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	j->r = r;
	r->data = j;
	r->data_free = free;
	wa_req_suspend(r);
	if (wa_writer_submit(r->app->writer, campaign_cancel_fn, j,
	                     campaign_cancel_done, j) != 0) {
		busy(r);
		wa_req_resume(r);
	}
}
