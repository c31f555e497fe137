/* routes_contacts.c - two-way messaging's API: GET /v1/contacts/{phone},
 * GET /v1/inbound, GET /v1/suppressions, PUT and DELETE
 * /v1/suppressions/{phone} */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/validate.h"
#include "engine/inbound.h"
#include "http/consent.h"
#include "http/routes.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500

static json_object *jtime(int64_t ms)
{
	char ts[40];

	return ms > 0 ? json_object_new_string(wa_iso8601(ms, ts, sizeof(ts)))
	              : NULL;
}

/* The phone of the path, normalised; false after answering 400. Routes
 * match the raw path, so a '+' may still be written %2B here. */
static bool path_phone(wa_req *r, char *out, size_t len)
{
	char raw[WA_REQ_PARAM_MAX];
	const char *p = r->param;

	if (strncasecmp(p, "%2B", 3) == 0) {
		snprintf(raw, sizeof(raw), "+%s", p + 3);
		p = raw;
	}
	if (wa_phone_normalize(p, out, len) != 0) {
		wa_req_error(r, 400,
		             "The phone number in the path must be E.164, "
		             "e.g. +5511987654321",
		             NULL);
		return false;
	}
	return true;
}

static json_object *contact_json(const wa_contact *c, const char *phone,
                                 int64_t now)
{
	json_object *o = json_object_new_object();
	bool known = c->last_inbound_ms > 0;

	json_object_object_add(o, "phone", json_object_new_string(phone));
	json_object_object_add(o, "last_inbound_at", jtime(c->last_inbound_ms));
	json_object_object_add(
	    o, "window_expires_at",
	    jtime(known ? c->last_inbound_ms + WA_WINDOW_MS : 0));
	json_object_object_add(
	    o, "window_open",
	    known ? json_object_new_boolean(now - c->last_inbound_ms <=
	                                    WA_WINDOW_MS)
	          : NULL);
	json_object_object_add(o, "opted_out",
	                       json_object_new_boolean(c->opted_out));
	json_object_object_add(
	    o, "opt_source",
	    c->opt_source[0] ? json_object_new_string(c->opt_source) : NULL);
	json_object_object_add(o, "opt_changed_at", jtime(c->opt_at_ms));
	return o;
}

/* ---- GET /v1/contacts/{phone} ---------------------------------------- */

void wa_route_get_contact(wa_req *r)
{
	wa_store *s = r->app->store;
	char phone[WA_PHONE_MAX], err[WA_ERR_MAX] = "";
	wa_contact c;
	int rc;

	if (!path_phone(r, phone, sizeof(phone)))
		return;
	rc = s->ops->contact_get(s, phone, &c, err, sizeof(err));
	if (rc < 0) {
		wa_req_store_unavailable(r, err);
		return;
	}
	/* a phone never heard of is a contact with nothing known */
	wa_req_json_obj(r, 200, contact_json(&c, phone, wa_now_ms()));
}

/* ---- query arguments --------------------------------------------------- */

/* limit=1..LIST_MAX (default LIST_DEFAULT); false after answering 400. */
static bool arg_limit(wa_req *r, size_t *out)
{
	const char *v = wa_req_query(r, "limit");
	char *end;
	long n;

	*out = LIST_DEFAULT;
	if (!v)
		return true;
	n = strtol(v, &end, 10);
	if (!*v || *end || n < 1 || n > LIST_MAX) {
		wa_req_error(
		    r, 400, "limit must be a whole number from 1 to 500", NULL);
		return false;
	}
	*out = (size_t)n;
	return true;
}

/* An RFC 3339 UTC time ("2026-12-06T05:00:00Z", fraction allowed) or
 * epoch milliseconds; -1 when neither. */
