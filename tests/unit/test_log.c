/* test_log.c - every log line is one valid JSON object, whatever reaches it */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "testing.h"

/* line parses as one JSON object with exactly the members expected */
static json_object *parse_line(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;

	CHECK(len > 2 && line[len - 1] == '\n' && !memchr(line, '\n', len - 1));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len - 1);
	CHECK(o && json_tokener_get_error(tok) == json_tokener_success);
	json_tokener_free(tok);
	return o;
}

static const char *member(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
	                                           : NULL;
}

static void forged_method(void)
{
	char line[8192];
	const char *m = "GET\",\"level\":\"error\",\"msg\":\"forged";
	wa_log_field f[] = {WA_LOG_STR("method", m), WA_LOG_INT("status", 400)};
	size_t n =
	    wa_log_format(line, sizeof(line), WA_LOG_INFO, "access", f, 2, m);
	json_object *o = parse_line(line, n);

	CHECK_STR(member(o, "level"), "info");
	CHECK_STR(member(o, "method"), m);
	CHECK_STR(member(o, "msg"), m);
	CHECK_STR(member(o, "status"), "400");
	CHECK_INT(json_object_object_length(o), 6);
	json_object_put(o);
}

static void hostile_bytes(void)
{
	char line[8192];
	/* ESC, DEL, a trailing backslash, a lone continuation byte, an
	 * overlong '/', an encoded surrogate, a cut 3-byte sequence */
	const char *bad = "a\x1b[31m\x7f\x80\xc0\xaf\xed\xa0\x80\xe2\x82\\";
	wa_log_field f[] = {WA_LOG_STR("v", bad), WA_LOG_STR("w", NULL),
	                    WA_LOG_STR("bad\"key", "x"), WA_LOG_BOOL("b", 1)};
	size_t n =
	    wa_log_format(line, sizeof(line), WA_LOG_WARN, "c\"omp", f, 4, bad);
	json_object *o = parse_line(line, n);

	CHECK(strchr(member(o, "v"), 0x1b) != NULL); /* kept, escaped */
	CHECK_STR(member(o, "w"), "-");
	CHECK(member(o, "bad\"key") == NULL);
	CHECK_STR(member(o, "b"), "true");
	CHECK_STR(member(o, "component"), "c\"omp");
	CHECK(strstr(line, "\\u001b") != NULL);
	json_object_put(o);
}

static void long_values(void)
{
	static char big[20000], line[8192];
	wa_log_field f[8];
	size_t n;
	json_object *o;

	memset(big, '"', sizeof(big) - 1);
	for (int i = 0; i < 8; i++)
		f[i] = WA_LOG_STR("k", big);
	n = wa_log_format(line, sizeof(line), WA_LOG_INFO, "access", f, 8, big);
	o = parse_line(line, n);
	CHECK(o != NULL);
	CHECK_INT(strlen(member(o, "k")), WA_LOG_FIELD_MAX);
	json_object_put(o);
	/* a small buffer still ends as one object */
	n = wa_log_format(line, 200, WA_LOG_INFO, "access", f, 8, big);
	CHECK(n < 200);
	o = parse_line(line, n);
	CHECK(o != NULL);
	json_object_put(o);
	/* multi-byte text is never cut into invalid UTF-8 */
	for (size_t i = 0; i + 3 < sizeof(big); i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[sizeof(big) - 2] = 0;
	f[0] = WA_LOG_STR("euro", big);
	n = wa_log_format(line, sizeof(line), WA_LOG_INFO, "x", f, 1, big);
	o = parse_line(line, n);
	CHECK(o != NULL);
	json_object_put(o);
}

static void throttle(void)
{
	wa_log_throttle t = {0};
	unsigned long held = 99;

	CHECK(wa_log_throttle_ok(&t, 1000, 10000, &held));
	CHECK_INT(held, 0);
	for (int i = 0; i < 5; i++)
		CHECK(!wa_log_throttle_ok(&t, 1000 + i, 10000, &held));
	CHECK(!wa_log_throttle_ok(&t, 10999, 10000, &held));
	CHECK(wa_log_throttle_ok(&t, 11000, 10000, &held));
	CHECK_INT(held, 6);
}

int main(void)
{
	forged_method();
	hostile_bytes();
	long_values();
	throttle();
	return wa_t_report();
}
