/* prism.h - run Prism (npm @stoplight/prism-cli@5) for a test: install it
 * once into a cache dir, start it on a free loopback port, stop it */
#ifndef WA_T_PRISM_H
#define WA_T_PRISM_H

#include <sys/types.h>

#define PRISM_SKIP 77

typedef struct prism {
	pid_t pid;
	char base[64]; /* http://127.0.0.1:<port> */
	char log[300]; /* its stdout and stderr */
} prism;

/* Run prism_install.sh DIR: 0 when usable, PRISM_SKIP when node/npm or the
 * npm registry is unavailable, another value on failure. */
int prism_install(const char *script, const char *dir);
/* Start DIR's prism with args (NULL-terminated, e.g. {"mock", "--errors",
 * spec, NULL}) plus -p/-h on a free port, its log in tmp/prism.log, and
 * wait until it answers. 0, or -1 with the log path on stderr. */
int prism_start(prism *p, const char *dir, const char *const *args,
                const char *tmp);
/* Stop it and everything it forked. */
void prism_stop(prism *p);

#endif