static int64_t parse_time(const char *v)
{
	struct tm tm;
	const char *p;
	char *end;
	long long ms = 0;
	int frac = 0;

	if (!*v)
		return -1;
	for (p = v; isdigit((unsigned char)*p); p++)
		;
	if (!*p) {
		long long n = strtoll(v, &end, 10);
		return *end ? -1 : (int64_t)n;
	}
	memset(&tm, 0, sizeof(tm));
	p = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		int digits = 0;

		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		while (digits++ < 3)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	ms = (long long)timegm(&tm) * 1000 + frac;
	return ms;
}

/* since/until; false after answering 400. */
static bool arg_time(wa_req *r, const char *name, int64_t *out)
{
	const char *v = wa_req_query(r, name);

	*out = 0;
	if (!v)
		return true;
	*out = parse_time(v);
	if (*out <= 0) {
		char msg[160];

		snprintf(msg, sizeof(msg),
		         "%s must be an RFC 3339 UTC time, e.g. "
		         "2026-12-06T05:00:00Z, or epoch milliseconds",
		         name);
		wa_req_error(r, 400, msg, NULL);
		return false;
	}
	return true;
}

/* ---- GET /v1/inbound ---------------------------------------------------- */

/* The cursor is "<occurred_ms>.<id>" of the last message of a page. */
static bool arg_inbound_cursor(wa_req *r, wa_inbound_query *q, char *id,
                               size_t id_len)
{
	const char *v = wa_req_query(r, "cursor");
	char *end;

	if (!v)
		return true;
	q->after_ms = strtoll(v, &end, 10);
	if (end == v || *end != '.' || !end[1] || strlen(end + 1) >= id_len) {
		wa_req_error(r, 400,
		             "cursor must be a next_cursor from an earlier "
		             "page",
		             NULL);
		return false;
	}
	snprintf(id, id_len, "%s", end + 1);
	q->after_id = id;
	return true;
}

void wa_route_list_inbound(wa_req *r)
{
	wa_store *s = r->app->store;
	wa_inbound_query q;
	wa_inbound_rec *recs;
	char phone[WA_PHONE_MAX], after[WA_ID_MAX], err[WA_ERR_MAX] = "";
	const char *p = wa_req_query(r, "phone");
	json_object *out, *arr;
	size_t limit, n = 0;

	memset(&q, 0, sizeof(q));
	if (p) {
		if (wa_phone_normalize(p, phone, sizeof(phone)) != 0) {
			wa_req_error(r, 400, "phone must be E.164", NULL);
			return;
		}
		q.phone = phone;
	}
	if (!arg_limit(r, &limit) || !arg_time(r, "since", &q.since_ms) ||
	    !arg_time(r, "until", &q.until_ms) ||
	    !arg_inbound_cursor(r, &q, after, sizeof(after)))
		return;
	recs = calloc(limit + 1, sizeof(*recs));
	if (!recs) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	/* one more than asked: is there a next page? */
	if (s->ops->inbound_list(s, &q, recs, limit + 1, &n, err,
	                         sizeof(err)) != 0) {
		free(recs);
		wa_req_store_unavailable(r, err);
		return;
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < n && i < limit; i++) {
		json_object *m = json_tokener_parse(recs[i].json);

		json_object_array_add(arr, m ? m : json_object_new_object());
	}
	json_object_object_add(out, "messages", arr);
	if (n > limit) {
		char cur[WA_ID_MAX + 32];

		snprintf(cur, sizeof(cur), "%lld.%s",
		         (long long)recs[limit - 1].occurred_ms,
		         recs[limit - 1].id);
		json_object_object_add(out, "next_cursor",
		                       json_object_new_string(cur));
	} else {
		json_object_object_add(out, "next_cursor", NULL);
	}
	for (size_t i = 0; i < n; i++)
		wa_inbound_rec_free(&recs[i]);
	free(recs);
	wa_req_json_obj(r, 200, out);
}

/* ---- GET /v1/suppressions ---------------------------------------------- */

static json_object *suppression_json(const wa_contact *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "phone", json_object_new_string(c->phone));
	json_object_object_add(o, "source",
	                       json_object_new_string(c->opt_source));
	json_object_object_add(o, "at", jtime(c->opt_at_ms));
	return o;
}

