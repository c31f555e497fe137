/* test_validate.c - phone rules, field validation, strict JSON, UUIDs, Prefer
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/isotime.h"
#include "base/jsonutil.h"
#include "base/uuid.h"
#include "base/validate.h"
#include "http/routes.h"
#include "testing.h"

static void phones(void)
{
	char out[20];

	CHECK_INT(wa_phone_normalize("+5564999998888", out, sizeof(out)), 0);
	CHECK_STR(out, "+5564999998888");
	CHECK_INT(wa_phone_normalize("5564999998888", out, sizeof(out)), 0);
	CHECK_STR(out, "+5564999998888");
	CHECK_INT(wa_phone_normalize("+55 (64) 99999-8888", out, sizeof(out)),
	          0);
	CHECK_STR(out, "+5564999998888");
	CHECK_INT(wa_phone_normalize("+1.415.555.2671", out, sizeof(out)), 0);
	CHECK_STR(out, "+14155552671");
	/* 9 digits: too short; 10: the minimum */
	CHECK_INT(wa_phone_normalize("123456789", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("1234567890", out, sizeof(out)), 0);
	CHECK_STR(out, "+1234567890");
	/* 15 digits: the maximum; 16: too long */
	CHECK_INT(wa_phone_normalize("123456789012345", out, sizeof(out)), 0);
	CHECK_STR(out, "+123456789012345");
	CHECK_INT(wa_phone_normalize("1234567890123456", out, sizeof(out)), -1);
	/* letters, other symbols, empty, only symbols */
	CHECK_INT(wa_phone_normalize("+55649999a8888", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("+5564/99999888", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("+() -.", out, sizeof(out)), -1);
	CHECK_INT(
	    wa_phone_normalize("５５６４９９９９９８８８８", out, sizeof(out)),
	    -1);
	/* issue 16 #7: '+' only first, no leading 0 */
	CHECK_INT(wa_phone_normalize("5564+999998888", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("++++5564999998888++++", out, sizeof(out)),
	          -1);
	CHECK_INT(wa_phone_normalize("++5564999998888", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("5564999998888+", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("0000000000", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("005564999998888", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("+0 64 99999 8888", out, sizeof(out)), -1);
	CHECK_INT(wa_phone_normalize("  +55 64 99999 8888", out, sizeof(out)),
	          0);
	CHECK_STR(out, "+5564999998888");
	CHECK_INT(wa_phone_normalize("(55) 64 9999-98888", out, sizeof(out)),
	          0);
	CHECK_STR(out, "+5564999998888");
}

static int validate(const char *json, const char **error)
{
	char buf[160], err[128];
	wa_send_fields f;
	json_object *o =
	    wa_json_parse_strict(json, strlen(json), err, sizeof(err));
	int rc;

	if (!o) {
		*error = "parse";
		return -2;
	}
	rc = wa_validate_send(o, &f, error, buf, sizeof(buf));
	if (rc == 0)
		wa_send_fields_clear(&f);
	else if (*error == buf) {
		static char keep[160];
		snprintf(keep, sizeof(keep), "%s", buf);
		*error = keep;
	}
	json_object_put(o);
	return rc;
}

static void fields(void)
{
	const char *e = NULL;
	const char *missing = "Missing required fields: recipient_phone, "
	                      "message_body, external_id";

	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"Oi\",\"external_id\":\"c1\"}",
	                   &e),
	          0);
	CHECK_INT(
	    validate("{\"message_body\":\"Oi\",\"external_id\":\"c1\"}", &e),
	    -1);
	CHECK_STR(e, missing);
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"external_"
	                   "id\":\"c1\"}",
	                   &e),
	          -1);
	CHECK_STR(e, missing);
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"Oi\"}",
	                   &e),
	          -1);
	CHECK_STR(e, missing);
	/* empty and non-string count as missing */
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"\",\"external_id\":\"c1\"}",
	                   &e),
	          -1);
	CHECK_STR(e, missing);
	CHECK_INT(validate("{\"recipient_phone\":5564999998888,\"message_"
	                   "body\":\"Oi\",\"external_id\":\"c1\"}",
	                   &e),
	          -1);
	CHECK_STR(e, missing);
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":null,\"external_id\":\"c1\"}",
	                   &e),
	          -1);
	CHECK_STR(e, missing);
	/* missing fields win over a bad phone, as in the seed */
	CHECK_INT(validate("{\"recipient_phone\":\"12\",\"message_body\":\"\","
	                   "\"external_id\":\"c1\"}",
	                   &e),
	          -1);
	CHECK_STR(e, missing);
	CHECK_INT(validate("{\"recipient_phone\":\"12\",\"message_body\":"
	                   "\"Oi\",\"external_id\":\"c1\"}",
	                   &e),
	          -1);
	CHECK_STR(e, "Invalid phone number format");
	/* limits */
	{
		char *big = malloc(4096 * 2 + 200), *p = big;
		p += sprintf(p, "{\"recipient_phone\":\"+5564999998888\","
		                "\"external_id\":\"c\",\"message_body\":\"");
		for (int i = 0; i < 4096; i++) {
			*p++ = (char)0xc3;
			*p++ = (char)0xa1;
		} /* á */
		strcpy(p, "\"}");
		CHECK_INT(validate(big, &e),
		          0); /* 4096 characters, 8192 bytes: fine */
		p[0] = 'x';
		strcpy(p + 1, "\"}");
		CHECK_INT(validate(big, &e), -1);
		CHECK_STR(e, "message_body exceeds 4096 characters");
		free(big);
	}
	{
		char big[600];
		int n = snprintf(big, sizeof(big),
		                 "{\"recipient_phone\":\"+5564999998888\","
		                 "\"message_body\":\"x\",\"external_id\":\"");
		memset(big + n, 'e', 257);
		strcpy(big + n + 257, "\"}");
		CHECK_INT(validate(big, &e), -1);
		CHECK_CONTAINS(e, "external_id must be at most 256");
		strcpy(big + n + 256, "\"}");
		CHECK_INT(validate(big, &e), 0);
	}
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"x\",\"external_id\":\"a\\nb\"}",
	                   &e),
	          -1);
	/* template and media */
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"x\",\"external_id\":\"t\","
	                   "\"template\":{\"name\":\"hello\",\"language\":\"pt_"
	                   "BR\",\"variables\":[\"a\",\"b\"]},"
	                   "\"media_url\":\"https://example.com/a.png\"}",
	                   &e),
	          0);
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"x\",\"external_id\":\"t\","
	                   "\"template\":{\"language\":\"pt_BR\"}}",
	                   &e),
	          -1);
	CHECK_STR(e, "template.name must be a non-empty string");
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"x\",\"external_id\":\"t\","
	                   "\"template\":{\"name\":\"h\",\"variables\":[1]}}",
	                   &e),
	          -1);
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"x\",\"external_id\":\"t\","
	                   "\"media_url\":\"ftp://x\"}",
	                   &e),
	          -1);
	/* escaped NULs would cut values short downstream: refused */
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"a\\u0000b\",\"external_id\":\"n\"}",
	                   &e),
	          -1);
	CHECK_CONTAINS(e, "must not contain NUL");
	CHECK_INT(
	    validate(
	        "{\"recipient_phone\":\"+5564999998888\",\"message_body\":"
	        "\"x\",\"external_id\":\"t\","
	        "\"template\":{\"name\":\"h\",\"variables\":[\"a\\u0000\"]}}",
	        &e),
	    -1);
	CHECK_INT(validate("{\"recipient_phone\":\"+5564999998888\",\"message_"
	                   "body\":\"x\",\"external_id\":\"t\","
	                   "\"template\":{\"name\":\"h\\u0000x\"}}",
	                   &e),
	          -1);
	CHECK_INT(validate("[1,2]", &e), -1);
	CHECK_STR(e, "Request body must be a JSON object");
}

