/* fuzz_cloudapi_inbound.c - fuzz the Cloud API inbound parser: messages[] and
 * user_preferences[] of a validly signed webhook
 *
 * Input: the raw POST body. The harness signs it (HMAC-SHA256 with the
 * configured app secret), so every input reaches the JSON parser and the
 * inbound code; fz_callback checks the reply's invariants (valid UTF-8,
 * +<digits> senders, known types and kinds, one entry per id).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CA_SECRET "test_app_secret"

static const char *const fz_config[] = {
    "CLOUDAPI_TOKEN=EAAtesttoken0123456789",
    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
    "CLOUDAPI_APP_SECRET=" CA_SECRET,
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;
	static const char hex[] = "0123456789abcdef";
	const char *headers[3] = {"X-Hub-Signature-256", NULL, NULL};
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	char sig[80];
	fz_cb_input in;
	static wa_callback_reply reply_buf; /* 170+ KiB: not per run */
	wa_callback_reply *reply = &reply_buf;

	if (!p)
		p = fz_provider(fz_config, &state);
	if (!HMAC(EVP_sha256(), CA_SECRET, (int)strlen(CA_SECRET), data, size,
	          mac, &mlen) ||
	    mlen != 32)
		abort();
	memcpy(sig, "sha256=", 7);
	for (unsigned i = 0; i < 32; i++) {
		sig[7 + 2 * i] = hex[mac[i] >> 4];
		sig[8 + 2 * i] = hex[mac[i] & 15];
	}
	sig[71] = '\0';
	headers[1] = sig;

	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.public_url =
	    "https://wa.example.test/v1/providers/cloudapi/callback";
	in.query = "";
	in.content_type = "application/json";
	in.body = (const char *)data;
	in.body_len = size;
	in.headers = headers;
	fz_callback(p, state, &in, reply);
	/* Signed: never refused, only 200 or 400 (malformed JSON). */
	FZ_CHECK(reply->http_status == 200 || reply->http_status == 400);
	return 0;
}
