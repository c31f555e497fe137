/* http.c - the HTTP server on libmicrohttpd and the per-request context */
#include "http/http.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/ratelimit.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "http/framing.h"
#include "http/guard.h"
#include "http/watchdog.h"

enum { PHASE_NEW, PHASE_READING, PHASE_SUSPENDED, PHASE_READY, PHASE_SENT };

static const wa_route *g_routes;

/* ---- answers ------------------------------------------------------------ */

void wa_req_json_take(wa_req *r, unsigned status, char *json, size_t len)
{
	free(r->resp);
	r->status = status;
	r->resp = json;
	r->resp_len = len;
	if (r->phase != PHASE_SUSPENDED)
		r->phase = PHASE_READY;
}

void wa_req_json(wa_req *r, unsigned status, const char *json)
{
	size_t len = strlen(json);
	char *copy = malloc(len + 1);

	if (!copy) {
		/* Nothing sensible is left to send; an empty 500 at least. */
		wa_req_json_take(r, 500, NULL, 0);
		return;
	}
	memcpy(copy, json, len + 1);
	wa_req_json_take(r, status, copy, len);
}

void wa_req_error(wa_req *r, unsigned status, const char *msg,
                  const char *details)
{
	char emsg[1024], edet[1024], out[2200];

	wa_json_escape(msg, emsg, sizeof(emsg));
	if (details) {
		wa_json_escape(details, edet, sizeof(edet));
		snprintf(out, sizeof(out),
		         "{\"error\":\"%s\",\"details\":\"%s\"}", emsg, edet);
	} else {
		snprintf(out, sizeof(out), "{\"error\":\"%s\"}", emsg);
	}
	wa_req_json(r, status, out);
}

void wa_req_json_obj(wa_req *r, unsigned status, struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (text)
		wa_req_json(r, status, text);
	else
		wa_req_error(r, 500, "Internal server error", "out of memory");
	json_object_put(o);
}

void wa_req_store_unavailable(wa_req *r, const char *details)
{
	wa_req_add_header(r, "Retry-After", "5");
	wa_req_error(r, 503, "Store unavailable", details);
}

void wa_req_add_header(wa_req *r, const char *name, const char *value)
{
	if (r->n_headers >= WA_REQ_MAX_HEADERS)
		return;
	snprintf(r->hdr_name[r->n_headers], sizeof(r->hdr_name[0]), "%s", name);
	snprintf(r->hdr_value[r->n_headers], sizeof(r->hdr_value[0]), "%s",
	         value);
	r->n_headers++;
}

const char *wa_req_header(wa_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *wa_req_query(wa_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	                                   name);
}

void wa_req_suspend(wa_req *r)
{
	r->parked = true;
	r->phase = PHASE_SUSPENDED;
	MHD_suspend_connection(r->conn);
}

void wa_req_resume(wa_req *r)
{
	r->phase = PHASE_READY;
	MHD_resume_connection(r->conn);
}

