/* watchdog.h - slow clients, idle keep-alive, connections past the cap
 *
 * libmicrohttpd's connection timeout counts idle time, so a client that
 * trickles one byte a second keeps a connection forever. The watchdog gives
 * every request a deadline instead: from the moment the connection was
 * accepted (or, on a kept-alive one, its request line arrived) to the
 * moment the whole request (head and body) has arrived. Past it, the socket is
 * shut down and libmicrohttpd closes the connection. Time the server spends
 * answering (e.g. Prefer: wait) does not count.
 *
 * It also bounds what one client address may hold: a new connection from
 * an IPv4 address that already has per_ip_max connections waiting for a
 * whole request is shut down at once.
 *
 * Between requests a keep-alive connection may idle for idle_ms (the
 * CONNECTION_TIMEOUT); then it is closed without a log line (counted).
 * The request deadline starts again with the next request line.
 *
 * And it keeps MAX_CONNECTIONS: past it, a few more connections are taken
 * in for probes (a /health or /ready request is answered, anything else
 * gets 503 and a close; they get 2 s to send their request); past those, a
 * new connection is answered 503 at once (plain HTTP) and closed, so no
 * client waits in the listen backlog for a free slot.
 */
#ifndef WA_WATCHDOG_H
#define WA_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

struct MHD_Connection;
typedef struct wa_watchdog wa_watchdog;

typedef struct wa_watchdog_conf {
	int64_t request_ms;  /* REQUEST_TIMEOUT */
	int64_t idle_ms;     /* CONNECTION_TIMEOUT */
	unsigned per_ip_max; /* unfinished requests per IPv4 address; 0 = off */
	unsigned max_conns;  /* MAX_CONNECTIONS; 0 = no cap */
	bool plain_http;     /* a refusal can be answered 503 (not TLS) */
} wa_watchdog_conf;

/* Connections past max_conns kept for probes; libmicrohttpd's own limit
 * must leave room for them and for refusals under way. */
#define WA_WATCHDOG_EXTRA_CONNS 80u

wa_watchdog *wa_watchdog_create(const wa_watchdog_conf *conf);
/* Stop the thread and free. Call after the HTTP server stopped. */
void wa_watchdog_destroy(wa_watchdog *w);

/* For MHD_OPTION_NOTIFY_CONNECTION (cls = the watchdog). */
void wa_watchdog_notify(void *cls, struct MHD_Connection *c,
                        void **socket_context, int code);
/* A request line arrived. */
void wa_watchdog_request_start(struct MHD_Connection *c);
/* The request has fully arrived: the clock stops. */
void wa_watchdog_request_in(struct MHD_Connection *c);
/* The answer is done: the idle clock starts. */
void wa_watchdog_request_done(struct MHD_Connection *c);
/* c holds one of the probe slots past MAX_CONNECTIONS: answer it and
 * close; a request that is not a probe is counted as refused. */
bool wa_watchdog_refuse_overflow(struct MHD_Connection *c, bool probe);

/* Connections cut off for their request deadline so far. */
unsigned long long wa_watchdog_cut_count(wa_watchdog *w);
/* Connections refused for the per-IP cap so far. */
unsigned long long wa_watchdog_ip_cut_count(wa_watchdog *w);
/* Keep-alive connections closed after CONNECTION_TIMEOUT idle. */
unsigned long long wa_watchdog_idle_cut_count(wa_watchdog *w);
/* Connections refused past MAX_CONNECTIONS (503 or a close). */
unsigned long long wa_watchdog_refused_count(wa_watchdog *w);
/* Connections open now. */
unsigned wa_watchdog_open_count(wa_watchdog *w);

#endif
