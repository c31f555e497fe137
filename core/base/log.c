/* log.c - one JSON object per line on stderr */
#include "base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"

static _Atomic int g_level = WA_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void wa_log_set_level(wa_log_level level)
{
	g_level = (int)level;
}
wa_log_level wa_log_get_level(void)
{
	return (wa_log_level)g_level;
}

int wa_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return WA_LOG_WARN;
	return -1;
}

size_t wa_json_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[8];
		const char *e = NULL;
		size_t el;

		switch (*p) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (*p < 0x20) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
				e = tmp;
			}
		}
		if (e) {
			el = strlen(e);
			if (o + el >= len)
				break;
			memcpy(out + o, e, el);
			o += el;
		} else {
			if (o + 1 >= len)
				break;
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
	return o;
}

__attribute__((format(printf, 4, 0))) static void
emit(wa_log_level level, const char *component, const char *fields,
     const char *fmt, va_list ap)
{
	char msg[2048], esc[4096], line[8192], ts[32];
	int n;

	if ((int)level < g_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	wa_json_escape(msg, esc, sizeof(esc));
	wa_iso8601_now(ts, sizeof(ts));
	n = snprintf(line, sizeof(line),
	             "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\","
	             "\"msg\":\"%s\"%s%s}\n",
	             ts, level_names[level & 3], component ? component : "core",
	             esc, fields && *fields ? "," : "", fields ? fields : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 2] = '}';
		line[n - 1] = '\n';
	}
	/* One write per line so concurrent lines never interleave. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void wa_logv(wa_log_level level, const char *component, const char *fmt,
             va_list ap)
{
	emit(level, component, NULL, fmt, ap);
}

void wa_log(wa_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(level, component, NULL, fmt, ap);
	va_end(ap);
}

void wa_log_fields(wa_log_level level, const char *component,
                   const char *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(level, component, fields, fmt, ap);
	va_end(ap);
}

const char *wa_mask_phone(const char *phone, char *buf, size_t len)
{
	size_t n = phone ? strlen(phone) : 0;
	size_t keep_head = phone && phone[0] == '+' ? 5 : 4;

	if (!len)
		return buf;
	if (n <= keep_head + 2) {
		snprintf(buf, len, "***");
		return buf;
	}
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++)
		buf[o++] = (i < keep_head || i >= n - 2) ? phone[i] : '*';
	buf[o] = 0;
	return buf;
}
