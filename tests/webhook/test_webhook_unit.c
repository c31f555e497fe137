/* test_webhook_unit.c - webhook body shape, signature known answers, config
 * checks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/webhook.h"
#include "store/writer.h"
#include "testing.h"

/* Fixed vector, computed independently with Python's hmac module:
 *   python3 -c 'import hmac,hashlib; print(hmac.new(
 *     b"whsec_test_0123456789abcdef",
 *     b"1700000000." + b"{\"event\":\"message.status\"}",
 *     hashlib.sha256).hexdigest())'
 */
#define KAT_SECRET "whsec_test_0123456789abcdef"
#define KAT_TS "1700000000"
#define KAT_BODY "{\"event\":\"message.status\"}"
#define KAT_SIG                                                                \
	"sha256="                                                              \
	"4924a6923937dfebf87af6746887e704041c7843129fe035a1174a9e95699e34"

static void test_sign_fixed(void)
{
	char out[80];

	CHECK_INT(wa_webhook_sign(KAT_SECRET, KAT_TS, KAT_BODY,
	                          strlen(KAT_BODY), out, sizeof(out)),
	          0);
	CHECK_STR(out, KAT_SIG);
	/* the timestamp is part of what is signed */
	CHECK_INT(wa_webhook_sign(KAT_SECRET, "1700000001", KAT_BODY,
	                          strlen(KAT_BODY), out, sizeof(out)),
	          0);
	CHECK(strcmp(out, KAT_SIG) != 0);
	/* too small an output buffer */
	CHECK_INT(wa_webhook_sign(KAT_SECRET, KAT_TS, KAT_BODY,
	                          strlen(KAT_BODY), out, 71),
	          -1);
	CHECK_INT(wa_webhook_sign(KAT_SECRET, KAT_TS, KAT_BODY,
	                          strlen(KAT_BODY), out, 72),
	          0);
}

/* HMAC by the openssl command line over "<ts>.<body>" written to a file. */
static int cli_hmac(const char *key, const char *ts, const char *body,
                    size_t len, char *hex, size_t hex_len)
{
	char path[] = "/tmp/wa-webhook-kat-XXXXXX", cmd[512], line[256];
	int fd = mkstemp(path), rc = -1;
	FILE *p;
	char *eq;

	if (fd < 0)
		return -1;
	if (write(fd, ts, strlen(ts)) < 0 || write(fd, ".", 1) != 1 ||
	    (len && write(fd, body, len) != (ssize_t)len)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -hmac '%s' '%s'", key,
	         path);
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p) && (eq = strstr(line, "= "))) {
		eq += 2;
		eq[strcspn(eq, "\r\n")] = '\0';
		snprintf(hex, hex_len, "sha256=%s", eq);
		rc = 0;
	}
	if (p)
		pclose(p);
	unlink(path);
	return rc;
}

static void test_sign_cli(void)
{
	static const struct {
		const char *key, *ts, *body;
	} v[] = {
	    {KAT_SECRET, KAT_TS, KAT_BODY},
	    {"0123456789abcdef", "1764116955", ""},
	    /* a key longer than the SHA-256 block (hashed first) */
	    {"k3y-that-is-much-longer-than-sixty-four-bytes-0123456789-"
	     "abcdefghijklmnopqrstuvwxyz",
	     "1", "{\"error\":\"caf\xc3\xa9 \\\"x\\\"\"}"},
	};
	char got[80], want[128];

	if (access("/usr/bin/openssl", X_OK) != 0 &&
	    access("/usr/local/bin/openssl", X_OK) != 0) {
		printf("openssl CLI not found; only the fixed vector is "
		       "checked\n");
		return;
	}
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_INT(cli_hmac(v[i].key, v[i].ts, v[i].body,
		                   strlen(v[i].body), want, sizeof(want)),
		          0);
		CHECK_INT(wa_webhook_sign(v[i].key, v[i].ts, v[i].body,
		                          strlen(v[i].body), got, sizeof(got)),
		          0);
		CHECK_STR(got, want);
	}
	/* and the CLI agrees with the fixed vector */
	CHECK_INT(cli_hmac(KAT_SECRET, KAT_TS, KAT_BODY, strlen(KAT_BODY), want,
	                   sizeof(want)),
	          0);
	CHECK_STR(want, KAT_SIG);
}

