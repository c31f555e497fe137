/* fake_launch.c - start/stop tests/fakes/fake_provider from C tests */
#include "fake_launch.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *wa_fake_path(void)
{
	static char path[1024];
	const char *p = getenv("WA_FAKE_PROVIDER");
	const char *b = getenv("WA_BUILD_DIR");

	if (p && *p)
		return p;
	snprintf(path, sizeof(path), "%s/tests/fakes/fake_provider",
	         b ? b : ".");
	return path;
}

int wa_fake_start(wa_fake *f, const char *mode, const char *record_path,
                  const char *const *args)
{
	const char *argv[32];
	int fds[2], n = 0, used = 0;
	char line[32];

	memset(f, 0, sizeof(*f));
	snprintf(f->record, sizeof(f->record), "%s", record_path);
	argv[n++] = wa_fake_path();
	argv[n++] = mode;
	argv[n++] = record_path;
	for (const char *const *a = args; a && *a && n < 31; a++)
		argv[n++] = *a;
	argv[n] = NULL;
	if (pipe(fds) != 0)
		return -1;
	f->pid = fork();
	if (f->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (f->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	/* Readiness: the port on stdout line 1. */
	while (used < (int)sizeof(line) - 1) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		ssize_t r;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		r = read(fds[0], line + used, 1);
		if (r <= 0)
			break;
		if (line[used] == '\n')
			break;
		used++;
	}
	close(fds[0]);
	line[used] = '\0';
	f->port = atoi(line);
	if (f->port <= 0) {
		wa_fake_stop(f);
		return -1;
	}
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->port);
	return 0;
}

int wa_fake_stop(wa_fake *f)
{
	int status = 0;

	if (f->pid <= 0)
		return -1;
	kill(f->pid, SIGTERM);
	while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
		;
	f->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
