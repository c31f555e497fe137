/* harness.c - start the real daemon on a free loopback port and talk HTTP to it
 */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Temp dirs made by wa_h_daemon_init: removed when the test passes (see
 * wa_t_finished), kept for a look when it fails or WA_TEST_KEEP is set. */
static char **g_dirs;
static size_t g_ndirs;

static void remember_dir(const char *dir)
{
	char **more = realloc(g_dirs, (g_ndirs + 1) * sizeof(*g_dirs));
	if (!more)
		return;
	g_dirs = more;
	if ((g_dirs[g_ndirs] = strdup(dir)))
		g_ndirs++;
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void wa_t_finished(int ok)
{
	for (size_t i = 0; i < g_ndirs; i++) {
		if (ok && !getenv("WA_TEST_KEEP"))
			nftw(g_dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		else
			fprintf(stderr, "kept %s\n", g_dirs[i]);
		free(g_dirs[i]);
	}
	free(g_dirs);
	g_dirs = NULL;
	g_ndirs = 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

const char *wa_h_provider_dir(void)
{
	const char *d = getenv("WA_PROVIDER_BUILD_DIR");
	return d ? d : "./providers";
}

int wa_h_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int port = -1;

	if (fd < 0)
		return -1;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int wa_h_daemon_init(wa_daemon *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/wa-test-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	remember_dir(d->dir);
	snprintf(d->log_path, sizeof(d->log_path), "%s/daemon.log", d->dir);
	return 0;
}

static int has_key(const char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return 1;
	return 0;
}

/* Build envp: environ + extras (extras win, appended last for getenv order
 * we filter duplicates out of environ). */
static char **build_env(const char *const *extra, char *port_kv, char *dir_kv,
                        char *store_kv)
{
	size_t n = 0, m = 0;
	for (char **e = environ; *e; e++)
		n++;
	for (const char *const *e = extra; e && *e; e++)
		n++;
	char **out = calloc(n + 4, sizeof(char *));
	if (!out)
		return NULL;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		char key[256];
		size_t kl = eq ? (size_t)(eq - *e) : strlen(*e);
		if (kl >= sizeof(key))
			continue;
		memcpy(key, *e, kl);
		key[kl] = 0;
		if (has_key(extra, key))
			continue;
		out[m++] = *e;
	}
	for (const char *const *e = extra; e && *e; e++)
		out[m++] = (char *)*e;
	if (port_kv)
		out[m++] = port_kv;
	if (dir_kv)
		out[m++] = dir_kv;
	if (store_kv)
		out[m++] = store_kv;
	out[m] = NULL;
	return out;
}

static int health_ok(void *arg)
{
	wa_daemon *d = arg;
	char url[128];
	wa_http_reply r;
	int ok;

	snprintf(url, sizeof(url), "%s/health", d->base);
	if (wa_h_http("GET", url, NULL, NULL, 0, &r) != 0)
		return 0;
	ok = r.status == 200;
	wa_h_reply_free(&r);
	return ok;
}

static pid_t spawn(const char *const *env, const char *const *args,
                   const char *log_path, char *port_kv, char *dir_kv,
                   char *store_kv)
{
	const char *daemon = getenv("WA_DAEMON");
	char **envp;
	pid_t pid;
	const char *argv[32];
	size_t n = 0;

	if (!daemon)
		daemon = "./wadispatchd";
	argv[n++] = daemon;
	for (const char *const *a = args; a && *a && n < 30; a++)
		argv[n++] = *a;
	argv[n] = NULL;
	envp = build_env(env, port_kv, dir_kv, store_kv);
	if (!envp)
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		execve(daemon, (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	return pid;
}

int wa_h_daemon_start_args(wa_daemon *d, const char *const *env,
                           const char *const *args)
{
	static char port_kv[32], dir_kv[1100], store_kv[400];
	char *pk = NULL, *dk = NULL, *sk = NULL;

	if (!d->dir[0] && wa_h_daemon_init(d) != 0)
		return -1;
	if (!d->port || !has_key(env, "PORT")) {
		d->port = wa_h_free_port();
		snprintf(port_kv, sizeof(port_kv), "PORT=%d", d->port);
		pk = port_kv;
	}
	if (has_key(env, "PORT")) {
		for (const char *const *e = env; *e; e++)
			if (strncmp(*e, "PORT=", 5) == 0)
				d->port = atoi(*e + 5);
		pk = NULL;
	}
	if (!has_key(env, "PROVIDER_DIR")) {
		snprintf(dir_kv, sizeof(dir_kv), "PROVIDER_DIR=%s",
		         wa_h_provider_dir());
		dk = dir_kv;
	}
	if (!has_key(env, "STORE_PATH")) {
		snprintf(store_kv, sizeof(store_kv), "STORE_PATH=%s/wa.db",
		         d->dir);
		sk = store_kv;
	}
	snprintf(d->base, sizeof(d->base), "%s://127.0.0.1:%d",
	         d->tls ? "https" : "http", d->port);
	d->pid = spawn(env, args, d->log_path, pk, dk, sk);
	if (d->pid < 0)
		return -1;
	for (int waited = 0; waited < 15000; waited += 10) {
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			fprintf(stderr, "daemon exited during start; log %s\n",
			        d->log_path);
			d->pid = 0;
			return -1;
		}
		if (health_ok(d))
			return 0;
		sleep_ms(10);
	}
	fprintf(stderr, "daemon not ready after 15 s; log %s\n", d->log_path);
	return -1;
}

int wa_h_daemon_start(wa_daemon *d, const char *const *env)
{
	return wa_h_daemon_start_args(d, env, NULL);
}

int wa_h_daemon_stop(wa_daemon *d, int sig, int timeout_ms)
{
	int st;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			return 128 + WTERMSIG(st);
		}
		sleep_ms(5);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	return -1;
}

int wa_h_run_daemon(const char *const *env, const char *const *args, char *out,
                    size_t out_len)
{
	char path[] = "/tmp/wa-run-XXXXXX";
	int fd = mkstemp(path), st = 0;
	pid_t pid;
	char *log;

	if (fd < 0)
		return -1;
	close(fd);
	pid = spawn(env, args, path, NULL, NULL, NULL);
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		unlink(path);
		return -1;
	}
	log = wa_h_slurp(path, NULL);
	if (out && out_len) {
		snprintf(out, out_len, "%s", log ? log : "");
	}
	free(log);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *wa_h_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = (cap ? cap * 2 : 8192));
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

int wa_h_count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

typedef struct buf {
	char *p;
	size_t n;
} buf;

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
	buf *b = ud;
	size_t add = size * nmemb;
	char *np = realloc(b->p, b->n + add + 1);
	if (!np)
		return 0;
	memcpy(np + b->n, data, add);
	b->p = np;
	b->n += add;
	b->p[b->n] = 0;
	return add;
}