static void test_body(void)
{
	wa_outbox_event ev;
	char out[8192];
	int n;

	memset(&ev, 0, sizeof(ev));
	ev.seq = 7;
	snprintf(ev.message_id, sizeof(ev.message_id), "msg-0001");
	snprintf(ev.external_id, sizeof(ev.external_id), "camp-42");
	ev.status = WA_MSG_DELIVERED;
	snprintf(ev.provider, sizeof(ev.provider), "twilio");
	snprintf(ev.provider_message_id, sizeof(ev.provider_message_id),
	         "SM123");
	ev.occurred_ms = 1764116955298LL;
	n = wa_webhook_body(&ev, out, sizeof(out));
	CHECK_STR(out,
	          "{\"event\":\"message.status\",\"message_id\":\"msg-0001\","
	          "\"external_id\":\"camp-42\",\"status\":\"delivered\","
	          "\"provider\":\"twilio\",\"provider_message_id\":\"SM123\","
	          "\"error\":null,\"occurred_at\":\"2025-11-26T00:29:15.298Z\","
	          "\"campaign_id\":null}");
	CHECK_INT(n, strlen(out));

	/* null provider id, an error, escaping, UTF-8 kept, bad bytes
	 * replaced */
	ev.status = WA_MSG_FAILED;
	ev.provider_message_id[0] = '\0';
	snprintf(ev.external_id, sizeof(ev.external_id),
	         "a\"b\\c\nd\x01"
	         "e\xc3\xa7\xc3\xa3o");
	snprintf(ev.error, sizeof(ev.error), "bad\xff\xc3 byte\t/");
	ev.occurred_ms = 5;
	snprintf(ev.campaign_id, sizeof(ev.campaign_id), "spring \"26\"");
	n = wa_webhook_body(&ev, out, sizeof(out));
	CHECK_STR(
	    out,
	    "{\"event\":\"message.status\",\"message_id\":\"msg-0001\","
	    "\"external_id\":\"a\\\"b\\\\c\\u000ad\\u0001e\xc3\xa7\xc3\xa3o\","
	    "\"status\":\"failed\",\"provider\":\"twilio\","
	    "\"provider_message_id\":null,"
	    "\"error\":\"bad\\ufffd\\ufffd byte\\u0009/\","
	    "\"occurred_at\":\"1970-01-01T00:00:00.005Z\","
	    "\"campaign_id\":\"spring \\\"26\\\"\"}");
	CHECK_INT(n, strlen(out));

	/* every status name the outbox can carry */
	ev.status = WA_MSG_SENT;
	wa_webhook_body(&ev, out, sizeof(out));
	CHECK_CONTAINS(out, "\"status\":\"sent\"");
	ev.status = WA_MSG_READ;
	wa_webhook_body(&ev, out, sizeof(out));
	CHECK_CONTAINS(out, "\"status\":\"read\"");
	ev.status = WA_MSG_CANCELED;
	wa_webhook_body(&ev, out, sizeof(out));
	CHECK_CONTAINS(out, "\"status\":\"canceled\"");

	/* too small: -1 and an empty string, never a cut body */
	CHECK_INT(wa_webhook_body(&ev, out, 40), -1);
	CHECK_STR(out, "");

	/* the worst case fits the documented 8 KiB */
	memset(ev.external_id, 0x01, sizeof(ev.external_id) - 1);
	ev.external_id[sizeof(ev.external_id) - 1] = '\0';
	memset(ev.provider_message_id, 0xff,
	       sizeof(ev.provider_message_id) - 1);
	ev.provider_message_id[sizeof(ev.provider_message_id) - 1] = '\0';
	memset(ev.error, 0x02, sizeof(ev.error) - 1);
	ev.error[sizeof(ev.error) - 1] = '\0';
	memset(ev.provider, 0x03, sizeof(ev.provider) - 1);
	ev.provider[sizeof(ev.provider) - 1] = '\0';
	memset(ev.message_id, 0x04, sizeof(ev.message_id) - 1);
	ev.message_id[sizeof(ev.message_id) - 1] = '\0';
	CHECK(wa_webhook_body(&ev, out, sizeof(out)) > 0);
}

static void test_create_rules(void)
{
	char err[256] = "";
	wa_store *s = wa_store_open_memory(err, sizeof(err));
	wa_writer *wr = s ? wa_writer_create(s, 16, err, sizeof(err)) : NULL;
	wa_webhook_config c = {
	    "https://hooks.example.test/wa", KAT_SECRET, 1000, 10, 100, 0};
	wa_webhook *w;

	CHECK(wr != NULL);
	if (!wr)
		return;
	w = wa_webhook_create(&c, s, wr, err, sizeof(err));
	CHECK(w != NULL);
	wa_webhook_destroy(w); /* never started */
	c.url = "ftp://hooks.example.test/";
	CHECK(wa_webhook_create(&c, s, wr, err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "STATUS_WEBHOOK_URL");
	c.url = "http://";
	CHECK(wa_webhook_create(&c, s, wr, err, sizeof(err)) == NULL);
	c.url = "HTTP://127.0.0.1:9/x";
	c.secret = "short";
	CHECK(wa_webhook_create(&c, s, wr, err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "STATUS_WEBHOOK_SECRET");
	CHECK(strstr(err, "short") == NULL); /* never echo the secret */
	c.secret = NULL;
	CHECK(wa_webhook_create(&c, s, wr, err, sizeof(err)) == NULL);
	wa_webhook_destroy(NULL);
	wa_writer_destroy(wr);
	wa_store_close(s);
}

int main(void)
{
	test_sign_fixed();
	test_sign_cli();
	test_body();
	test_create_rules();
	return wa_t_report();
}
