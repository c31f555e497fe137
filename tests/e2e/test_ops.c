/* test_ops.c - production hardening: metrics, caller limits, request ids,
 * slow clients, header and batch limits, HTTPS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "testing.h"

#define KEY2 "second-caller-key-987654"

static wa_daemon d;

static int start(const char *const *knobs)
{
	/* Knobs first: the daemon sees the first of duplicate keys. */
	static const char *const defaults[] = {
	    "API_KEY=" E2E_KEY, "API_KEYS=" KEY2, "BIND_ADDRESS=127.0.0.1",
	    "MOCK_DELAY_MS=1", NULL};
	const char *env[32];
	size_t n = 0;
	int tls = d.tls;

	for (const char *const *k = knobs; k && *k && n < 24; k++)
		env[n++] = *k;
	for (const char *const *k = defaults; *k; k++)
		env[n++] = *k;
	env[n] = NULL;
	if (wa_h_daemon_init(&d) != 0)
		return -1;
	d.tls = tls;
	return wa_h_daemon_start(&d, env);
}

static void stop(void)
{
	CHECK_INT(wa_h_daemon_stop(&d, 15, 15000), 0);
}

/* Run cmd with input on stdin; its exit status. */
static int pipe_to(const char *cmd, const char *input)
{
	FILE *p = popen(cmd, "w");
	if (!p)
		return -1;
	fputs(input, p);
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void metrics(void)
{
	wa_http_reply r;
	char ct[128], cmd[1200];
	const char *src = getenv("WA_SOURCE_DIR");

	CHECK_INT(start(NULL), 0);
	CHECK_INT(e2e_send(&d, "m-1", "+5564999998888", "metrics", NULL, &r),
	          200);
	wa_h_reply_free(&r);
	CHECK_INT(e2e_send(&d, "m-2", "12", "bad", NULL, &r), 400);
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(&d, "/metrics", &r), 200);
	CHECK_STR(wa_h_header(&r, "Content-Type", ct, sizeof(ct)),
	          "text/plain; version=0.0.4; charset=utf-8");
	CHECK_CONTAINS(
	    r.body,
	    "wadispatch_http_requests_total{route=\"send\",code=\"200\"} 1\n");
	CHECK_CONTAINS(
	    r.body,
	    "wadispatch_http_requests_total{route=\"send\",code=\"400\"} 1\n");
	CHECK_CONTAINS(
	    r.body,
	    "wadispatch_messages_accepted_total{provider=\"mock\"} 1\n");
	CHECK_CONTAINS(r.body, "wadispatch_build_info{version=");
	CHECK_CONTAINS(r.body, "wadispatch_http_request_duration_seconds_"
	                       "bucket{route=\"send\",le=\"+Inf\"} 2\n");
	CHECK_CONTAINS(r.body, "wadispatch_queue_depth ");
	CHECK_CONTAINS(r.body, "wadispatch_queue_oldest_age_seconds ");
	CHECK_CONTAINS(r.body, "wadispatch_outbox_depth ");
	CHECK_CONTAINS(r.body, "wadispatch_store_commit_batch_size_bucket");
	CHECK_CONTAINS(r.body,
	               "wadispatch_provider_paused{provider=\"mock\"} 0\n");
	/* promtool is the judge of the exposition format */
	CHECK_INT(pipe_to("promtool check metrics", r.body), 0);
	wa_h_reply_free(&r);
	snprintf(cmd, sizeof(cmd),
	         "promtool check rules %s/etc/wadispatch-alerts.yml >/dev/null",
	         src ? src : "..");
	CHECK_INT(system(cmd), 0);
	stop();
}

