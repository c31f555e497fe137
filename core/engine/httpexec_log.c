/* httpexec_log.c - provider requests in the debug log, secrets hidden */
#include "engine/httpexec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"

#define HX_LOG_LINE 4096

/* ---- redaction ------------------------------------------------------------
 */

static bool is_auth_header(const char *line, size_t *name_len)
{
	static const char *const names[] = {"authorization", "apikey",
	                                    "proxy-authorization", "x-api-key",
	                                    NULL};
	const char *colon = strchr(line, ':');

	if (!colon)
		return false;
	for (int i = 0; names[i]; i++) {
		size_t n = strlen(names[i]);

		if ((size_t)(colon - line) == n &&
		    strncasecmp(line, names[i], n) == 0) {
			*name_len = n;
			return true;
		}
	}
	return false;
}

void wa_httpexec_redact(const char *line, const char *const *secrets, char *out,
                        size_t out_len)
{
	static const char mark[] = "[redacted]";
	size_t o = 0, name_len;

	if (!out_len)
		return;
	if (is_auth_header(line, &name_len)) {
		snprintf(out, out_len, "%.*s: %s", (int)name_len, line, mark);
		return;
	}
	for (const char *s = line; *s && o + 1 < out_len;) {
		size_t hit = 0;

		for (int i = 0; secrets && secrets[i]; i++) {
			size_t n = strlen(secrets[i]);

			if (n && strncmp(s, secrets[i], n) == 0) {
				hit = n;
				break;
			}
		}
		if (hit) {
			size_t m = sizeof(mark) - 1;

			if (o + m >= out_len)
				break;
			memcpy(out + o, mark, m);
			o += m;
			s += hit;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = 0;
}

void wa_httpexec_log_request(const wa_http_request *req,
                             const char *const *secrets)
{
	char line[HX_LOG_LINE], part[WA_URL_MAX + 64];
	size_t o;
	int n;

	wa_httpexec_redact(req->url, secrets, part, sizeof(part));
	n = snprintf(line, sizeof(line),
	             "Provider request %s %s (%zu body bytes), headers:",
	             req->method[0] ? req->method : "POST", part,
	             req->body_len);
	o = n > 0 && (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	for (size_t i = 0; i < req->n_headers && o + 1 < sizeof(line); i++) {
		wa_httpexec_redact(req->headers[i], secrets, part,
		                   sizeof(part));
		n = snprintf(line + o, sizeof(line) - o, " [%s]", part);
		if (n < 0 || (size_t)n >= sizeof(line) - o)
			break;
		o += (size_t)n;
	}
	wa_log(WA_LOG_DEBUG, "http", "%s", line);
}