static int parses(const char *s, size_t len)
{
	char err[128];
	json_object *o = wa_json_parse_strict(s, len, err, sizeof(err));
	json_object_put(o);
	return o != NULL;
}

/* a string literal, which may hold bytes strlen would stop at */
#define PARSES(lit) parses(lit, sizeof(lit) - 1)

static void strict_json(void)
{
	char deep[200];
	size_t n = 0;

	CHECK(parses("{\"a\":1}", 7));
	CHECK(parses("{\"a\":1}\r\n  ", 11));
	CHECK(!parses("", 0));
	CHECK(!parses("{\"a\":1} x", 9));       /* trailing garbage */
	CHECK(!parses("{\"a\":1}{}", 9));       /* two values */
	CHECK(!parses("{\"a\":1}\0", 8));       /* embedded NUL after */
	CHECK(!parses("{\"a\":\"x\0y\"}", 11)); /* embedded NUL inside */
	CHECK(!parses("{\"a\":1", 6));          /* truncated */
	CHECK(!parses("{'a':1}", 7));           /* not JSON */
	CHECK(!parses("{\"a\":1,}", 8));        /* trailing comma */
	CHECK(!parses("{\"a\":\"\xff\"}", 8));  /* invalid UTF-8 */
	/* issue 16 #5: overlong forms, encoded surrogates, lone surrogate
	 * escapes (json-c would make them all U+FFFD) */
	CHECK(!PARSES("{\"a\":\"\xc0\xaf\"}"));
	CHECK(!PARSES("{\"a\":\"\xe0\x80\xaf\"}"));
	CHECK(!PARSES("{\"a\":\"\xed\xa0\x80\"}"));
	CHECK(!PARSES("{\"a\":\"\xf4\x90\x80\x80\"}"));
	CHECK(!PARSES("{\"a\":\"\\ud800\"}"));
	CHECK(!PARSES("{\"a\":\"\\udc00\"}"));
	CHECK(!PARSES("{\"a\":\"\\udbff\"}"));
	CHECK(!PARSES("{\"a\":\"\\ud800\\u0041\"}"));
	CHECK(!PARSES("{\"a\":\"\\ud800x\"}"));
	CHECK(PARSES("{\"a\":\"\\ud83d\\ude00\"}")); /* a pair */
	CHECK(PARSES("{\"a\":\"\xf0\x9f\x98\x80\xc3\xa9\"}"));
	CHECK(PARSES("{\"a\":\"\\\\ud800\"}")); /* "\\" then text */
	/* issue 16 #13: NaN, Infinity, raw control characters */
	CHECK(!PARSES("{\"a\":NaN}"));
	CHECK(!PARSES("{\"a\":-Infinity}"));
	CHECK(!PARSES("{\"a\":Infinity}"));
	CHECK(!PARSES("{\"a\":nan}"));
	CHECK(!PARSES("{\"a\":\"x\ty\"}"));
	CHECK(!PARSES("{\"a\":\"x\ny\"}"));
	CHECK(!PARSES("{\"a\":\"\x1b\"}"));
	CHECK(PARSES("{\"a\":\"x\\ty\"}")); /* the escape is fine */
	CHECK(PARSES("{\"a\":[1e5,-2.5E-3,0.1e+2,true,false,null]}"));
	for (int i = 0; i < 17; i++)
		deep[n++] = '[';
	for (int i = 0; i < 17; i++)
		deep[n++] = ']';
	CHECK(!parses(deep, n));        /* 17 levels: over the limit */
	CHECK(parses(deep + 1, n - 2)); /* 15 levels: fine */
}

