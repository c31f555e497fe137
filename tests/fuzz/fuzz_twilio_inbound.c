/* fuzz_twilio_inbound.c - fuzz the Twilio incoming-message parser of a
 * validly signed webhook
 *
 * Input: the raw form body. The harness computes X-Twilio-Signature over
 * the URL and the parsed fields (when the body parses at all), so every
 * well-formed input reaches the status/inbound code; fz_callback checks
 * the reply's invariants.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "pc.h"

#define TW_TOKEN "test_auth_token_0123456789abcdef"
#define TW_URL "https://wa.example.test/v1/providers/twilio/callback"

static const char *const fz_config[] = {
    "TWILIO_ACCOUNT_SID=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "TWILIO_AUTH_TOKEN=" TW_TOKEN,
    "TWILIO_FROM=+14155552345",
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;
	const char *headers[3] = {"X-Twilio-Signature", NULL, NULL};
	wa_pc_form *form = malloc(sizeof(*form));
	static wa_callback_reply reply_buf; /* 170+ KiB: not per run */
	wa_callback_reply *reply = &reply_buf;
	char sig[64] = "";
	bool signed_ok;
	fz_cb_input in;

	if (!form)
		abort();
	if (!p)
		p = fz_provider(fz_config, &state);
	signed_ok = wa_pc_form_parse(form, (const char *)data, size) == 0 &&
	            wa_pc_twilio_signature(TW_TOKEN, TW_URL, form, sig,
	                                   sizeof(sig)) == 0;
	headers[1] = signed_ok ? sig : "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.public_url = TW_URL;
	in.query = "";
	in.content_type = "application/x-www-form-urlencoded";
	in.body = (const char *)data;
	in.body_len = size;
	in.headers = headers;
	fz_callback(p, state, &in, reply);
	FZ_CHECK(reply->http_status == 200 || reply->http_status == 400 ||
	         reply->http_status == 403);
	if (signed_ok)
		FZ_CHECK(reply->http_status != 403);
	free(form);
	return 0;
}