static void limits(void)
{
	const char *knobs[] = {"RATE_LIMIT_RPS=1", "RATE_LIMIT_BURST=3",
	                       "BATCH_MAX=5", NULL};
	const char *key2[] = {"X-API-Key: " KEY2, NULL};
	wa_http_reply r;
	char v[64], url[256], body[4096];
	int ok = 0;

	CHECK_INT(start(knobs), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "rl-%d", i);
		ok += e2e_send(&d, v, "+5564999998888", "x", NULL, &r) == 200;
		wa_h_reply_free(&r);
	}
	CHECK_INT(ok, 3);
	CHECK_INT(e2e_send(&d, "rl-4", "+5564999998888", "x", NULL, &r), 429);
	CHECK_STR(r.body, "{\"error\":\"Rate limit exceeded\"}");
	CHECK(wa_h_header(&r, "Retry-After", v, sizeof(v)) && atoi(v) >= 1);
	wa_h_reply_free(&r);
	/* another key has its own bucket; a batch counts its items */
	{
		const char *h[] = {"X-API-Key: " KEY2,
		                   "Content-Type: application/json", NULL};
		const char *four =
		    "{\"messages\":["
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\",\"external_id\":\"k2-1\"},"
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\",\"external_id\":\"k2-2\"},"
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\",\"external_id\":\"k2-3\"},"
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\",\"external_id\":\"k2-4\"}]}";
		const char *two =
		    "{\"messages\":["
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\",\"external_id\":\"k2-5\"},"
		    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
		    "\"a\",\"external_id\":\"k2-6\"}]}";
		snprintf(url, sizeof(url), "%s/v1/messages/batch", d.base);
		CHECK_INT(wa_h_http("POST", url, h, four, strlen(four), &r), 0);
		CHECK_INT(r.status, 429); /* 4 items > burst 3 */
		wa_h_reply_free(&r);
		CHECK_INT(wa_h_http("POST", url, h, two, strlen(two), &r), 0);
		CHECK_INT(r.status, 200);
		CHECK_CONTAINS(r.body, "\"accepted\":2");
		wa_h_reply_free(&r);
	}
	(void)key2;
	/* batch size cap (BATCH_MAX=5) */
	{
		size_t n =
		    (size_t)snprintf(body, sizeof(body), "{\"messages\":[");
		for (int i = 0; i < 6; i++)
			n += (size_t)snprintf(
			    body + n, sizeof(body) - n,
			    "%s{\"recipient_phone\":\"+5564999998888\","
			    "\"message_body\":\"a\",\"external_id\":\"b-%d\"}",
			    i ? "," : "", i);
		snprintf(body + n, sizeof(body) - n, "]}");
		CHECK_INT(e2e_post(&d, "/v1/messages/batch", body, NULL, &r),
		          413);
		CHECK_CONTAINS(r.body, "at most 5 per batch");
		wa_h_reply_free(&r);
	}
	/* a 40 KiB header: refused with a 4xx or a closed connection */
	{
		char *big = malloc(41000);
		const char *h[] = {big, NULL};
		memcpy(big, "X-Filler: ", 10);
		memset(big + 10, 'a', 40000);
		big[40010] = 0;
		snprintf(url, sizeof(url), "%s/health", d.base);
		int rc = wa_h_http("GET", url, h, NULL, 0, &r);
		CHECK(rc != 0 || (r.status >= 400 && r.status < 500));
		wa_h_reply_free(&r);
		free(big);
		CHECK_INT(e2e_get(&d, "/health", &r), 200);
		wa_h_reply_free(&r);
	}
	stop();
}

static int count_regex(const char *path, const char *re)
{
	char *text = wa_h_slurp(path, NULL);
	regex_t rx;
	int n = 0;

	if (!text ||
	    regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0) {
		free(text);
		return -1;
	}
	for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		n += regexec(&rx, line, 0, NULL, 0) == 0;
	}
	regfree(&rx);
	free(text);
	return n;
}

static void request_ids(void)
{
	const char *given[] = {"X-Request-Id: campaign-42.req_7", NULL};
	const char *evil[] = {"X-Request-Id: \"><script>", NULL};
	wa_http_reply r;
	char v[128];

	CHECK_INT(start(NULL), 0);
	CHECK_INT(e2e_send(&d, "rid-1", "+5564999998888", "x", given, &r), 200);
	CHECK_STR(wa_h_header(&r, "X-Request-Id", v, sizeof(v)),
	          "campaign-42.req_7");
	wa_h_reply_free(&r);
	CHECK_INT(e2e_send(&d, "rid-2", "+5564999998888", "x", evil, &r), 200);
	CHECK(wa_h_header(&r, "X-Request-Id", v, sizeof(v)) != NULL);
	CHECK(strchr(v, '<') == NULL && strlen(v) == 36);
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(&d, "/health", &r), 200);
	CHECK(wa_h_header(&r, "X-Request-Id", v, sizeof(v)) && strlen(v) == 36);
	wa_h_reply_free(&r);
	stop();
	/* one access line per request, with the request id and the key's
	 * number, never the key itself */
	CHECK_INT(count_regex(d.log_path,
	                      "\"component\":\"access\".*\"method\":\"POST\","
	                      "\"route\":\"send\","
	                      "\"status\":200,\"duration_ms\":[0-9]+,\"request_"
	                      "id\":\"campaign-42\\.req_7\","
	                      "\"key\":\"key#1\""),
	          1);
	CHECK_INT(count_regex(d.log_path,
	                      "\"component\":\"access\".*\"route\":\"send\""),
	          2);
	CHECK_INT(wa_h_count_lines(d.log_path, E2E_KEY), 0);
}

