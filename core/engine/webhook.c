/* webhook.c - signed status webhooks out, delivered from the store's outbox */
#include "engine/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"

/* Events in flight at once (a claim takes up to this many, the oldest
 * pending one per message, and sends them together). A receiver answering
 * in 100 ms must take 3 events per message (sent, delivered, read) at
 * PROVIDER_RATE 1000: 300 in flight. */
#define WH_PARALLEL 512
#define WH_SAFETY_MS 1000       /* longest idle wait before looking again */
#define WH_RESP_MAX (64 * 1024) /* response bytes read before giving up */
#define WH_RETRY_SLOTS 64       /* retry times remembered for wake-ups */
#define WH_SECRET_MIN 16
#define WH_COMP "webhook"

/* One event on its way (sender thread only). */
typedef struct wh_xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	wa_outbox_event ev;
	char *body; /* malloc'd: 8 KiB for a status, plus a stored body */
	size_t body_cap;
	size_t resp_len;
	bool done;
	/* the outcome, for outbox_finish */
	bool delivered;
	int64_t next_ms;
	char error[WA_ERR_MAX];
} wh_xfer;

struct wa_webhook {
	char *url, *secret;
	long timeout_ms, connect_timeout_ms;
	int64_t base_ms, max_ms, lease_ms;
	wa_store *store;
	wa_writer *writer;

	/* sender thread only */
	CURLM *multi;
	int epfd, evfd;   /* the sockets libcurl watches; evfd wakes a stop */
	int64_t timer_at; /* mono ms libcurl wants to be called at; -1 none */
	wh_xfer x[WH_PARALLEL];
	size_t n_x;
	int64_t retry_at[WH_RETRY_SLOTS]; /* wall ms of scheduled retries */
	size_t n_retry;

	pthread_t thread;
	bool started, joined, curl_inited;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool kicked, stopping;
	int64_t deadline_ms;
	/* Our own writer jobs commit too, and each commit kicks us. To not
	 * wake ourselves forever, a job of ours notes the writer's committed
	 * job count before its batch; a kick for a batch holding only our
	 * job (count + 1) is ignored. */
	bool own_armed;
	unsigned long long own_jobs0;

	atomic_ullong delivered, failed;
	bool failing; /* sender thread: the receiver's last round all failed */
	unsigned long long fails_logged; /* failed count when failing began */
};

/* ---- backoff ---- */

static double rand01(void)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)wa_mono_ms() * 0x9e3779b97f4a7c15u;
	return (double)(r >> 11) * (1.0 / 9007199254740992.0);
}

/* After failed attempt number `attempt` (1-based): uniformly random in
 * [base, min(max, base * 2^(attempt-1))]. */
static int64_t retry_delay(const wa_webhook *w, int attempt)
{
	int64_t cap = w->base_ms;

	for (int i = 1; i < attempt && cap < w->max_ms; i++)
		cap = cap > INT64_MAX / 2 ? INT64_MAX : cap * 2;
	if (cap > w->max_ms)
		cap = w->max_ms;
	return w->base_ms + (int64_t)(rand01() * (double)(cap - w->base_ms));
}

/* ---- writer jobs ---- */

static void arm_own(wa_webhook *w)
{
	unsigned long long jobs;

	wa_writer_counts(w->writer, NULL, &jobs);
	pthread_mutex_lock(&w->mu);
	w->own_armed = true;
	w->own_jobs0 = jobs;
	pthread_mutex_unlock(&w->mu);
}

typedef struct claim_job {
	wa_webhook *w;
	wa_outbox_event ev[WH_PARALLEL];
	size_t n;
	int64_t now;
} claim_job;

static int claim_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	claim_job *j = ud;

	arm_own(j->w);
	j->n = 0;
	j->now = wa_now_ms();
	return s->ops->outbox_claim(s, j->now, j->now + j->w->lease_ms,
	                            WH_PARALLEL, j->ev, &j->n, err, err_len);
}

static int finish_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	wa_webhook *w = ud;

	arm_own(w);
	for (size_t i = 0; i < w->n_x; i++) {
		wh_xfer *x = &w->x[i];

		if (s->ops->outbox_finish(s, x->ev.seq, x->delivered,
		                          x->next_ms, x->error, err,
		                          err_len) < 0)
			return -1;
	}
	return 0;
}

/* ---- sending ---- */

static size_t on_resp(char *p, size_t size, size_t nmemb, void *ud)
{
	wh_xfer *x = ud;
	size_t n = size * nmemb;

	(void)p;
	x->resp_len += n;
	return x->resp_len > WH_RESP_MAX ? 0 : n; /* the body is not used */
}

