/* fake_launch.h - start/stop tests/fakes/fake_provider from C tests */
#ifndef WA_FAKE_LAUNCH_H
#define WA_FAKE_LAUNCH_H

#include <sys/types.h>

typedef struct wa_fake {
	pid_t pid;
	int port;
	char base[64]; /* "http://127.0.0.1:<port>" */
	char
	    record[512]; /* the record file (one JSON line per accepted send) */
} wa_fake;

/* Path of the fake: $WA_FAKE_PROVIDER, else
 * $WA_BUILD_DIR/tests/fakes/fake_provider. */
const char *wa_fake_path(void);

/* Start `fake_provider mode record_path [args...]` (args NULL-terminated,
 * may be NULL; see fake_provider.c for the options) and wait for its port
 * line (up to 10 s). Returns 0 or -1. */
int wa_fake_start(wa_fake *f, const char *mode, const char *record_path,
                  const char *const *args);

/* SIGTERM, wait; returns its exit status (0 on a clean stop) or -1. */
int wa_fake_stop(wa_fake *f);

#endif
