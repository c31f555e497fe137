/* fuzz_twilio_response.c - fuzz the Twilio provider's parse_response (plugin
 * sources linked in) */
#include "fuzz.h"

#define TW_TOKEN "test_auth_token_0123456789abcdef"

static const char *const fz_config[] = {
    "TWILIO_ACCOUNT_SID=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "TWILIO_AUTH_TOKEN=" TW_TOKEN,
    "TWILIO_FROM=whatsapp:+14155552345",
    "PUBLIC_BASE_URL=https://wa.example.test",
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;

	if (!p)
		p = fz_provider(fz_config, &state);
	fz_response_input(p, state, data, size);
	return 0;
}
