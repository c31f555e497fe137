/* watchdog.h - cut off clients too slow to send a request (slowloris)
 *
 * libmicrohttpd's connection timeout counts idle time, so a client that
 * trickles one byte a second keeps a connection forever. The watchdog gives
 * every request a deadline instead: from the moment the connection is ready
 * for a request (accepted, or its previous answer finished) to the moment
 * the whole request (head and body) has arrived. Past it, the socket is
 * shut down and libmicrohttpd closes the connection. Time the server spends
 * answering (e.g. Prefer: wait) does not count.
 *
 * It also bounds what one client address may hold: a new connection from
 * an IPv4 address that already has per_ip_max connections waiting for a
 * whole request is shut down at once.
 */
#ifndef WA_WATCHDOG_H
#define WA_WATCHDOG_H

#include <stdint.h>

struct MHD_Connection;
typedef struct wa_watchdog wa_watchdog;

/* per_ip_max: unfinished requests one IPv4 address may hold; 0 = no cap. */
wa_watchdog *wa_watchdog_create(int64_t limit_ms, unsigned per_ip_max);
/* Stop the thread and free. Call after the HTTP server stopped. */
void wa_watchdog_destroy(wa_watchdog *w);

/* For MHD_OPTION_NOTIFY_CONNECTION (cls = the watchdog). */
void wa_watchdog_notify(void *cls, struct MHD_Connection *c,
                        void **socket_context, int code);
/* The request has fully arrived: the clock stops. */
void wa_watchdog_request_in(struct MHD_Connection *c);
/* The answer is done: the clock starts for the next request. */
void wa_watchdog_request_done(struct MHD_Connection *c);

/* Connections cut off so far (for tests and metrics). */
unsigned long long wa_watchdog_cut_count(wa_watchdog *w);
/* Connections refused for the per-IP cap so far. */
unsigned long long wa_watchdog_ip_cut_count(wa_watchdog *w);

#endif
