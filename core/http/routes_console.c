/* routes_console.c - GET /console/...: the operator console's static files
 *
 * The pages (CONSOLE_DIR, core/console/ in the tree) are public: they hold
 * no data. Everything they show comes from the API with the admin key the
 * operator types in, kept in the tab's sessionStorage. /console/vendor/
 * chart.js/ is Debian's libjs-chart.js (CHARTJS_DIR), never a copy of ours.
 * Every answer carries a Content-Security-Policy without 'unsafe-inline':
 * no inline script or style, nothing from another origin.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/routes.h"

#define MAX_ASSET_BYTES (4 * 1024 * 1024)
#define VENDOR_PREFIX "/vendor/chart.js/"

static const char csp[] = "default-src 'self'; img-src 'self' data:; "
                          "frame-ancestors 'none'; base-uri 'none'; "
                          "form-action 'none'";

static const struct {
	const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
};

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* A path below the console: letters, digits, '.', '_', '-' and '/', no
 * empty, "." or ".." segment. */
static bool safe_path(const char *p)
{
	const char *seg = p;

	for (const char *c = p;; c++) {
		if (*c == '/' || *c == 0) {
			size_t n = (size_t)(c - seg);
			if (n == 0 || seg[0] == '.')
				return false;
			if (*c == 0)
				return true;
			seg = c + 1;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		      *c == '-'))
			return false;
	}
}

/* The whole regular file at path (malloc'd), or NULL. */
static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_ASSET_BYTES)
		goto fail;
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	if (!buf)
		goto fail;
	close(fd);
	buf[got] = 0;
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

void wa_route_console(wa_req *r)
{
	const wa_settings *s = r->app->settings;
	const char *rest = r->param, *dir = s->console_dir, *type;
	char path[2048];
	size_t len = 0;
	char *body;

	if (rest[0] && rest[0] != '/') { /* "/consolefoo" */
		wa_req_error(r, 404, "Not found", NULL);
		return;
	}
	if (!s->console_dir[0]) {
		wa_req_error(
		    r, 404, "The console is not installed (CONSOLE_DIR)", NULL);
		return;
	}
	if (rest[0] == 0) {
		wa_req_add_header(r, "Location", "/console/");
		wa_req_json(r, 308, "{\"location\":\"/console/\"}");
		return;
	}
	if (strcmp(rest, "/") == 0)
		rest = "/index.html";
	if (strncmp(rest, VENDOR_PREFIX, strlen(VENDOR_PREFIX)) == 0) {
		dir = s->chartjs_dir;
		rest += strlen(VENDOR_PREFIX) - 1;
	}
	if (!dir[0] || !safe_path(rest + 1) || !(type = type_of(rest))) {
		wa_req_error(r, 404, "Not found", NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s%s", dir, rest);
	if (!(body = read_file(path, &len))) {
		wa_req_error(r, 404, "Not found", NULL);
		return;
	}
	snprintf(r->content_type, sizeof(r->content_type), "%s", type);
	wa_req_add_header(r, "Content-Security-Policy", csp);
	wa_req_add_header(r, "X-Content-Type-Options", "nosniff");
	wa_req_add_header(r, "Referrer-Policy", "no-referrer");
	wa_req_add_header(r, "Cache-Control", "no-cache");
	wa_req_json_take(r, 200, body, len);
}
