/* fuzz_evolution_inbound.c - fuzz the Evolution messages.upsert parser of an
 * authenticated webhook
 *
 * Input: the raw JSON body, sent with the configured X-Wadispatch-Token so
 * every input reaches the parser; fz_callback checks the reply's
 * invariants. Seeds are messages.upsert (and messages.update) payloads.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#define EV_HOOK "evo-webhook-token-42"

static const char *const fz_config[] = {
    "EVOLUTION_BASE_URL=http://10.0.0.5:8080",
    "EVOLUTION_INSTANCE=dispatcher",
    "EVOLUTION_API_KEY=evo-api-key-0123456789",
    "EVOLUTION_WEBHOOK_TOKEN=" EV_HOOK,
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;
	const char *headers[3] = {"X-Wadispatch-Token", EV_HOOK, NULL};
	static wa_callback_reply reply_buf; /* 170+ KiB: not per run */
	wa_callback_reply *reply = &reply_buf;
	fz_cb_input in;

	if (!p)
		p = fz_provider(fz_config, &state);
	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.public_url =
	    "https://wa.example.test/v1/providers/evolution/callback";
	in.query = "";
	in.content_type = "application/json";
	in.body = (const char *)data;
	in.body_len = size;
	in.headers = headers;
	fz_callback(p, state, &in, reply);
	FZ_CHECK(reply->http_status == 200 || reply->http_status == 400);
	return 0;
}
