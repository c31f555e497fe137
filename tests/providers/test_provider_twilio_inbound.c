/* test_provider_twilio_inbound.c - twilio.so's inbound side: the incoming
 * message webhook (text, media, button, reply), late failure classes,
 * duplicates, malformed, unsigned and forged requests */
#include "fakehost.h"
#include "pc.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define SID "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN "test_auth_token_0123456789abcdef"
#define URL "https://wa.example.com/v1/providers/twilio/callback"

static const wa_provider *p;
static void *st;
static wa_callback_reply *r; /* 170+ KiB: on the heap */

static void cb(const char *body, const char *sig)
{
	const char *h[] = {"X-Twilio-Signature", sig, NULL};

	fh_callback(p, st, "POST", URL, "", "application/x-www-form-urlencoded",
	            body, strlen(body), sig ? h : NULL, r);
}

static const char *sign(const char *body)
{
	static char out[64];
	static wa_pc_form f;

	if (wa_pc_form_parse(&f, body, strlen(body)) != 0 ||
	    wa_pc_twilio_signature(TOKEN, URL, &f, out, sizeof(out)) != 0)
		return "";
	return out;
}

/* A fixture, signed: 200 and one inbound message from +15558675310. */
static const wa_inbound_message *one(const char *fixture)
{
	size_t n;
	char *body = fh_fixture(fixture, &n);

	cb(body, sign(body));
	free(body);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_updates, 0);
	CHECK_INT(r->n_inbound, 1);
	CHECK_STR(r->inbound[0].from, "+15558675310");
	CHECK_STR(r->inbound[0].to, "+14155552345");
	CHECK_STR(r->inbound[0].sender_name, "Kerry Fisher");
	CHECK_INT(r->inbound[0].occurred_at_ms, 0); /* Twilio sends no time */
	return &r->inbound[0];
}