static int connect_to(int port)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* true when the server closed the connection (EOF or reset) */
static int closed_by_server(int fd, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char buf[256];
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0;
}

static void slow_clients(void)
{
	const char *knobs[] = {"REQUEST_TIMEOUT=1", NULL};
	enum { SLOW = 20 };
	int fds[SLOW], cut = 0;
	struct timespec step = {0, 200 * 1000000L};
	wa_http_reply r;
	int64_t t0;

	CHECK_INT(start(knobs), 0);
	for (int i = 0; i < SLOW; i++) {
		fds[i] = connect_to(d.port);
		CHECK(fds[i] >= 0);
		if (fds[i] >= 0 &&
		    send(fds[i],
		         "POST /v1/messages/send HTTP/1.1\r\nHost: x\r\n", 42,
		         MSG_NOSIGNAL) != 42)
			CHECK(0);
	}
	/* trickle a byte every 200 ms for up to 4 s; others must still be
	 * served */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t0 = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (int round = 0; round < 20 && cut < SLOW; round++) {
		CHECK_INT(e2e_get(&d, "/health", &r), 200);
		wa_h_reply_free(&r);
		for (int i = 0; i < SLOW; i++) {
			if (fds[i] < 0)
				continue;
			if (send(fds[i], "X", 1, MSG_NOSIGNAL) != 1 ||
			    closed_by_server(fds[i], 0)) {
				close(fds[i]);
				fds[i] = -1;
				cut++;
			}
		}
		nanosleep(&step, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("slow clients cut: %d of %d after %lld ms\n", cut, SLOW,
	       (long long)((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
	                   t0));
	CHECK_INT(cut, SLOW);
	for (int i = 0; i < SLOW; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	CHECK_INT(e2e_get(&d, "/health", &r), 200);
	wa_h_reply_free(&r);
	stop();
}

typedef struct held {
	long status;
} held;

static void *slow_send(void *arg)
{
	held *h = arg;
	const char *prefer[] = {"Prefer: wait=5", NULL};
	wa_http_reply r;
	char ext[32];
	static int n;
	snprintf(ext, sizeof(ext), "held-%d",
	         __atomic_add_fetch(&n, 1, __ATOMIC_SEQ_CST));
	/* The harness's readiness probe can still count as in flight for a
	 * moment after its answer: a 503 then is not the cap under test. */
	for (int tries = 0; tries < 50; tries++) {
		struct timespec pause = {0, 20 * 1000000L};
		h->status =
		    e2e_send(&d, ext, "+5564999998888", "slow", prefer, &r);
		wa_h_reply_free(&r);
		if (h->status != 503)
			break;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* Both held requests' messages are committed (read from the store file
 * directly: an HTTP probe would itself count against the cap). */
static int both_held(void *arg)
{
	char path[400];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;

	(void)arg;
	snprintf(path, sizeof(path), "%s/wa.db", d.dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	        SQLITE_OK &&
	    sqlite3_prepare_v2(
	        db,
	        "SELECT count(*) FROM messages WHERE external_id LIKE 'held-%'",
	        -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n == 2;
}

/* MAX_INFLIGHT: requests held open (Prefer: wait on a slow provider) count;
 * past the cap new requests get 503, except /health and /ready.
 * MAX_CONN_PER_IP caps connections. */
static void caps(void)
{
	const char *knobs[] = {"MAX_INFLIGHT=2", "MOCK_DELAY_MS=3000",
	                       "WORKERS=1", NULL};
	pthread_t t[2];
	held h[2] = {{0}, {0}};
	wa_http_reply r;

	CHECK_INT(start(knobs), 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, slow_send, &h[i]);
	/* Both held for 3 s or more: a third request is over the cap. */
	CHECK(wa_h_wait_for(both_held, NULL, 10000));
	CHECK_INT(e2e_get(&d, "/metrics", &r), 503);
	CHECK_STR(r.body, "{\"error\":\"Server busy, retry later\"}");
	wa_h_reply_free(&r);
	/* a balancer's probes are never refused for load */
	CHECK_INT(e2e_get(&d, "/health", &r), 200);
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(&d, "/ready", &r), 200);
	wa_h_reply_free(&r);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(h[i].status, 200);
	}
	CHECK_INT(e2e_get(&d, "/health", &r), 200);
	wa_h_reply_free(&r);
	stop();

	/* per-IP connections */
	const char *knobs2[] = {"MAX_CONN_PER_IP=2", NULL};
	CHECK_INT(start(knobs2), 0);
	/* Two connections the server took and kept. (The harness's readiness
	 * probe may still count against the cap for a moment after it
	 * closed, so one of these can be refused at first: open it again.) */
	int kept[2] = {-1, -1}, c;
	for (int tries = 0; tries < 20 && (kept[0] < 0 || kept[1] < 0); tries++)
		for (int i = 0; i < 2; i++) {
			if (kept[i] < 0)
				kept[i] = connect_to(d.port);
			if (kept[i] >= 0 && closed_by_server(kept[i], 200)) {
				close(kept[i]);
				kept[i] = -1;
			}
		}
	CHECK(kept[0] >= 0 && kept[1] >= 0);
	/* a third is accepted by the kernel, then closed by the server */
	c = connect_to(d.port);
	CHECK(c >= 0 && closed_by_server(c, 3000));
	for (int i = 0; i < 2; i++) {
		CHECK(kept[i] >= 0 && !closed_by_server(kept[i], 0));
		if (kept[i] >= 0)
			close(kept[i]);
	}
	if (c >= 0)
		close(c);
	stop();
}

typedef struct bp {
	long status;
	char retry_after[16];
	int n;
} bp;

static void *bp_send(void *arg)
{
	bp *b = arg;
	wa_http_reply r;
	char ext[32];

	snprintf(ext, sizeof(ext), "bp-%d", b->n);
	b->status = e2e_send(&d, ext, "+5564999998888", "pressure", NULL, &r);
	if (b->status == 503)
		wa_h_header(&r, "Retry-After", b->retry_after,
		            sizeof(b->retry_after));
	wa_h_reply_free(&r);
	return NULL;
}

/* The writer's gauges read from /metrics: *want is {queue, writing}. */
static int writer_at(void *arg)
{
	const int *want = arg;
	wa_http_reply r;
	char q[64], w[64];
	int at;

	if (e2e_get(&d, "/metrics", &r) != 200)
		return 0;
	snprintf(q, sizeof(q), "wadispatch_store_writer_queue %d\n", want[0]);
	snprintf(w, sizeof(w), "wadispatch_store_writer_writing %d\n", want[1]);
	at = strstr(r.body, q) && strstr(r.body, w);
	wa_h_reply_free(&r);
	return at;
}

/* Back-pressure: when the store cannot keep up (here: another process holds
 * the database's write lock), writes beyond QUEUE_MAX are refused with 503
 * and Retry-After instead of piling up in memory; once the store moves
 * again, the queued ones are answered 200. */
static void back_pressure(void)
{
	/* RETENTION=0: no retention job may take the writer meanwhile */
	const char *knobs[] = {"QUEUE_MAX=2", "RETENTION=0", NULL};
	char path[400];
	sqlite3 *db = NULL;
	pthread_t t[3];
	bp b[3];
	int ok = 0, busy = 0;

	CHECK_INT(start(knobs), 0);
	snprintf(path, sizeof(path), "%s/wa.db", d.dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	/* a write of the daemon's own may be finishing: wait for the lock */
	sqlite3_busy_timeout(db, 5000);
	CHECK_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	          SQLITE_OK);
	memset(b, 0, sizeof(b));
	/* the first blocks the writer inside BEGIN; two more fill the queue */
	for (int i = 0; i < 3; i++) {
		int first[2] = {0, 1}, full[2] = {2, 1};
		b[i].n = i;
		pthread_create(&t[i], NULL, bp_send, &b[i]);
		if (i == 0)
			CHECK(wa_h_wait_for(writer_at, first, 5000));
		else if (i == 2)
			CHECK(wa_h_wait_for(writer_at, full, 5000));
	}
	{
		wa_http_reply r;
		char ra[16];
		CHECK_INT(
		    e2e_send(&d, "bp-over", "+5564999998888", "x", NULL, &r),
		    503);
		CHECK_CONTAINS(r.body, "\"error\":\"Server busy");
		CHECK_STR(wa_h_header(&r, "Retry-After", ra, sizeof(ra)), "1");
		wa_h_reply_free(&r);
	}
	CHECK_INT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ok += b[i].status == 200;
		busy += b[i].status == 503;
	}
	CHECK_INT(ok, 3);
	CHECK_INT(busy, 0);
	stop();
}

static void https(void)
{
	char cert[400], key[400], cmd[2000], kv1[500], kv2[500];
	const char *src = getenv("WA_SOURCE_DIR");
	wa_http_reply r;

	memset(&d, 0, sizeof(d));
	if (wa_h_daemon_init(&d) != 0)
		return;
	snprintf(cert, sizeof(cert), "%s/cert.pem", d.dir);
	snprintf(key, sizeof(key), "%s/cert.key", d.dir);
	/* RSA: the cipher checks below name ECDHE-RSA suites */
	snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/selfsigned.sh %s cert rsa",
	         src ? src : "..", d.dir);
	CHECK_INT(system(cmd), 0);
	snprintf(kv1, sizeof(kv1), "TLS_CERT_FILE=%s", cert);
	snprintf(kv2, sizeof(kv2), "TLS_KEY_FILE=%s", key);
	const char *knobs[] = {kv1, kv2, NULL};
	wa_h_set_ca(cert);
	d.tls = 1;
	CHECK_INT(start(knobs), 0);
	CHECK(strncmp(d.base, "https://", 8) == 0);
	CHECK_INT(e2e_send(&d, "tls-1", "+5564999998888", "over TLS", NULL, &r),
	          200);
	CHECK_CONTAINS(r.body, "\"status\":\"queued\"");
	wa_h_reply_free(&r);
	/* TLS 1.2 works, TLS 1.1 is refused, plain HTTP gets no answer */
	snprintf(cmd, sizeof(cmd),
	         "curl -sf --cacert %s --tlsv1.2 --tls-max 1.2 -o /dev/null "
	         "%s/health",
	         cert, d.base);
	CHECK_INT(system(cmd), 0);
	snprintf(cmd, sizeof(cmd),
	         "curl -sf --cacert %s --tlsv1.1 --tls-max 1.1 -o /dev/null "
	         "%s/health 2>/dev/null",
	         cert, d.base);
	CHECK(system(cmd) != 0);
	/* TLS 1.2 only with ECDHE (forward secrecy): static RSA key exchange
	 * is refused */
	snprintf(cmd, sizeof(cmd),
	         "curl -sf --cacert %s --tlsv1.2 --tls-max 1.2 --ciphers "
	         "ECDHE-RSA-AES128-GCM-SHA256 -o /dev/null %s/health",
	         cert, d.base);
	CHECK_INT(system(cmd), 0);
	snprintf(cmd, sizeof(cmd),
	         "curl -sf --cacert %s --tlsv1.2 --tls-max 1.2 --ciphers "
	         "AES128-GCM-SHA256:AES256-GCM-SHA384 -o /dev/null %s/health "
	         "2>/dev/null",
	         cert, d.base);
	CHECK(system(cmd) != 0);
	snprintf(
	    cmd, sizeof(cmd),
	    "curl -sf -m 5 -o /dev/null http://127.0.0.1:%d/health 2>/dev/null",
	    d.port);
	CHECK(system(cmd) != 0);
	stop();
	wa_h_set_ca(NULL);
	d.tls = 0;
	/* a bad key file stops the daemon with a sentence */
	{
		char out[4096], port[32];
		snprintf(port, sizeof(port), "PORT=%d", wa_h_free_port());
		snprintf(kv2, sizeof(kv2), "TLS_KEY_FILE=%s/missing.pem",
		         d.dir);
		const char *env[] = {"API_KEY=" E2E_KEY, port, kv1, kv2, NULL};
		CHECK(wa_h_run_daemon(env, NULL, out, sizeof(out)) != 0);
		CHECK_CONTAINS(out, "TLS_KEY_FILE: cannot read");
	}
}

int main(void)
{
	metrics();
	limits();
	request_ids();
	slow_clients();
	caps();
	back_pressure();
	https();
	return wa_t_report();
}
