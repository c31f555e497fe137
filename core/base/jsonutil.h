/* jsonutil.h - strict JSON parsing of request bodies */
#ifndef WA_JSONUTIL_H
#define WA_JSONUTIL_H

#include <stddef.h>

#include <json-c/json.h>

#define WA_JSON_MAX_DEPTH 16

/* Parse exactly one JSON value (RFC 8259) from buf[0..len): rejects
 * embedded NULs, invalid UTF-8 (overlong forms and encoded surrogates
 * included), lone surrogate escapes (\ud800 without its pair), raw control
 * characters in strings, NaN, Infinity and other bare words, nesting deeper
 * than WA_JSON_MAX_DEPTH, and anything but whitespace after the value. Returns
 * a new reference or NULL with a sentence in err. */
json_object *wa_json_parse_strict(const char *buf, size_t len, char *err,
                                  size_t err_len);

/* Length of the valid UTF-8 sequence at p (at most n bytes, n >= 1), or 0
 * when it is not one: overlong, an encoded surrogate, beyond U+10FFFF, cut. */
size_t wa_utf8_seq(const unsigned char *p, size_t n);

#endif
