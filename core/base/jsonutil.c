/* jsonutil.c - strict JSON parsing of request bodies */
#include "base/jsonutil.h"

#include <stdio.h>
#include <string.h>

/* json-c accepts 'single-quoted' strings even in strict mode; JSON does
 * not. True when a ' appears outside a double-quoted string. */
static int bare_single_quote(const char *buf, size_t len)
{
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_str) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				in_str = 0;
		} else if (buf[i] == '"') {
			in_str = 1;
		} else if (buf[i] == '\'') {
			return 1;
		}
	}
	return 0;
}

json_object *wa_json_parse_strict(const char *buf, size_t len, char *err,
                                  size_t err_len)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t used;

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
	if (bare_single_quote(buf, len)) {
		snprintf(err, err_len,
		         "Invalid JSON body: single-quoted string");
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
