/* test_pe_content.c - rich content (issue 14 item 5) end to end: each content
 * kind through the real daemon and plugin into the loopback fake, which must
 * have received exactly the expected request; kinds the provider does not
 * declare are refused at accept (422, nothing stored, no provider call);
 * invalid content is a 400.
 *
 * Built once per provider (PE_PROVIDER = "twilio" | "evolution" |
 * "cloudapi").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_rules.h"
#include "pe.h"
#include "testing.h"

#ifndef PE_PROVIDER
#error "PE_PROVIDER must name the provider under test"
#endif

#define PHONE "+5511987650001"
#define DIGITS "5511987650001"
#define CONTENT_SID "HXdddddddddddddddddddddddddddddddd"
#define TW_HEAD "To=whatsapp%3A%2B" DIGITS "&From=whatsapp%3A%2B14155552345"

/* One content kind, and what each provider must have received: for
 * cloudapi and evolution the exact JSON body, for twilio the form body
 * without its StatusCallback (appended below), or NULL when the provider
 * does not declare the kind (then the send must be refused with 422). */
typedef struct kase {
	const char *name;
	const char *text;    /* message_body */
	const char *content; /* the content member; @NAME@: template name */
	const char *cloudapi, *cloudapi_path;
	const char *twilio;
	const char *evolution, *evolution_path;
} kase;

#define CA_HEAD                                                                \
	"{\"messaging_product\":\"whatsapp\",\"recipient_type\":"              \
	"\"individual\","                                                      \
	"\"to\":\"" DIGITS "\","
#define CA_PATH "/v24.0/" FP_CLOUDAPI_PHONE_ID "/messages"
#define EV_PATH(r) "/message/" r "/" FP_EVOLUTION_INSTANCE

