/* log.h - one JSON object per line on stderr */
#ifndef WA_LOG_H
#define WA_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "wadispatch/provider.h" /* wa_log_level */

void wa_log_set_level(wa_log_level level);
wa_log_level wa_log_get_level(void);
/* Parse "debug"/"info"/"warn"/"error"; -1 if unknown. */
int wa_log_level_parse(const char *s);

/* Log a sentence from component ("http", "engine", "provider:mock"...).
 * Thread-safe: each line is written with one write(2). */
void wa_log(wa_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wa_logv(wa_log_level level, const char *component, const char *fmt,
             va_list ap) __attribute__((format(printf, 3, 0)));

/* Log a line with extra pre-encoded JSON members (e.g. "\"status\":200"),
 * appended after msg. */
void wa_log_fields(wa_log_level level, const char *component,
                   const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Mask a phone for logs: "+5564999998888" -> "+5564*******88". */
const char *wa_mask_phone(const char *phone, char *buf, size_t len);

/* Append s to out as JSON string content (no quotes), escaping as needed.
 * Returns bytes written (always NUL-terminates when len > 0). */
size_t wa_json_escape(const char *s, char *out, size_t len);

#endif
