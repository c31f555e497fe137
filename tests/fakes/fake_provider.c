/* fake_provider.c - loopback fake of the Twilio, Evolution and Meta Cloud APIs
 * for tests
 *
 * usage: fake_provider MODE RECORD_FILE [--outage N] [--outage-503]
 *                      [--retry-after S] [--auth-fail] [--delay-ms MS]
 *                      [--port P]
 *
 *   MODE          twilio | evolution | cloudapi | receiver
 *                 (receiver: a status webhook receiver; every POST is
 *                 answered 200 "{}" and its body recorded as one line)
 *   RECORD_FILE   every ACCEPTED send (2xx answer) is appended as one JSON
 *                 line: {"n":<request #>,"mode":"...","to":"<as sent>",
 *                 "text":"...","template":"..."|null,"id":"<provider id>"}
 *   --outage N    the first N send requests get the API's own transient
 *                 error: twilio 429 code 20429, evolution 500 "Connection
 *                 Closed", cloudapi 400 code 130429 (key on error.code)
 *   --outage-503  outage requests get a plain 503 instead
 *   --retry-after S  add "Retry-After: S" to outage answers
 *   --auth-fail   every request gets the API's authentication error
 *   --port P      bind port P instead of a free one
 *   --delay-ms MS every answer leaves MS milliseconds after its request
 *                 arrived (the connection is suspended meanwhile, so many
 *                 requests wait at once): a slow provider for benchmarks
 *
 * Binds 127.0.0.1 on a free port and prints the port alone on stdout line 1
 * (then flushes): read it for readiness. Runs until SIGTERM/SIGINT, exit 0.
 *
 * What it expects (fixed test credentials, as in tests/providers):
 *   twilio     POST
 * /2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json Basic
 * ACaaaa...:test_auth_token_0123456789abcdef or SKbbbb...:test_api_key_secret;
 * form body: To=whatsapp:+<digits>, From=whatsapp:+<digits> or
 * MessagingServiceSid=MG..., Body (<= 1600 chars) or ContentSid=HX... evolution
 * POST /message/sendText/dispatcher, apikey: test_evolution_key_0123, JSON
 * {"number":"<digits>","text":"<non-empty>"}; a number starting with 999
 * answers "not on WhatsApp" cloudapi   POST /v<NN.N>/106540352242922/messages,
 *              Authorization: Bearer EAAtest_cloudapi_token_0123, JSON with
 *              messaging_product "whatsapp", to digits, type text (text.body
 *              <= 4096 chars) | template (name, language.code) | image (link)
 * Errors use each API's own body shape (shared/docs/providers.md section 6).
 */
#include "fake_rules.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FP_MAX_BODY (1 << 20)

typedef struct conn {
	char *data;
	size_t len;
	bool too_big;
	fp_answer *held; /* answered, waiting out --delay-ms */
	struct MHD_Connection *c;
	long long due_ms; /* CLOCK_MONOTONIC */
	struct conn *dnext;
} conn;

static fp_config cfg;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_requests;
static FILE *record;

/* --delay-ms: suspended connections in order of due time (the delay is the
 * same for all, so arrival order is due order), resumed by one thread. */
static long delay_ms;
static pthread_mutex_t dmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dcv = PTHREAD_COND_INITIALIZER;
static conn *dhead, *dtail;
static bool dstop;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *delayer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dmu);
	while (!dstop) {
		long long now = mono_ms();

		if (!dhead) {
			pthread_cond_wait(&dcv, &dmu);
		} else if (dhead->due_ms > now) {
			struct timespec ts;
			long long wait = dhead->due_ms - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&dcv, &dmu, &ts);
		} else {
			conn *k = dhead;

			dhead = k->dnext;
			if (!dhead)
				dtail = NULL;
			MHD_resume_connection(k->c);
		}
	}
	pthread_mutex_unlock(&dmu);
	return NULL;
}