static void test_types(void)
{
	const wa_inbound_message *m;
	char *body;
	size_t n;

	m = one("twilio_inbound_text.form");
	CHECK_INT(m->type, WA_INBOUND_TEXT);
	CHECK_STR(m->provider_message_id, "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	CHECK_STR(m->text, "Parar, por favor");
	CHECK_STR(m->context_id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_STR(m->media_url, "");

	m = one("twilio_inbound_media.form");
	CHECK_INT(m->type, WA_INBOUND_IMAGE);
	CHECK_STR(m->provider_message_id, "MMcccccccccccccccccccccccccccccccc");
	CHECK_STR(m->text, "Comprovante");
	CHECK_STR(m->media_mime, "image/jpeg");
	CHECK_CONTAINS(m->media_url,
	               "/Messages/MMcccccccccccccccccccccccccccccccc/Media/ME");

	m = one("twilio_inbound_button.form");
	CHECK_INT(m->type, WA_INBOUND_BUTTON);
	CHECK_STR(m->reply_id, "confirm-42");
	CHECK_STR(m->text, "Confirmar");
	CHECK_STR(m->context_id, "MMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");

	/* Media kinds from the content type when MessageType is absent. */
	{
		static const struct {
			const char *mime;
			wa_inbound_type type;
		} kinds[] = {
		    {"application%2Fpdf", WA_INBOUND_DOCUMENT},
		    {"audio%2Fogg", WA_INBOUND_AUDIO},
		    {"video%2Fmp4", WA_INBOUND_VIDEO},
		    {"image%2Fpng", WA_INBOUND_IMAGE},
		};
		char b[512];

		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			snprintf(
			    b, sizeof(b),
			    "MessageSid=MMdddddddddddddddddddddddddddddddd&"
			    "From=whatsapp%%3A%%2B15558675310&Body=&NumMedia="
			    "1&MediaContentType0=%s&MediaUrl0=https%%3A%%2F%%"
			    "2Fapi.twilio.com%%2Fm",
			    kinds[i].mime);
			cb(b, sign(b));
			CHECK_INT(r->http_status, 200);
			CHECK_INT(r->n_inbound, 1);
			CHECK_INT(r->inbound[0].type, kinds[i].type);
			CHECK_STR(r->inbound[0].media_url,
			          "https://api.twilio.com/m");
			CHECK_STR(r->inbound[0].to, "");
		}
	}
	/* A location (MessageType other than text, no media). */
	body = "MessageSid=SMdddddddddddddddddddddddddddddddd&From=whatsapp%3A%"
	       "2B15558675310&Body=&NumMedia=0&MessageType=location&Latitude="
	       "1&Longitude=2";
	cb(body, sign(body));
	CHECK_INT(r->n_inbound, 1);
	CHECK_INT(r->inbound[0].type, WA_INBOUND_OTHER);

	/* The same webhook twice gives the same message twice: the host
	 * deduplicates by MessageSid. */
	body = fh_fixture("twilio_inbound_text.form", &n);
	cb(body, sign(body));
	CHECK_INT(r->n_inbound, 1);
	cb(body, sign(body));
	CHECK_INT(r->n_inbound, 1);
	CHECK_STR(r->inbound[0].provider_message_id,
	          "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	free(body);
}

static void test_failure_class(void)
{
	static const struct {
		const char *code;
		wa_failure_class cls;
	} cases[] = {
	    {"63018", WA_FAILURE_RETRYABLE}, {"30001", WA_FAILURE_RETRYABLE},
	    {"21611", WA_FAILURE_RETRYABLE}, {"20429", WA_FAILURE_RETRYABLE},
	    {"63016", WA_FAILURE_PERMANENT}, {"63003", WA_FAILURE_PERMANENT},
	    {"30008", WA_FAILURE_PERMANENT},
	};
	char b[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(b, sizeof(b),
		         "MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&"
		         "MessageStatus=%s&ErrorCode=%s",
		         i % 2 ? "undelivered" : "failed", cases[i].code);
		cb(b, sign(b));
		CHECK_INT(r->http_status, 200);
		CHECK_INT(r->n_updates, 1);
		CHECK_INT(r->updates[0].status, WA_STATUS_FAILED);
		CHECK_INT(r->failure_class[0], cases[i].cls);
		CHECK_INT(r->n_inbound, 0);
	}
	cb("MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=failed",
	   sign("MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus="
	        "failed"));
	CHECK_INT(r->failure_class[0], WA_FAILURE_PERMANENT);
	cb("MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=read",
	   sign("MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus="
	        "read"));
	CHECK_INT(r->failure_class[0], WA_FAILURE_UNSPECIFIED);
}

static void test_refused(void)
{
	size_t n;
	char *body = fh_fixture("twilio_inbound_text.form", &n), *mod;
	const char *b;

	cb(body, NULL);
	CHECK_INT(r->http_status, 403);
	CHECK_INT(r->n_inbound, 0);
	cb(body, "xISWryz47By1wJ8RdtBLSQBKRm8=");
	CHECK_INT(r->http_status, 403);
	CHECK_INT(r->n_inbound, 0);
	mod = strdup(body);
	memcpy(strstr(mod, "Body=Parar"), "Body=Sair!", 10);
	cb(mod, sign(body));
	CHECK_INT(r->http_status, 403);
	CHECK_INT(r->n_inbound, 0);
	free(mod);
	free(body);
	/* Signed but malformed: bad sid, no sender, bad NumMedia. */
	b = "MessageSid=XX1&From=whatsapp%3A%2B15558675310&Body=oi";
	cb(b, sign(b));
	CHECK_INT(r->http_status, 400);
	CHECK_INT(r->n_inbound, 0);
	b = "MessageSid=SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&Body=oi";
	cb(b, sign(b));
	CHECK_INT(r->http_status, 400);
	b = "MessageSid=SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&From=whatsapp%3A%"
	    "2B1555&Body=oi";
	cb(b, sign(b));
	CHECK_INT(r->http_status, 400);
	b = "MessageSid=SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&From=whatsapp%3A%"
	    "2B15558675310&NumMedia=x";
	cb(b, sign(b));
	CHECK_INT(r->http_status, 400);
	CHECK_INT(r->n_inbound, 0);
	/* Invalid UTF-8 and control bytes in Body: cleaned, kept. */
	b = "MessageSid=SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&From=whatsapp%3A%"
	    "2B15558675310&Body=a%FFb%01c%0Ad";
	cb(b, sign(b));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 1);
	CHECK_STR(r->inbound[0].text, "a?b c\nd");
	/* A GET (no body) is never an inbound message. */
	fh_callback(p, st, "GET", URL, "", NULL, "", 0,
	            (const char *[]){"X-Twilio-Signature", sign(""), NULL}, r);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 0);
}

int main(void)
{
	const char *kv[] = {"TWILIO_ACCOUNT_SID=" SID,
	                    "TWILIO_AUTH_TOKEN=" TOKEN,
	                    "TWILIO_FROM=+14155552345", NULL};
	const char *extra[] = {TOKEN, "15558675310", NULL};
	char err[256];

	p = fh_load("twilio");
	CHECK(p->content_kinds & WA_CONTENT_TEXT);
	CHECK(p->content_kinds & WA_CONTENT_DOCUMENT);
	CHECK(!(p->content_kinds & (WA_CONTENT_BUTTONS | WA_CONTENT_LIST)));
	/* A template's header media lives in the Content template itself. */
	CHECK(!(p->content_kinds & WA_CONTENT_TEMPLATE_MEDIA));
	r = calloc(1, sizeof(*r));
	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	test_types();
	test_failure_class();
	test_refused();
	p->destroy(st);
	free(r);
	CHECK_INT(fh_secret_leaks(p, extra), 0);
	return wa_t_report();
}
