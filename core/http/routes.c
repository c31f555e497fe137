/* routes.c - /health, /ready and the Prefer header */
#include "http/routes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/timeutil.h"

void wa_route_health(wa_req *r)
{
	char ts[32], out[96];

	wa_iso8601_now(ts, sizeof(ts));
	snprintf(out, sizeof(out), "{\"status\":\"ok\",\"timestamp\":\"%s\"}",
	         ts);
	wa_req_json(r, 200, out);
}

/* docs/openapi.json, embedded by the build (cmake/embed.cmake). */
extern const unsigned char wa_openapi_json[];

void wa_route_openapi(wa_req *r)
{
	wa_req_json(r, 200, (const char *)wa_openapi_json);
}

static void not_ready(wa_req *r, const char *reason)
{
	char esc[600], out[700];

	wa_json_escape(reason, esc, sizeof(esc));
	snprintf(out, sizeof(out),
	         "{\"status\":\"not ready\",\"reason\":\"%s\"}", esc);
	wa_req_json(r, 503, out);
}

void wa_route_ready(wa_req *r)
{
	wa_app *app = r->app;
	char reason[512];

	if (app->stopping) {
		not_ready(r, "shutting down");
		return;
	}
	if (app->store->ops->ping(app->store, reason, sizeof(reason)) != 0) {
		char msg[560];
		snprintf(msg, sizeof(msg), "store not writable: %s", reason);
		not_ready(r, msg);
		return;
	}
	if (app->engine &&
	    !wa_engine_ready(app->engine, reason, sizeof(reason))) {
		not_ready(r, reason);
		return;
	}
	wa_req_json(r, 200, "{\"status\":\"ready\"}");
}

int wa_prefer_wait(const char *prefer, int max)
{
	const char *p = prefer;

	if (!p)
		return 0;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == ';' || *p == '\t')
			p++;
		if (strncasecmp(p, "wait", 4) == 0) {
			const char *q = p + 4;
			while (*q == ' ')
				q++;
			if (*q == '=') {
				long n;
				q++;
				while (*q == ' ' || *q == '"')
					q++;
				if (!isdigit((unsigned char)*q))
					return 0;
				n = strtol(q, NULL, 10);
				if (n <= 0)
					return 0;
				return n > max ? max : (int)n;
			}
		}
		while (*p && *p != ',' && *p != ';')
			p++;
	}
	return 0;
}
