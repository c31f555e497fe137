/* store_filter.h - a wa_msg_filter as SQL, for the SQL backends */
#ifndef WA_STORE_FILTER_H
#define WA_STORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define WA_FILTER_MAX_ARGS 8

/* The filter's values, in placeholder order: a text (s) or, when s is
 * NULL, an integer (i). */
typedef struct wa_filter_args {
	int n;
	const char *s[WA_FILTER_MAX_ARGS];
	int64_t i[WA_FILTER_MAX_ARGS];
} wa_filter_args;

/* Write " WHERE ..." for f into sql (placeholders mark followed by the
 * 1-based number: '?' gives ?1 for SQLite, '$' gives $1 for PostgreSQL)
 * and the values into args. final_only restricts it to failed and
 * canceled messages (requeue). The keyset condition uses the row value
 * (created_ms, id), which both engines match to an index. 0, or -1 when
 * sql is too small. */
int wa_filter_sql(const wa_msg_filter *f, bool final_only, char mark, char *sql,
                  size_t len, wa_filter_args *args);

#endif
