/* test_watchdog.c - with no connection open the watchdog thread sleeps
 * until one comes: it wakes for deadlines, not on a period (issue 17).
 * The cutting itself is tested end to end (e2e_conns, e2e_ops). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/watchdog.h"
#include "testing.h"

/* The thread named wa-watchdog: its tid, or -1. */
static int watchdog_tid(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int tid = -1;

	while (d && tid < 0 && (e = readdir(d))) {
		char path[64], name[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
		         e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(name, sizeof(name), f) &&
		    strcmp(name, "wa-watchdog\n") == 0)
			sscanf(e->d_name, "%d", &tid);
		fclose(f);
	}
	if (d)
		closedir(d);
	return tid;
}

/* The thread's state letter (R, S, ...) and its context switches, both
 * kinds: 0, or -1 when /proc cannot tell. */
static int thread_stat(int tid, char *state, long *switches)
{
	char path[64], line[128];
	FILE *f;
	long v;

	*state = '?';
	*switches = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "State: %c", state) == 1)
			continue;
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			*switches += v;
	}
	fclose(f);
	return 0;
}

int main(void)
{
	wa_watchdog_conf conf = {.request_ms = 15000, .idle_ms = 30000};
	wa_watchdog *w = wa_watchdog_create(&conf);
	struct timespec pause = {0, 20 * 1000000L};
	struct timespec window = {1, 500 * 1000000L};
	char state = '?';
	long before = 0, after = 0;
	int tid, i;

	CHECK(w != NULL);
	if (!w)
		return wa_t_report();
	tid = watchdog_tid();
	CHECK(tid > 0);
	/* asleep after its first sweep (bounded: 5 s) */
	for (i = 0; i < 250 && tid > 0; i++) {
		if (thread_stat(tid, &state, &before) == 0 && state == 'S')
			break;
		nanosleep(&pause, NULL);
	}
	CHECK(state == 'S');
	/* The old watchdog swept every 250 ms: 6 wake-ups in this window. */
	nanosleep(&window, NULL);
	CHECK_INT(thread_stat(tid, &state, &after), 0);
	CHECK_INT(after - before, 0);
	CHECK(after > 0);
	/* it still stops at once when told */
	wa_watchdog_destroy(w);
	return wa_t_report();
}