static void uuids(void)
{
	char a[64], b[64];

	CHECK_INT(wa_uuid_v4(a, sizeof(a)), 0);
	CHECK_INT((int)strlen(a), 36);
	CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	CHECK(a[14] == '4');
	CHECK(strchr("89ab", a[19]) != NULL);
	for (int i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23)
			CHECK(strchr("0123456789abcdef", a[i]) != NULL);
	CHECK_INT(wa_message_id_new(b, sizeof(b)), 0);
	CHECK(strncmp(b, "msg-", 4) == 0 && strlen(b) == 40);
	/* uniqueness over many draws */
	enum { N = 20000 };
	char(*ids)[40] = malloc(N * sizeof(*ids));
	int dup = 0;
	for (int i = 0; i < N; i++)
		wa_uuid_v4(ids[i], sizeof(ids[i]));
	qsort(ids, N, sizeof(*ids),
	      (int (*)(const void *, const void *))strcmp);
	for (int i = 1; i < N; i++)
		dup += strcmp(ids[i - 1], ids[i]) == 0;
	CHECK_INT(dup, 0);
	free(ids);
	CHECK_INT(wa_uuid_v4(a, 36), -1); /* no room for the NUL */
}

/* Version 7: the time is in the text, ids sort by time, and ids made in the
 * same instant still differ. Fixed instants, so no clock is involved. */
