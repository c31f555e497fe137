/* test_conns.c - connections past MAX_CONNECTIONS are refused, never left
 * in the listen backlog; probes still answer; idle keep-alive connections
 * close quietly at CONNECTION_TIMEOUT (issue 17 item 7) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "testing.h"

enum { MAX_CONNS = 16, SILENT = 48 };

static wa_daemon d;

static int start(const char *const *knobs)
{
	static const char *const defaults[] = {"API_KEY=" E2E_KEY,
	                                       "BIND_ADDRESS=127.0.0.1",
	                                       "MOCK_DELAY_MS=1", NULL};
	const char *env[32];
	size_t n = 0;

	for (const char *const *k = knobs; k && *k && n < 24; k++)
		env[n++] = *k;
	for (const char *const *k = defaults; *k; k++)
		env[n++] = *k;
	env[n] = NULL;
	if (wa_h_daemon_init(&d) != 0)
		return -1;
	return wa_h_daemon_start(&d, env);
}

static int connect_to(int port)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

typedef struct reply {
	int status; /* of the first answer; 0 if none */
	int closed; /* the server closed (or reset) the connection */
	char text[2048];
} reply;

/* Read what comes until the server closes, one answer is whole (when
 * one_answer), or wait_ms pass without a byte: the bound only keeps a
 * broken server from hanging the test, nothing is asserted on it. */
static void read_reply(int fd, int one_answer, int wait_ms, reply *out)
{
	size_t got = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;
		const char *body;
		if (poll(&p, 1, wait_ms) <= 0)
			break;
		n = recv(fd, out->text + got, sizeof(out->text) - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			out->closed = 1;
			break;
		}
		got += (size_t)n;
		out->text[got] = 0;
		if (got + 1 >= sizeof(out->text))
			break;
		body = strstr(out->text, "\r\n\r\n");
		if (one_answer && body && strchr(body, '}'))
			break;
	}
	out->text[got] = 0;
	sscanf(out->text, "HTTP/1.%*d %d", &out->status);
}

static int request(int fd, const char *path, int keep)
{
	char req[256];
	int n = snprintf(req, sizeof(req),
	                 "GET %s HTTP/1.1\r\nHost: x\r\nX-API-Key: " E2E_KEY
	                 "\r\n%s\r\n",
	                 path, keep ? "" : "Connection: close\r\n");
	return send(fd, req, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

static int metrics_answer(void *arg)
{
	(void)arg;
	return e2e_metric(&d, "\nwadispatch_http_connections_refused_total ") >=
	       0;
}

static void past_the_cap(void)
{
	/* no clock but the cap's: idle sockets stay as long as the test */
	const char *knobs[] = {"MAX_CONNECTIONS=16", "CONNECTION_TIMEOUT=3600",
	                       "REQUEST_TIMEOUT=3600",
	                       "MAX_UNFINISHED_PER_IP=0", NULL};
	int held[MAX_CONNS], silent[SILENT], fd, raw503 = 0, closed = 0;
	reply r;

	CHECK_INT(start(knobs), 0);
	/* MAX_CONNECTIONS kept-alive connections, each known to be taken
	 * in (it was answered) and now idle */
	for (int i = 0; i < MAX_CONNS; i++) {
		held[i] = connect_to(d.port);
		CHECK(held[i] >= 0);
		CHECK_INT(request(held[i], "/health", 1), 0);
		read_reply(held[i], 1, 10000, &r);
		CHECK_INT(r.status, 200);
		CHECK(!r.closed);
	}
	/* the next client is told to come back, and the connection closed */
	fd = connect_to(d.port);
	CHECK(fd >= 0);
	CHECK_INT(request(fd, "/v1/messages/msg-none", 1), 0);
	read_reply(fd, 0, 10000, &r);
	CHECK_INT(r.status, 503);
	CHECK_CONTAINS(r.text, "\r\nRetry-After: 1\r\n");
	CHECK_CONTAINS(r.text, "Too many connections");
	CHECK(r.closed);
	close(fd);
	/* a probe is answered */
	for (int i = 0; i < 2; i++) {
		fd = connect_to(d.port);
		CHECK(fd >= 0);
		CHECK_INT(request(fd, i ? "/ready" : "/health", 1), 0);
		read_reply(fd, 0, 10000, &r);
		CHECK_INT(r.status, 200);
		CHECK(r.closed);
		close(fd);
	}
	/* many silent clients at once: those past the probe slots are
	 * answered 503 at accept; every one is closed, none waits */
	for (int i = 0; i < SILENT; i++)
		silent[i] = connect_to(d.port);
	for (int i = 0; i < SILENT; i++) {
		CHECK(silent[i] >= 0);
		if (silent[i] < 0)
			continue;
		read_reply(silent[i], 0, 20000, &r);
		if (r.closed)
			closed++;
		if (r.status == 503 && strstr(r.text, "Retry-After: 1"))
			raw503++;
		close(silent[i]);
	}
	printf("%d silent clients: %d closed, %d answered 503 at once\n",
	       SILENT, closed, raw503);
	CHECK_INT(closed, SILENT);
	CHECK(raw503 >= 1);
	/* the held connections still work */
	CHECK_INT(request(held[0], "/health", 1), 0);
	read_reply(held[0], 1, 10000, &r);
	CHECK_INT(r.status, 200);
	for (int i = 0; i < MAX_CONNS; i++)
		close(held[i]);
	CHECK(wa_h_wait_for(metrics_answer, NULL, 10000));
	CHECK(e2e_metric(&d, "\nwadispatch_http_connections_refused_total ") >=
	      1 + raw503);
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
}

/* A kept-alive connection left idle is closed at CONNECTION_TIMEOUT,
 * counted, with no log line. */
static void idle_keep_alive(void)
{
	const char *knobs[] = {"CONNECTION_TIMEOUT=1", NULL};
	int fd;
	reply r;

	CHECK_INT(start(knobs), 0);
	fd = connect_to(d.port);
	CHECK(fd >= 0);
	CHECK_INT(request(fd, "/health", 1), 0);
	read_reply(fd, 1, 10000, &r);
	CHECK_INT(r.status, 200);
	CHECK(!r.closed);
	read_reply(fd, 0, 60000, &r);
	CHECK(r.closed);
	CHECK_INT(r.status, 0);
	close(fd);
	CHECK(e2e_metric(&d, "{reason=\"idle_timeout\"} ") >= 1);
	CHECK_INT(e2e_metric(&d, "{reason=\"request_timeout\"} "), 0);
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
	CHECK_INT(wa_h_count_lines(d.log_path, "no complete request"), 0);
}

int main(void)
{
	past_the_cap();
	idle_keep_alive();
	return wa_t_report();
}