void wa_route_list_suppressions(wa_req *r)
{
	wa_store *s = r->app->store;
	const char *v = wa_req_query(r, "cursor");
	char after[WA_PHONE_MAX] = "", err[WA_ERR_MAX] = "";
	json_object *out, *arr;
	wa_contact *cs;
	size_t limit, n = 0;

	if (!arg_limit(r, &limit))
		return;
	/* the cursor is the last phone's digits ('+' does not survive a
	 * query string unescaped) */
	if (v && wa_phone_normalize(v, after, sizeof(after)) != 0) {
		wa_req_error(r, 400,
		             "cursor must be a next_cursor from an earlier "
		             "page",
		             NULL);
		return;
	}
	cs = calloc(limit + 1, sizeof(*cs));
	if (!cs) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	if (s->ops->suppression_list(s, after, cs, limit + 1, &n, err,
	                             sizeof(err)) != 0) {
		free(cs);
		wa_req_store_unavailable(r, err);
		return;
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < n && i < limit; i++)
		json_object_array_add(arr, suppression_json(&cs[i]));
	json_object_object_add(out, "suppressions", arr);
	json_object_object_add(
	    out, "next_cursor",
	    n > limit ? json_object_new_string(cs[limit - 1].phone + 1) : NULL);
	free(cs);
	wa_req_json_obj(r, 200, out);
}

/* ---- PUT / DELETE /v1/suppressions/{phone} ------------------------------ */

typedef struct opt_job {
	wa_req *r;
	char phone[WA_PHONE_MAX];
	bool out;
	bool changed;
	long canceled;
} opt_job;

static int opt_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	opt_job *j = ud;

	return wa_optout_set(s, j->phone, j->out, "api", NULL, wa_now_ms(),
	                     &j->changed, &j->canceled, err, err_len);
}

static void opt_done(void *ud, int rc, const char *err)
{
	opt_job *j = ud;
	wa_req *r = j->r;
	wa_store *s = r->app->store;
	char e[WA_ERR_MAX] = "", masked[32];
	wa_contact c;

	if (rc != 0) {
		wa_log(WA_LOG_ERROR, "store", "Cannot record a suppression: %s",
		       err);
		wa_req_store_unavailable(r, err);
	} else if (s->ops->contact_get(s, j->phone, &c, e, sizeof(e)) < 0) {
		wa_req_store_unavailable(r, e);
	} else {
		if (j->changed)
			wa_log(
			    WA_LOG_INFO, "api",
			    "Contact %s opted %s through the API; %ld queued "
			    "message(s) canceled",
			    wa_mask_phone(j->phone, masked, sizeof(masked)),
			    j->out ? "out" : "in", j->canceled);
		wa_req_json_obj(r, 200,
		                contact_json(&c, j->phone, wa_now_ms()));
	}
	wa_req_resume(r);
}

static void set_opt(wa_req *r, bool out)
{
	opt_job *j;

	if (r->app->stopping) {
		wa_req_add_header(r, "Retry-After", "1");
		wa_req_error(r, 503, "Shutting down", NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		wa_req_error(r, 500, "Internal server error", "out of memory");
		return;
	}
	r->data = j;
	r->data_free = free;
	j->r = r;
	j->out = out;
	if (!path_phone(r, j->phone, sizeof(j->phone)))
		return;
	wa_req_suspend(r);
	if (wa_writer_submit(r->app->writer, opt_fn, j, opt_done, j) != 0) {
		wa_req_add_header(r, "Retry-After", "1");
		wa_req_error(r, 503, "Server busy, retry later", NULL);
		wa_req_resume(r);
	}
}

void wa_route_put_suppression(wa_req *r)
{
	set_opt(r, true);
}

void wa_route_delete_suppression(wa_req *r)
{
	set_opt(r, false);
}
