/* hello.c - a bare libmicrohttpd server, the yardstick for the send benchmark
 *
 * Same threading model as wadispatchd (internal epoll thread pool sized to
 * the cores); answers every request with a small JSON body.
 * Usage: bench_hello PORT
 */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "{\"status\":\"ok\"}";

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *data_size, void **ctx)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!*ctx) {
		*ctx = (void *)1;
		return MHD_YES;
	}
	if (*data_size) {
		*data_size =
		    0; /* read and drop the body, as a real handler would */
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	                                    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct MHD_Daemon *d;
	sigset_t s;
	int sig;

	if (argc < 2)
		return 2;
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO,
	    (uint16_t)atoi(argv[1]), NULL, NULL, answer, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cores > 0 ? cores : 2),
	    MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
	if (!d)
		return 1;
	sigwait(&s, &sig);
	MHD_stop_daemon(d);
	return 0;
}
