/* fuzz_cloudapi_response.c - fuzz the Cloud API provider's parse_response
 * (plugin sources linked in) */
#include "fuzz.h"

#define CA_SECRET "test_app_secret"
#define CA_VERIFY "verify-token-123"

static const char *const fz_config[] = {
    "CLOUDAPI_TOKEN=EAAtesttoken0123456789",
    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
    "CLOUDAPI_APP_SECRET=" CA_SECRET,
    "CLOUDAPI_VERIFY_TOKEN=" CA_VERIFY,
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
