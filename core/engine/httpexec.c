/* httpexec.c - the libcurl multi loop that runs a provider's HTTP pair */
#include "engine/httpexec.h"
#include "engine/httpexec_fds.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/timeutil.h"

#define HX_BODY_CAP (64 * 1024)
#define HX_MAX_SECRETS 32
#define HX_EVENTS 64 /* epoll events taken per wait */
/* After a wake-up that read answers, with more transfers in flight, the
 * loop lets this long pass before it looks again, so that the answers of a
 * group sent together (a claim's worth, answered after the same latency)
 * are read in one wake-up rather than one each (issue 17). It delays an
 * answer by at most this much: a finished transfer's outcome lingers 100
 * ms or more before its commit anyway. */
#define HX_GATHER_US 2000

/* What an easy handle's options are set up for: a handle keeps them from
 * one transfer to the next, and only a change of method resets it. */
enum { HX_M_NONE, HX_M_POST, HX_M_GET, HX_M_CUSTOM };

/* A delivery waiting for a transfer slot. */
typedef struct hx_item {
	struct hx_item *next;
	const wa_message *msg;
	wa_result *res;
	wa_httpexec_done done;
	void *ud;
} hx_item;

/* One transfer: an easy handle and its buffers, pooled for reuse. */
typedef struct hx_xfer {
	struct hx_xfer *next;          /* in the pool */
	struct hx_xfer *aprev, *anext; /* in the active list */
	struct wa_httpexec *hx;
	CURL *easy;
	struct curl_slist *hdrs; /* the last request's, kept while they match */
	int method;              /* HX_M_*: what the handle is set up for */
	hx_item item;
	wa_http_request req;
	char *body_buf;
	char *resp;
	size_t resp_len, resp_cap;
	bool too_large;
	char retry_after[128];
	bool have_retry_after;
	int64_t started_ms;
	char errbuf[CURL_ERROR_SIZE];
} hx_xfer;

struct wa_httpexec {
	const wa_loaded_provider *p;
	wa_httpexec_config cfg;
	CURLM *multi;
	int epfd;         /* the sockets libcurl asks to watch, and evfd */
	wa_hx_fds fds;    /* those sockets (httpexec_fds.c): libcurl's socket
	                     callback, whose epoll set is epfd; only the ready
	                     ones are handed back to libcurl, so a wake-up
	                     costs the same with 10 or 1000 in flight */
	int evfd;         /* eventfd: a submission or the stop */
	int64_t timer_at; /* mono ms libcurl wants to be called at; -1 none */
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;
	hx_item *head, *tail; /* submitted, under mu */
	bool stop;            /* under mu */

	/* loop thread only */
	hx_item *wait_head, *wait_tail;
	hx_xfer *pool;
	hx_xfer *active_head; /* transfers added to the multi handle */
	size_t active;
	const char *secrets[HX_MAX_SECRETS + 1];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- transfers -------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	hx_xfer *x = ud;
	size_t n = size * nmemb;

	if (x->resp_len + n > (size_t)x->hx->cfg.max_response_bytes) {
		x->too_large = true;
		return 0; /* aborts the transfer */
	}
	if (x->resp_len + n + 1 > x->resp_cap) {
		size_t cap = x->resp_cap ? x->resp_cap : 4096;
		char *p;

		while (cap < x->resp_len + n + 1)
			cap *= 2;
		p = realloc(x->resp, cap);
		if (!p)
			return 0;
		x->resp = p;
		x->resp_cap = cap;
	}
	memcpy(x->resp + x->resp_len, data, n);
	x->resp_len += n;
	x->resp[x->resp_len] = 0;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	static const char name[] = "retry-after:";
	hx_xfer *x = ud;
	size_t n = size * nmemb, k = sizeof(name) - 1;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		x->have_retry_after = false; /* a new response starts */
	} else if (n > k && strncasecmp(data, name, k) == 0) {
		const char *v = data + k, *end = data + n;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		snprintf(x->retry_after, sizeof(x->retry_after), "%.*s",
		         (int)(end - v), v);
		x->have_retry_after = true;
	}
	return n;
}

