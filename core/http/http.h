/* http.h - the HTTP server on libmicrohttpd and the per-request context
 *
 * A route handler runs on an HTTP thread once the whole body has arrived.
 * It either answers at once (wa_req_json/wa_req_error) or calls
 * wa_req_suspend(), hands work to another thread, and that thread later
 * fills the answer and calls wa_req_resume(). HTTP threads never call a
 * provider and never block on the store's writer.
 */
#ifndef WA_HTTP_H
#define WA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/app.h"

#define WA_REQ_PARAM_MAX 128
#define WA_REQ_MAX_HEADERS 6

typedef struct wa_req wa_req;
typedef void (*wa_handler)(wa_req *r);

typedef struct wa_route {
	const char *pattern; /* a "*" segment matches one path segment */
	const char *methods; /* "GET", "POST", "GET, POST" (Allow header) */
	bool auth;           /* X-API-Key required */
	bool json_body;      /* POST needs Content-Type: application/json */
	wa_handler get;
	wa_handler post;
	const char *name; /* for logs and metrics */
	bool always;      /* never refused for load (health, readiness) */
	/* appended: PUT and DELETE handlers (NULL: 405) */
	wa_handler put;
	wa_handler del;
	/* Appended: only an operator key (ADMIN_API_KEYS) may call it; a
	 * sending key gets 403. */
	bool admin;
} wa_route;

struct wa_req {
	wa_app *app;
	struct MHD_Connection *conn;
	const char *method;  /* owned by libmicrohttpd */
	const char *version; /* owned by libmicrohttpd */
	const char *url;
	char *raw_uri;      /* path and query exactly as received */
	size_t raw_uri_len; /* its length before the copy was cut at 8 KiB */
	const wa_route *route;
	char param[WA_REQ_PARAM_MAX]; /* the '*' segment, if any */
	char *body;
	size_t body_len, body_cap;
	size_t body_max; /* the route's body cap */
	bool body_too_large;
	int phase;
	bool parked; /* set by wa_req_suspend, read only by the HTTP thread */
	/* the answer */
	unsigned status;
	char *resp; /* malloc'd JSON */
	size_t resp_len;
	size_t n_headers;
	char hdr_name[WA_REQ_MAX_HEADERS][32];
	char hdr_value[WA_REQ_MAX_HEADERS][128];
	char content_type[64]; /* default application/json; charset=utf-8 */
	int64_t start_mono_ms;
	int64_t start_us;    /* monotonic, for latency metrics */
	char request_id[72]; /* X-Request-Id, accepted or generated */
	int key_index;       /* which API key authenticated, -1 if none */
	bool close;          /* answer with Connection: close */
	bool active;         /* counted in app->requests_active */
	/* route-owned data, freed with the request */
	void *data;
	void (*data_free)(void *data);
};

/* Start listening per app->settings. 0, or -1 with err. */
int wa_http_start(wa_app *app, const wa_route *routes, char *err,
                  size_t err_len);
/* The route table the server was started with (NULL before). */
const wa_route *wa_http_routes(void);
/* Wait (until deadline, monotonic ms) for requests under way to finish
 * sending their answers. */
void wa_http_drain(wa_app *app, int64_t deadline_mono_ms);
/* Close everything. Call after every suspended request was resumed. */
void wa_http_stop(wa_app *app);

/* Answer with a JSON body (copied). */
void wa_req_json(wa_req *r, unsigned status, const char *json);
/* Answer with a JSON body (taken: malloc'd, freed by the server). */
void wa_req_json_take(wa_req *r, unsigned status, char *json, size_t len);
/* Answer {"error": msg} (and "details" when not NULL). */
void wa_req_error(wa_req *r, unsigned status, const char *msg,
                  const char *details);
/* Answer with json_object o, serialised plain (no slash escapes); takes
 * o. */
struct json_object;
void wa_req_json_obj(wa_req *r, unsigned status, struct json_object *o);
/* The store failed a read or a write: 503 "Store unavailable" (details
 * may be NULL) with Retry-After: 5. */
void wa_req_store_unavailable(wa_req *r, const char *details);
/* Add a response header. */
void wa_req_add_header(wa_req *r, const char *name, const char *value);
/* A request header (case-insensitive) or NULL. */
const char *wa_req_header(wa_req *r, const char *name);
/* A query argument or NULL. */
const char *wa_req_query(wa_req *r, const char *name);

/* Did an operator key (ADMIN_API_KEYS) authenticate the request? */
bool wa_req_is_admin(const wa_req *r);
/* Answer 403: the route (or this use of it) needs an operator key. */
void wa_req_forbidden(wa_req *r);

/* Take n tokens from the caller's rate limit; false after answering 429. */
bool wa_req_rate_limit(wa_req *r, size_t n);

/* Park the request (from its handler); the answer comes later. */
void wa_req_suspend(wa_req *r);
/* From any thread, after filling the answer: send it. */
void wa_req_resume(wa_req *r);

#endif
