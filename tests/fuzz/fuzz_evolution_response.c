/* fuzz_evolution_response.c - fuzz the Evolution API provider's parse_response
 * (plugin sources linked in) */
#include "fuzz.h"

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

	if (!p)
		p = fz_provider(fz_config, &state);
	fz_response_input(p, state, data, size);
	return 0;
}