static const kase cases[] = {
    {"template with text header, body and button parameters", "Hi",
     "{\"template\":{\"name\":\"@NAME@\",\"language\":\"pt_BR\",\"header\":{"
     "\"type\":\"text\",\"text\":\"Ana\"},\"body_parameters\":[\"12/1\","
     "\"R$ 10,00\"],\"button_parameters\":[{\"index\":0,\"sub_type\":"
     "\"quick_reply\",\"value\":\"STOP\"}]}}",
     CA_HEAD
     "\"type\":\"template\",\"template\":{\"name\":\"order_update\","
     "\"language\":{\"code\":\"pt_BR\"},\"components\":[{\"type\":\"header\","
     "\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"}]},{\"type\":"
     "\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"12/1\"},{"
     "\"type\":\"text\",\"text\":\"R$ 10,00\"}]},{\"type\":\"button\","
     "\"sub_type\":\"quick_reply\",\"index\":\"0\",\"parameters\":[{\"type\":"
     "\"payload\",\"payload\":\"STOP\"}]}]}}",
     CA_PATH,
     TW_HEAD "&ContentSid=" CONTENT_SID
             "&ContentVariables=%7B%221%22%3A%22Ana%22%2C%222%22%3A%2212%2F1%"
             "22%2C%223%22%3A%22R%24%2010%2C00%22%2C%224%22%3A%22STOP%22%7D",
     NULL, NULL},
    {"template with a document header", "Your invoice",
     "{\"template\":{\"name\":\"@NAME@\",\"header\":{\"type\":\"document\","
     "\"url\":\"https://cdn.example.com/inv.pdf\",\"file_name\":\"inv.pdf\"},"
     "\"body_parameters\":[\"Ana\"]}}",
     CA_HEAD
     "\"type\":\"template\",\"template\":{\"name\":\"order_update\","
     "\"language\":{\"code\":\"en_US\"},\"components\":[{\"type\":\"header\","
     "\"parameters\":[{\"type\":\"document\",\"document\":{\"link\":"
     "\"https://cdn.example.com/inv.pdf\",\"filename\":\"inv.pdf\"}}]},{"
     "\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"}"
     "]}]}}",
     CA_PATH, NULL, NULL, NULL},
    {"image, message_body as caption", "Look at this",
     "{\"media\":{\"type\":\"image\",\"url\":\"https://cdn.example.com/"
     "p.png\"}}",
     CA_HEAD "\"type\":\"image\",\"image\":{\"link\":\"https://"
             "cdn.example.com/p.png\",\"caption\":\"Look at this\"}}",
     CA_PATH,
     TW_HEAD "&Body=Look%20at%20this&MediaUrl=https%3A%2F%2Fcdn.example.com%"
             "2Fp.png",
     "{\"number\":\"" DIGITS "\",\"mediatype\":\"image\",\"media\":\"https://"
     "cdn.example.com/p.png\",\"caption\":\"Look at this\"}",
     EV_PATH("sendMedia")},
    {"document with caption and file name", "ignored",
     "{\"media\":{\"type\":\"document\",\"url\":\"https://cdn.example.com/"
     "r.pdf\",\"caption\":\"Report\",\"file_name\":\"report.pdf\"}}",
     CA_HEAD "\"type\":\"document\",\"document\":{\"link\":\"https://"
             "cdn.example.com/r.pdf\",\"caption\":\"Report\",\"filename\":"
             "\"report.pdf\"}}",
     CA_PATH,
     TW_HEAD "&Body=Report&MediaUrl=https%3A%2F%2Fcdn.example.com%2Fr.pdf",
     "{\"number\":\"" DIGITS "\",\"mediatype\":\"document\",\"media\":"
     "\"https://cdn.example.com/r.pdf\",\"caption\":\"Report\",\"fileName\":"
     "\"report.pdf\"}",
     EV_PATH("sendMedia")},
    {"audio (no caption anywhere)", "voice note",
     "{\"media\":{\"type\":\"audio\",\"url\":\"https://cdn.example.com/"
     "a.ogg\"}}",
     CA_HEAD "\"type\":\"audio\",\"audio\":{\"link\":\"https://"
             "cdn.example.com/a.ogg\"}}",
     CA_PATH, TW_HEAD "&MediaUrl=https%3A%2F%2Fcdn.example.com%2Fa.ogg",
     "{\"number\":\"" DIGITS "\",\"mediatype\":\"audio\",\"media\":\"https://"
     "cdn.example.com/a.ogg\"}",
     EV_PATH("sendMedia")},
    {"video with its own caption", "Clip",
     "{\"media\":{\"type\":\"video\",\"url\":\"https://cdn.example.com/"
     "v.mp4\",\"caption\":\"Ol\\u00e1 & tchau\"}}",
     CA_HEAD "\"type\":\"video\",\"video\":{\"link\":\"https://"
             "cdn.example.com/v.mp4\",\"caption\":\"Ol\xc3\xa1 & tchau\"}}",
     CA_PATH,
     TW_HEAD "&Body=Ol%C3%A1%20%26%20tchau&MediaUrl=https%3A%2F%2F"
             "cdn.example.com%2Fv.mp4",
     "{\"number\":\"" DIGITS "\",\"mediatype\":\"video\",\"media\":\"https://"
     "cdn.example.com/v.mp4\",\"caption\":\"Ol\xc3\xa1 & tchau\"}",
     EV_PATH("sendMedia")},
    {"interactive buttons", "Confirm your order?",
     "{\"interactive\":{\"type\":\"buttons\",\"header\":\"Order 12\","
     "\"footer\":\"Reply below\",\"buttons\":[{\"id\":\"yes\",\"title\":"
     "\"Yes\"},{\"id\":\"no\",\"title\":\"No\"}]}}",
     CA_HEAD "\"type\":\"interactive\",\"interactive\":{\"type\":\"button\","
             "\"header\":{\"type\":\"text\",\"text\":\"Order 12\"},\"body\":{"
             "\"text\":\"Confirm your order?\"},\"footer\":{\"text\":\"Reply "
             "below\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":"
             "{\"id\":\"yes\",\"title\":\"Yes\"}},{\"type\":\"reply\","
             "\"reply\":{\"id\":\"no\",\"title\":\"No\"}}]}}}",
     CA_PATH, NULL,
     "{\"number\":\"" DIGITS "\",\"title\":\"Order 12\",\"description\":"
     "\"Confirm your order?\",\"footer\":\"Reply below\",\"buttons\":[{"
     "\"type\":\"reply\",\"displayText\":\"Yes\",\"id\":\"yes\"},{\"type\":"
     "\"reply\",\"displayText\":\"No\",\"id\":\"no\"}]}",
     EV_PATH("sendButtons")},
    {"interactive list", "Pick a slot",
     "{\"interactive\":{\"type\":\"list\",\"button\":\"Slots\",\"sections\":"
     "[{\"title\":\"Morning\",\"rows\":[{\"id\":\"m9\",\"title\":\"9:00\","
     "\"description\":\"Front desk\"}]},{\"title\":\"Afternoon\",\"rows\":[{"
     "\"id\":\"a2\",\"title\":\"14:00\"}]}]}}",
     CA_HEAD "\"type\":\"interactive\",\"interactive\":{\"type\":\"list\","
             "\"body\":{\"text\":\"Pick a slot\"},\"action\":{\"button\":"
             "\"Slots\",\"sections\":[{\"title\":\"Morning\",\"rows\":[{\"id\":"
             "\"m9\",\"title\":\"9:00\",\"description\":\"Front desk\"}]},{"
             "\"title\":\"Afternoon\",\"rows\":[{\"id\":\"a2\",\"title\":"
             "\"14:00\"}]}]}}}",
     CA_PATH, NULL,
     "{\"number\":\"" DIGITS "\",\"title\":\"Pick a slot\",\"footerText\":"
     "\"\",\"buttonText\":\"Slots\",\"sections\":[{\"title\":\"Morning\","
     "\"rows\":[{\"title\":\"9:00\",\"description\":\"Front desk\",\"rowId\":"
     "\"m9\"}]},{\"title\":\"Afternoon\",\"rows\":[{\"title\":\"14:00\","
     "\"rowId\":\"a2\"}]}]}",
     EV_PATH("sendList")},
};

