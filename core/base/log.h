/* log.h - one JSON object per line on stderr */
#ifndef WA_LOG_H
#define WA_LOG_H

#include <stdarg.h>
#include <stdbool.h>
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

/* One extra member of a log line. The logger encodes it: a string value
 * is JSON-escaped (and cut short, never mid-escape) by the logger itself,
 * so a caller never builds JSON from outside text. key must be a constant
 * name of letters, digits and '_'. */
typedef enum { WA_LF_STR, WA_LF_INT, WA_LF_BOOL } wa_log_field_kind;
typedef struct wa_log_field {
	const char *key;
	wa_log_field_kind kind;
	const char *str; /* WA_LF_STR; NULL is written as "-" */
	long long num;   /* WA_LF_INT, WA_LF_BOOL */
} wa_log_field;

#define WA_LOG_STR(k, v) ((wa_log_field){(k), WA_LF_STR, (v), 0})
#define WA_LOG_INT(k, v) ((wa_log_field){(k), WA_LF_INT, NULL, (long long)(v)})
#define WA_LOG_BOOL(k, v) ((wa_log_field){(k), WA_LF_BOOL, NULL, !!(v)})

/* Each string field is cut to this many bytes of its value before escaping. */
#define WA_LOG_FIELD_MAX 256

/* Log a sentence with n extra members appended after msg. */
void wa_log_kv(wa_log_level level, const char *component,
               const wa_log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Format one whole log line (with its newline) into out; the line is
 * always one valid JSON object whatever the inputs, cut short if need be
 * (len of 128 or more). Returns its length. What wa_log* write; exposed for
 * tests. */
size_t wa_log_format(char *out, size_t len, wa_log_level level,
                     const char *component, const wa_log_field *fields,
                     size_t n, const char *msg);

/* One line per interval for something a client can repeat at will (failed
 * keys, refused callbacks), so it cannot flood the log. Zero-initialise. */
typedef struct wa_log_throttle {
	_Atomic long long next_ms;
	_Atomic unsigned long held;
} wa_log_throttle;

/* true when a line may be written now (then *held is how many were held
 * back since the last one); false (counted) otherwise. Thread-safe. */
bool wa_log_throttle_ok(wa_log_throttle *t, long long now_ms,
                        long long interval_ms, unsigned long *held);

/* Mask a phone for logs: "+5564999998888" -> "+5564*******88". */
const char *wa_mask_phone(const char *phone, char *buf, size_t len);

/* Append s to out as JSON string content (no quotes), escaping as needed:
 * quotes, backslashes and control bytes are escaped, and a byte that is not
 * part of valid UTF-8 is written as \ufffd, so the result is always valid
 * JSON string content. Stops before an escape or character that would not
 * fit. Returns bytes written (always NUL-terminates when len > 0). */
size_t wa_json_escape(const char *s, char *out, size_t len);

#endif