/* Append one formatted header line to *list; on failure *list is kept. */
__attribute__((format(printf, 2, 3))) static int
add_hdr(struct curl_slist **list, const char *fmt, ...)
{
	struct curl_slist *n;
	char line[160];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -1;
	n = curl_slist_append(*list, line);
	if (!n)
		return -1;
	*list = n;
	return 0;
}

static int prepare(wa_webhook *w, wh_xfer *x, long long ts)
{
	char sig[80], tss[32];
	int blen;

	x->done = x->delivered = false;
	x->resp_len = 0;
	x->error[0] = '\0';
	blen = wa_webhook_body_grow(&x->ev, &x->body, &x->body_cap);
	snprintf(tss, sizeof(tss), "%lld", ts);
	if (blen < 0 || wa_webhook_sign(w->secret, tss, x->body, (size_t)blen,
	                                sig, sizeof(sig)) < 0) {
		snprintf(x->error, sizeof(x->error),
		         "The webhook body could not be built or signed.");
		return -1;
	}
	if (add_hdr(&x->hdrs, "Content-Type: application/json") < 0 ||
	    add_hdr(&x->hdrs, "X-Wadispatch-Timestamp: %s", tss) < 0 ||
	    add_hdr(&x->hdrs, "X-Wadispatch-Signature: %s", sig) < 0 ||
	    add_hdr(&x->hdrs, "X-Wadispatch-Event-Id: %lld",
	            (long long)x->ev.seq) < 0 ||
	    add_hdr(&x->hdrs, "Expect:") < 0) {
		snprintf(x->error, sizeof(x->error), "Out of memory.");
		return -1; /* send_all frees x->hdrs */
	}
	curl_easy_reset(x->easy);
	curl_easy_setopt(x->easy, CURLOPT_URL, w->url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	                 w->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	                 (curl_off_t)blen);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_resp);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "wadispatch-webhook");
	return 0;
}

/* Record how x ended (code is the transfer's result). */
static void conclude(wa_webhook *w, wh_xfer *x, CURLcode code)
{
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->done = true;
	/* A 2xx whose reply body we stopped reading is still a 2xx. */
	if ((code == CURLE_OK || code == CURLE_WRITE_ERROR) && status >= 200 &&
	    status <= 299) {
		x->delivered = true;
		return;
	}
	if (status > 0)
		snprintf(x->error, sizeof(x->error), "HTTP %ld", status);
	else
		snprintf(x->error, sizeof(x->error), "%s",
		         curl_easy_strerror(code));
	(void)w;
}

static void stop_state(wa_webhook *w, bool *stopping, int64_t *deadline)
{
	pthread_mutex_lock(&w->mu);
	*stopping = w->stopping;
	*deadline = w->deadline_ms;
	pthread_mutex_unlock(&w->mu);
}