static const pe_provider *prov;

/* Member key (a string) of record line n of the fake into a malloc'd copy
 * ("" when absent). */
static char *record_field(const wa_fake *f, int n, const char *key)
{
	FILE *fp = fopen(f->record, "r");
	char *line = malloc(20000), *out;
	int i = 0;

	out = calloc(1, 16384);
	if (fp && line && out)
		while (fgets(line, 20000, fp))
			if (++i == n) {
				pe_json(line, key, out, 16384);
				break;
			}
	if (fp)
		fclose(fp);
	free(line);
	return out;
}

static long send_content(const wa_daemon *d, const char *ext, const char *text,
                         const char *content, bool wait, wa_http_reply *r)
{
	const char *extra[] = {"Prefer: wait=10", NULL};
	char body[4096];

	snprintf(body, sizeof(body),
	         "{\"recipient_phone\":\"%s\",\"message_body\":\"%s\","
	         "\"external_id\":\"%s\",\"content\":%s}",
	         PHONE, text, ext, content);
	return e2e_post(d, "/v1/messages/send", body, wait ? extra : NULL, r);
}

/* Nothing stored under ext. */
static void check_not_stored(const wa_daemon *d, const char *ext)
{
	wa_http_reply r;
	char path[160];

	snprintf(path, sizeof(path), "/v1/messages?external_id=%s", ext);
	CHECK_INT(e2e_get(d, path, &r), 404);
	wa_h_reply_free(&r);
}

static void run_case(const wa_daemon *d, const wa_fake *f, size_t i, int *sent)
{
	const kase *k = &cases[i];
	const char *want = NULL, *want_path = NULL;
	char content[2048], ext[64], got[256], tw_want[1024];
	wa_http_reply r;
	long st;

	if (strcmp(prov->name, "cloudapi") == 0) {
		want = k->cloudapi;
		want_path = k->cloudapi_path;
	} else if (strcmp(prov->name, "evolution") == 0) {
		want = k->evolution;
		want_path = k->evolution_path;
	} else if (k->twilio) {
		snprintf(tw_want, sizeof(tw_want),
		         "%s&StatusCallback=http%%3A%%2F%%2F127.0.0.1%%3A%d%%"
		         "2Fv1%%2Fproviders%%2Ftwilio%%2Fcallback",
		         k->twilio, d->port);
		want = tw_want;
		want_path =
		    "/2010-04-01/Accounts/" FP_TWILIO_ACCOUNT "/Messages.json";
	}
	{
		const char *at = strstr(k->content, "@NAME@");
		const char *name = strcmp(prov->name, "twilio") == 0
		                       ? CONTENT_SID
		                       : "order_update";

		if (at)
			snprintf(content, sizeof(content), "%.*s%s%s",
			         (int)(at - k->content), k->content, name,
			         at + 6);
		else
			snprintf(content, sizeof(content), "%s", k->content);
	}
	snprintf(ext, sizeof(ext), "content-%s-%zu", prov->name, i);
	st = send_content(d, ext, k->text, content, true, &r);
	if (!want) {
		/* Not declared: refused at accept, naming provider and kind. */
		CHECK_INT(st, 422);
		CHECK_CONTAINS(r.body, prov->name);
		CHECK_CONTAINS(r.body, "nothing was queued");
		wa_h_reply_free(&r);
		check_not_stored(d, ext);
		CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), *sent);
		return;
	}
	CHECK_INT(st, 200);
	CHECK_STR(pe_json(r.body, "status", got, sizeof(got)), "sent");
	if (wa_t_failed)
		fprintf(stderr, "case '%s': %s\n", k->name, r.body);
	wa_h_reply_free(&r);
	(*sent)++;
	CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), *sent);
	{
		char *body = record_field(f, *sent, "body");
		char *path = record_field(f, *sent, "path");

		CHECK_STR(path, want_path);
		CHECK_STR(body, want);
		if (body && strcmp(body, want) != 0)
			fprintf(stderr, "case '%s'\n got: %s\nwant: %s\n",
			        k->name, body, want);
		free(body);
		free(path);
	}
}

