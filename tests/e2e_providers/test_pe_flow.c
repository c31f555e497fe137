/* test_pe_flow.c - one provider end to end: send, signed callbacks, monotonic
 * status, signed webhooks out, replies stored and relayed, opt-outs honoured
 *
 * Built once per provider (PE_PROVIDER = "twilio" | "evolution" | "cloudapi"):
 * the real daemon loads the real plugin, which talks to the loopback fake
 * of that provider's API; status callbacks are posted as the provider would
 * sign them, and a receiver checks the status webhooks the daemon sends.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_rules.h"
#include "pe.h"
#include "receiver.h"
#include "testing.h"

#ifndef PE_PROVIDER
#error "PE_PROVIDER must name the provider under test"
#endif

#define PHONE "+5511987650001"

static const pe_provider *prov;

/* Send with Prefer: wait and check the answer against the fake's record. */
static void send_checked(const wa_daemon *d, const wa_fake *f, int nth,
                         const char *ext, char *id, size_t id_len, char *pmid,
                         size_t pmid_len)
{
	wa_http_reply r;
	char path[64], got[128], want[128];

	CHECK_INT(pe_send(d, ext, PHONE, "Hello from the e2e test", true, &r),
	          200);
	CHECK_STR(pe_json(r.body, "status", got, sizeof(got)), "sent");
	pe_json(r.body, "message_id", id, id_len);
	CHECK(strncmp(id, "msg-", 4) == 0);
	snprintf(path, sizeof(path), "provider_details.%s", prov->id_field);
	pe_json(r.body, path, got, sizeof(got));
	pe_fake_id(f, nth, want, sizeof(want));
	CHECK(want[0] != 0);
	CHECK_STR(got, want);
	CHECK_STR(
	    pe_json(r.body, "provider_details.provider", path, sizeof(path)),
	    prov->name);
	snprintf(pmid, pmid_len, "%s", want);
	wa_h_reply_free(&r);
}

/* The webhooks the receiver logged for one message, as "sent delivered". */
static const char *hooks_of(receiver *rcv, const char *id, const char *pmid,
                            char *out, size_t len)
{
	static rcv_req log[RCV_MAX];
	int n = rcv_log(rcv, log, RCV_MAX);
	size_t used = 0;

	out[0] = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(log[i].message_id, id) != 0)
			continue;
		CHECK(log[i].sig_ok);
		CHECK(log[i].json_ok);
		CHECK(log[i].ctype_ok);
		CHECK_STR(log[i].provider_message_id, pmid);
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		                         used ? " " : "", log[i].status);
		if (used >= len)
			break;
	}
	return out;
}

static void check_message(const wa_daemon *d, const char *id,
                          const char *status, const char *pmid,
                          const char *history)
{
	wa_http_reply r;
	char path[128], got[512];

	snprintf(path, sizeof(path), "/v1/messages/%s", id);
	CHECK_INT(e2e_get(d, path, &r), 200);
	CHECK_STR(pe_json(r.body, "status", got, sizeof(got)), status);
	CHECK_STR(pe_json(r.body, "provider_message_id", got, sizeof(got)),
	          pmid);
	CHECK_INT(pe_json_int(r.body, "attempts"), 1);
	/* The accept path and the engine add queued/sending first. */
	pe_history(r.body, got, sizeof(got));
	if (!strstr(got, history) ||
	    strlen(strstr(got, history)) != strlen(history)) {
		fprintf(stderr, "history \"%s\" does not end with \"%s\"\n",
		        got, history);
		CHECK(0);
	} else {
		CHECK(1);
	}
	wa_h_reply_free(&r);
}