static void active_add(wa_httpexec *hx, hx_xfer *x)
{
	x->aprev = NULL;
	x->anext = hx->active_head;
	if (hx->active_head)
		hx->active_head->aprev = x;
	hx->active_head = x;
	hx->active++;
}

static void active_remove(wa_httpexec *hx, hx_xfer *x)
{
	curl_multi_remove_handle(hx->multi, x->easy);
	if (x->aprev)
		x->aprev->anext = x->anext;
	else
		hx->active_head = x->anext;
	if (x->anext)
		x->anext->aprev = x->aprev;
	x->aprev = x->anext = NULL;
	hx->active--;
}

static hx_xfer *xfer_get(wa_httpexec *hx)
{
	hx_xfer *x = hx->pool;

	if (x) {
		hx->pool = x->next;
	} else {
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		x->hx = hx;
		x->easy = curl_easy_init();
		x->body_buf = malloc(HX_BODY_CAP);
		if (!x->easy || !x->body_buf) {
			if (x->easy)
				curl_easy_cleanup(x->easy);
			free(x->body_buf);
			free(x);
			return NULL;
		}
	}
	x->next = NULL;
	memset(&x->req, 0, sizeof(x->req));
	x->req.struct_size = sizeof(x->req);
	x->req.body = x->body_buf;
	x->req.body_cap = HX_BODY_CAP;
	x->resp_len = 0;
	if (x->resp)
		x->resp[0] = 0;
	x->too_large = false;
	x->have_retry_after = false;
	x->errbuf[0] = 0;
	return x;
}

static void xfer_put(wa_httpexec *hx, hx_xfer *x)
{
	x->next = hx->pool;
	hx->pool = x;
}

static void set_result(wa_result *res, wa_result_class cls, const char *what,
                       const char *detail)
{
	res->result_class = cls;
	snprintf(res->error, sizeof(res->error), "%s%s", what, detail);
}

/* Whether x's header list is the one r asks for ("Expect:" last). */
static bool hdrs_match(const hx_xfer *x, const wa_http_request *r)
{
	const struct curl_slist *l = x->hdrs;

	for (size_t i = 0; i < r->n_headers; i++, l = l->next)
		if (!l || strcmp(l->data, r->headers[i]) != 0)
			return false;
	return l && strcmp(l->data, "Expect:") == 0 && !l->next;
}

/* The header list for r: the last one when it matches (a provider sends
 * the same headers every time), else a new one. false: out of memory. */
static bool hdrs_set(hx_xfer *x, const wa_http_request *r)
{
	struct curl_slist *h = NULL, *l;

	if (x->hdrs && hdrs_match(x, r))
		return true;
	for (size_t i = 0; i <= r->n_headers; i++) {
		/* no "100 Continue" round trip */
		l = curl_slist_append(h, i < r->n_headers ? r->headers[i]
		                                          : "Expect:");
		if (!l) {
			curl_slist_free_all(h);
			return false;
		}
		h = l;
	}
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h);
	curl_slist_free_all(x->hdrs);
	x->hdrs = h;
	return true;
}

/* The options that stay from one transfer to the next, for method m: set
 * when the handle is new or its method changes (after a reset, since a
 * GET after a POST must not keep the POST's fields). */