/* Invalid content: 400 with a sentence, nothing stored, no call. */
static void bad_content(const wa_daemon *d, const wa_fake *f, int sent)
{
	static const struct {
		const char *content, *needle;
	} bad[] = {
	    {"{\"media\":{\"type\":\"image\",\"url\":\"http://cdn.example.com/"
	     "p.png\"}}",
	     "content.media.url must be an https:// URL"},
	    {"{\"interactive\":{\"type\":\"buttons\",\"buttons\":[{\"id\":"
	     "\"1\","
	     "\"title\":\"a\"},{\"id\":\"2\",\"title\":\"b\"},{\"id\":\"3\","
	     "\"title\":\"c\"},{\"id\":\"4\",\"title\":\"d\"}]}}",
	     "content.interactive.buttons must be an array of 1 to 3"},
	    {"{\"media\":{\"type\":\"sticker\",\"url\":\"https://e.x/s\"}}",
	     "content.media.type must be image, document, audio or video"},
	    {"{\"template\":{\"name\":\"t\"},\"media\":{\"type\":\"image\","
	     "\"url\":\"https://e.x/p.png\"}}",
	     "exactly one of template, media or interactive"},
	    {"{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/p.png\","
	     "\"captoin\":\"x\"}}",
	     "content.media has an unknown member \\\"captoin\\\""},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wa_http_reply r;
		char ext[64];

		snprintf(ext, sizeof(ext), "content-bad-%zu", i);
		CHECK_INT(send_content(d, ext, "x", bad[i].content, false, &r),
		          400);
		CHECK_CONTAINS(r.body, bad[i].needle);
		wa_h_reply_free(&r);
		check_not_stored(d, ext);
	}
	CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), sent);
}

typedef struct lines_at_least {
	const char *path;
	int want;
} lines_at_least;

static int has_lines(void *arg)
{
	lines_at_least *l = arg;

	return wa_h_count_lines(l->path, "\"to\":") >= l->want;
}

/* A batch: each item judged on its own (a refused kind is that item's 422,
 * the others are queued and sent). */
static void batch(const wa_daemon *d, const wa_fake *f, int *sent)
{
	bool buttons_ok = strcmp(prov->name, "twilio") != 0;
	char body[2048];
	wa_http_reply r;

	snprintf(
	    body, sizeof(body),
	    "{\"messages\":[{\"recipient_phone\":\"%s\",\"message_body\":\"A\","
	    "\"external_id\":\"content-batch-%s-1\",\"content\":{\"media\":{"
	    "\"type\":\"image\",\"url\":\"https://cdn.example.com/b.png\"}}},"
	    "{\"recipient_phone\":\"%s\",\"message_body\":\"B\",\"external_"
	    "id\":"
	    "\"content-batch-%s-2\",\"content\":{\"interactive\":{\"type\":"
	    "\"buttons\",\"buttons\":[{\"id\":\"ok\",\"title\":\"OK\"}]}}}]}",
	    PHONE, prov->name, PHONE, prov->name);
	CHECK_INT(e2e_post(d, "/v1/messages/batch", body, NULL, &r), 200);
	CHECK_INT(pe_json_int(r.body, "accepted"), buttons_ok ? 2 : 1);
	if (!buttons_ok) {
		CHECK_CONTAINS(r.body, "\"code\":422");
		CHECK_CONTAINS(r.body, "cannot send interactive buttons");
	}
	wa_h_reply_free(&r);
	*sent += buttons_ok ? 2 : 1;
	{
		lines_at_least l = {f->record, *sent};

		CHECK_INT(wa_h_wait_for(has_lines, &l, 10000), 1);
		CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), *sent);
	}
}

int main(void)
{
	wa_daemon d;
	wa_fake f;
	pe_env env;
	char rec[512];
	int sent = 0;

	pe_clean_environ();
	prov = pe_find(PE_PROVIDER);
	if (!prov) {
		fprintf(stderr, "unknown provider %s\n", PE_PROVIDER);
		return 1;
	}
	memset(&d, 0, sizeof(d));
	CHECK_INT(wa_h_daemon_init(&d), 0);
	snprintf(rec, sizeof(rec), "%s/%s.jsonl", d.dir, prov->name);
	if (wa_fake_start(&f, prov->name, rec, NULL) != 0) {
		fprintf(stderr, "cannot start the fake %s server\n",
		        prov->name);
		return 1;
	}
	pe_env_init(&env, prov, wa_h_free_port(), f.base, 0);
	if (wa_h_daemon_start(&d, env.list) != 0) {
		fprintf(stderr, "daemon did not start; log %s\n", d.log_path);
		wa_fake_stop(&f);
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&d, &f, i, &sent);
	bad_content(&d, &f, sent);
	batch(&d, &f, &sent);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 10000), 0);
	CHECK_INT(wa_fake_stop(&f), 0);
	if (wa_t_failed)
		fprintf(stderr, "daemon log: %s\nrecord: %s\n", d.log_path,
		        rec);
	return wa_t_report();
}
