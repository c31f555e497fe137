/* webhook_send.c - the webhook sender's libcurl transfers: build, sign,
 * start, pump the sockets, conclude */
#include "engine/webhook_send.h"

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

/* libcurl's socket and timer callbacks: sockets go into our epoll set. */
int wa_webhook_on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
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

int wa_webhook_on_timer(CURLM *multi, long timeout_ms, void *ud)
{
	wa_webhook *w = ud;

	(void)multi;
	w->timer_at = timeout_ms < 0 ? -1 : wa_mono_ms() + timeout_ms;
	return 0;
}

/* Start ev on the free slot x (which takes ev over). */
void wa_webhook_xfer_start(wa_webhook *w, wh_xfer *x, const wa_outbox_event *ev,
                           long long ts)
{
	x->ev = *ev;
	if (prepare(w, x, ts) < 0 ||
	    curl_multi_add_handle(w->multi, x->easy) != CURLM_OK) {
		if (!x->error[0])
			snprintf(x->error, sizeof(x->error),
			         "The request could not be started.");
		curl_slist_free_all(x->hdrs);
		x->hdrs = NULL;
		x->done = true;
		x->state = XF_DONE;
		if (!w->n_done++)
			w->first_done_ms = wa_mono_ms();
		return;
	}
	x->state = XF_BUSY;
	w->n_busy++;
}

/* x's transfer ended (code is its result). */
static void ended(wa_webhook *w, wh_xfer *x, CURLcode code)
{
	conclude(w, x, code);
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	x->state = XF_DONE;
	w->n_busy--;
	if (!w->n_done++)
		w->first_done_ms = wa_mono_ms();
}

/* Hand libcurl the sockets that are ready (waiting at most wait_ms) and
 * collect the transfers that ended. */
void wa_webhook_pump(wa_webhook *w, int64_t wait_ms)
{
	struct epoll_event evs[64];
	int64_t now = wa_mono_ms();
	int running = 0, left, n;
	CURLMsg *m;

	if (w->timer_at >= 0 && w->timer_at - now < wait_ms)
		wait_ms = w->timer_at > now ? w->timer_at - now : 0;
	/* only the ready sockets go back to libcurl: a wake-up costs the
	 * same with 8 or 512 events in flight */
	n = epoll_wait(w->epfd, evs, 64, (int)wait_ms);
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
	if (w->timer_at >= 0 && wa_mono_ms() >= w->timer_at) {
		w->timer_at = -1;
		curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0,
		                         &running);
	}
	while ((m = curl_multi_info_read(w->multi, &left))) {
		char *priv = NULL;
		CURLcode res;

		if (m->msg != CURLMSG_DONE)
			continue;
		/* m is invalid once the handle is removed */
		res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		curl_multi_remove_handle(w->multi, m->easy_handle);
		if (priv)
			ended(w, (wh_xfer *)priv, res);
	}
}

/* Past the stop deadline: abandon what is in flight, to retry soon. */
void wa_webhook_abandon(wa_webhook *w)
{
	for (size_t i = 0; i < WH_PARALLEL; i++) {
		wh_xfer *x = &w->x[i];

		if (x->state != XF_BUSY)
			continue;
		curl_multi_remove_handle(w->multi, x->easy);
		snprintf(x->error, sizeof(x->error), "interrupted by shutdown");
		x->done = true;
		x->delivered = false;
		curl_slist_free_all(x->hdrs);
		x->hdrs = NULL;
		x->state = XF_DONE;
		w->n_busy--;
		w->n_done++;
	}
}