static void hub_challenge(const wa_daemon *d)
{
	wa_http_reply r;
	char url[512];

	snprintf(url, sizeof(url),
	         "%s/v1/providers/cloudapi/callback?hub.mode=subscribe"
	         "&hub.challenge=1158201444&hub.verify_token=%s",
	         d->base, PE_META_VERIFY);
	CHECK_INT(wa_h_http("GET", url, NULL, NULL, 0, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "1158201444");
	wa_h_reply_free(&r);
	snprintf(url, sizeof(url),
	         "%s/v1/providers/cloudapi/callback?hub.mode=subscribe"
	         "&hub.challenge=1158201444&hub.verify_token=wrong-token",
	         d->base);
	CHECK_INT(wa_h_http("GET", url, NULL, NULL, 0, &r), 0);
	CHECK_INT(r.status, 403);
	CHECK(!strstr(r.body, "1158201444"));
	wa_h_reply_free(&r);
	snprintf(url, sizeof(url),
	         "%s/v1/providers/cloudapi/callback?hub.mode=subscribe"
	         "&hub.challenge=1158201444",
	         d->base);
	CHECK_INT(wa_h_http("GET", url, NULL, NULL, 0, &r), 0);
	CHECK_INT(r.status, 403);
	wa_h_reply_free(&r);
}

/* The test's own signers, checked against published vectors first, so a
 * passing callback proves the plugin agrees with Twilio/Meta, not merely
 * with this file. */
static void signer_vectors(void)
{
	const char *names[] = {"CallSid", "Caller", "Digits", "From", "To"};
	const char *values[] = {"CA1234567890ABCDE", "+14158675309", "1234",
	                        "+14158675309", "+18005551212"};
	char out[80];

	CHECK_INT(pe_twilio_signature(
	              "12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
	              names, values, 5, out, sizeof(out)),
	          0);
	CHECK_STR(out, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
	CHECK_INT(pe_hmac256_hex("secret", "test", 4, out, sizeof(out)), 0);
	CHECK_STR(
	    out,
	    "sha256="
	    "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
}

/* Occurrences of needle in hay. */
static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Webhooks of one event name the receiver logged, each checked (signed,
 * well-formed); the last one's copy in *last when not NULL. */
static int events_of(receiver *rcv, const char *event, rcv_req *last)
{
	static rcv_req log[RCV_MAX];
	int n = rcv_log(rcv, log, RCV_MAX), k = 0;

	for (int i = 0; i < n; i++) {
		if (strcmp(log[i].event, event) != 0)
			continue;
		CHECK(log[i].sig_ok);
		CHECK(log[i].json_ok);
		k++;
		if (last)
			*last = log[i];
	}
	return k;
}

/* D: a user's reply "Parar", posted signed three times (providers retry)
 * and forged once: stored once, relayed once as a signed
 * message.received webhook, and the number opted out (contact.opted_out);
 * GET /v1/inbound lists it once. A send to the number is then refused with
 * 409 and a sentence, nothing queued and no provider call; "voltar" opts
 * it back in and the next send goes out. Cloud API: a user_preferences
 * marketing stop opts it out with its source. E: a late "failed" the
 * plugin classes retryable (Meta throughput 130429, Twilio 30001) puts the
 * message back in the queue and it is sent again; a permanent one (Meta
 * 131026, Twilio 63016) ends it failed; Evolution's ERROR carries no code
 * and ends it failed as before. */
typedef struct sends_want {
	const wa_fake *f;
	int n;
} sends_want;

static sends_want fake_sends;

static int sent_n(void *arg)
{
	sends_want *w = arg;

	return wa_h_count_lines(w->f->record, "\"to\":") >= w->n;
}

/* E on Cloud API and Twilio: the retryable late failure of b is sent
 * again, then a permanent one ends it failed. */
static void late_retry(const wa_daemon *d, const wa_fake *f, receiver *rcv,
                       const char *b_id, const char *code, const char *perm,
                       int *hooks_io)
{
	char b2_pmid[128];
	wa_http_reply r;
	int hooks = *hooks_io;

	/* requeued and delivered again: a fifth request to the fake */
	fake_sends.f = f;
	fake_sends.n = 5;
	CHECK(wa_h_wait_for(sent_n, &fake_sends, 20000));
	CHECK(e2e_wait_status(d, b_id, "sent", 10000));
	pe_fake_id(f, 5, b2_pmid, sizeof(b2_pmid));
	CHECK(b2_pmid[0] != 0);
	{
		char path[128], needle[160];

		snprintf(path, sizeof(path), "/v1/messages/%s", b_id);
		CHECK_INT(e2e_get(d, path, &r), 200);
		snprintf(needle, sizeof(needle), "late failure, retrying: %s",
		         code);
		CHECK(strstr(r.body, needle) != NULL);
		CHECK(strstr(r.body, b2_pmid) != NULL);
		wa_h_reply_free(&r);
	}
	hooks += 1; /* its second "sent" */
	CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
	/* a permanent late failure ends it */
	CHECK_INT(pe_failed(d, prov, b2_pmid, perm), 200);
	CHECK(e2e_wait_status(d, b_id, "failed", 10000));
	hooks += 1; /* the "failed" webhook */
	CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
	CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), 5);
	*hooks_io = hooks;
}

static void inbound_and_late_failure(const wa_daemon *d, const wa_fake *f,
                                     receiver *rcv, const char *b_id,
                                     const char *b_pmid)
{
	const bool tw = strcmp(prov->name, "twilio") == 0;
	const bool ev = strcmp(prov->name, "evolution") == 0;
	const bool meta = strcmp(prov->name, "cloudapi") == 0;
	const char *in_id = tw   ? "SM0123456789abcdef0123456789abcdef"
	                    : ev ? "3A0123456789ABCDEF01"
	                         : "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFDNB";
	const char *in_id2 = tw   ? "SM0123456789abcdef0123456789abcdf0"
	                     : ev ? "3A0123456789ABCDEF02"
	                          : "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFDNC";
	/* A throttling code of each: Meta throughput, Twilio queue overflow
	 * (63018 would pause sending: QUALITY_PAUSE_CODES). */
	const char *code = tw ? "30001" : "130429";
	const char *perm = tw ? "63016" : "131026";
	char got[256], d_id[64], d_pmid[128];
	wa_http_reply r;
	rcv_req last;
	int hooks = 6;

	for (int i = 0; i < 3; i++)
		CHECK_INT(pe_inbound(d, prov, in_id, PHONE, "Parar", PE_SIGNED),
		          200);
	CHECK_INT(pe_inbound(d, prov, in_id, PHONE, "Parar", PE_BAD_SIG),
	          prov->forged_status);
	hooks += 2; /* message.received, contact.opted_out */
	CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
	CHECK_INT(events_of(rcv, "message.received", &last), 1);
	CHECK_STR(last.provider_message_id, in_id);
	CHECK_STR(last.phone, PHONE);
	CHECK_STR(last.text, "Parar");
	CHECK(strncmp(last.message_id, "in-", 3) == 0);
	CHECK_INT(events_of(rcv, "contact.opted_out", &last), 1);
	CHECK_STR(last.phone, PHONE);
	CHECK_STR(last.source, "keyword:PARAR");
	CHECK_INT(wa_h_count_lines(d->log_path, "1 message(s) stored"), 1);
	CHECK_INT(wa_h_count_lines(d->log_path, "1 repeated"), 2);

	CHECK_INT(e2e_get(d, "/v1/inbound?phone=%2B5511987650001", &r), 200);
	CHECK_INT(count_str(r.body, "\"provider_message_id\""), 1);
	CHECK(strstr(r.body, in_id) != NULL);
	wa_h_reply_free(&r);

	/* Refused at once: 409, a sentence, nothing queued or sent. */
	CHECK_INT(
	    pe_send(d, "pe-" PE_PROVIDER "-d0", PHONE, "Promo", false, &r),
	    409);
	CHECK(strstr(r.body, "opted out") != NULL);
	CHECK(strstr(r.body, "keyword:PARAR") != NULL);
	wa_h_reply_free(&r);
	CHECK_INT(
	    e2e_get(d, "/v1/messages?external_id=pe-" PE_PROVIDER "-d0", &r),
	    404);
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), 3);

	/* "voltar": back in; the next send goes out. */
	CHECK_INT(pe_inbound(d, prov, in_id2, PHONE, "voltar", PE_SIGNED), 200);
	hooks += 2; /* message.received, contact.opted_in */
	CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
	CHECK_INT(events_of(rcv, "contact.opted_in", &last), 1);
	CHECK_STR(last.source, "keyword:VOLTAR");
	CHECK_INT(pe_send(d, "pe-" PE_PROVIDER "-d1", PHONE, "Welcome back",
	                  true, &r),
	          200);
	pe_json(r.body, "message_id", d_id, sizeof(d_id));
	pe_json(r.body, "status", got, sizeof(got));
	CHECK_STR(got, "sent");
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_count_lines(f->record, "\"to\":"), 4);
	pe_fake_id(f, 4, d_pmid, sizeof(d_pmid));
	hooks += 1; /* its "sent" */
	CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
	CHECK_STR(hooks_of(rcv, d_id, d_pmid, got, sizeof(got)), "sent");

	CHECK_INT(pe_failed(d, prov, b_pmid, code), 200);
	if (ev) { /* no code: permanent, as before */
		CHECK(e2e_wait_status(d, b_id, "failed", 10000));
		hooks += 1; /* the "failed" webhook */
		CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
	} else {
		late_retry(d, f, rcv, b_id, code, perm, &hooks);
	}
	/* After the late failures: an opted-out phone's requeued message is
	 * never sent (the claim's suppression check), so the marketing stop
	 * must not come before the retry it expects to go out. */
	if (meta) {
		/* A marketing opt-out through Meta's user_preferences. */
		char body[1024];

		snprintf(
		    body, sizeof(body),
		    "{\"object\":\"whatsapp_business_account\",\"entry\":[{"
		    "\"id\":\"1\",\"changes\":[{\"value\":{"
		    "\"user_preferences\":[{\"wa_id\":\"%s\",\"detail\":"
		    "\"User requested to stop marketing messages\","
		    "\"category\":\"marketing_messages\",\"value\":"
		    "\"stop\",\"timestamp\":1750032000}]},\"field\":"
		    "\"user_preferences\"}]}]}",
		    PHONE + 1);
		CHECK_INT(pe_meta_webhook(d, body), 200);
		hooks += 1;
		CHECK_INT(rcv_wait(rcv, hooks, 10000), hooks);
		CHECK_INT(events_of(rcv, "contact.opted_out", &last), 2);
		CHECK_STR(last.source,
		          "cloudapi:user_preferences:marketing_messages");
		CHECK_INT(e2e_get(d, "/v1/contacts/%2B5511987650001", &r), 200);
		CHECK_STR(pe_json(r.body, "opt_source", got, sizeof(got)),
		          "cloudapi:user_preferences:marketing_messages");
		wa_h_reply_free(&r);
	}
	CHECK_INT(wa_h_count_lines(d->log_path, PHONE + 1), 0); /* masked */
}

