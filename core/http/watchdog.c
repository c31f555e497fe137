/* watchdog.c - slow clients, idle keep-alive, connections past the cap */
#include "http/watchdog.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"

/* Where a connection is, for the clock that may cut it. */
enum { W_FRESH, W_HEAD, W_BUSY, W_IDLE };
/* Which count a connection holds. */
enum { SLOT_NONE, SLOT_NORMAL, SLOT_OVERFLOW };

/* Connections past MAX_CONNECTIONS kept to answer a probe (/health,
 * /ready; anything else gets 503): how many, and how long one may take to
 * send its request. */
enum { OVERFLOW_SLOTS = 16, OVERFLOW_MS = 2000 };

typedef struct track {
	struct track *prev, *next;
	struct wa_watchdog *w;
	int fd;
	uint32_t ip;           /* IPv4 peer, network order; 0 if not IPv4 */
	atomic_llong since_ms; /* when the current clock started */
	atomic_int state;      /* W_* */
	int slot;              /* SLOT_*, under w->mu */
	bool cut;
} track;

struct wa_watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	track head; /* circular list sentinel */
	pthread_t thread;
	int64_t sleep_until; /* mono ms the thread sleeps to; INT64_MAX: none */
	bool stop, started;
	wa_watchdog_conf conf;
	unsigned normal, overflow; /* connections holding each kind of slot */
	wa_log_throttle cut_log;
	atomic_ullong cut;
	atomic_ullong ip_cut;
	atomic_ullong idle_cut;
	atomic_ullong refused;
};

static track *track_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* How long t may stay in its state (called with w->mu held). */
static int64_t limit_of(const wa_watchdog *w, const track *t, int state)
{
	int64_t limit = state == W_IDLE ? w->conf.idle_ms : w->conf.request_ms;

	if (t->slot == SLOT_OVERFLOW && limit > OVERFLOW_MS)
		limit = OVERFLOW_MS;
	return limit;
}

static uint32_t peer_ipv4(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *a;

	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return 0;
	a = (const struct sockaddr_in *)(const void *)ci->client_addr;
	return a->sin_addr.s_addr ? a->sin_addr.s_addr : 0;
}

/* Connections from ip still waiting for a whole request (accepted, or
 * their last answer done, and not cut). Called with w->mu held; the list
 * holds at most MAX_CONNECTIONS entries. */
static unsigned unfinished_of(wa_watchdog *w, uint32_t ip)
{
	unsigned n = 0;

	for (track *t = w->head.next; t != &w->head; t = t->next)
		if (t->ip == ip && !t->cut && atomic_load(&t->state) != W_BUSY)
			n++;
	return n;
}

/* Past MAX_CONNECTIONS and the probe slots: say 503 at once (plain HTTP;
 * under TLS nothing can be said before the handshake) and close. */
#define REFUSAL_BODY "{\"error\":\"Too many connections, retry later\"}"
_Static_assert(sizeof(REFUSAL_BODY) - 1 == 45, "the Content-Length below");

static void refuse(wa_watchdog *w, track *t)
{
	static const char answer[] =
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Retry-After: 1\r\nConnection: close\r\nContent-Length: 45\r\n"
	    "\r\n" REFUSAL_BODY;

	if (w->conf.plain_http && send(t->fd, answer, sizeof(answer) - 1,
	                               MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* a full buffer on a fresh socket: the close says it */
	}
	/* libmicrohttpd sees the end of the stream and closes it. */
	shutdown(t->fd, SHUT_RDWR);
	t->cut = true;
	atomic_fetch_add(&w->refused, 1);
}

static void started(wa_watchdog *w, struct MHD_Connection *c,
                    void **socket_context)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	track *t = calloc(1, sizeof(*t));

	if (!t || !ci) {
		free(t);
		return;
	}
	t->w = w;
	t->fd = ci->connect_fd;
	t->ip = peer_ipv4(c);
	atomic_init(&t->since_ms, wa_mono_ms());
	atomic_init(&t->state, W_FRESH);
	pthread_mutex_lock(&w->mu);
	if (w->conf.per_ip_max && t->ip &&
	    unfinished_of(w, t->ip) >= w->conf.per_ip_max) {
		/* Not one more socket that has not sent a whole request from
		 * this address: libmicrohttpd sees the end of the stream and
		 * closes it. */
		shutdown(t->fd, SHUT_RDWR);
		t->cut = true;
		atomic_fetch_add(&w->ip_cut, 1);
	} else if (!w->conf.max_conns || w->normal < w->conf.max_conns) {
		t->slot = SLOT_NORMAL;
		w->normal++;
	} else if (w->overflow < OVERFLOW_SLOTS) {
		t->slot = SLOT_OVERFLOW;
		w->overflow++;
	} else {
		refuse(w, t);
	}
	t->next = w->head.next;
	t->prev = &w->head;
	w->head.next->prev = t;
	w->head.next = t;
	/* its deadline may come before the one the thread sleeps to */
	if (!t->cut && atomic_load(&t->since_ms) + limit_of(w, t, W_FRESH) <
	                   w->sleep_until)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	*socket_context = t;
}

