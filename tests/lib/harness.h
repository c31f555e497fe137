/* harness.h - start the real daemon on a free loopback port and talk HTTP to it
 */
#ifndef WA_HARNESS_H
#define WA_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct wa_daemon {
	pid_t pid;
	int port;
	char base[64];      /* "http://127.0.0.1:<port>" */
	char dir[256];      /* private temp dir (store, logs, records) */
	char log_path[320]; /* daemon stderr */
	int tls;            /* set before start: the daemon serves HTTPS */
} wa_daemon;

/* Trust this CA file for https:// requests (NULL: system default). */
void wa_h_set_ca(const char *path);

/* Path of a built provider: $WA_PROVIDER_BUILD_DIR/<name>.so (static buf). */
const char *wa_h_provider_dir(void);

/* A free TCP port on 127.0.0.1 (bound then released). */
int wa_h_free_port(void);

/* Make a fresh temp dir for a daemon (d->dir). It is removed at the end of a
 * passing test (wa_t_report calls wa_t_finished) unless WA_TEST_KEEP is set,
 * and kept, with its path printed, when the test fails. */
int wa_h_daemon_init(wa_daemon *d);
void wa_t_finished(int ok);

/* Start $WA_DAEMON with the current environment plus env (NULL-terminated
 * "KEY=VALUE" list; PORT and PROVIDER_DIR are filled in unless given), and
 * wait until GET /health answers (up to 15 s). Returns 0 or -1. */
int wa_h_daemon_start(wa_daemon *d, const char *const *env);
/* Same, but with an argv tail (e.g. "--config", path). */
int wa_h_daemon_start_args(wa_daemon *d, const char *const *env,
                           const char *const *args);

/* SIGTERM and wait up to timeout_ms; returns the exit status, or -1 on
 * timeout (then SIGKILL), or 128+signal if it died of a signal. */
int wa_h_daemon_stop(wa_daemon *d, int sig, int timeout_ms);

/* Run the daemon to completion (for startup failures): exit code, and its
 * stderr in out (NUL-terminated, truncated to out_len). */
int wa_h_run_daemon(const char *const *env, const char *const *args, char *out,
                    size_t out_len);

/* Read a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
char *wa_h_slurp(const char *path, size_t *len);

/* Count lines in a file containing needle (0 if no file). */
int wa_h_count_lines(const char *path, const char *needle);

typedef struct wa_http_reply {
	long status;
	char *body; /* malloc'd, NUL-terminated */
	size_t body_len;
	char *headers; /* malloc'd raw response header block */
} wa_http_reply;

/* One request. headers: NULL-terminated "Name: value" list (may be NULL).
 * body may be NULL. Returns 0 when an HTTP reply arrived (free it with
 * wa_h_reply_free), else -1 with r zeroed (freeing it is harmless). */
int wa_h_http(const char *method, const char *url, const char *const *headers,
              const char *body, size_t body_len, wa_http_reply *r);
/* Value of a response header (case-insensitive), copied into buf. */
const char *wa_h_header(const wa_http_reply *r, const char *name, char *buf,
                        size_t len);
void wa_h_reply_free(wa_http_reply *r);

/* Poll cond(arg) every few ms until true or timeout_ms passes. */
int wa_h_wait_for(int (*cond)(void *arg), void *arg, int timeout_ms);

#endif