int main(void)
{
	wa_daemon d;
	wa_fake f;
	pe_env env;
	receiver *rcv;
	char rec[512], a_id[64], a_pmid[128], b_id[64], b_pmid[128], got[256];
	char c_id[64], c_pmid[128], c_early[128];
	/* Evolution has no signature: there "modified" is a wrong ?token=. */
	const pe_forge forged[] = {PE_BAD_SIG, PE_MODIFIED, PE_NO_SIG};

	pe_clean_environ();
	signer_vectors();
	prov = pe_find(PE_PROVIDER);
	if (!prov) {
		fprintf(stderr, "unknown provider %s\n", PE_PROVIDER);
		return 1;
	}
	memset(&d, 0, sizeof(d));
	CHECK_INT(wa_h_daemon_init(&d), 0);
	rcv = rcv_start(PE_HOOK_SECRET, 0);
	CHECK(rcv != NULL);
	snprintf(rec, sizeof(rec), "%s/%s.jsonl", d.dir, prov->name);
	if (!rcv || wa_fake_start(&f, prov->name, rec, NULL) != 0) {
		fprintf(stderr, "cannot start the fake %s server\n",
		        prov->name);
		return 1;
	}
	pe_env_init(&env, prov, wa_h_free_port(), f.base, rcv_port(rcv));
	if (wa_h_daemon_start(&d, env.list) != 0) {
		fprintf(stderr, "daemon did not start; log %s\n", d.log_path);
		wa_fake_stop(&f);
		return 1;
	}

	/* A: sent -> delivered -> read through genuine callbacks. */
	send_checked(&d, &f, 1, "pe-" PE_PROVIDER "-a", a_id, sizeof(a_id),
	             a_pmid, sizeof(a_pmid));
	CHECK_INT(wa_h_count_lines(f.record, "\"to\":"), 1);
	CHECK_INT(pe_callback(&d, prov, a_pmid, "delivered", PE_SIGNED), 200);
	CHECK_STR(e2e_status(&d, a_id, got, sizeof(got)), "delivered");
	CHECK_INT(pe_callback(&d, prov, a_pmid, "read", PE_SIGNED), 200);
	CHECK_STR(e2e_status(&d, a_id, got, sizeof(got)), "read");
	/* A late "delivered" is acknowledged but never moves A back. */
	CHECK_INT(pe_callback(&d, prov, a_pmid, "delivered",
	                      strcmp(prov->name, "evolution") == 0
	                          ? PE_QUERY_TOKEN
	                          : PE_SIGNED),
	          200);
	check_message(&d, a_id, "read", a_pmid, "sent delivered read");

	/* B: sent, then only forged callbacks: nothing may change. */
	send_checked(&d, &f, 2, "pe-" PE_PROVIDER "-b", b_id, sizeof(b_id),
	             b_pmid, sizeof(b_pmid));
	CHECK(strcmp(a_pmid, b_pmid) != 0);
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		CHECK_INT(pe_callback(&d, prov, b_pmid, "delivered", forged[i]),
		          prov->forged_status);
	check_message(&d, b_id, "sent", b_pmid, "sent");

	/* Webhooks: A sent, delivered, read in order; B sent; nothing else.
	 * B's "sent" was queued after A's late callback, so once it arrived
	 * a webhook for that callback would have been sent too. */
	CHECK_INT(rcv_wait(rcv, 4, 10000), 4);
	CHECK_STR(hooks_of(rcv, a_id, a_pmid, got, sizeof(got)),
	          "sent delivered read");
	CHECK_STR(hooks_of(rcv, b_id, b_pmid, got, sizeof(got)), "sent");

	if (strcmp(prov->name, "cloudapi") == 0)
		hub_challenge(&d);

	/* C: "delivered" comes before the daemon has written the send (here
	 * even before the send: the fake's third request gets a known id).
	 * Kept, and applied once the send is recorded. */
	fp_message_id(strcmp(prov->name, "twilio") == 0      ? FP_TWILIO
	              : strcmp(prov->name, "evolution") == 0 ? FP_EVOLUTION
	                                                     : FP_CLOUDAPI,
	              3, c_early, sizeof(c_early));
	CHECK_INT(pe_callback(&d, prov, c_early, "delivered", PE_SIGNED), 200);
	send_checked(&d, &f, 3, "pe-" PE_PROVIDER "-c", c_id, sizeof(c_id),
	             c_pmid, sizeof(c_pmid));
	CHECK_STR(c_pmid, c_early);
	CHECK(e2e_wait_status(&d, c_id, "delivered", 10000));
	check_message(&d, c_id, "delivered", c_pmid, "sent delivered");
	CHECK_INT(rcv_wait(rcv, 6, 10000), 6);
	CHECK_STR(hooks_of(rcv, c_id, c_pmid, got, sizeof(got)),
	          "sent delivered");

	CHECK_INT(rcv_wait(rcv, 7, 0), 6);
	CHECK_INT(wa_h_count_lines(f.record, "\"to\":"), 3);

	inbound_and_late_failure(&d, &f, rcv, b_id, b_pmid);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 10000), 0);
	CHECK_INT(wa_fake_stop(&f), 0);
	rcv_stop(rcv);
	if (wa_t_failed)
		fprintf(stderr, "daemon log: %s\n", d.log_path);
	return wa_t_report();
}
