/* test_provider_common.c - the plugins' shared helpers: official signature
 * vectors, encodings, strict JSON */
#include "pc.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

static const char *sign(const char *token, const char *url, const char *form)
{
	static char out[64];
	static wa_pc_form f;

	if (wa_pc_form_parse(&f, form, strlen(form)) != 0)
		return "(form parse failed)";
	if (wa_pc_twilio_signature(token, url, &f, out, sizeof(out)) != 0)
		return "(sign failed)";
	return out;
}

static void test_twilio_vectors(void)
{
	const char *params =
	    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309"
	    "&Digits=1234&From=%2B14158675309&To=%2B18005551212";
	/* Same fields, shuffled: the routine sorts. */
	const char *shuffled =
	    "To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE"
	    "&From=%2B14158675309&Caller=%2B14158675309";
	char out[64];

	/* twilio-node / twilio-python unit-test vector (providers.md 1.6). */
	CHECK_STR(sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
	               params),
	          "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
	CHECK_STR(sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
	               shuffled),
	          "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
	CHECK_STR(sign("12345",
	               "https://mycompany.com:443/myapp.php?foo=1&bar=2",
	               params),
	          "kvajT1Ptam85bY51eRf/AJRuM3w=");
	CHECK_STR(sign("12345",
	               "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
	               params),
	          "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
	/* Repeated keys: values de-duplicated and sorted. */
	CHECK_STR(sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
	               "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&"
	               "Digits=1234"),
	          "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
	/* JSON-body case: URL only, no parameters. */
	CHECK(wa_pc_twilio_signature(
	          "12345",
	          "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
	          "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e"
	          "6620",
	          NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "a9nBmqA0ju/hNViExpshrM61xv4=");
	/* The current Twilio "Security" docs page. */
	CHECK_STR(sign("12345", "https://example.com/myapp.php?foo=1&bar=2",
	               "Digits=1234&To=%2B18005551212&From=%2B14158675310"
	               "&Caller=%2B14158675310&CallSid=CA1234567890ABCDE"),
	          "L/OH5YylLD5NRKLltdqwSvS0BnU=");
	/* A '+' left unencoded is a space: the signature must change. */
	CHECK(strcmp(sign("12345", "https://example.com/myapp.php?foo=1&bar=2",
	                  "Digits=1234&To=+18005551212&From=%2B14158675310"
	                  "&Caller=%2B14158675310&CallSid=CA1234567890ABCDE"),
	             "L/OH5YylLD5NRKLltdqwSvS0BnU=") != 0);
}

static void test_hmac_sha256(void)
{
	unsigned char mac[32];
	char hex[65];

	CHECK(wa_pc_hmac_sha256("secret", "test", 4, mac) == 0);
	CHECK(wa_pc_hex(mac, 32, hex, sizeof(hex)) == 0);
	CHECK_STR(
	    hex,
	    "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
	CHECK(wa_pc_hex(mac, 32, hex, 64) == -1);
}

static void test_encodings(void)
{
	char buf[256], out[64];
	wa_pc_buf b;
	wa_pc_form f;

	CHECK(wa_pc_base64((const unsigned char *)"AC:tok", 6, out,
	                   sizeof(out)) == 0);
	CHECK_STR(out, "QUM6dG9r");
	CHECK(wa_pc_base64((const unsigned char *)"ab", 2, out, 4) == -1);

	wa_pc_buf_init(&b, buf, sizeof(buf));
	wa_pc_form_add(&b, "To", "whatsapp:+15558675310");
	wa_pc_form_add(&b, "Body", "Olá & a=b ~._-");
	CHECK(!b.overflow);
	CHECK_STR(
	    buf,
	    "To=whatsapp%3A%2B15558675310&Body=Ol%C3%A1%20%26%20a%3Db%20~._-");
	CHECK(wa_pc_form_parse(&f, buf, strlen(buf)) == 0);
	CHECK_INT(f.n, 2);
	CHECK_STR(wa_pc_form_get(&f, "To"), "whatsapp:+15558675310");
	CHECK_STR(wa_pc_form_get(&f, "Body"), "Olá & a=b ~._-");
	CHECK(wa_pc_form_get(&f, "From") == NULL);

	wa_pc_buf_init(&b, buf, 8);
	wa_pc_buf_adds(&b, "1234567");
	CHECK(!b.overflow);
	wa_pc_buf_adds(&b, "8");
	CHECK(b.overflow);
	CHECK_STR(buf, "1234567");

	CHECK(wa_pc_pct_decode("a%2", 3, out, sizeof(out)) == -1);
	CHECK(wa_pc_pct_decode("a%G1", 4, out, sizeof(out)) == -1);
	CHECK(wa_pc_pct_decode("a+b%21", 6, out, sizeof(out)) == 4);
	CHECK_STR(out, "a b!");
	CHECK(wa_pc_pct_decode("abcdef", 6, out, 4) == -1);
	CHECK(wa_pc_form_parse(&f, "a=%00b", 6) == -1); /* embedded NUL */
	CHECK(wa_pc_form_parse(&f, "&&a&b=&", 7) == 0);
	CHECK_INT(f.n, 2);
	CHECK_STR(wa_pc_form_get(&f, "a"), "");

	CHECK_INT(wa_pc_utf8_len("abc"), 3);
	CHECK_INT(wa_pc_utf8_len("Olá 😀"), 5);
	CHECK(wa_pc_digits("+55 (11) 99999-0000", out, sizeof(out)) == 0);
	CHECK_STR(out, "5511999990000");
	CHECK(wa_pc_digits("+", out, sizeof(out)) == -1);
	CHECK(wa_pc_is_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "AC", 32));
	CHECK(!wa_pc_is_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag", "AC", 32));
	CHECK(!wa_pc_is_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag", "AC", 32));
	wa_pc_copy_masked(out, sizeof(out),
	                  "The 'To' number whatsapp:+15558675310 is bad\n");
	CHECK_STR(out, "The 'To' number whatsapp:+*********10 is bad ");
	/* issue 16 #14: numbers broken up by separators */
	wa_pc_copy_masked(out, sizeof(out), "to 5564 9999 8888.");
	CHECK_STR(out, "to **** **** **88.");
	wa_pc_copy_masked(out, sizeof(out), "to 556-4999-98888!");
	CHECK_STR(out, "to ***-****-***88!");
	wa_pc_copy_masked(out, sizeof(out), "+55 (64) 99999-8888 x");
	CHECK_STR(out, "+** (**) *****-**88 x");
	wa_pc_copy_masked(out, sizeof(out), "code 131 at 12:30, 1.5 s");
	CHECK_STR(out, "code 131 at 12:30, 1.5 s");
	CHECK(wa_pc_ct_streq("abc", "abc"));
	CHECK(!wa_pc_ct_streq("abc", "abd"));
	CHECK(!wa_pc_ct_streq("abc", "abcd"));
	CHECK(!wa_pc_ct_streq(NULL, "abc"));
	CHECK_INT(wa_pc_retry_after_ms("7"), 7000);
	CHECK_INT(wa_pc_retry_after_ms(" 99999 "), 3600000);
	CHECK_INT(wa_pc_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
	CHECK_INT(wa_pc_retry_after_ms(NULL), 0);
}

/* Retry-After as an HTTP-date, against a fixed now: 1994-11-06T08:49:00Z
 * = 784111740 s (python3 -c 'import calendar;
 * print(calendar.timegm((1994,11,6,8,49,0)))'). */
static void test_retry_after_dates(void)
{
	static const struct {
		const char *value;
		int64_t now_plus_ms;
		long want_ms;
	} cases[] = {
	    /* the three forms RFC 9110 has recipients accept */
	    {"Sun, 06 Nov 1994 08:49:37 GMT", 0, 37000},
	    {"Sunday, 06-Nov-94 08:49:37 GMT", 0, 37000},
	    {"Sun Nov  6 08:49:37 1994", 0, 37000},
	    {" Sun, 06 Nov 1994 08:49:37 GMT ", 500, 36500},
	    /* in the past or now: no hint; far ahead: capped at one hour */
	    {"Sun, 06 Nov 1994 08:48:00 GMT", 0, 0},
	    {"Sun, 06 Nov 1994 08:49:00 GMT", 0, 0},
	    {"Mon, 07 Nov 1994 08:49:00 GMT", 0, 3600000},
	    /* malformed: zone, month, fields, trailing text, truncated */
	    {"Sun, 06 Nov 1994 08:49:37 UTC", 0, 0},
	    {"Sun, 06 Foo 1994 08:49:37 GMT", 0, 0},
	    {"Sun, 06 nov 1994 08:49:37 GMT", 0, 0},
	    {"Sun, 32 Nov 1994 08:49:37 GMT", 0, 0},
	    {"Sun, 06 Nov 1994 24:49:37 GMT", 0, 0},
	    {"Sun, 06 Nov 1994 08:49:37 GMT junk", 0, 0},
	    {"Sun, 06 Nov 1994", 0, 0},
	    {"7 s", 0, 0},
	};
	const int64_t now = 784111740LL * 1000;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = (long)wa_pc_retry_after_ms_at(
		    cases[i].value, now + cases[i].now_plus_ms);
		if (got != cases[i].want_ms)
			fprintf(stderr, "Retry-After \"%s\": %ld, want %ld\n",
			        cases[i].value, got, cases[i].want_ms);
		CHECK(got == cases[i].want_ms);
	}
}

static void test_json(void)
{
	json_object *o;
	int64_t v = 0;
	char deep[200];
	size_t n = 0;

	o = wa_pc_json_parse("{\"a\":{\"b\":\"12\"},\"c\":3} \n", 24);
	CHECK(o != NULL);
	CHECK(wa_pc_json_int(o, "a.b", &v) && v == 12);
	CHECK(wa_pc_json_int(o, "c", &v) && v == 3);
	CHECK(wa_pc_json_str(o, "c") == NULL);
	CHECK(wa_pc_json_path(o, "a.x") == NULL);
	json_object_put(o);
	CHECK(wa_pc_json_parse("{\"a\":1}x", 8) == NULL); /* trailing garbage */
	CHECK(wa_pc_json_parse("{\"a\":1}{}", 9) == NULL); /* two values */
	CHECK(wa_pc_json_parse("{\"a\":1", 6) == NULL);    /* truncated */
	CHECK(wa_pc_json_parse("{\"a\":1}\0", 8) == NULL); /* NUL */
	CHECK(wa_pc_json_parse("", 0) == NULL);
	CHECK(wa_pc_json_parse("{\"a\":\"\xff\"}", 9) == NULL); /* bad UTF-8 */
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	CHECK(wa_pc_json_parse(deep, n) == NULL); /* depth > 32 */
	o = wa_pc_json_parse(deep + 10, 60);      /* depth 30 */
	CHECK(o != NULL);
	json_object_put(o);
}

/* pc_inbound.c: addresses, UTF-8 copies, the reply's 1.2 arrays. */
static void test_inbound_helpers(void)
{
	static const char *const bad[] = {NULL,
	                                  "",
	                                  "+",
	                                  "whatsapp:",
	                                  "1234567",
	                                  "+0123456789",
	                                  "1234567890123456",
	                                  "5511999999999@g.us",
	                                  "55119999a9999",
	                                  "whatsapp:++5511999999999",
	                                  "123456789012345@lid"};
	wa_callback_reply *r = calloc(1, sizeof(*r));
	wa_inbound_message *m;
	char out[WA_ADDRESS_MAX], small[8];
	bool full;

	CHECK_INT(wa_pc_phone("whatsapp:+5511999999999", out, sizeof(out)), 0);
	CHECK_STR(out, "+5511999999999");
	CHECK_INT(wa_pc_phone("5511999999999@s.whatsapp.net", out, sizeof(out)),
	          0);
	CHECK_STR(out, "+5511999999999");
	CHECK_INT(wa_pc_phone("16505551234", out, sizeof(out)), 0);
	CHECK_STR(out, "+16505551234");
	CHECK_INT(wa_pc_phone("12345678", out, sizeof(out)), 0);
	CHECK_INT(wa_pc_phone("123456789012345", out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(wa_pc_phone(bad[i], out, sizeof(out)), -1);
	CHECK_INT(wa_pc_phone("5511999999999", small, sizeof(small)), -1);

	/* Valid UTF-8 kept; invalid bytes, overlongs and surrogates become
	 * '?'; controls spaces (tab and newline kept); cuts on a boundary. */
	CHECK(wa_pc_copy_utf8(out, sizeof(out), "Olá\tmundo\n€"));
	CHECK_STR(out, "Olá\tmundo\n€");
	CHECK(wa_pc_copy_utf8(out, sizeof(out),
	                      "a\xff"
	                      "b\xc0\xaf"
	                      "c\x01"));
	CHECK_STR(out, "a?b??c ");
	CHECK(wa_pc_copy_utf8(out, sizeof(out),
	                      "\xed\xa0\x80"
	                      "!"));
	CHECK_STR(out, "??"
	               "?!");
	CHECK(!wa_pc_copy_utf8(small, 5, "ab€€"));
	CHECK_STR(small, "ab"); /* "ab" + 3 bytes would need 6 */
	CHECK(!wa_pc_copy_utf8(small, sizeof(small), "abcdefgh"));
	CHECK_STR(small, "abcdefg");
	CHECK(wa_pc_copy_utf8(small, sizeof(small), NULL));
	CHECK_STR(small, "");

	CHECK_INT(wa_pc_media_type("image/webp"), WA_INBOUND_IMAGE);
	CHECK_INT(wa_pc_media_type("audio/ogg"), WA_INBOUND_AUDIO);
	CHECK_INT(wa_pc_media_type("video/3gpp"), WA_INBOUND_VIDEO);
	CHECK_INT(wa_pc_media_type("application/pdf"), WA_INBOUND_DOCUMENT);
	CHECK_INT(wa_pc_media_type(NULL), WA_INBOUND_DOCUMENT);

	/* A 1.1-sized reply has no room: nothing is written past it. */
	r->struct_size = offsetof(wa_callback_reply, failure_class);
	CHECK(!wa_pc_reply_has_inbound(r));
	CHECK(wa_pc_reply_inbound(r, "x", WA_INBOUND_TEXT, "+5511999999999",
	                          &full) == NULL);
	CHECK(!full);
	CHECK(!wa_pc_reply_contact(r, WA_CONTACT_OPTED_OUT, "+5511999999999", 0,
	                           "s", NULL));
	r->n_updates = 1;
	wa_pc_reply_update_class(r, WA_FAILURE_RETRYABLE);
	CHECK_INT(r->failure_class[0], WA_FAILURE_UNSPECIFIED);

	r->struct_size = sizeof(*r);
	wa_pc_reply_update_class(r, WA_FAILURE_RETRYABLE);
	CHECK_INT(r->failure_class[0], WA_FAILURE_RETRYABLE);
	for (int i = 0; i < WA_INBOUND_MAX; i++) {
		char id[16];

		snprintf(id, sizeof(id), "id%d", i);
		m = wa_pc_reply_inbound(r, id, WA_INBOUND_TEXT,
		                        "+5511999999999", &full);
		CHECK(m != NULL);
		if (m)
			WA_PC_INBOUND_SET(m, text, "x");
	}
	CHECK(wa_pc_reply_inbound(r, "id0", WA_INBOUND_TEXT, "+5511999999999",
	                          &full) == NULL);
	CHECK(!full); /* a repeat, not an overflow */
	CHECK(wa_pc_reply_inbound(r, "new", WA_INBOUND_TEXT, "+5511999999999",
	                          &full) == NULL);
	CHECK(full);
	CHECK_INT(r->n_inbound, WA_INBOUND_MAX);
	for (int i = 0; i < WA_CONTACT_EVENTS_MAX; i++)
		CHECK(wa_pc_reply_contact(r, WA_CONTACT_OPTED_IN,
		                          "+5511999999999", 1, "src",
		                          "call 5511999999999"));
	CHECK(!wa_pc_reply_contact(r, WA_CONTACT_OPTED_IN, "+5511999999999", 1,
	                           "src", NULL));
	CHECK(strstr(r->contact_events[0].detail, "5511999999999") == NULL);
	free(r);
}

/* wa_pc_content: the 1.2 content fields as a plugin reads them. */
static void test_content(void)
{
	wa_message m;
	wa_result res;
	json_object *c, *part;
	const char *which;

	memset(&m, 0, sizeof(m));
	memset(&res, 0, sizeof(res));
	m.struct_size = sizeof(m);
	/* no content: the message is text (or 1.1 fields) */
	CHECK_INT(wa_pc_content(&m, ~0u, "x", &res, &c, &part, &which), 0);
	m.content_json = "{\"media\":{\"type\":\"image\",\"url\":\"https://"
	                 "e.x/a.png\"}}";
	m.content_kinds = WA_CONTENT_IMAGE;
	CHECK_INT(wa_pc_content(&m, WA_CONTENT_TEXT | WA_CONTENT_IMAGE, "x",
	                        &res, &c, &part, &which),
	          1);
	CHECK_STR(which ? which : "", "media");
	CHECK_STR(wa_pc_cstr(part, "url") ? wa_pc_cstr(part, "url") : "",
	          "https://e.x/a.png");
	CHECK(wa_pc_cstr(part, "caption") == NULL);
	json_object_put(c);
	/* a kind not declared: REJECT, nothing parsed */
	CHECK_INT(
	    wa_pc_content(&m, WA_CONTENT_TEXT, "Acme", &res, &c, &part, &which),
	    -1);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	CHECK_CONTAINS(res.error, "Acme does not send this content");
	CHECK(c == NULL && part == NULL);
	/* unreadable content: REJECT */
	memset(&res, 0, sizeof(res));
	m.content_json = "{\"media\":7}";
	CHECK_INT(wa_pc_content(&m, ~0u, "x", &res, &c, &part, &which), -1);
	CHECK_INT(res.result_class, WA_RESULT_REJECT);
	/* a host struct without the 1.2 fields: no content read */
	m.struct_size = offsetof(wa_message, content_kinds);
	CHECK_INT(wa_pc_content(&m, ~0u, "x", &res, &c, &part, &which), 0);
}

int main(void)
{
	test_twilio_vectors();
	test_hmac_sha256();
	test_encodings();
	test_retry_after_dates();
	test_json();
	test_inbound_helpers();
	test_content();
	return wa_t_report();
}
