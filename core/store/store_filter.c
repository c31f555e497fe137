/* store_filter.c - a wa_msg_filter as SQL, for the SQL backends */
#include "store/store_filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct buf {
	char *p;
	size_t len, used;
	bool full;
} buf;

static void put(buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->used)
		b->full = true;
	else
		b->used += (size_t)n;
}

static int arg_s(wa_filter_args *a, const char *s)
{
	a->s[a->n] = s;
	a->i[a->n] = 0;
	return ++a->n;
}

static int arg_i(wa_filter_args *a, int64_t v)
{
	a->s[a->n] = NULL;
	a->i[a->n] = v;
	return ++a->n;
}

int wa_filter_sql(const wa_msg_filter *f, bool final_only, char mark, char *sql,
                  size_t len, wa_filter_args *args)
{
	buf b = {sql, len, 0, len == 0};
	int k;

	memset(args, 0, sizeof(*args));
	if (len)
		sql[0] = 0;
	put(&b, " WHERE true");
	if (f->status >= 0) {
		k = arg_s(args, wa_msg_status_name((wa_msg_status)f->status));
		put(&b, " AND status = %c%d", mark, k);
	}
	if (final_only)
		put(&b, " AND status IN ('failed', 'canceled')");
	if (f->campaign_id && *f->campaign_id) {
		k = arg_s(args, f->campaign_id);
		put(&b, " AND campaign_id = %c%d", mark, k);
	}
	if (f->phone && *f->phone) {
		k = arg_s(args, f->phone);
		put(&b, " AND phone = %c%d", mark, k);
	}
	if (f->since_ms > 0) {
		k = arg_i(args, f->since_ms);
		put(&b, " AND created_ms >= %c%d", mark, k);
	}
	if (f->until_ms > 0) {
		k = arg_i(args, f->until_ms);
		put(&b, " AND created_ms < %c%d", mark, k);
	}
	if (f->has_after) {
		k = arg_i(args, f->after_created_ms);
		arg_s(args, f->after_id);
		put(&b, " AND (created_ms, id) < (%c%d, %c%d)", mark, k, mark,
		    k + 1);
	}
	return b.full ? -1 : 0;
}