/* libcurl's socket and timer callbacks: sockets go into our epoll set. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                     void *sockp)
{
	wa_webhook *w = ud;
	struct epoll_event ev = {0};

	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
	            ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	ev.data.fd = fd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		wa_log(WA_LOG_WARN, WH_COMP, "Cannot watch socket %d: %s", fd,
		       strerror(errno));
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
	wa_webhook *w = ud;

	(void)multi;
	w->timer_at = timeout_ms < 0 ? -1 : wa_mono_ms() + timeout_ms;
	return 0;
}

/* Send the n_x claimed events concurrently; every xfer ends concluded. */
static void send_all(wa_webhook *w)
{
	long long ts = (long long)(wa_now_ms() / 1000);
	int running = 0, left;
	bool stopping;
	int64_t deadline, rem;
	CURLMsg *m;
	size_t i;

	for (i = 0; i < w->n_x; i++) {
		wh_xfer *x = &w->x[i];

		if (prepare(w, x, ts) < 0 ||
		    curl_multi_add_handle(w->multi, x->easy) != CURLM_OK) {
			if (!x->error[0])
				snprintf(x->error, sizeof(x->error),
				         "The request could not be started.");
			x->done = true;
		} else {
			running++;
		}
	}
	for (;;) {
		struct epoll_event evs[64];
		int64_t now = wa_mono_ms();
		int n, wait_ms;

		if (w->timer_at >= 0 && now >= w->timer_at) {
			w->timer_at = -1;
			curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT,
			                         0, &running);
		}
		while ((m = curl_multi_info_read(w->multi, &left))) {
			char *priv = NULL;
			CURLcode res;

			if (m->msg != CURLMSG_DONE)
				continue;
			/* m is invalid once the handle is removed */
			res = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			                  &priv);
			curl_multi_remove_handle(w->multi, m->easy_handle);
			if (priv)
				conclude(w, (wh_xfer *)priv, res);
		}
		if (running == 0)
			break;
		stop_state(w, &stopping, &deadline);
		rem = WH_SAFETY_MS;
		if (stopping) {
			rem = deadline - wa_mono_ms();
			if (rem <= 0)
				break;
			if (rem > WH_SAFETY_MS)
				rem = WH_SAFETY_MS;
		}
		now = wa_mono_ms();
		if (w->timer_at >= 0 && w->timer_at - now < rem)
			rem = w->timer_at > now ? w->timer_at - now : 0;
		wait_ms = (int)rem;
		/* only the ready sockets go back to libcurl: a wake-up costs
		 * the same with 8 or 512 events in flight */
		n = epoll_wait(w->epfd, evs, 64, wait_ms);
		for (int k = 0; k < n; k++) {
			int fd = evs[k].data.fd, flags = 0;

			if (fd == w->evfd) {
				uint64_t v;

				if (read(w->evfd, &v, sizeof(v)) < 0)
					continue;
				continue;
			}
			if (evs[k].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[k].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[k].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(w->multi, fd, flags, &running);
		}
	}
	/* Past the stop deadline: abandon what is left, to retry soon. */
	for (i = 0; i < w->n_x; i++) {
		wh_xfer *x = &w->x[i];

		if (!x->done) {
			curl_multi_remove_handle(w->multi, x->easy);
			snprintf(x->error, sizeof(x->error),
			         "interrupted by shutdown");
			x->done = true;
		}
		curl_slist_free_all(x->hdrs);
		x->hdrs = NULL;
	}
}

static void note_retry(wa_webhook *w, int64_t at)
{
	if (w->n_retry < WH_RETRY_SLOTS)
		w->retry_at[w->n_retry++] = at;
	/* else: the safety wait finds it */
}

/* The receiver's state, from one round of deliveries: one line when it
 * starts failing (with the first error) and one when it delivers again;
 * the attempts between are counted (wadispatch_webhook_failures_total),
 * not logged, so a receiver that is down does not flood the log. */
static void receiver_state(wa_webhook *w, size_t ok, const wh_xfer *bad)
{
	unsigned long long failed = atomic_load(&w->failed);

	if (!w->failing && !ok && bad) {
		w->failing = true;
		w->fails_logged = failed;
		wa_log(
		    WA_LOG_WARN, WH_COMP,
		    "The status webhook receiver is failing: %s (event %lld "
		    "for message %s, %s). Events are retried; failures are "
		    "counted in wadispatch_webhook_failures_total and logged "
		    "again only when the receiver recovers.",
		    bad->error, (long long)bad->ev.seq, bad->ev.message_id,
		    wa_msg_status_name(bad->ev.status));
	} else if (w->failing && ok) {
		w->failing = false;
		wa_log(WA_LOG_INFO, WH_COMP,
		       "The status webhook receiver accepts events again, "
		       "after %llu failed attempts.",
		       failed - w->fails_logged);
	}
}

/* Decide each outcome: retry times, counters, logs. */
static void judge(wa_webhook *w)
{
	int64_t now = wa_now_ms(), delay;
	const wh_xfer *bad = NULL;
	size_t ok = 0;
	bool interrupted;

	for (size_t i = 0; i < w->n_x; i++) {
		wh_xfer *x = &w->x[i];

		if (x->delivered) {
			atomic_fetch_add(&w->delivered, 1);
			ok++;
			continue;
		}
		atomic_fetch_add(&w->failed, 1);
		interrupted = strcmp(x->error, "interrupted by shutdown") == 0;
		delay = interrupted ? 0 : retry_delay(w, x->ev.attempts + 1);
		x->next_ms = now + delay;
		note_retry(w, x->next_ms);
		if (!bad && !interrupted)
			bad = x;
		if (wa_log_get_level() <= WA_LOG_DEBUG) {
			wa_log_field f[3] = {
			    WA_LOG_INT("event_id", x->ev.seq),
			    WA_LOG_INT("attempt", x->ev.attempts + 1),
			    WA_LOG_INT("retry_in_ms", delay),
			};
			if (x->ev.event[0])
				wa_log_kv(WA_LOG_DEBUG, WH_COMP, f, 3,
				          "The %s webhook was not delivered: "
				          "%s; it will be retried.",
				          x->ev.event, x->error);
			else
				wa_log_kv(WA_LOG_DEBUG, WH_COMP, f, 3,
				          "The status webhook for message %s "
				          "(%s) was not delivered: %s; it will "
				          "be retried.",
				          x->ev.message_id,
				          wa_msg_status_name(x->ev.status),
				          x->error);
		}
	}
	receiver_state(w, ok, bad);
}

