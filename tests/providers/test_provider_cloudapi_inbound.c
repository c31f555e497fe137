/* test_provider_cloudapi_inbound.c - cloudapi.so's inbound side: every message
 * type, marketing opt-out/in, late failure classes, duplicates, malformed,
 * unsigned and forged webhooks */
#include "fakehost.h"
#include "pc.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define SECRET "test_app_secret"
#define URL "https://wa.example.com/v1/providers/cloudapi/callback"
#define CTX "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="

static const wa_provider *p;
static void *st;
static wa_callback_reply *r; /* 170+ KiB: on the heap */

static void post(const char *body, size_t n, const char *sig)
{
	const char *h[] = {"X-Hub-Signature-256", sig, NULL};

	fh_callback(p, st, "POST", URL, "", "application/json", body, n,
	            sig ? h : NULL, r);
}

static void post_signed(const char *body, size_t n)
{
	unsigned char mac[32];
	char hex[65], sig[80];

	wa_pc_hmac_sha256(SECRET, body, n, mac);
	wa_pc_hex(mac, 32, hex, sizeof(hex));
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	post(body, n, sig);
}

/* Post a fixture, signed; expect 200 and exactly one inbound message. */
static const wa_inbound_message *one(const char *fixture)
{
	size_t n;
	char *body = fh_fixture(fixture, &n);

	post_signed(body, n);
	free(body);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_updates, 0);
	CHECK_INT(r->n_contact_events, 0);
	CHECK_INT(r->n_inbound, 1);
	CHECK_STR(r->inbound[0].from, "+16505551234");
	CHECK_STR(r->inbound[0].to, "+15550783881");
	CHECK_STR(r->inbound[0].sender_name, "Kerry Fisher");
	CHECK_INT(r->inbound[0].occurred_at_ms, 1750031000000LL);
	CHECK_INT(r->inbound[0].flags, 0);
	return &r->inbound[0];
}

static void test_types(void)
{
	const wa_inbound_message *m;

	m = one("cloudapi_inbound_text.json");
	CHECK_INT(m->type, WA_INBOUND_TEXT);
	CHECK_STR(
	    m->provider_message_id,
	    "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBQjFBMjA3QTk2ODQ3QkY0NwA=");
	CHECK_STR(m->text, "Parar, por favor");
	CHECK_STR(m->context_id, CTX);
	CHECK_STR(m->media_id, "");

	m = one("cloudapi_inbound_image.json");
	CHECK_INT(m->type, WA_INBOUND_IMAGE);
	CHECK_STR(m->media_id, "1003383421387256");
	CHECK_STR(m->media_mime, "image/jpeg");
	CHECK_STR(m->text, "Comprovante");
	CHECK_STR(m->context_id, "");

	m = one("cloudapi_inbound_document.json");
	CHECK_INT(m->type, WA_INBOUND_DOCUMENT);
	CHECK_STR(m->media_id, "1261431395265883");
	CHECK_STR(m->media_mime, "application/pdf");
	CHECK_STR(m->media_file_name, "contrato.pdf");
	CHECK_STR(m->text, "Contrato assinado");

	m = one("cloudapi_inbound_audio.json");
	CHECK_INT(m->type, WA_INBOUND_AUDIO);
	CHECK_STR(m->media_id, "2047963152333447");
	CHECK_STR(m->media_mime, "audio/ogg; codecs=opus");
	CHECK_STR(m->text, "");

	m = one("cloudapi_inbound_video.json");
	CHECK_INT(m->type, WA_INBOUND_VIDEO);
	CHECK_STR(m->media_id, "1533468347558880");
	CHECK_STR(m->text, "Olha isso");

	m = one("cloudapi_inbound_button.json");
	CHECK_INT(m->type, WA_INBOUND_BUTTON);
	CHECK_STR(m->reply_id, "OPT_OUT_CAMPAIGN_7");
	CHECK_STR(m->text, "Não quero mais");
	CHECK_STR(m->context_id, CTX);

	m = one("cloudapi_inbound_button_reply.json");
	CHECK_INT(m->type, WA_INBOUND_BUTTON_REPLY);
	CHECK_STR(m->reply_id, "confirm-42");
	CHECK_STR(m->text, "Confirmar");
	CHECK_STR(m->context_id, CTX);

	m = one("cloudapi_inbound_list_reply.json");
	CHECK_INT(m->type, WA_INBOUND_LIST_REPLY);
	CHECK_STR(m->reply_id, "slot-2026-12-07-10");
	CHECK_STR(m->text, "Seg 10h");

	/* Types we do not model are kept as OTHER (the window still opens). */
	post_signed("{\"entry\":[{\"changes\":[{\"value\":{\"messages\":[{"
	            "\"from\":\"16505551234\",\"id\":\"wamid.loc\","
	            "\"timestamp\":\"1750031000\",\"type\":\"location\","
	            "\"location\":{\"latitude\":1,\"longitude\":2}},{"
	            "\"from\":\"16505551234\",\"id\":\"wamid.nfm\","
	            "\"type\":\"interactive\",\"interactive\":{\"type\":"
	            "\"nfm_reply\"}}]}}]}]}",
	            strlen("{\"entry\":[{\"changes\":[{\"value\":{\"messages\":"
	                   "[{\"from\":\"16505551234\",\"id\":\"wamid.loc\","
	                   "\"timestamp\":\"1750031000\",\"type\":"
	                   "\"location\",\"location\":{\"latitude\":1,"
	                   "\"longitude\":2}},{\"from\":\"16505551234\","
	                   "\"id\":\"wamid.nfm\",\"type\":\"interactive\","
	                   "\"interactive\":{\"type\":\"nfm_reply\"}}]}}]}]}"));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 2);
	CHECK_INT(r->inbound[0].type, WA_INBOUND_OTHER);
	CHECK_INT(r->inbound[1].type, WA_INBOUND_OTHER);
	CHECK_STR(r->inbound[1].to, ""); /* no metadata */
	CHECK_INT(r->inbound[1].occurred_at_ms, 0);
}

