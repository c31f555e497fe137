/* fakehttp.c - a tiny provider-like HTTP server on 127.0.0.1 for engine tests
 */
#include "fakehttp.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"

#define FH_IDS 1024
#define FH_BIG (256 * 1024)

typedef struct fh_id {
	char id[64];
	int hits;
	int64_t t[2];
} fh_id;

struct fakehttp {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	fh_id ids[FH_IDS];
	int n_ids;
	int landed, total, current, max_current, bad_auth, seq;
	char token[128];
	char *big;
};

static int note(fakehttp *f, const char *id)
{
	fh_id *e = NULL;
	int hits;

	pthread_mutex_lock(&f->mu);
	f->total++;
	for (int i = 0; i < f->n_ids; i++)
		if (strcmp(f->ids[i].id, id) == 0)
			e = &f->ids[i];
	if (!e && f->n_ids < FH_IDS) {
		e = &f->ids[f->n_ids++];
		snprintf(e->id, sizeof(e->id), "%s", id);
	}
	if (e) {
		if (e->hits < 2)
			e->t[e->hits] = wa_mono_ms();
		hits = ++e->hits;
	} else {
		hits = 1;
	}
	pthread_mutex_unlock(&f->mu);
	return hits;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *body, size_t len, const char *hname,
                             const char *hval)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	if (hname)
		MHD_add_response_header(r, hname, hval);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000};

	nanosleep(&ts, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	static int marker;
	fakehttp *f = cls;
	const char *id, *auth;
	char want[160], body[64];
	int hits, n;

	(void)method;
	(void)version;
	(void)upload;
	if (!*con_cls) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* the body is not used */
		return MHD_YES;
	}
	id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Message-Id");
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&f->mu);
	snprintf(want, sizeof(want), "Bearer %s", f->token);
	if (f->token[0] && (!auth || strcmp(auth, want) != 0))
		f->bad_auth++;
	n = ++f->seq;
	pthread_mutex_unlock(&f->mu);
	if (strcmp(url, "/landed") == 0) {
		pthread_mutex_lock(&f->mu);
		f->landed++;
		pthread_mutex_unlock(&f->mu);
		return reply(c, 200, "landed", 6, NULL, NULL);
	}
	hits = note(f, id ? id : "");
	snprintf(body, sizeof(body), "ht-%d", n);
	if (strcmp(url, "/ok") == 0)
		return reply(c, 200, body, strlen(body), NULL, NULL);
	if (strcmp(url, "/flaky") == 0)
		return hits == 1
		           ? reply(c, 503, "busy", 4, NULL, NULL)
		           : reply(c, 200, body, strlen(body), NULL, NULL);
	if (strcmp(url, "/r429") == 0)
		return hits == 1
		           ? reply(c, 429, "slow down", 9, "Retry-After", "1")
		           : reply(c, 200, body, strlen(body), NULL, NULL);
	if (strcmp(url, "/close") == 0) /* the connection ends here */
		return reply(c, 200, body, strlen(body), "Connection", "close");
	if (strcmp(url, "/bad") == 0)
		return reply(c, 400, "bad request", 11, NULL, NULL);
	if (strcmp(url, "/auth") == 0)
		return reply(c, 401, "unauthorized", 12, NULL, NULL);
	if (strcmp(url, "/big") == 0)
		return reply(c, 200, f->big, FH_BIG, NULL, NULL);
	if (strcmp(url, "/redir") == 0)
		return reply(c, 302, "moved", 5, "Location", "/landed");
	if (strcmp(url, "/slow") == 0) {
		pthread_mutex_lock(&f->mu);
		if (++f->current > f->max_current)
			f->max_current = f->current;
		pthread_mutex_unlock(&f->mu);
		sleep_ms(50);
		pthread_mutex_lock(&f->mu);
		f->current--;
		pthread_mutex_unlock(&f->mu);
		return reply(c, 200, body, strlen(body), NULL, NULL);
	}
	return reply(c, 404, "no such scenario", 16, NULL, NULL);
}

fakehttp *fakehttp_start(void)
{
	fakehttp *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa = {0};

	if (!f)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	f->big = malloc(FH_BIG);
	if (!f->big) {
		free(f);
		return NULL;
	}
	memset(f->big, 'x', FH_BIG);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	        MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handle, f, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 1000u,
	    MHD_OPTION_END);
	if (!f->d) {
		fprintf(stderr, "fakehttp: cannot start the server\n");
		free(f->big);
		free(f);
		return NULL;
	}
	return f;
}

unsigned fakehttp_port(fakehttp *f)
{
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

void fakehttp_stop(fakehttp *f)
{
	if (!f)
		return;
	MHD_stop_daemon(f->d);
	pthread_mutex_destroy(&f->mu);
	free(f->big);
	free(f);
}

int fakehttp_hits(fakehttp *f, const char *id, int64_t *t1, int64_t *t2)
{
	int hits = 0;

	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < f->n_ids; i++) {
		if (strcmp(f->ids[i].id, id) != 0)
			continue;
		hits = f->ids[i].hits;
		if (t1)
			*t1 = f->ids[i].t[0];
		if (t2)
			*t2 = f->ids[i].t[1];
	}
	pthread_mutex_unlock(&f->mu);
	return hits;
}

#define FH_GETTER(name, field)                                                 \
	int fakehttp_##name(fakehttp *f)                                       \
	{                                                                      \
		int v;                                                         \
		pthread_mutex_lock(&f->mu);                                    \
		v = f->field;                                                  \
		pthread_mutex_unlock(&f->mu);                                  \
		return v;                                                      \
	}
FH_GETTER(landed, landed)
FH_GETTER(max_concurrent, max_current)
FH_GETTER(total, total)
FH_GETTER(bad_auth, bad_auth)

void fakehttp_expect_token(fakehttp *f, const char *token)
{
	pthread_mutex_lock(&f->mu);
	snprintf(f->token, sizeof(f->token), "%s", token);
	pthread_mutex_unlock(&f->mu);
}
