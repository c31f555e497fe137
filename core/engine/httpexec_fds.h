/* httpexec_fds.h - the HTTP loop's sockets in its epoll set (internal to
 * httpexec.c) */
#ifndef WA_HTTPEXEC_FDS_H
#define WA_HTTPEXEC_FDS_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One socket as the loop knows it. */
typedef struct wa_hx_fd {
	unsigned char flags; /* HX_FD_* in httpexec_fds.c */
	uint32_t events;     /* what the epoll set watches it for */
} wa_hx_fd;

/* The sockets of one loop, indexed by descriptor. */
typedef struct wa_hx_fds {
	int epfd;
	wa_hx_fd *v;
	size_t n;
} wa_hx_fds;

/* libcurl callbacks; their user data is the wa_hx_fds.
 * CURLMOPT_SOCKETFUNCTION: */
int wa_hx_fds_on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                        void *sockp);
/* CURLOPT_OPENSOCKETFUNCTION and CURLOPT_CLOSESOCKETFUNCTION: */
curl_socket_t wa_hx_fds_open(void *ud, curlsocktype purpose,
                             struct curl_sockaddr *addr);
int wa_hx_fds_close(void *ud, curl_socket_t fd);

/* An epoll event on fd that libcurl no longer watches (a kept-alive
 * connection, idle, that its peer closed or wrote to): taken out of the
 * set, and true, so that it is not handed to libcurl (which finds out at
 * its next use). */
bool wa_hx_fds_stray(wa_hx_fds *t, int fd);

void wa_hx_fds_free(wa_hx_fds *t);

#endif