static void test_preferences(void)
{
	size_t n;
	char *body = fh_fixture("cloudapi_user_preferences_stop.json", &n);

	post_signed(body, n);
	free(body);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 0);
	CHECK_INT(r->n_contact_events, 1);
	CHECK_INT(r->contact_events[0].kind, WA_CONTACT_OPTED_OUT);
	CHECK_STR(r->contact_events[0].phone, "+16505551234");
	CHECK_STR(r->contact_events[0].source,
	          "cloudapi:user_preferences:marketing_messages");
	CHECK_INT(r->contact_events[0].occurred_at_ms, 1750032000000LL);
	CHECK_CONTAINS(r->contact_events[0].detail, "stop marketing");

	body = fh_fixture("cloudapi_user_preferences_resume.json", &n);
	post_signed(body, n);
	free(body);
	CHECK_INT(r->n_contact_events, 1);
	CHECK_INT(r->contact_events[0].kind, WA_CONTACT_OPTED_IN);

	/* Another category, an unknown value, a bad wa_id: no event. */
	body = "{\"entry\":[{\"changes\":[{\"value\":{\"user_preferences\":["
	       "{\"wa_id\":\"16505551234\",\"category\":\"other\",\"value\":"
	       "\"stop\"},{\"wa_id\":\"16505551234\",\"category\":"
	       "\"marketing_messages\",\"value\":\"maybe\"},{\"wa_id\":\"x\","
	       "\"category\":\"marketing_messages\",\"value\":\"stop\"}]}}]}]}";
	post_signed(body, strlen(body));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_contact_events, 0);
}

