/* jsonutil.c - strict JSON parsing of request bodies */
#include "base/jsonutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t wa_utf8_seq(const unsigned char *p, size_t n)
{
	size_t k;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0)
		k = 2, cp = p[0] & 0x1Fu;
	else if ((p[0] & 0xF0) == 0xE0)
		k = 3, cp = p[0] & 0x0Fu;
	else if ((p[0] & 0xF8) == 0xF0)
		k = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3Fu);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
	    (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

/* The 4 hex digits at p as a number, or -1. */
static long hex4(const char *p, size_t n)
{
	long v = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* What json-c lets through and RFC 8259 does not, checked on the raw text
 * before json-c sees it (json-c would turn a lone surrogate escape into
 * U+FFFD, so two different strings would become one): invalid UTF-8
 * anywhere, raw control characters and lone surrogate escapes inside
 * strings, and bare words other than true, false and null outside them
 * (NaN, Infinity, 'single quotes'). NULL, or the reason. */
static const char *lexical_error(const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	int in_str = 0;

	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];

		if (c >= 0x80) {
			size_t k = wa_utf8_seq(u + i, len - i);
			if (!k)
				return "invalid UTF-8";
			if (!in_str)
				return "unexpected character";
			i += k;
			continue;
		}
		if (in_str) {
			if (c < 0x20)
				return "control character in a string";
			if (c == '"') {
				in_str = 0;
			} else if (c == '\\' && i + 1 < len &&
			           u[i + 1] == 'u') {
				long v = hex4(buf + i + 2, len - i - 2), lo;
				if (v >= 0xDC00 && v <= 0xDFFF)
					return "lone surrogate escape";
				if (v >= 0xD800 && v <= 0xDBFF) {
					if (i + 12 > len ||
					    buf[i + 6] != '\\' ||
					    buf[i + 7] != 'u')
						return "lone surrogate escape";
					lo = hex4(buf + i + 8, len - i - 8);
					if (lo < 0xDC00 || lo > 0xDFFF)
						return "lone surrogate escape";
					i += 12;
					continue;
				}
				i += 2; /* json-c checks the hex digits */
				continue;
			} else if (c == '\\') {
				i += 2;
				continue;
			}
			i++;
			continue;
		}
		if (c == '"') {
			in_str = 1;
			i++;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           c == '\'') {
			size_t j = i;
			bool after_number =
			    i > 0 && ((u[i - 1] >= '0' && u[i - 1] <= '9') ||
			              u[i - 1] == '.');
			while (j < len && ((u[j] >= 'a' && u[j] <= 'z') ||
			                   (u[j] >= 'A' && u[j] <= 'Z')))
				j++;
			if (c == '\'')
				return "single-quoted string";
			if (!((j - i == 4 && !memcmp(buf + i, "true", 4)) ||
			      (j - i == 5 && !memcmp(buf + i, "false", 5)) ||
			      (j - i == 4 && !memcmp(buf + i, "null", 4)) ||
			      (j - i == 1 && (c == 'e' || c == 'E') &&
			       after_number)))
				return "not a JSON value (NaN, Infinity and "
				       "bare "
				       "words are not JSON)";
			i = j;
		} else {
			i++;
		}
	}
	return NULL;
}

json_object *wa_json_parse_strict(const char *buf, size_t len, char *err,
                                  size_t err_len)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t used;
	const char *why;

	if (len == 0) {
		snprintf(err, err_len, "Request body is empty");
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		snprintf(err, err_len, "Invalid JSON body: NUL byte");
		return NULL;
	}
	if (len > 0x7fffffff) {
		snprintf(err, err_len, "Invalid JSON body: too large");
		return NULL;
	}
	if ((why = lexical_error(buf, len))) {
		snprintf(err, err_len, "Invalid JSON body: %s", why);
		return NULL;
	}
	tok = json_tokener_new_ex(WA_JSON_MAX_DEPTH);
	if (!tok) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (!obj || jerr != json_tokener_success) {
		snprintf(err, err_len, "Invalid JSON body: %s",
		         jerr == json_tokener_continue
		             ? "unexpected end of input"
		             : json_tokener_error_desc(jerr));
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	for (size_t i = used; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
		    buf[i] != '\r') {
			snprintf(
			    err, err_len,
			    "Invalid JSON body: trailing data after the value");
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}
