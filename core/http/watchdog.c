/* watchdog.c - cut off clients too slow to send a request (slowloris) */
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

typedef struct track {
	struct track *prev, *next;
	int fd;
	uint32_t ip;           /* IPv4 peer, network order; 0 if not IPv4 */
	atomic_llong since_ms; /* when the current request's clock started */
	atomic_bool busy;      /* request in, answer not done: no clock */
	bool cut;
} track;

struct wa_watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	track head; /* circular list sentinel */
	pthread_t thread;
	bool stop, started;
	int64_t limit_ms;
	unsigned per_ip_max; /* unfinished requests one IP may hold; 0 = off */
	atomic_ullong cut;
	atomic_ullong ip_cut;
};

static track *track_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
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
		if (t->ip == ip && !t->cut && !atomic_load(&t->busy))
			n++;
	return n;
}

void wa_watchdog_notify(void *cls, struct MHD_Connection *c,
                        void **socket_context, int code)
{
	wa_watchdog *w = cls;
	track *t;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_CONNECTION_FD);
		t = calloc(1, sizeof(*t));
		if (!t || !ci) {
			free(t);
			return;
		}
		t->fd = ci->connect_fd;
		t->ip = peer_ipv4(c);
		atomic_init(&t->since_ms, wa_mono_ms());
		atomic_init(&t->busy, false);
		pthread_mutex_lock(&w->mu);
		if (w->per_ip_max && t->ip &&
		    unfinished_of(w, t->ip) >= w->per_ip_max) {
			/* Not one more socket that has not sent a whole
			 * request from this address: libmicrohttpd sees the
			 * end of the stream and closes it. */
			shutdown(t->fd, SHUT_RDWR);
			t->cut = true;
			atomic_fetch_add(&w->ip_cut, 1);
		}
		t->next = w->head.next;
		t->prev = &w->head;
		w->head.next->prev = t;
		w->head.next = t;
		pthread_mutex_unlock(&w->mu);
		*socket_context = t;
	} else if ((t = *socket_context)) {
		/* Unlinked under the lock, so the watchdog never touches an fd
		 * libmicrohttpd is about to close and reuse. */
		pthread_mutex_lock(&w->mu);
		t->prev->next = t->next;
		t->next->prev = t->prev;
		pthread_mutex_unlock(&w->mu);
		free(t);
		*socket_context = NULL;
	}
}

void wa_watchdog_request_in(struct MHD_Connection *c)
{
	track *t = track_of(c);
	if (t)
		atomic_store(&t->busy, true);
}

void wa_watchdog_request_done(struct MHD_Connection *c)
{
	track *t = track_of(c);
	if (t) {
		atomic_store(&t->since_ms, wa_mono_ms());
		atomic_store(&t->busy, false);
	}
}

static void *run(void *arg)
{
	wa_watchdog *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct timespec ts;
		int64_t now = wa_mono_ms();

		for (track *t = w->head.next; t != &w->head; t = t->next) {
			if (t->cut || atomic_load(&t->busy) ||
			    now - atomic_load(&t->since_ms) <= w->limit_ms)
				continue;
			/* libmicrohttpd sees the end of the stream and closes
			 * the connection itself. */
			shutdown(t->fd, SHUT_RDWR);
			t->cut = true;
			atomic_fetch_add(&w->cut, 1);
			wa_log(WA_LOG_WARN, "http",
			       "Closed a connection that sent no complete "
			       "request in %lld ms",
			       (long long)w->limit_ms);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

wa_watchdog *wa_watchdog_create(int64_t limit_ms, unsigned per_ip_max)
{
	wa_watchdog *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->head.next = w->head.prev = &w->head;
	w->limit_ms = limit_ms;
	w->per_ip_max = per_ip_max;
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