/* Late failures: the plugin classes each FAILED update. */
static void test_failure_class(void)
{
	static const struct {
		const char *code;
		wa_failure_class cls;
	} cases[] = {
	    {"130429", WA_FAILURE_RETRYABLE}, {"131056", WA_FAILURE_RETRYABLE},
	    {"131057", WA_FAILURE_RETRYABLE}, {"2", WA_FAILURE_RETRYABLE},
	    {"4", WA_FAILURE_RETRYABLE},      {"80007", WA_FAILURE_RETRYABLE},
	    {"131026", WA_FAILURE_PERMANENT}, {"131047", WA_FAILURE_PERMANENT},
	    {"131049", WA_FAILURE_PERMANENT},
	};
	char body[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(
		    body, sizeof(body),
		    "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{"
		    "\"id\":\"wamid.A\",\"status\":\"failed\","
		    "\"timestamp\":\"1751142888\",\"recipient_id\":"
		    "\"16505551234\",\"errors\":[{\"code\":%s,\"title\":"
		    "\"t\"}]},{\"id\":\"wamid.B\",\"status\":\"read\"}]}}]}"
		    "]}",
		    cases[i].code);
		post_signed(body, strlen(body));
		CHECK_INT(r->http_status, 200);
		CHECK_INT(r->n_updates, 2);
		CHECK_STR(r->updates[0].error_code, cases[i].code);
		CHECK_INT(r->failure_class[0], cases[i].cls);
		CHECK_INT(r->failure_class[1], WA_FAILURE_UNSPECIFIED);
	}
	/* A failure without an error object: permanent. */
	snprintf(body, sizeof(body),
	         "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{\"id\":"
	         "\"wamid.A\",\"status\":\"failed\"}]}}]}]}");
	post_signed(body, strlen(body));
	CHECK_INT(r->n_updates, 1);
	CHECK_INT(r->failure_class[0], WA_FAILURE_PERMANENT);
}

/* Statuses and messages in one notification; a message repeated in one
 * batch is taken once (Meta retries whole webhooks: the host dedups those
 * by id); more than WA_INBOUND_MAX are dropped with a log line. */
static void test_mixed_duplicates_overflow(void)
{
	char body[8192];
	size_t len = 0;

	len += (size_t)snprintf(
	    body + len, sizeof(body) - len,
	    "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{\"id\":"
	    "\"wamid.S\",\"status\":\"delivered\"}],\"messages\":[");
	for (int i = 0; i < 12; i++)
		len += (size_t)snprintf(
		    body + len, sizeof(body) - len,
		    "%s{\"from\":\"16505551234\",\"id\":\"wamid.%d\","
		    "\"type\":\"text\",\"text\":{\"body\":\"m%d\"}}",
		    i ? "," : "", i < 2 ? 0 : i, i);
	snprintf(body + len, sizeof(body) - len, "]}}]}]}");
	fh_log_clear();
	post_signed(body, strlen(body));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_updates, 1);
	CHECK_INT(r->n_inbound, WA_INBOUND_MAX);
	CHECK_STR(r->inbound[0].provider_message_id, "wamid.0");
	CHECK_STR(r->inbound[0].text, "m0"); /* the first copy */
	CHECK_STR(r->inbound[1].provider_message_id, "wamid.2");
	CHECK(fh_log_contains("dropped"));

	/* The same webhook twice: the same answer twice (no state here). */
	post_signed(body, strlen(body));
	CHECK_INT(r->n_inbound, WA_INBOUND_MAX);
}