/* ---- the sender thread ---- */

/* Wait for a kick, the next due retry or the safety timeout (unless
 * `again`). false when stopping. */
static bool wait_for_work(wa_webhook *w, bool again)
{
	int64_t now_wall, wait_ms, until;
	struct timespec ts;
	bool stop;

	pthread_mutex_lock(&w->mu);
	if (!again && !w->kicked && !w->stopping) {
		now_wall = wa_now_ms();
		wait_ms = WH_SAFETY_MS;
		for (size_t i = 0; i < w->n_retry; i++)
			if (w->retry_at[i] - now_wall < wait_ms)
				wait_ms = w->retry_at[i] - now_wall;
		if (wait_ms < 0)
			wait_ms = 0;
		until = wa_mono_ms() + wait_ms;
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000L;
		while (!w->kicked && !w->stopping && wa_mono_ms() < until)
			if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
				break;
	}
	w->kicked = false;
	stop = w->stopping;
	pthread_mutex_unlock(&w->mu);
	return !stop;
}

/* Forget retry times the claim at `now` has passed. */
static void prune_retries(wa_webhook *w, int64_t now)
{
	size_t i = 0;

	while (i < w->n_retry) {
		if (w->retry_at[i] <= now)
			w->retry_at[i] = w->retry_at[--w->n_retry];
		else
			i++;
	}
}

static void *sender_main(void *arg)
{
	wa_webhook *w = arg;
	claim_job *cj = calloc(1, sizeof(*cj));
	char err[WA_ERR_MAX];
	bool again = true; /* events may be waiting from an earlier run */

	if (!cj) {
		wa_log(WA_LOG_ERROR, WH_COMP,
		       "Out of memory; status webhooks are not sent.");
		return NULL;
	}
	cj->w = w;
	while (wait_for_work(w, again)) {
		again = false;
		err[0] = '\0';
		if (wa_writer_run(w->writer, claim_fn, cj, err, sizeof(err)) <
		    0) {
			wa_log(WA_LOG_ERROR, WH_COMP,
			       "Cannot claim status webhook events: %s", err);
			for (size_t i = 0; i < cj->n; i++)
				wa_outbox_event_free(&cj->ev[i]);
			cj->n = 0;
			continue;
		}
		prune_retries(w, cj->now);
		if (cj->n == 0)
			continue;
		w->n_x = cj->n;
		for (size_t i = 0; i < cj->n; i++)
			w->x[i].ev = cj->ev[i];
		send_all(w);
		judge(w);
		if (wa_writer_run(w->writer, finish_fn, w, err, sizeof(err)) <
		    0)
			wa_log(
			    WA_LOG_ERROR, WH_COMP,
			    "Cannot record status webhook results (the "
			    "events will be sent again after their lease): %s",
			    err);
		for (size_t i = 0; i < w->n_x; i++)
			wa_outbox_event_free(&w->x[i].ev);
		w->n_x = 0;
		again = true; /* more may be due right now */
	}
	free(cj);
	return NULL;
}

/* ---- lifecycle ---- */

static bool is_http_url(const char *u)
{
	return (strncasecmp(u, "http://", 7) == 0 && u[7]) ||
	       (strncasecmp(u, "https://", 8) == 0 && u[8]);
}

