/* webhook.c - signed status webhooks out, delivered from the store's outbox */
#include "engine/webhook.h"
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

/* One writer job: record the concluded outcomes, then claim up to max
 * more (the oldest pending event of each message not in flight). */
typedef struct cycle_job {
	wa_webhook *w;
	wa_outbox_event ev[WH_PARALLEL];
	size_t n, max;
	int64_t now;
} cycle_job;

static int cycle_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	cycle_job *j = ud;
	wa_webhook *w = j->w;

	arm_own(w);
	for (size_t i = 0; i < WH_PARALLEL && w->n_done; i++) {
		wh_xfer *x = &w->x[i];

		if (x->state == XF_DONE &&
		    s->ops->outbox_finish(s, x->ev.seq, x->delivered,
		                          x->next_ms, x->error, err,
		                          err_len) < 0)
			return -1;
	}
	j->n = 0;
	j->now = wa_now_ms();
	return s->ops->outbox_claim(s, j->now, j->now + w->lease_ms, j->max,
	                            j->ev, &j->n, err, err_len);
}

static void stop_state(wa_webhook *w, bool *stopping, int64_t *deadline)
{
	pthread_mutex_lock(&w->mu);
	*stopping = w->stopping;
	*deadline = w->deadline_ms;
	pthread_mutex_unlock(&w->mu);
}

static void note_retry(wa_webhook *w, int64_t at)
{
	if (w->n_retry < WH_RETRY_SLOTS)
		w->retry_at[w->n_retry++] = at;
	/* else: the safety wait finds it */
}

/* The receiver's state, from the outcomes recorded together: one line
 * when it starts failing (with the first error) and one when it delivers
 * again; the attempts between are counted
 * (wadispatch_webhook_failures_total), not logged. While it fails, one
 * event at a time is tried, at growing intervals (a circuit breaker): the
 * events waiting cost neither the log nor the store's writer. */
static void receiver_state(wa_webhook *w, size_t ok, const wh_xfer *bad)
{
	unsigned long long failed = atomic_load(&w->failed);
	int64_t wait;

	if (ok && w->failing) {
		w->failing = false;
		wa_log(WA_LOG_INFO, WH_COMP,
		       "The status webhook receiver accepts events again, "
		       "after %llu failed attempts.",
		       failed - w->fails_logged);
	}
	if (ok || !bad)
		return;
	if (!w->failing) {
		w->failing = true;
		w->fail_rounds = 0;
		w->fails_logged = failed;
		wa_log(
		    WA_LOG_WARN, WH_COMP,
		    "The status webhook receiver is failing: %s (event %lld "
		    "for message %s, %s). Events are retried; failures are "
		    "counted in wadispatch_webhook_failures_total and logged "
		    "again only when the receiver recovers.",
		    bad->error, (long long)bad->ev.seq, bad->ev.message_id,
		    wa_msg_status_name(bad->ev.status));
	}
	wait = retry_delay(w, ++w->fail_rounds);
	w->probe_at =
	    wa_mono_ms() + (wait < WH_PROBE_MAX_MS ? wait : WH_PROBE_MAX_MS);
}