void wa_watchdog_notify(void *cls, struct MHD_Connection *c,
                        void **socket_context, int code)
{
	wa_watchdog *w = cls;
	track *t;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		started(w, c, socket_context);
	} else if ((t = *socket_context)) {
		/* Unlinked under the lock, so the watchdog never touches an fd
		 * libmicrohttpd is about to close and reuse. */
		pthread_mutex_lock(&w->mu);
		t->prev->next = t->next;
		t->next->prev = t->prev;
		if (t->slot == SLOT_NORMAL)
			w->normal--;
		else if (t->slot == SLOT_OVERFLOW)
			w->overflow--;
		pthread_mutex_unlock(&w->mu);
		free(t);
		*socket_context = NULL;
	}
}

void wa_watchdog_request_start(struct MHD_Connection *c)
{
	track *t = track_of(c);
	int idle = W_IDLE;

	/* After an answer the connection idled; the request's own clock
	 * starts with its request line. A fresh one's runs from accept. */
	if (t && atomic_compare_exchange_strong(&t->state, &idle, W_HEAD))
		atomic_store(&t->since_ms, wa_mono_ms());
}

bool wa_watchdog_refuse_overflow(struct MHD_Connection *c, bool probe)
{
	track *t = track_of(c);

	if (!t || t->slot != SLOT_OVERFLOW)
		return false;
	if (!probe)
		atomic_fetch_add(&t->w->refused, 1);
	return true;
}

void wa_watchdog_request_in(struct MHD_Connection *c)
{
	track *t = track_of(c);
	if (t)
		atomic_store(&t->state, W_BUSY);
}

void wa_watchdog_request_done(struct MHD_Connection *c)
{
	track *t = track_of(c);
	if (t) {
		atomic_store(&t->since_ms, wa_mono_ms());
		atomic_store(&t->state, W_IDLE);
	}
}

/* Cut what is past its deadline; the next deadline, or INT64_MAX when no
 * connection is open. A state change sets a new deadline no earlier than
 * the change plus the shorter of the connection's two limits, so that
 * bounds the sleep too; a new connection wakes the thread itself
 * (started). So the thread wakes for deadlines, not on a period, and an
 * idle daemon never (issue 17: a wake-up of a thread asleep for long costs
 * 70-130 us of CPU on this project's machine; 4 a second were 4 us per
 * message at 80 msg/s). */
static int64_t sweep(wa_watchdog *w, int64_t now)
{
	int64_t next = INT64_MAX;
	unsigned long held;

	for (track *t = w->head.next; t != &w->head; t = t->next) {
		int state = atomic_load(&t->state);
		int64_t idle = limit_of(w, t, W_IDLE),
		        req = limit_of(w, t, W_FRESH), due;

		if (t->cut)
			continue;
		due = now + (idle < req ? idle : req) + 1;
		if (due < next)
			next = due;
		if (state == W_BUSY)
			continue;
		due = atomic_load(&t->since_ms) +
		      (state == W_IDLE ? idle : req) + 1;
		if (now < due) {
			if (due < next)
				next = due;
			continue;
		}
		/* libmicrohttpd sees the end of the stream and closes the
		 * connection itself. */
		shutdown(t->fd, SHUT_RDWR);
		t->cut = true;
		if (state == W_IDLE) {
			/* a keep-alive connection left idle: normal */
			atomic_fetch_add(&w->idle_cut, 1);
			continue;
		}
		atomic_fetch_add(&w->cut, 1);
		if (wa_log_throttle_ok(&w->cut_log, (long long)now, 10000,
		                       &held))
			wa_log(
			    WA_LOG_WARN, "http",
			    "Closed a connection that sent no complete "
			    "request in %lld ms (and %lu more since the last "
			    "such line)",
			    (long long)req, held);
	}
	return next;
}

static void *run(void *arg)
{
	wa_watchdog *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		w->sleep_until = sweep(w, wa_mono_ms());
		if (w->sleep_until == INT64_MAX) {
			pthread_cond_wait(&w->cv, &w->mu);
		} else {
			struct timespec ts = wa_mono_ts(w->sleep_until);

			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

wa_watchdog *wa_watchdog_create(const wa_watchdog_conf *conf)
{
	wa_watchdog *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	/* deadlines are wa_mono_ms times */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->head.next = w->head.prev = &w->head;
	w->sleep_until = INT64_MAX;
	w->conf = *conf;
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	pthread_setname_np(w->thread, "wa-watchdog");
	w->started = true;
	return w;
}

void wa_watchdog_destroy(wa_watchdog *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	/* Connections left (none after MHD_stop_daemon) are freed by MHD's
	 * close notifications; nothing else to release. */
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

unsigned long long wa_watchdog_cut_count(wa_watchdog *w)
{
	return w ? atomic_load(&w->cut) : 0;
}

unsigned long long wa_watchdog_ip_cut_count(wa_watchdog *w)
{
	return w ? atomic_load(&w->ip_cut) : 0;
}

unsigned long long wa_watchdog_idle_cut_count(wa_watchdog *w)
{
	return w ? atomic_load(&w->idle_cut) : 0;
}

unsigned long long wa_watchdog_refused_count(wa_watchdog *w)
{
	return w ? atomic_load(&w->refused) : 0;
}

unsigned wa_watchdog_open_count(wa_watchdog *w)
{
	unsigned n;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	n = w->normal + w->overflow;
	pthread_mutex_unlock(&w->mu);
	return n;
}