static void uuids_v7(void)
{
	/* 2026-11-30T09:00:00.123456789Z: 1796029200123 ms = 0x01a22baeb6fb
	 * (checked: python3 -c 'print(hex(1796029200123))'), fraction
	 * 0.456789 ms * 4096 = 1871 = 0x74f. */
	struct timespec t = {.tv_sec = 1796029200, .tv_nsec = 123456789};
	struct timespec later = {.tv_sec = 1796029200, .tv_nsec = 123456790};
	struct timespec next_ms = {.tv_sec = 1796029200, .tv_nsec = 124000000};
	char a[64], b[64], c[64], m[64];

	CHECK_INT(wa_uuid_v7_at(&t, a, sizeof(a)), 0);
	CHECK_INT((int)strlen(a), 36);
	CHECK(strncmp(a, "01a22bae-b6fb-774f-", 19) == 0);
	CHECK(strchr("89ab", a[19]) != NULL);
	for (int i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23)
			CHECK(strchr("0123456789abcdef", a[i]) != NULL);
	/* same instant: same time fields, different random tail */
	CHECK_INT(wa_uuid_v7_at(&t, b, sizeof(b)), 0);
	CHECK(strncmp(a, b, 19) == 0 && strcmp(a, b) != 0);
	/* a nanosecond later is in the same 1/4096 ms step; the next
	 * millisecond sorts after both */
	CHECK_INT(wa_uuid_v7_at(&later, c, sizeof(c)), 0);
	CHECK(strncmp(a, c, 19) == 0);
	CHECK_INT(wa_uuid_v7_at(&next_ms, c, sizeof(c)), 0);
	CHECK(strncmp(c, "01a22bae-b6fc-7000-", 19) == 0);
	CHECK(strcmp(a, c) < 0 && strcmp(b, c) < 0);
	CHECK_INT(wa_uuid_v7_at(&t, a, 36), -1); /* no room for the NUL */
	/* message ids use version 7 */
	CHECK_INT(wa_message_id_new(m, sizeof(m)), 0);
	CHECK(strncmp(m, "msg-", 4) == 0 && strlen(m) == 40);
	CHECK(m[4 + 14] == '7');
	CHECK_INT(wa_message_id_new(m, 40), -1); /* no room for the NUL */
}

static void prefer(void)
{
	CHECK_INT(wa_prefer_wait(NULL, 30), 0);
	CHECK_INT(wa_prefer_wait("wait=5", 30), 5);
	CHECK_INT(wa_prefer_wait("respond-async, wait=10", 30), 10);
	CHECK_INT(wa_prefer_wait("return=minimal; wait=3", 30), 3);
	CHECK_INT(wa_prefer_wait("wait=100", 30), 30);
	CHECK_INT(wa_prefer_wait("wait=0", 30), 0);
	CHECK_INT(wa_prefer_wait("wait=abc", 30), 0);
	CHECK_INT(wa_prefer_wait("handling=strict", 30), 0);
}

/* send_at's ISO 8601 parser and the campaign_id / send_at fields. */
static void schedule_fields(void)
{
	wa_send_fields f;
	json_object *o;
	char buf[160];
	const char *e = NULL;
	int64_t ms = 0;

	CHECK_INT(wa_iso8601_parse("1970-01-01T00:00:00Z", &ms), 0);
	CHECK_INT(ms, 0);
	CHECK_INT(wa_iso8601_parse("2025-11-26T00:29:15.298Z", &ms), 0);
	CHECK_INT(ms, 1764116955298LL);
	CHECK_INT(wa_iso8601_parse("2025-11-25T21:29:15.298-03:00", &ms), 0);
	CHECK_INT(ms, 1764116955298LL);
	CHECK_INT(wa_iso8601_parse("2024-02-29 12:00:00.5+00:00", &ms), 0);
	CHECK_INT(ms, 1709208000500LL);
	CHECK_INT(wa_iso8601_parse("2025-11-26T00:29:15", &ms), -1); /* zone */
	CHECK_INT(wa_iso8601_parse("2025-02-29T00:00:00Z", &ms), -1);
	CHECK_INT(wa_iso8601_parse("2025-13-01T00:00:00Z", &ms), -1);
	CHECK_INT(wa_iso8601_parse("2025-01-01T00:00:00Zjunk", &ms), -1);
	CHECK_INT(wa_iso8601_parse("tomorrow", &ms), -1);

	o = json_tokener_parse(
	    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"Oi\","
	    "\"external_id\":\"c1\",\"campaign_id\":\"black-friday\","
	    "\"send_at\":\"2030-01-01T00:00:00Z\"}");
	CHECK_INT(wa_validate_send(o, &f, &e, buf, sizeof(buf)), 0);
	CHECK_STR(f.campaign_id, "black-friday");
	CHECK_INT(f.send_at_ms, 1893456000000LL);
	wa_send_fields_clear(&f);
	json_object_put(o);
	o = json_tokener_parse(
	    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"Oi\","
	    "\"external_id\":\"c1\",\"send_at\":\"next week\"}");
	CHECK_INT(wa_validate_send(o, &f, &e, buf, sizeof(buf)), -1);
	CHECK_CONTAINS(e, "send_at must be an ISO 8601 date-time");
	json_object_put(o);
	o = json_tokener_parse(
	    "{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"Oi\","
	    "\"external_id\":\"c1\",\"campaign_id\":\"\"}");
	CHECK_INT(wa_validate_send(o, &f, &e, buf, sizeof(buf)), -1);
	CHECK_CONTAINS(e, "campaign_id must be 1 to 64 bytes");
	json_object_put(o);
}

int main(void)
{
	phones();
	fields();
	strict_json();
	uuids();
	uuids_v7();
	prefer();
	schedule_fields();
	return wa_t_report();
}