static void xfer_configure(wa_httpexec *hx, hx_xfer *x, int m)
{
	CURL *c = x->easy;

	if (x->method != HX_M_NONE)
		curl_easy_reset(c);
	x->method = m;
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (hx->cfg.ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, hx->cfg.ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 hx->cfg.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	                 (curl_off_t)hx->cfg.max_response_bytes);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "wadispatch");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, wa_hx_fds_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &hx->fds);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, wa_hx_fds_close);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, &hx->fds);
	/* HTTP/2 where the provider offers it (ALPN, so over TLS only): a new
	 * transfer waits for a connection being set up, to add a stream to it,
	 * rather than opening one of its own (CURLOPT_PIPEWAIT, set per
	 * request). Over HTTP/1.1 each transfer in flight holds a kept-alive
	 * connection, reused by the next; waiting there would only delay it by
	 * a round trip. */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (m == HX_M_POST)
		curl_easy_setopt(c, CURLOPT_POST, 1L);
	else if (m == HX_M_GET)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
}

/* Options for one request; 0 or -1 (res filled). A pooled handle keeps
 * its options (issue 17: a reset and twenty-odd options per transfer were
 * a share of the HTTP loop's CPU); what differs per request is set here. */
static int xfer_setup(wa_httpexec *hx, hx_xfer *x)
{
	wa_http_request *r = &x->req;
	CURL *c = x->easy;
	long timeout = r->timeout_ms ? (long)r->timeout_ms : hx->cfg.timeout_ms;
	int m;

	r->method[sizeof(r->method) - 1] = 0;
	r->url[sizeof(r->url) - 1] = 0;
	if (r->n_headers > WA_HEADERS_MAX || r->body_len > r->body_cap) {
		set_result(x->item.res, WA_RESULT_REJECT,
		           "provider built an invalid request", "");
		return -1;
	}
	for (size_t i = 0; i < r->n_headers; i++)
		r->headers[i][WA_HEADER_MAX - 1] = 0;
	m = r->method[0] == 0 || strcmp(r->method, "POST") == 0 ? HX_M_POST
	    : strcmp(r->method, "GET") == 0                     ? HX_M_GET
	                                                        : HX_M_CUSTOM;
	/* a custom method is set up afresh each time: its body or none */
	if (x->method != m || m == HX_M_CUSTOM)
		xfer_configure(hx, x, m);
	if (!hdrs_set(x, r)) {
		set_result(x->item.res, WA_RESULT_RETRY, "out of memory", "");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT,
	                 strncmp(r->url, "https://", 8) == 0 ? 1L : 0L);
	if (m == HX_M_CUSTOM)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	if (m == HX_M_POST || (m == HX_M_CUSTOM && r->body_len)) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)r->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	}
	return 0;
}

/* Start one delivery, or end it at once (build_request said no). */
static void start(wa_httpexec *hx, hx_item *it)
{
	const wa_provider *t = hx->p->table;
	hx_xfer *x = xfer_get(hx);

	if (!x) {
		set_result(it->res, WA_RESULT_RETRY, "out of memory", "");
		it->done(it->ud, true);
		free(it);
		return;
	}
	x->item = *it;
	free(it);
	if (t->build_request(hx->p->state, x->item.msg, &x->req, x->item.res) !=
	    0) {
		wa_result *res = x->item.res;

		if (res->result_class ==
		    WA_RESULT_OK) /* -1 must come with a class */
			set_result(res, WA_RESULT_REJECT,
			           "provider could not build the request", "");
		goto end_now;
	}
	if (xfer_setup(hx, x) != 0)
		goto end_now;
	if (wa_log_get_level() <= WA_LOG_DEBUG)
		wa_httpexec_log_request(&x->req, hx->secrets);
	x->started_ms = wa_mono_ms();
	if (curl_multi_add_handle(hx->multi, x->easy) != CURLM_OK) {
		set_result(x->item.res, WA_RESULT_RETRY,
		           "cannot start the HTTP transfer", "");
		goto end_now;
	}
	active_add(hx, x);
	return;

end_now : {
	hx_item done = x->item;

	xfer_put(hx, x);
	done.done(done.ud, true);
}
}