/* Hold the answer a until --delay-ms after now. */
static enum MHD_Result hold(struct MHD_Connection *c, conn *k,
                            const fp_answer *a)
{
	k->held = malloc(sizeof(*a));
	if (!k->held)
		return MHD_NO;
	*k->held = *a;
	k->c = c;
	k->due_ms = mono_ms() + delay_ms;
	k->dnext = NULL;
	MHD_suspend_connection(c);
	pthread_mutex_lock(&dmu);
	if (dtail)
		dtail->dnext = k;
	else
		dhead = k;
	dtail = k;
	pthread_cond_signal(&dcv);
	pthread_mutex_unlock(&dmu);
	return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *c, const fp_answer *a)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(a->body), (void *)a->body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
	                        "application/json; charset=utf-8");
	if (a->retry_after[0])
		MHD_add_response_header(r, "Retry-After", a->retry_after);
	rc = MHD_queue_response(c, (unsigned)a->status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **ctx)
{
	conn *k = *ctx;
	fp_request req;
	fp_answer a;
	unsigned long n;

	(void)cls;
	(void)version;
	if (k && k->held) { /* resumed after --delay-ms */
		enum MHD_Result rc = reply(c, k->held);

		free(k->held);
		k->held = NULL;
		return rc;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return MHD_NO;
		*ctx = k;
		return MHD_YES;
	}
	if (*upload_size) {
		if (k->len + *upload_size > FP_MAX_BODY) {
			k->too_big = true;
		} else {
			char *p = realloc(k->data, k->len + *upload_size + 1);

			if (!p)
				return MHD_NO;
			k->data = p;
			memcpy(k->data + k->len, upload, *upload_size);
			k->len += *upload_size;
			k->data[k->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&req, 0, sizeof(req));
	memset(&a, 0, sizeof(a));
	req.method = method;
	req.path = url;
	req.body = k->data ? k->data : "";
	req.body_len = k->len;
	req.authorization =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	req.apikey = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "apikey");
	req.content_type =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&lock);
	n = ++n_requests;
	pthread_mutex_unlock(&lock);
	if (k->too_big) {
		a.status = 413;
		snprintf(a.body, sizeof(a.body), "{\"error\":\"too large\"}");
	} else {
		fp_handle(&cfg, &req, n, &a);
	}
	if (a.record[0]) {
		pthread_mutex_lock(&lock);
		fprintf(record, "%s\n", a.record);
		fflush(record);
		pthread_mutex_unlock(&lock);
	}
	if (delay_ms > 0)
		return hold(c, k, &a);
	return reply(c, &a);
}

static void done(void *cls, struct MHD_Connection *c, void **ctx,
                 enum MHD_RequestTerminationCode why)
{
	conn *k = *ctx;

	(void)cls;
	(void)c;
	(void)why;
	if (k) {
		free(k->held);
		free(k->data);
		free(k);
	}
	*ctx = NULL;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: fake_provider twilio|evolution|cloudapi|receiver "
	        "RECORD_FILE "
	        "[--outage N] [--outage-503] [--retry-after S] [--auth-fail] "
	        "[--delay-ms MS] [--port P]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	pthread_t delay_thread;
	unsigned short port = 0;
	sigset_t set;
	int sig;

	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "twilio") == 0)
		cfg.mode = FP_TWILIO;
	else if (strcmp(argv[1], "evolution") == 0)
		cfg.mode = FP_EVOLUTION;
	else if (strcmp(argv[1], "cloudapi") == 0)
		cfg.mode = FP_CLOUDAPI;
	else if (strcmp(argv[1], "receiver") == 0)
		cfg.mode = FP_RECEIVER;
	else
		return usage();
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--outage") == 0 && i + 1 < argc)
			cfg.outage = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--outage-503") == 0)
			cfg.outage_503 = true;
		else if (strcmp(argv[i], "--retry-after") == 0 && i + 1 < argc)
			snprintf(cfg.retry_after, sizeof(cfg.retry_after), "%s",
			         argv[++i]);
		else if (strcmp(argv[i], "--auth-fail") == 0)
			cfg.auth_fail = true;
		else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
			delay_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = (unsigned short)strtoul(argv[++i], NULL, 10);
		else
			return usage();
	}
	record = fopen(argv[2], "a");
	if (!record) {
		perror(argv[2]);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD threads inherit it */

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	/* epoll and a high connection limit: a slow fake holds rate x delay
	 * connections open at once (1000/s x 250 ms = 250) */
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	        MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr,
		        "fake_provider: cannot start the HTTP server\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0) {
		fprintf(stderr, "fake_provider: no bound port\n");
		MHD_stop_daemon(d);
		return 1;
	}
	if (pthread_create(&delay_thread, NULL, delayer, NULL) != 0) {
		fprintf(stderr, "fake_provider: no delay thread\n");
		MHD_stop_daemon(d);
		return 1;
	}
	printf("%u\n", (unsigned)info->port);
	fflush(stdout);
	sigwait(&set, &sig);
	pthread_mutex_lock(&dmu);
	dstop = true;
	while (dhead) { /* let MHD end the suspended ones */
		MHD_resume_connection(dhead->c);
		dhead = dhead->dnext;
	}
	dtail = NULL;
	pthread_cond_signal(&dcv);
	pthread_mutex_unlock(&dmu);
	pthread_join(delay_thread, NULL);
	MHD_stop_daemon(d);
	fclose(record);
	return 0;
}