/* Nothing from an unsigned, forged or malformed request. */
static void test_refused(void)
{
	size_t n;
	char *body = fh_fixture("cloudapi_inbound_text.json", &n), *mod;

	post(body, n, NULL);
	CHECK_INT(r->http_status, 401);
	CHECK_INT(r->n_inbound, 0);
	post(
	    body, n,
	    "sha256=00d762b7d1dc014bca70815eee5b9894b58f29dda08256caf254667c330"
	    "aaedd");
	CHECK_INT(r->http_status, 401);
	CHECK_INT(r->n_inbound, 0);
	/* Signed, then the text changed. */
	mod = strdup(body);
	post_signed(body, n);
	CHECK_INT(r->n_inbound, 1);
	memcpy(strstr(mod, "Parar"), "Start", 5);
	{
		unsigned char mac[32];
		char hex[65], sig[80];

		wa_pc_hmac_sha256(SECRET, body, n, mac);
		wa_pc_hex(mac, 32, hex, sizeof(hex));
		snprintf(sig, sizeof(sig), "sha256=%s", hex);
		post(mod, n, sig);
	}
	CHECK_INT(r->http_status, 401);
	CHECK_INT(r->n_inbound, 0);
	free(mod);
	/* Truncated JSON: 400, nothing. */
	post_signed(body, n - 3);
	CHECK_INT(r->http_status, 400);
	CHECK_INT(r->n_inbound, 0);
	free(body);
	/* Well-formed but unusable items are skipped: no id, no or bad
	 * sender, an id too long, a non-object. */
	{
		char b[1024], longid[200];

		memset(longid, 'x', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = 0;
		snprintf(b, sizeof(b),
		         "{\"entry\":[{\"changes\":[{\"value\":{\"messages\":["
		         "{\"from\":\"16505551234\",\"type\":\"text\"},"
		         "{\"id\":\"w1\",\"type\":\"text\"},"
		         "{\"id\":\"w2\",\"from\":\"123\",\"type\":\"text\"},"
		         "{\"id\":\"w3\",\"from\":\"120363025246125888@g.us\"},"
		         "{\"id\":\"%s\",\"from\":\"16505551234\"},"
		         "7,\"x\",{\"id\":\"w4\",\"from\":\"16505551234\","
		         "\"type\":\"text\",\"text\":{\"body\":5}}]}}]}]}",
		         longid);
		post_signed(b, strlen(b));
		CHECK_INT(r->http_status, 200);
		CHECK_INT(r->n_inbound, 1);
		CHECK_STR(r->inbound[0].provider_message_id, "w4");
		CHECK_STR(r->inbound[0].text, "");
	}
}

/* Long and invalid text: cut on a character boundary, flagged. */
static void test_truncation(void)
{
	size_t cap = WA_INBOUND_TEXT_MAX * 2 + 512, len;
	char *b = malloc(cap);

	len = (size_t)snprintf(b, cap,
	                       "{\"entry\":[{\"changes\":[{\"value\":{"
	                       "\"messages\":[{\"from\":\"16505551234\",\"id\":"
	                       "\"wamid.long\",\"type\":\"text\",\"text\":{"
	                       "\"body\":\"a");
	for (int i = 0; i < 6000; i++)
		len += (size_t)snprintf(b + len, cap - len, "\xe2\x82\xac");
	snprintf(b + len, cap - len, "\"}}]}}]}]}");
	post_signed(b, strlen(b));
	CHECK_INT(r->n_inbound, 1);
	CHECK(r->inbound[0].flags & WA_INBOUND_TRUNCATED);
	len = strlen(r->inbound[0].text);
	CHECK(len < WA_INBOUND_TEXT_MAX);
	CHECK_INT((len - 1) % 3, 0); /* "a" then whole euro signs */
	free(b);
}

int main(void)
{
	const char *kv[] = {"CLOUDAPI_TOKEN=EAAtest_cloudapi_token_0123",
	                    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
	                    "CLOUDAPI_APP_SECRET=" SECRET, NULL};
	const char *extra[] = {SECRET, "16505551234", NULL};
	char err[256];

	p = fh_load("cloudapi");
	/* Every kind: templates (media headers too), media, interactive. */
	CHECK_INT(p->content_kinds, WA_CONTENT_TEXT | WA_CONTENT_TEMPLATE |
	                                WA_CONTENT_IMAGE | WA_CONTENT_DOCUMENT |
	                                WA_CONTENT_AUDIO | WA_CONTENT_VIDEO |
	                                WA_CONTENT_BUTTONS | WA_CONTENT_LIST |
	                                WA_CONTENT_TEMPLATE_MEDIA);
	r = calloc(1, sizeof(*r));
	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	test_types();
	test_preferences();
	test_failure_class();
	test_mixed_duplicates_overflow();
	test_refused();
	test_truncation();
	p->destroy(st);
	free(r);
	CHECK_INT(fh_secret_leaks(p, extra), 0);
	return wa_t_report();
}