static void transport_error(hx_xfer *x, CURLcode code)
{
	wa_result *res = x->item.res;
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(code);

	res->upstream_status = 0;
	if (x->too_large || code == CURLE_FILESIZE_EXCEEDED) {
		long status = 0;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		res->upstream_status = status;
		/* A 2xx means the provider took the message: a reply the host
		 * cannot read is no reason to send it again (the plugins treat
		 * a 2xx without an id the same way). */
		res->result_class = status >= 200 && status < 300
		                        ? WA_RESULT_REJECT
		                        : WA_RESULT_RETRY;
		snprintf(res->error, sizeof(res->error),
		         "reply too large (over %ld bytes)%s",
		         x->hx->cfg.max_response_bytes,
		         res->result_class == WA_RESULT_REJECT
		             ? " after a 2xx; not retried to avoid a duplicate"
		             : "");
	} else if (code == CURLE_UNSUPPORTED_PROTOCOL ||
	           code == CURLE_URL_MALFORMAT) {
		/* the provider's URL can never work: a set-up problem */
		set_result(res, WA_RESULT_CONFIG,
		           "provider request URL unusable: ", why);
	} else {
		set_result(res, WA_RESULT_RETRY, "HTTP transport error: ", why);
	}
	snprintf(res->upstream_code, sizeof(res->upstream_code), "curl_%d",
	         (int)code);
}

static void finish(wa_httpexec *hx, hx_xfer *x, CURLcode code)
{
	wa_result *res = x->item.res;
	hx_item done;

	active_remove(hx, x);
	if (code != CURLE_OK) {
		transport_error(x, code);
	} else {
		wa_http_response r = {0};
		long status = 0;
		char *ct = NULL;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
		r.struct_size = sizeof(r);
		r.status = status;
		r.content_type = ct;
		r.retry_after = x->have_retry_after ? x->retry_after : NULL;
		r.body = x->resp_len ? x->resp : "";
		r.body_len = x->resp_len;
		hx->p->table->parse_response(hx->p->state, x->item.msg, &r,
		                             res);
		if (res->upstream_status == 0)
			res->upstream_status = status;
	}
	if (wa_log_get_level() <= WA_LOG_DEBUG)
		wa_log(
		    WA_LOG_DEBUG, "http",
		    "Provider reply: HTTP %ld, class %d, %zu bytes, %lld ms.",
		    res->upstream_status, (int)res->result_class, x->resp_len,
		    (long long)(wa_mono_ms() - x->started_ms));
	done = x->item;
	xfer_put(hx, x);
	done.done(done.ud, true);
}

static void abandon_all(wa_httpexec *hx)
{
	while (hx->active_head) {
		hx_xfer *x = hx->active_head;
		hx_item done;

		active_remove(hx, x);
		done = x->item;
		xfer_put(hx, x);
		done.done(done.ud, false);
	}
	while (hx->wait_head) {
		hx_item *it = hx->wait_head;

		hx->wait_head = it->next;
		it->done(it->ud, false);
		free(it);
	}
	hx->wait_tail = NULL;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
	wa_httpexec *hx = ud;

	(void)multi;
	hx->timer_at = timeout_ms < 0 ? -1 : wa_mono_ms() + timeout_ms;
	return 0;
}

static void reap(wa_httpexec *hx)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(hx->multi, &left))) {
		hx_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&x);
		finish(hx, x, m->data.result);
	}
}