static enum MHD_Result send_answer(wa_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body = r->resp;

	if (!body) {
		body = strdup("{\"error\":\"Internal server error\"}");
		r->status = 500;
		r->resp_len = body ? strlen(body) : 0;
	}
	r->resp = NULL;
	resp = MHD_create_response_from_buffer(r->resp_len, body,
	                                       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        r->content_type[0]
	                            ? r->content_type
	                            : "application/json; charset=utf-8");
	for (size_t i = 0; i < r->n_headers; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	if (r->request_id[0])
		MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	/* Stopping: let keep-alive clients go, so the drain can finish. A
	 * request refused for its framing leaves the rest of the stream
	 * unread: the connection must not be reused either. */
	if (r->app->stopping || r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		                        "close");
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	r->phase = PHASE_SENT;
	/* Counted when the answer is queued, so a client that reads /metrics
	 * right after an answer sees it counted. */
	wa_metrics_http(r->route ? (int)(r->route - g_routes) : -1, r->status,
	                (double)(wa_mono_us() - r->start_us) / 1e6);
	return ret;
}

/* ---- routing ------------------------------------------------------------- */

/* Match url against pattern; '*' matches one non-empty segment, a final
 * '**' the rest of the path (possibly empty, several segments). */
static bool match(const char *pattern, const char *url, char *param,
                  size_t param_len)
{
	const char *p = pattern, *u = url;

	while (*p) {
		if (p[0] == '*' && p[1] == '*' && p[2] == 0) {
			size_t len = strlen(u);
			if (len >= param_len)
				return false;
			memcpy(param, u, len + 1);
			return true;
		}
		if (!*u)
			break;
		if (*p == '*') {
			const char *end = strchr(u, '/');
			size_t len = end ? (size_t)(end - u) : strlen(u);
			if (len == 0 || len >= param_len)
				return false;
			memcpy(param, u, len);
			param[len] = 0;
			u += len;
			p++;
			continue;
		}
		if (*p != *u)
			return false;
		p++, u++;
	}
	return *p == 0 && *u == 0;
}

static bool json_content_type(const char *ct)
{
	size_t n = strlen("application/json");
	if (!ct || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == 0 || ct[n] == ';' || ct[n] == ' ';
}

bool wa_req_is_admin(const wa_req *r)
{
	return wa_settings_key_is_admin(r->app->settings, r->key_index);
}

void wa_req_forbidden(wa_req *r)
{
	wa_req_error(r, 403,
	             "This needs an operator key (ADMIN_API_KEYS); a sending "
	             "key may not use it",
	             NULL);
}

bool wa_req_rate_limit(wa_req *r, size_t n)
{
	long retry;
	char ra[24];

	if (r->key_index < 0 ||
	    wa_guard_take(r->app->guard, (size_t)r->key_index, n, wa_mono_us(),
	                  &retry))
		return true;
	if (retry > 0) {
		snprintf(ra, sizeof(ra), "%ld", retry);
		wa_req_add_header(r, "Retry-After", ra);
		wa_req_error(r, 429, "Rate limit exceeded", NULL);
	} else {
		wa_req_error(r, 429, "Rate limit exceeded",
		             "the batch is larger than the rate limit's burst");
	}
	return false;
}

/* Accept a sane caller-given X-Request-Id, else make one. */
static void set_request_id(wa_req *r)
{
	const char *given = wa_req_header(r, "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < 64;

	for (size_t i = 0; ok && i < n; i++) {
		char c = given[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
	}
	if (ok)
		snprintf(r->request_id, sizeof(r->request_id), "%s", given);
	else if (wa_uuid_v4(r->request_id, sizeof(r->request_id)) != 0)
		r->request_id[0] = 0;
}

/* Count a 401; say so in the log at most once per 10 s (a client can
 * repeat it at will), with how many were held back. */
static void auth_failed(wa_req *r, const char *what)
{
	static wa_log_throttle t;
	unsigned long held;

	atomic_fetch_add(&r->app->auth_failures, 1);
	if (wa_log_throttle_ok(&t, (long long)wa_mono_ms(), 10000, &held))
		wa_log(WA_LOG_WARN, "http",
		       "Refused a request with %s API key (and %lu more since "
		       "the last such line)",
		       what, held);
}

/* An RFC 9110 method token of at most 32 characters. */
static bool method_ok(const char *m)
{
	size_t n = m ? strlen(m) : 0;

	if (n == 0 || n > 32)
		return false;
	for (; *m; m++)
		if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') ||
		      (*m >= '0' && *m <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *m)))
			return false;
	return true;
}

/* The head's framing is unambiguous (see framing.h): refuse it and close
 * the connection otherwise, since what follows cannot be trusted. */
static bool framing_ok(wa_req *r)
{
	wa_head h = {r->method, r->url, r->version, r->raw_uri_len};
	const char *why = wa_framing_check(r->conn, &h);

	if (!why)
		return true;
	r->close = true;
	wa_req_error(r, 400, "Malformed HTTP request", why);
	return false;
}

/* Checks that need only the headers: method, route, auth, content type,
 * declared length. Answers r when one fails. */
static void check_head(wa_req *r, const char *url)
{
	const wa_route *rt;
	const char *key, *ct, *cl;
	bool is_get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	bool is_post = !strcmp(r->method, "POST");
	bool is_put = !strcmp(r->method, "PUT");
	bool is_del = !strcmp(r->method, "DELETE");
	char path[512];

	r->key_index = -1;
	r->active = true;
	atomic_fetch_add(&r->app->requests_active, 1);
	set_request_id(r);
	if (!method_ok(r->method)) {
		r->close = true;
		wa_req_error(r, 400, "Invalid HTTP method", NULL);
		return;
	}
	if (!framing_ok(r))
		return;
	/* Route on the path as received: libmicrohttpd has already decoded
	 * %2F and %00 in url, so /v1/messages%2Fsend would reach "send" and
	 * a %00 would cut a message id short. */
	if (r->raw_uri) {
		size_t n = strcspn(r->raw_uri, "?#");
		if (n < sizeof(path)) {
			memcpy(path, r->raw_uri, n);
			path[n] = 0;
			url = path;
		} else {
			url = "";
		}
	}
	for (rt = g_routes; rt->pattern; rt++)
		if (match(rt->pattern, url, r->param, sizeof(r->param)))
			break;
	/* A connection past MAX_CONNECTIONS: a probe is answered, anything
	 * else is told to come back; either way it is closed after. */
	if (wa_watchdog_refuse_overflow(r->conn, rt->pattern && rt->always)) {
		r->close = true;
		if (!rt->pattern || !rt->always) {
			wa_req_add_header(r, "Retry-After", "1");
			wa_req_error(r, 503,
			             "Too many connections, retry later", NULL);
			return;
		}
	}
	if (!rt->pattern) {
		wa_req_error(r, 404, "Not found", NULL);
		return;
	}
	r->route = rt;
	if (!((is_get && rt->get) || (is_post && rt->post) ||
	      (is_put && rt->put) || (is_del && rt->del))) {
		wa_req_add_header(r, "Allow", rt->methods);
		wa_req_error(r, 405, "Method not allowed", NULL);
		return;
	}
	if (rt->auth) {
		key = wa_req_header(r, "X-API-Key");
		if (!key || !*key) {
			auth_failed(r, "no");
			wa_req_error(r, 401, "Missing X-API-Key header", NULL);
			return;
		}
		r->key_index = wa_settings_key_index(r->app->settings, key);
		if (r->key_index < 0) {
			auth_failed(r, "a wrong");
			wa_req_error(r, 401, "Invalid API Key", NULL);
			return;
		}
		if (rt->admin && !wa_req_is_admin(r)) {
			wa_req_forbidden(r);
			return;
		}
		/* A batch is charged its item count once it is parsed. */
		if (strcmp(rt->name, "batch") != 0 && !wa_req_rate_limit(r, 1))
			return;
	}
	/* The cap counts requests whose head has arrived; /health and /ready
	 * are never refused for load (a balancer would take the instance
	 * out for being busy). */
	if (r->app->settings->max_inflight && !rt->always &&
	    atomic_load(&r->app->requests_active) >
	        (long)r->app->settings->max_inflight) {
		wa_req_add_header(r, "Retry-After", "1");
		wa_req_error(r, 503, "Server busy, retry later", NULL);
		return;
	}
	r->body_max = strcmp(rt->name, "batch") == 0
	                  ? r->app->settings->batch_body_bytes
	                  : r->app->settings->max_body_bytes;
	cl = wa_req_header(r, "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > r->body_max) {
		wa_req_error(r, 413, "Request body too large", NULL);
		return;
	}
	if (is_post && rt->json_body) {
		ct = wa_req_header(r, "Content-Type");
		if (!json_content_type(ct)) {
			wa_req_error(r, 415,
			             "Content-Type must be application/json",
			             NULL);
			return;
		}
	}
	r->phase = PHASE_READING;
}

static int append_body(wa_req *r, const char *data, size_t len)
{
	size_t max = r->body_max;

	if (r->body_too_large || r->body_len + len > max) {
		r->body_too_large = true;
		return 0;
	}
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		while (cap < r->body_len + len + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		char *nb = realloc(r->body, cap);
		if (!nb)
			return -1;
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = 0;
	return 0;
}

/* Called first for every request, with the raw URI (query included):
 * the request context is born here so the raw URI can be kept for
 * signature checks (libmicrohttpd hands the handler only the path). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	wa_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->app = cls;
	r->conn = conn;
	r->start_mono_ms = wa_mono_ms();
	r->start_us = wa_mono_us();
	r->raw_uri = strndup(uri, 8192);
	r->raw_uri_len = strlen(uri);
	wa_watchdog_request_start(conn);
	atomic_fetch_add(&r->app->requests_open, 1);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	wa_app *app = cls;
	wa_req *r = *con_cls;

	if (!r)
		return MHD_NO; /* out of memory in on_uri */
	if (r->phase == PHASE_NEW) {
		(void)app;
		r->method = method;
		r->version = version;
		r->url = url;
		check_head(r, url);
		if (r->phase == PHASE_READY) {
			wa_watchdog_request_in(conn);
			return send_answer(r);
		}
		return MHD_YES;
	}
	switch (r->phase) {
	case PHASE_READING:
		if (*upload_data_size) {
			if (append_body(r, upload_data, *upload_data_size) != 0)
				return MHD_NO;
			*upload_data_size = 0;
			if (r->body_too_large) {
				wa_req_error(r, 413, "Request body too large",
				             NULL);
				return send_answer(r);
			}
			return MHD_YES;
		}
		wa_watchdog_request_in(conn);
		if (!strcmp(method, "POST"))
			r->route->post(r);
		else if (!strcmp(method, "PUT"))
			r->route->put(r);
		else if (!strcmp(method, "DELETE"))
			r->route->del(r);
		else
			r->route->get(r);
		/* Once parked, another thread owns the request until it resumes
		 * it: do not even look at phase here (it may be changing). */
		if (r->parked)
			return MHD_YES; /* the answer comes on resume */
		return send_answer(r);
	case PHASE_READY:
		return send_answer(r);
	case PHASE_SUSPENDED:
		/* Resumed without an answer: must not happen. */
		wa_req_error(r, 500, "Internal server error",
		             "request resumed without an answer");
		return send_answer(r);
	default:
		*upload_data_size = 0;
		return MHD_YES;
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	wa_req *r = *con_cls;

	if (!r)
		return;
	wa_watchdog_request_done(conn);
	if (r->phase !=
	    PHASE_SENT) /* never answered: counted here, as code 0 */
		wa_metrics_http(r->route ? (int)(r->route - g_routes) : -1, 0,
		                (double)(wa_mono_us() - r->start_us) / 1e6);
	if (r->app->settings->access_log && wa_log_get_level() <= WA_LOG_INFO) {
		char key[16] = "-";
		const char *route = r->route ? r->route->name : "-";
		unsigned status = r->phase == PHASE_SENT ? r->status : 0;
		/* The method comes from the client: the logger escapes it
		 * (in the sentence and in its member) and cuts it short. */
		wa_log_field f[7] = {
		    WA_LOG_STR("method", r->method),
		    WA_LOG_STR("route", route),
		    WA_LOG_INT("status", status),
		    WA_LOG_INT("duration_ms", wa_mono_ms() - r->start_mono_ms),
		    WA_LOG_STR("request_id", r->request_id),
		    WA_LOG_STR("key", key),
		    WA_LOG_BOOL("aborted", 1),
		};
		if (r->key_index >= 0)
			snprintf(key, sizeof(key), "key#%d", r->key_index + 1);
		wa_log_kv(WA_LOG_INFO, "access", f,
		          toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 6 : 7,
		          "%.32s %s %u", r->method ? r->method : "-", route,
		          status);
	}
	if (r->data_free)
		r->data_free(r->data);
	free(r->body);
	free(r->resp);
	free(r->raw_uri);
	if (r->active)
		atomic_fetch_sub(&r->app->requests_active, 1);
	atomic_fetch_sub(&r->app->requests_open, 1);
	free(r);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	wa_log(WA_LOG_WARN, "http", "libmicrohttpd: %s", msg);
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	wa_watchdog_notify(cls, c, socket_context, (int)code);
}

const wa_route *wa_http_routes(void)
{
	return g_routes;
}

int wa_http_start(wa_app *app, const wa_route *routes, char *err,
                  size_t err_len)
{
	const wa_settings *s = app->settings;
	struct sockaddr_in addr = {0};
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	wa_watchdog_conf wc = {
	    .request_ms = (int64_t)s->request_timeout_s * 1000,
	    .idle_ms = (int64_t)s->connection_timeout_s * 1000,
	    .per_ip_max = s->max_unfinished_per_ip,
	    .max_conns = s->max_connections,
	    .plain_http = !s->tls_cert,
	};

	g_routes = routes;
	app->watchdog = wa_watchdog_create(&wc);
	if (!app->watchdog) {
		snprintf(err, err_len,
		         "Cannot start the request watchdog thread");
		return -1;
	}
	if (s->tls_cert)
		flags |= MHD_USE_TLS;
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)s->port);
	inet_pton(AF_INET, s->bind_address, &addr.sin_addr);
	app->mhd = MHD_start_daemon(
	    flags, (uint16_t)s->port, NULL, NULL, on_request, app,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, app, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)s->http_threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)s->max_connections + WA_WATCHDOG_EXTRA_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)s->connection_timeout_s + 1,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, app,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, app->watchdog,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->max_conn_per_ip,
	    s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
	    s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
	    MHD_OPTION_HTTPS_PRIORITIES, s->tls_priorities, MHD_OPTION_END);
	if (!app->mhd) {
		wa_watchdog_destroy(app->watchdog);
		app->watchdog = NULL;
		snprintf(
		    err, err_len,
		    "Cannot listen on %s:%d (port in use, not permitted, or "
		    "the TLS certificate, key or TLS_PRIORITIES rejected)",
		    s->bind_address, s->port);
		return -1;
	}
	return 0;
}

void wa_http_drain(wa_app *app, int64_t deadline_mono_ms)
{
	struct timespec ts = {0, 5 * 1000000L};

	while (atomic_load(&app->requests_open) > 0 &&
	       wa_mono_ms() < deadline_mono_ms)
		nanosleep(&ts, NULL);
}

void wa_http_stop(wa_app *app)
{
	if (app->mhd)
		MHD_stop_daemon(app->mhd);
	app->mhd = NULL;
	wa_watchdog_destroy(app->watchdog);
	app->watchdog = NULL;
}
