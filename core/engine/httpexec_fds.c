/* httpexec_fds.c - the HTTP loop's sockets in its epoll set
 *
 * libcurl says which sockets to watch, for what, and when to stop. A
 * kept-alive connection is told to stop (CURL_POLL_REMOVE) after every
 * answer and to start again with the next request on it: an EPOLL_CTL_DEL
 * and an EPOLL_CTL_ADD per transfer (issue 17: system calls are dear on
 * this class of VM). A connection socket opened through wa_hx_fds_open (so
 * that its close comes through wa_hx_fds_close) therefore stays in the
 * set while idle, marked so: asked for the same events again it costs no
 * call, and an event on it while idle takes it out then (wa_hx_fds_stray).
 * Any other socket (a resolver's) is added and removed as asked. */
#include "engine/httpexec_fds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

enum {
	HX_FD_OWNED = 1,   /* opened by wa_hx_fds_open: closed through us */
	HX_FD_WATCHED = 2, /* in the epoll set, for .events */
	HX_FD_IDLE = 4,    /* in the set though libcurl no longer asks */
};

/* The entry of fd, growing the table; NULL when out of memory. */
static wa_hx_fd *slot(wa_hx_fds *t, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= t->n) {
		size_t n = t->n ? t->n : 64;
		wa_hx_fd *v;

		while (n <= (size_t)fd)
			n *= 2;
		v = realloc(t->v, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + t->n, 0, (n - t->n) * sizeof(*v));
		t->v = v;
		t->n = n;
	}
	return &t->v[fd];
}

static wa_hx_fd *known(wa_hx_fds *t, int fd)
{
	return fd >= 0 && (size_t)fd < t->n ? &t->v[fd] : NULL;
}

int wa_hx_fds_on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                        void *sockp)
{
	wa_hx_fds *t = ud;
	wa_hx_fd *s = slot(t, fd);
	struct epoll_event ev = {0};
	int op;

	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		if (s && (s->flags & HX_FD_OWNED) &&
		    (s->flags & HX_FD_WATCHED)) {
			s->flags |= HX_FD_IDLE; /* kept: see the top */
			return 0;
		}
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
		if (s)
			s->flags &=
			    (unsigned char)~(HX_FD_WATCHED | HX_FD_IDLE);
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
	            ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	ev.data.fd = fd;
	if (s && (s->flags & HX_FD_OWNED) && (s->flags & HX_FD_WATCHED) &&
	    s->events == ev.events) {
		s->flags &= (unsigned char)~HX_FD_IDLE;
		return 0;
	}
	/* one epoll_ctl per change, not a MOD that fails before every ADD */
	op = s && (s->flags & HX_FD_WATCHED) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(t->epfd, op, fd, &ev) != 0) {
		op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		if (epoll_ctl(t->epfd, op, fd, &ev) != 0) {
			wa_log(WA_LOG_WARN, "http",
			       "Cannot watch socket %d: %s", fd,
			       strerror(errno));
			if (s)
				s->flags &= (unsigned char)~(HX_FD_WATCHED |
				                             HX_FD_IDLE);
			return 0;
		}
	}
	if (s) {
		s->flags =
		    (unsigned char)((s->flags & HX_FD_OWNED) | HX_FD_WATCHED);
		s->events = ev.events;
	}
	return 0;
}

curl_socket_t wa_hx_fds_open(void *ud, curlsocktype purpose,
                             struct curl_sockaddr *addr)
{
	wa_hx_fds *t = ud;
	int fd =
	    socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	wa_hx_fd *s;

	if (fd < 0)
		return CURL_SOCKET_BAD;
	s = slot(t, fd);
	if (s) /* a new socket: nothing of an old one with its number holds */
		*s = (wa_hx_fd){
		    .flags = purpose == CURLSOCKTYPE_IPCXN ? HX_FD_OWNED : 0};
	return fd;
}

int wa_hx_fds_close(void *ud, curl_socket_t fd)
{
	wa_hx_fds *t = ud;
	wa_hx_fd *s = known(t, fd);

	if (s) {
		/* out of the set before the number can be reused (closing
		 * would drop it too, unless a forked child shares the socket)
		 */
		if (s->flags & HX_FD_WATCHED)
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
		*s = (wa_hx_fd){0};
	}
	return close(fd);
}

bool wa_hx_fds_stray(wa_hx_fds *t, int fd)
{
	wa_hx_fd *s = known(t, fd);

	if (!s || !(s->flags & HX_FD_IDLE))
		return false;
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
	s->flags &= (unsigned char)~(HX_FD_WATCHED | HX_FD_IDLE);
	return true;
}

void wa_hx_fds_free(wa_hx_fds *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
