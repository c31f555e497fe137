/* prism.c - run Prism for a test (see prism.h) */
#include "prism.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int prism_install(const char *script, const char *dir)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", script, dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int prism_up(void *arg)
{
	prism *p = arg;
	wa_http_reply r;
	char url[128];
	int st, up = 0;

	if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->pid = 0;
		return 1; /* exited: stop waiting */
	}
	snprintf(url, sizeof(url), "%s/", p->base);
	if (wa_h_http("GET", url, NULL, NULL, 0, &r) == 0) {
		up = r.status > 0;
		wa_h_reply_free(&r);
	}
	return up;
}

int prism_start(prism *p, const char *dir, const char *const *args,
                const char *tmp)
{
	char bin[1100], port[16];
	int n = wa_h_free_port();

	snprintf(bin, sizeof(bin), "%s/node_modules/.bin/prism", dir);
	snprintf(port, sizeof(port), "%d", n);
	snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%d", n);
	snprintf(p->log, sizeof(p->log), "%s/prism.log", tmp);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0); /* prism and anything it forks: one group */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		char *argv[24];
		size_t n_args = 0;

		argv[n_args++] = "prism";
		while (*args && n_args < 18)
			argv[n_args++] = (char *)*args++;
		argv[n_args++] = "-p";
		argv[n_args++] = port;
		argv[n_args++] = "-h";
		argv[n_args++] = "127.0.0.1";
		argv[n_args] = NULL;
		execv(bin, argv);
		_exit(127);
	}
	setpgid(p->pid, p->pid);
	wa_h_wait_for(prism_up, p, 60000);
	if (p->pid > 0 && prism_up(p))
		return 0;
	fprintf(stderr, "prism did not come up; log %s\n", p->log);
	return -1;
}

void prism_stop(prism *p)
{
	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGTERM);
	if (waitpid(p->pid, NULL, 0) == p->pid)
		p->pid = 0;
}