static void *loop(void *arg)
{
	wa_httpexec *hx = arg;
	struct epoll_event evs[HX_EVENTS];
	bool gather = false; /* the last wake-up read answers: gather more */

	for (;;) {
		hx_item *got;
		bool stop;
		int running = 0, n, wait_ms;
		int64_t now;

		pthread_mutex_lock(&hx->mu);
		got = hx->head;
		hx->head = hx->tail = NULL;
		stop = hx->stop;
		pthread_mutex_unlock(&hx->mu);
		while (got) {
			hx_item *it = got;

			got = it->next;
			it->next = NULL;
			if (hx->wait_tail)
				hx->wait_tail->next = it;
			else
				hx->wait_head = it;
			hx->wait_tail = it;
		}
		if (stop) {
			abandon_all(hx);
			break;
		}
		while (hx->wait_head && hx->active < hx->cfg.max_inflight) {
			hx_item *it = hx->wait_head;

			hx->wait_head = it->next;
			if (!hx->wait_head)
				hx->wait_tail = NULL;
			start(hx, it);
		}
		now = wa_mono_ms();
		if (hx->timer_at >= 0 && now >= hx->timer_at) {
			hx->timer_at = -1;
			curl_multi_socket_action(hx->multi, CURL_SOCKET_TIMEOUT,
			                         0, &running);
			reap(hx);
			now = wa_mono_ms();
		}
		if (hx->wait_head && hx->active < hx->cfg.max_inflight)
			continue; /* slots freed: start the next ones now */
		wait_ms = 1000;
		if (hx->timer_at >= 0)
			wait_ms = hx->timer_at <= now ? 0
			          : hx->timer_at - now < 1000
			              ? (int)(hx->timer_at - now)
			              : 1000;
		if (gather && wait_ms > 0) {
			struct timespec ts = {
			    .tv_nsec = (wait_ms * 1000L < HX_GATHER_US
			                    ? wait_ms * 1000L
			                    : HX_GATHER_US) *
			               1000L};

			nanosleep(&ts, NULL);
			wait_ms = 0;
		}
		n = epoll_wait(hx->epfd, evs, HX_EVENTS, wait_ms);
		gather = false;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, flags = 0;

			if (fd == hx->evfd) {
				uint64_t v;

				if (read(hx->evfd, &v, sizeof(v)) < 0)
					continue; /* EAGAIN: already read */
				continue;
			}
			if (wa_hx_fds_stray(&hx->fds, fd))
				continue;
			if (evs[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(hx->multi, fd, flags,
			                         &running);
			gather = true;
		}
		reap(hx);
		gather = gather && hx->active > 0;
	}
	return NULL;
}

static void wake(wa_httpexec *hx)
{
	uint64_t one = 1;

	if (write(hx->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		wa_log(WA_LOG_WARN, "http", "Cannot wake the HTTP loop: %s",
		       strerror(errno));
}

/* ---- lifecycle ----------------------------------------------------------- */

static void collect_secrets(wa_httpexec *hx)
{
	const wa_config_key *k = hx->p->table->config_keys;
	size_t n = 0;

	for (; k && k->name && n < HX_MAX_SECRETS; k++) {
		const char *v;

		if (!wa_provider_key_is_secret(hx->p, k->name))
			continue;
		v = hx->p->host.config_get
		        ? hx->p->host.config_get(&hx->p->host, k->name)
		        : wa_config_get(k->name);
		if (v && *v)
			hx->secrets[n++] = v;
	}
	hx->secrets[n] = NULL;
}

wa_httpexec *wa_httpexec_create(const wa_loaded_provider *p,
                                const wa_httpexec_config *cfg, char *err,
                                size_t err_len)
{
	wa_httpexec *hx;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, err_len, "libcurl cannot be initialised: %s.",
		         curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	if (!p->table->build_request || !p->table->parse_response) {
		snprintf(err, err_len, "Provider %s has no HTTP pair.",
		         p->table->name);
		return NULL;
	}
	hx = calloc(1, sizeof(*hx));
	if (!hx) {
		snprintf(err, err_len,
		         "Out of memory creating the HTTP executor.");
		return NULL;
	}
	hx->p = p;
	hx->cfg = *cfg;
	if (!hx->cfg.max_inflight)
		hx->cfg.max_inflight = 1024;
	if (hx->cfg.max_response_bytes <= 0)
		hx->cfg.max_response_bytes = 1048576;
	hx->multi = curl_multi_init();
	if (!hx->multi) {
		snprintf(err, err_len, "curl_multi_init failed.");
		free(hx);
		return NULL;
	}
	hx->timer_at = -1;
	hx->epfd = epoll_create1(EPOLL_CLOEXEC);
	hx->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hx->epfd < 0 || hx->evfd < 0 ||
	    epoll_ctl(hx->epfd, EPOLL_CTL_ADD, hx->evfd,
	              &(struct epoll_event){.events = EPOLLIN,
	                                    .data.fd = hx->evfd}) != 0) {
		snprintf(err, err_len, "Cannot set up the HTTP loop: %s.",
		         strerror(errno));
		if (hx->epfd >= 0)
			close(hx->epfd);
		if (hx->evfd >= 0)
			close(hx->evfd);
		curl_multi_cleanup(hx->multi);
		free(hx);
		return NULL;
	}
	hx->fds.epfd = hx->epfd;
	curl_multi_setopt(hx->multi, CURLMOPT_SOCKETFUNCTION,
	                  wa_hx_fds_on_socket);
	curl_multi_setopt(hx->multi, CURLMOPT_SOCKETDATA, &hx->fds);
	curl_multi_setopt(hx->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(hx->multi, CURLMOPT_TIMERDATA, hx);
	curl_multi_setopt(hx->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	/* keep one idle connection per slot for reuse */
	curl_multi_setopt(hx->multi, CURLMOPT_MAXCONNECTS,
	                  (long)hx->cfg.max_inflight);
	pthread_mutex_init(&hx->mu, NULL);
	collect_secrets(hx);
	return hx;
}

int wa_httpexec_start(wa_httpexec *hx, char *err, size_t err_len)
{
	int rc = pthread_create(&hx->thread, NULL, loop, hx);

	if (rc == 0)
		pthread_setname_np(hx->thread, "wa-http-out");

	if (rc != 0) {
		snprintf(err, err_len, "Cannot start the HTTP thread: %s.",
		         strerror(rc));
		return -1;
	}
	hx->started = true;
	return 0;
}

int wa_httpexec_submit(wa_httpexec *hx, const wa_message *msg, wa_result *res,
                       wa_httpexec_done done, void *ud)
{
	hx_item *it = calloc(1, sizeof(*it));
	bool was_empty;

	if (!it)
		return -1;
	it->msg = msg;
	it->res = res;
	it->done = done;
	it->ud = ud;
	pthread_mutex_lock(&hx->mu);
	if (hx->stop || !hx->started) {
		pthread_mutex_unlock(&hx->mu);
		free(it);
		return -1;
	}
	was_empty = !hx->head;
	if (hx->tail)
		hx->tail->next = it;
	else
		hx->head = it;
	hx->tail = it;
	pthread_mutex_unlock(&hx->mu);
	if (was_empty) /* else a wake-up is already on its way */
		wake(hx);
	return 0;
}

void wa_httpexec_stop(wa_httpexec *hx)
{
	if (!hx)
		return;
	pthread_mutex_lock(&hx->mu);
	hx->stop = true;
	pthread_mutex_unlock(&hx->mu);
	if (hx->started) {
		wake(hx);
		pthread_join(hx->thread, NULL);
		hx->started = false;
	}
}

void wa_httpexec_destroy(wa_httpexec *hx)
{
	if (!hx)
		return;
	while (hx->pool) {
		hx_xfer *x = hx->pool;

		hx->pool = x->next;
		curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->hdrs);
		free(x->body_buf);
		free(x->resp);
		free(x);
	}
	while (hx->head) {
		hx_item *it = hx->head;

		hx->head = it->next;
		free(it);
	}
	curl_multi_cleanup(hx->multi); /* closes through hx->fds */
	wa_hx_fds_free(&hx->fds);
	close(hx->epfd);
	close(hx->evfd);
	pthread_mutex_destroy(&hx->mu);
	free(hx);
}
