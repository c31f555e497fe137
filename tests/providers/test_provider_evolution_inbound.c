/* test_provider_evolution_inbound.c - evolution.so's inbound side:
 * messages.upsert of every type, our own echoes and groups skipped,
 * duplicates, malformed, unauthenticated and wrong-token requests */
#include "fakehost.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define HOOK "test_webhook_token_abc"
#define URL "https://wa.example.com/v1/providers/evolution/callback"
#define QUOTED "3EB0C767D26A1D8F5B3E21"

static const wa_provider *p;
static void *st;
static wa_callback_reply *r; /* 170+ KiB: on the heap */

static void cb(const char *token, const char *body, size_t n)
{
	const char *h[] = {"X-Wadispatch-Token", token, NULL};

	fh_callback(p, st, "POST", URL, "", "application/json", body, n,
	            token ? h : NULL, r);
}

static void cb_fixture(const char *fixture, const char *token)
{
	size_t n;
	char *body = fh_fixture(fixture, &n);

	cb(token, body, n);
	free(body);
}

/* A fixture with the right token: 200 and one message from Maria. */
static const wa_inbound_message *one(const char *fixture)
{
	cb_fixture(fixture, HOOK);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_updates, 0);
	CHECK_INT(r->n_inbound, 1);
	CHECK_STR(r->inbound[0].from, "+5511999999999");
	CHECK_STR(r->inbound[0].to, "+5511888888888");
	CHECK_STR(r->inbound[0].sender_name, "Maria Souza");
	CHECK_INT(r->inbound[0].occurred_at_ms, 1717689302000LL);
	return &r->inbound[0];
}

static void test_types(void)
{
	const wa_inbound_message *m;

	m = one("evolution_inbound_text.json");
	CHECK_INT(m->type, WA_INBOUND_TEXT);
	CHECK_STR(m->provider_message_id, "3A1B2C3D4E5F60718293");
	CHECK_STR(m->text, "Parar");
	CHECK_STR(m->context_id, "");

	m = one("evolution_inbound_reply.json");
	CHECK_INT(m->type, WA_INBOUND_TEXT);
	CHECK_STR(m->text, "Sim, confirmo");
	CHECK_STR(m->context_id, QUOTED);

	m = one("evolution_inbound_image.json");
	CHECK_INT(m->type, WA_INBOUND_IMAGE);
	CHECK_STR(m->text, "Comprovante");
	CHECK_STR(m->media_mime, "image/jpeg");
	CHECK_CONTAINS(m->media_url, "https://mmg.whatsapp.net/");

	m = one("evolution_inbound_document.json");
	CHECK_INT(m->type, WA_INBOUND_DOCUMENT);
	CHECK_STR(m->media_file_name, "contrato.pdf");
	CHECK_STR(m->media_mime, "application/pdf");
	CHECK_STR(m->text, "Contrato assinado");

	m = one("evolution_inbound_audio.json");
	CHECK_INT(m->type, WA_INBOUND_AUDIO);
	CHECK_STR(m->media_mime, "audio/ogg; codecs=opus");
	CHECK_STR(m->text, "");

	m = one("evolution_inbound_video.json");
	CHECK_INT(m->type, WA_INBOUND_VIDEO);
	CHECK_STR(m->text, "Olha isso");

	m = one("evolution_inbound_buttons_response.json");
	CHECK_INT(m->type, WA_INBOUND_BUTTON_REPLY);
	CHECK_STR(m->reply_id, "confirm-42");
	CHECK_STR(m->text, "Confirmar");
	CHECK_STR(m->context_id, QUOTED);

	m = one("evolution_inbound_list_response.json");
	CHECK_INT(m->type, WA_INBOUND_LIST_REPLY);
	CHECK_STR(m->reply_id, "slot-2026-12-07-10");
	CHECK_STR(m->text, "Seg 10h");
	CHECK_STR(m->context_id, QUOTED);

	m = one("evolution_inbound_template_button.json");
	CHECK_INT(m->type, WA_INBOUND_BUTTON);
	CHECK_STR(m->reply_id, "OPT_OUT_CAMPAIGN_7");
	CHECK_STR(m->text, "Não quero mais");
}

