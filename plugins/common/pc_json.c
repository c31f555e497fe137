/* pc_json.c - strict, depth-limited json-c parsing and small path getters */
#include "pc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_JSON_DEPTH 32

json_object *wa_pc_json_parse(const char *s, size_t n)
{
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (!s || n == 0 || n > (size_t)64 << 20 || memchr(s, '\0', n))
		return NULL;
	tok = json_tokener_new_ex(PC_JSON_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < n; end++) {
		if (s[end] != ' ' && s[end] != '\t' && s[end] != '\r' &&
		    s[end] != '\n') {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

json_object *wa_pc_json_path(json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		json_object *next = NULL;

		if (n >= sizeof(key) ||
		    !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &next))
			return NULL;
		o = next;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

const char *wa_pc_json_str(json_object *o, const char *path)
{
	json_object *v = wa_pc_json_path(o, path);

	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool wa_pc_json_int(json_object *o, const char *path, int64_t *out)
{
	json_object *v = wa_pc_json_path(o, path);

	if (!v)
		return false;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return true;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end = NULL;
		long long x;

		if (!*s || strlen(s) > 19)
			return false;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end)
			return false;
		*out = x;
		return true;
	}
	return false;
}

const char *wa_pc_json_text(json_object *o)
{
	return json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int wa_pc_json_post(wa_http_request *req, wa_result *res, const char *url,
                    json_object *o, const char *auth_name,
                    const char *auth_value)
{
	const char *text = o ? wa_pc_json_text(o) : NULL;
	size_t n = text ? strlen(text) : 0;

	if (!text) {
		wa_pc_result(res, WA_RESULT_RETRY, 0, NULL,
		             "Out of memory building the request.");
		return -1;
	}
	if (n >= req->body_cap) {
		wa_pc_result(
		    res, WA_RESULT_REJECT, 0, NULL,
		    "Request does not fit the host's %zu-byte body buffer.",
		    req->body_cap);
		return -1;
	}
	memcpy(req->body, text, n + 1);
	req->body_len = n;
	snprintf(req->method, sizeof(req->method), "POST");
	snprintf(req->url, sizeof(req->url), "%s", url);
	if (wa_pc_req_header(req, auth_name, auth_value) != 0 ||
	    wa_pc_req_header(req, "Content-Type", "application/json") != 0 ||
	    wa_pc_req_header(req, "Accept", "application/json") != 0) {
		wa_pc_result(
		    res, WA_RESULT_CONFIG, 0, NULL,
		    "Request headers do not fit the host's header table.");
		return -1;
	}
	return 0;
}