/* Decide each concluded outcome: retry times, counters, logs. */
static void judge(wa_webhook *w)
{
	int64_t now = wa_now_ms(), delay;
	const wh_xfer *bad = NULL;
	size_t ok = 0;
	bool interrupted;

	for (size_t i = 0; i < WH_PARALLEL; i++) {
		wh_xfer *x = &w->x[i];

		if (x->state != XF_DONE)
			continue;
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

/* Take a kick (a commit may have added events). */
static bool take_kick(wa_webhook *w)
{
	bool k;

	pthread_mutex_lock(&w->mu);
	k = w->kicked;
	w->kicked = false;
	pthread_mutex_unlock(&w->mu);
	return k;
}

/* Nothing in flight: wait for a kick, the next due retry or the safety
 * timeout; while the receiver fails, for the next probe only. false when
 * stopping. */
static bool wait_for_work(wa_webhook *w)
{
	int64_t now_wall, wait_ms, until;
	struct timespec ts;
	bool stop;

	pthread_mutex_lock(&w->mu);
	now_wall = wa_now_ms();
	wait_ms = WH_SAFETY_MS;
	if (w->failing) {
		wait_ms = w->probe_at - wa_mono_ms();
		w->kicked = false;
		if (wait_ms > WH_PROBE_MAX_MS)
			wait_ms = WH_PROBE_MAX_MS;
	} else {
		for (size_t i = 0; i < w->n_retry; i++)
			if (w->retry_at[i] - now_wall < wait_ms)
				wait_ms = w->retry_at[i] - now_wall;
	}
	if (wait_ms < 0)
		wait_ms = 0;
	/* while failing, commits do not wake us (see wa_webhook_kick) */
	w->deaf = w->failing;
	until = wa_mono_ms() + wait_ms;
	ts = wa_mono_ts(until);
	while (!w->kicked && !w->stopping && wa_mono_ms() < until)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
			break;
	w->deaf = false;
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

/* A retry noted is due. */
static bool retry_due(const wa_webhook *w)
{
	int64_t now = wa_now_ms();

	for (size_t i = 0; i < w->n_retry; i++)
		if (w->retry_at[i] <= now)
			return true;
	return false;
}

/* Record the concluded outcomes and claim up to max more in one writer
 * job, and start them. Returns how many were claimed (-1: the job
 * failed). */
static int cycle(wa_webhook *w, cycle_job *cj, size_t max)
{
	long long ts = (long long)(wa_now_ms() / 1000);
	char err[WA_ERR_MAX] = "";
	size_t k = 0;
	int rc;

	if (w->n_done)
		judge(w);
	cj->max = max;
	cj->n = 0;
	rc = wa_writer_run(w->writer, cycle_fn, cj, err, sizeof(err));
	if (rc < 0)
		wa_log(WA_LOG_ERROR, WH_COMP,
		       "Cannot record status webhook results or claim events "
		       "(results are sent again after their lease): %s",
		       err);
	for (size_t i = 0; i < WH_PARALLEL && w->n_done; i++) {
		wh_xfer *x = &w->x[i];

		if (x->state != XF_DONE)
			continue;
		wa_outbox_event_free(&x->ev);
		x->state = XF_FREE;
		w->n_done--;
	}
	if (rc < 0) {
		for (size_t i = 0; i < cj->n; i++)
			wa_outbox_event_free(&cj->ev[i]);
		return -1;
	}
	prune_retries(w, cj->now);
	for (size_t i = 0; i < WH_PARALLEL && k < cj->n; i++)
		if (w->x[i].state == XF_FREE)
			wa_webhook_xfer_start(w, &w->x[i], &cj->ev[k++], ts);
	return (int)cj->n;
}

static void *sender_main(void *arg)
{
	wa_webhook *w = arg;
	cycle_job *cj = calloc(1, sizeof(*cj));
	bool again = true; /* events may be waiting from an earlier run */
	bool stopping = false;
	int64_t deadline = 0;

	if (!cj) {
		wa_log(WA_LOG_ERROR, WH_COMP,
		       "Out of memory; status webhooks are not sent.");
		return NULL;
	}
	cj->w = w;
	for (;;) {
		int64_t now = wa_mono_ms();
		size_t room = WH_PARALLEL - w->n_busy, max;
		bool claim, record;
		int got;

		stop_state(w, &stopping, &deadline);
		if (stopping && w->n_busy && now >= deadline)
			wa_webhook_abandon(w);
		/* Claim: while the receiver fails, one probe at a time at its
		 * time; else when events may be due and a quarter of the
		 * window is free (fewer, larger claims). */
		if (w->failing) {
			max = 1;
			claim = !w->n_busy && now >= w->probe_at;
		} else {
			max = room;
			/* room first: a kick is kept until it can be taken */
			claim = (room >= WH_PARALLEL / 4 || !w->n_busy) &&
			        (again || take_kick(w) || retry_due(w));
		}
		claim = claim && !stopping;
		/* Outcomes linger a little to share one commit. */
		record = w->n_done && (!w->n_busy || claim || stopping ||
		                       w->n_done >= WH_PARALLEL / 4 ||
		                       now - w->first_done_ms >= WH_LINGER_MS);
		if (claim || record) {
			got = cycle(w, cj, claim ? max : 0);
			if (claim)
				again = got == (int)max;
			if (claim && w->failing && got <= 0)
				w->probe_at = now + WH_SAFETY_MS;
		}
		if (w->n_busy) {
			wa_webhook_pump(w, stopping ? 5 : WH_PUMP_MS);
			continue;
		}
		if (w->n_done)
			continue;
		if (stopping)
			break;
		if (again && !w->failing)
			continue;
		if (!wait_for_work(w))
			break;
		again = !w->failing; /* look once after any wake-up */
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
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION,
	                  wa_webhook_on_socket);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION,
	                  wa_webhook_on_timer);
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
	if (w->deaf) {
		/* the receiver is failing: its probe waits for its time */
		pthread_mutex_unlock(&w->mu);
		return;
	}
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