static void test_skipped_and_duplicates(void)
{
	const char *b;

	/* Our own sends echo through messages.upsert: not inbound. */
	cb_fixture("evolution_inbound_from_me.json", HOOK);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 0);
	/* Groups are not campaign recipients. */
	cb_fixture("evolution_inbound_group.json", HOOK);
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 0);
	/* An @lid chat with the phone in key.senderPn; a bare @lid: none. */
	b = "{\"event\":\"messages.upsert\",\"data\":[{\"key\":{\"remoteJid\":"
	    "\"123456789012345@lid\",\"senderPn\":\"5511999999999@s.whatsapp."
	    "net\",\"fromMe\":false,\"id\":\"L1\"},\"message\":{"
	    "\"conversation\":\"oi\"},\"messageTimestamp\":\"1717689302\"},"
	    "{\"key\":{\"remoteJid\":\"123456789012345@lid\",\"fromMe\":false,"
	    "\"id\":\"L2\"},\"message\":{\"conversation\":\"oi\"}},"
	    "{\"key\":{\"remoteJid\":\"5511999999999@s.whatsapp.net\","
	    "\"fromMe\":false,\"id\":\"L1\"},\"message\":{\"conversation\":"
	    "\"again\"}},{\"key\":{\"remoteJid\":\"5511999999999@s.whatsapp."
	    "net\",\"id\":\"L3\"},\"message\":{\"conversation\":\"no fromMe\"}}"
	    ",{\"key\":{\"remoteJid\":\"5511999999999@s.whatsapp.net\","
	    "\"fromMe\":false,\"id\":\"L4\"},\"message\":{\"locationMessage\":"
	    "{}}}]}";
	cb(HOOK, b, strlen(b));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 2);
	CHECK_STR(r->inbound[0].provider_message_id, "L1");
	CHECK_STR(r->inbound[0].from, "+5511999999999");
	CHECK_STR(r->inbound[0].text, "oi"); /* the repeat was skipped */
	CHECK_INT(r->inbound[0].occurred_at_ms, 1717689302000LL);
	CHECK_STR(r->inbound[0].to, "");
	CHECK_STR(r->inbound[1].provider_message_id, "L4");
	CHECK_INT(r->inbound[1].type, WA_INBOUND_OTHER);
	/* The same webhook twice: the same answer (the host dedups). */
	one("evolution_inbound_text.json");
	one("evolution_inbound_text.json");
	/* messages.update still gives status updates, not inbound. */
	cb_fixture("evolution_callback_delivery_ack.json", HOOK);
	CHECK_INT(r->n_updates, 1);
	CHECK_INT(r->n_inbound, 0);
	CHECK_INT(r->failure_class[0], WA_FAILURE_UNSPECIFIED);
	b = "{\"event\":\"messages.update\",\"data\":{\"keyId\":"
	    "\"3EB0C767D26A1D"
	    "8F5B3E21\",\"fromMe\":true,\"status\":\"ERROR\"}}";
	cb(HOOK, b, strlen(b));
	CHECK_INT(r->n_updates, 1);
	CHECK_INT(r->updates[0].status, WA_STATUS_FAILED);
	CHECK_INT(r->failure_class[0], WA_FAILURE_PERMANENT);
}

static void test_refused_and_malformed(void)
{
	size_t n;
	char *body = fh_fixture("evolution_inbound_text.json", &n);
	char many[4096];
	size_t len = 0;

	cb(NULL, body, n);
	CHECK_INT(r->http_status, 401);
	CHECK_INT(r->n_inbound, 0);
	cb(HOOK "x", body, n);
	CHECK_INT(r->http_status, 401);
	CHECK_INT(r->n_inbound, 0);
	cb(HOOK, body, n - 2);
	CHECK_INT(r->http_status, 400);
	CHECK_INT(r->n_inbound, 0);
	free(body);
	/* Odd shapes: data a string, key not an object, no message. */
	cb(HOOK, "{\"event\":\"messages.upsert\",\"data\":\"x\"}",
	   strlen("{\"event\":\"messages.upsert\",\"data\":\"x\"}"));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 0);
	cb(HOOK, "{\"event\":\"MESSAGES_UPSERT\",\"data\":{\"key\":7}}",
	   strlen("{\"event\":\"MESSAGES_UPSERT\",\"data\":{\"key\":7}}"));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, 0);
	/* More than WA_INBOUND_MAX in one array: dropped with a log line. */
	len += (size_t)snprintf(many, sizeof(many),
	                        "{\"event\":\"messages.upsert\",\"data\":[");
	for (int i = 0; i < 10; i++)
		len += (size_t)snprintf(
		    many + len, sizeof(many) - len,
		    "%s{\"key\":{\"remoteJid\":\"5511999999999@s.whatsapp."
		    "net\",\"fromMe\":false,\"id\":\"M%d\"},\"message\":{"
		    "\"conversation\":\"%d\"}}",
		    i ? "," : "", i, i);
	snprintf(many + len, sizeof(many) - len, "]}");
	fh_log_clear();
	cb(HOOK, many, strlen(many));
	CHECK_INT(r->http_status, 200);
	CHECK_INT(r->n_inbound, WA_INBOUND_MAX);
	CHECK(fh_log_contains("dropped"));
}

int main(void)
{
	const char *kv[] = {"EVOLUTION_BASE_URL=http://10.0.0.5:8080",
	                    "EVOLUTION_INSTANCE=dispatcher",
	                    "EVOLUTION_API_KEY=test_evolution_key_0123",
	                    "EVOLUTION_WEBHOOK_TOKEN=" HOOK, NULL};
	const char *extra[] = {HOOK, "5511999999999", NULL};
	char err[256];

	p = fh_load("evolution");
	/* sendText, sendMedia, sendButtons, sendList; no templates. */
	CHECK_INT(p->content_kinds, WA_CONTENT_TEXT | WA_CONTENT_IMAGE |
	                                WA_CONTENT_DOCUMENT | WA_CONTENT_AUDIO |
	                                WA_CONTENT_VIDEO | WA_CONTENT_BUTTONS |
	                                WA_CONTENT_LIST);
	r = calloc(1, sizeof(*r));
	fh_set_config(kv);
	CHECK_INT(fh_init(p, &st, err, sizeof(err)), 0);
	test_types();
	test_skipped_and_duplicates();
	test_refused_and_malformed();
	p->destroy(st);
	free(r);
	CHECK_INT(fh_secret_leaks(p, extra), 0);
	return wa_t_report();
}