static char g_ca[512];

void wa_h_set_ca(const char *path)
{
	snprintf(g_ca, sizeof(g_ca), "%s", path ? path : "");
}

int wa_h_http(const char *method, const char *url, const char *const *headers,
              const char *body, size_t body_len, wa_http_reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	buf b = {0}, h = {0};
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 40000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	if (g_ca[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, g_ca);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	/* No "Expect: 100-continue" games: send bodies straight away. */
	hl = curl_slist_append(hl, "Expect:");
	for (const char *const *p = headers; p && *p; p++)
		hl = curl_slist_append(hl, *p);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		/* No reply: nothing for the caller to free. */
		free(b.p);
		free(h.p);
		return -1;
	}
	r->body = b.p ? b.p : calloc(1, 1);
	r->body_len = b.n;
	r->headers = h.p ? h.p : calloc(1, 1);
	return 0;
}

const char *wa_h_header(const wa_http_reply *r, const char *name, char *out,
                        size_t len)
{
	size_t nl = strlen(name);
	const char *p = r->headers;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl = ll - nl - 1;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			if (vl >= len)
				vl = len - 1;
			memcpy(out, v, vl);
			out[vl] = 0;
			return out;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

void wa_h_reply_free(wa_http_reply *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

int wa_h_wait_for(int (*cond)(void *arg), void *arg, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (cond(arg))
			return 1;
		sleep_ms(5);
	}
	return cond(arg);
}
