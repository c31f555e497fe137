/* log.c - one JSON object per line on stderr */
#include "base/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/jsonutil.h"
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

/* Escape the first n bytes of s (or up to its NUL) into out. */
static size_t escape_n(const char *s, size_t n, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0;

	if (!len)
		return 0;
	while (i < n && p[i]) {
		char tmp[8];
		const char *e = NULL;
		size_t el, k = 1;

		switch (p[i]) {
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
			if (p[i] < 0x20 || p[i] == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", p[i]);
				e = tmp;
			} else if (p[i] >= 0x80) {
				k = wa_utf8_seq(p + i, n - i);
				if (!k) {
					e = "\\ufffd";
					k = 1;
				}
			}
		}
		if (e) {
			el = strlen(e);
			if (o + el >= len)
				break;
			memcpy(out + o, e, el);
			o += el;
		} else {
			if (o + k >= len)
				break;
			memcpy(out + o, p + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = 0;
	return o;
}

size_t wa_json_escape(const char *s, char *out, size_t len)
{
	return escape_n(s, (size_t)-1, out, len);
}

/* A bounded line: appends whole pieces or nothing. */
typedef struct line_buf {
	char *p;
	size_t len, used;
	bool full;
} line_buf;

static bool put(line_buf *b, const char *s, size_t n)
{
	if (b->full || b->used + n >= b->len) {
		b->full = true;
		return false;
	}
	memcpy(b->p + b->used, s, n);
	b->used += n;
	return true;
}

static bool put_str(line_buf *b, const char *s)
{
	return put(b, s, strlen(s));
}

static bool put_escaped(line_buf *b, const char *s, size_t max)
{
	char esc[6 * WA_LOG_FIELD_MAX + 8];
	size_t n = escape_n(s, max < WA_LOG_FIELD_MAX ? max : WA_LOG_FIELD_MAX,
	                    esc, sizeof(esc));
	return put(b, "\"", 1) && put(b, esc, n) && put(b, "\"", 1);
}

static bool key_ok(const char *k)
{
	if (!k || !*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

size_t wa_log_format(char *out, size_t len, wa_log_level level,
                     const char *component, const wa_log_field *fields,
                     size_t n, const char *msg)
{
	/* Room for the closing "}\n" is kept back from every piece. */
	line_buf b = {out, len > 3 ? len - 2 : 0, 0, false};
	char ts[32], esc[4096], num[32];

	if (len < 3) {
		if (len)
			out[0] = 0;
		return 0;
	}
	wa_iso8601_now(ts, sizeof(ts));
	put_str(&b, "{\"ts\":\"");
	put_str(&b, ts);
	put_str(&b, "\",\"level\":\"");
	put_str(&b, level_names[level & 3]);
	put_str(&b, "\",\"component\":");
	put_escaped(&b, component ? component : "core", 64);
	put_str(&b, ",\"msg\":\"");
	if (!put(&b, esc, wa_json_escape(msg ? msg : "", esc, sizeof(esc))))
		b.full = false; /* too long for the line: left out below */
	put_str(&b, "\"");
	for (size_t i = 0; i < n && !b.full; i++) {
		const wa_log_field *f = &fields[i];
		size_t mark = b.used;
		bool ok;

		if (!key_ok(f->key))
			continue;
		ok = put_str(&b, ",\"") && put_str(&b, f->key) &&
		     put_str(&b, "\":");
		if (ok && f->kind == WA_LF_STR) {
			ok = put_escaped(&b, f->str ? f->str : "-",
			                 WA_LOG_FIELD_MAX);
		} else if (ok && f->kind == WA_LF_BOOL) {
			ok = put_str(&b, f->num ? "true" : "false");
		} else if (ok) {
			snprintf(num, sizeof(num), "%lld", f->num);
			ok = put_str(&b, num);
		}
		if (!ok)
			b.used =
			    mark; /* drop the member, keep the JSON whole */
	}
	memcpy(out + b.used, "}\n", 2);
	b.used += 2;
	out[b.used] = 0;
	return b.used;
}

__attribute__((format(printf, 5, 0))) static void
emit(wa_log_level level, const char *component, const wa_log_field *fields,
     size_t n, const char *fmt, va_list ap)
{
	char msg[2048], line[8192];
	size_t len;

	if ((int)level < g_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len =
	    wa_log_format(line, sizeof(line), level, component, fields, n, msg);
	/* One write per line so concurrent lines never interleave. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void wa_logv(wa_log_level level, const char *component, const char *fmt,
             va_list ap)
{
	emit(level, component, NULL, 0, fmt, ap);
}

void wa_log(wa_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(level, component, NULL, 0, fmt, ap);
	va_end(ap);
}

void wa_log_kv(wa_log_level level, const char *component,
               const wa_log_field *fields, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(level, component, fields, n, fmt, ap);
	va_end(ap);
}

bool wa_log_throttle_ok(wa_log_throttle *t, long long now_ms,
                        long long interval_ms, unsigned long *held)
{
	long long next = atomic_load(&t->next_ms);

	if (now_ms >= next && atomic_compare_exchange_strong(
	                          &t->next_ms, &next, now_ms + interval_ms)) {
		*held = atomic_exchange(&t->held, 0);
		return true;
	}
	atomic_fetch_add(&t->held, 1);
	return false;
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
