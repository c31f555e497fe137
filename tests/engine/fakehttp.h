/* fakehttp.h - a tiny provider-like HTTP server on 127.0.0.1 for engine tests
 */
#ifndef WA_FAKEHTTP_H
#define WA_FAKEHTTP_H

#include <stdint.h>

typedef struct fakehttp fakehttp;

/* Start on 127.0.0.1, a free port. NULL on failure (printed). Paths:
 *   /ok     200, body "ht-<n>"
 *   /close  the same with "Connection: close" (a new socket each time)
 *   /flaky  503 for the first request of a message id, then 200
 *   /r429   429 "Retry-After: 1" for the first request, then 200
 *   /bad    400          /auth  401
 *   /big    200 with a 256 KiB body
 *   /redir  302 to /landed (which counts its hits)
 *   /slow   200 after 50 ms (counts requests in progress at once) */
fakehttp *fakehttp_start(void);
unsigned fakehttp_port(fakehttp *f);
void fakehttp_stop(fakehttp *f);

/* Requests seen for message id (X-Message-Id); times of the first two
 * (mono ms) when t1/t2 are not NULL. */
int fakehttp_hits(fakehttp *f, const char *id, int64_t *t1, int64_t *t2);
int fakehttp_landed(fakehttp *f);
int fakehttp_max_concurrent(fakehttp *f);
int fakehttp_total(fakehttp *f);
/* Did every request carry "Authorization: Bearer <token>"? */
int fakehttp_bad_auth(fakehttp *f);
void fakehttp_expect_token(fakehttp *f, const char *token);

#endif