wa_webhook *wa_webhook_create(const wa_webhook_config *cfg, wa_store *store,
                              wa_writer *writer, char *err, size_t err_len)
{
	pthread_condattr_t ca;
	wa_webhook *w;

	if (!cfg || !store || !writer) {
		snprintf(err, err_len,
		         "The status webhook needs a configuration, a store "
		         "and a writer.");
		return NULL;
	}
	if (!cfg->url || !is_http_url(cfg->url)) {
		snprintf(
		    err, err_len,
		    "STATUS_WEBHOOK_URL must be an http:// or https:// URL.");
		return NULL;
	}
	if (!cfg->secret || strlen(cfg->secret) < WH_SECRET_MIN) {
		snprintf(err, err_len,
		         "STATUS_WEBHOOK_SECRET must be set to at least %d "
		         "characters when STATUS_WEBHOOK_URL is set.",
		         WH_SECRET_MIN);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w)
		w->epfd = w->evfd = -1;
	if (!w)
		goto oom;
	w->store = store;
	w->writer = writer;
	w->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	w->connect_timeout_ms = w->timeout_ms < 10000 ? w->timeout_ms : 10000;
	w->base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 1000;
	w->max_ms =
	    cfg->retry_max_ms >= w->base_ms ? cfg->retry_max_ms : w->base_ms;
	/* A lease shorter than a request would let a later claim take an
	 * event still in flight. */
	w->lease_ms = cfg->lease_ms;
	if (w->lease_ms < w->timeout_ms + 5000)
		w->lease_ms = w->timeout_ms + 5000;
	atomic_init(&w->delivered, 0);
	atomic_init(&w->failed, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->url = strdup(cfg->url);
	w->secret = strdup(cfg->secret);
	if (!w->url || !w->secret)
		goto oom;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, err_len, "libcurl could not be initialised.");
		goto fail;
	}
	w->curl_inited = true;
	w->multi = curl_multi_init();
	if (!w->multi)
		goto oom;
	curl_multi_setopt(w->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	                  (long)WH_PARALLEL);
	w->timer_at = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->evfd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd,
	              &(struct epoll_event){.events = EPOLLIN,
	                                    .data.fd = w->evfd}) != 0) {
		snprintf(err, err_len,
		         "Cannot set up the status webhook sender: %s.",
		         strerror(errno));
		goto fail;
	}
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	for (int i = 0; i < WH_PARALLEL; i++) {
		w->x[i].easy = curl_easy_init();
		if (!w->x[i].easy)
			goto oom;
	}
	return w;
oom:
	snprintf(err, err_len, "Out of memory creating the status webhook.");
fail:
	wa_webhook_destroy(w);
	return NULL;
}

int wa_webhook_start(wa_webhook *w, char *err, size_t err_len)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	if (w->started || w->stopping) {
		pthread_mutex_unlock(&w->mu);
		snprintf(err, err_len,
		         "The status webhook sender was already started or "
		         "stopped.");
		return -1;
	}
	rc = pthread_create(&w->thread, NULL, sender_main, w);
	if (rc == 0)
		pthread_setname_np(w->thread, "wa-webhook");
	if (rc != 0) {
		pthread_mutex_unlock(&w->mu);
		snprintf(err, err_len,
		         "Cannot start the status webhook thread: %s.",
		         strerror(rc));
		return -1;
	}
	w->started = true;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void wa_webhook_kick(wa_webhook *w)
{
	unsigned long long jobs;

	if (!w)
		return;
	wa_writer_counts(w->writer, NULL, &jobs);
	pthread_mutex_lock(&w->mu);
	if (w->own_armed && jobs > w->own_jobs0) {
		w->own_armed = false;
		if (jobs == w->own_jobs0 + 1) {
			/* the batch held only our own claim/finish */
			pthread_mutex_unlock(&w->mu);
			return;
		}
	}
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void wa_webhook_stop(wa_webhook *w, int64_t deadline_mono_ms)
{
	bool join;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (!w->stopping) {
		w->stopping = true;
		w->deadline_ms = deadline_mono_ms;
	}
	join = w->started && !w->joined;
	w->joined = w->joined || join;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (!join)
		return;
	if (write(w->evfd, &(uint64_t){1}, sizeof(uint64_t)) < 0 &&
	    errno != EAGAIN)
		wa_log(WA_LOG_WARN, WH_COMP,
		       "Cannot wake the status webhook sender: %s",
		       strerror(errno));
	pthread_join(w->thread, NULL);
}

void wa_webhook_destroy(wa_webhook *w)
{
	if (!w)
		return;
	if (w->started)
		wa_webhook_stop(w, wa_mono_ms());
	for (int i = 0; i < WH_PARALLEL; i++) {
		if (w->x[i].easy)
			curl_easy_cleanup(w->x[i].easy);
		free(w->x[i].body);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->curl_inited)
		curl_global_cleanup();
	if (w->secret) {
		OPENSSL_cleanse(w->secret, strlen(w->secret));
		free(w->secret);
	}
	free(w->url);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void wa_webhook_counts(wa_webhook *w, unsigned long long *delivered,
                       unsigned long long *failed_attempts, long long *pending)
{
	wa_store_stats st;
	char err[WA_ERR_MAX];

	if (delivered)
		*delivered = w ? atomic_load(&w->delivered) : 0;
	if (failed_attempts)
		*failed_attempts = w ? atomic_load(&w->failed) : 0;
	if (pending) {
		*pending = -1;
		if (w &&
		    w->store->ops->stats(w->store, &st, err, sizeof(err)) == 0)
			*pending = st.outbox_pending;
	}
}
