/* isotime.h - parse ISO 8601 / RFC 3339 date-times */
#ifndef WA_ISOTIME_H
#define WA_ISOTIME_H

#include <stdint.h>

/* Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (a space may
 * stand for the T, z for Z) into milliseconds since the epoch. The zone is
 * required: a time without one is ambiguous. 0, or -1 when s is not such a
 * date-time. */
int wa_iso8601_parse(const char *s, int64_t *ms);

#endif
