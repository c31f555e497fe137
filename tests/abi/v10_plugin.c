/* v10_plugin.c - a provider built against the frozen v1.0 header
 *
 * Every later host must load it and deliver through it, although the host
 * hands it a longer (current) wa_message than the one it was compiled with.
 */
#include <stdio.h>

#include "provider_v1_0.h"

static int v10_init(const wa_host *host, void **state, char *err,
                    size_t err_len)
{
	(void)err;
	(void)err_len;
	host->log(host, WA_LOG_DEBUG, "v1.0 test provider ready");
	*state = NULL;
	return 0;
}

static void v10_destroy(void *state)
{
	(void)state;
}

/* Echo every v1.0 field so the test sees what the plugin read. */
static void v10_send(void *state, const wa_message *msg, wa_result *res)
{
	(void)state;
	res->result_class = msg->attempt == 1 ? WA_RESULT_OK : WA_RESULT_RETRY;
	res->upstream_status = (long)msg->struct_size;
	snprintf(res->provider_message_id, sizeof(res->provider_message_id),
	         "v10:%s:%u", msg->message_id, msg->attempt);
	snprintf(res->error, sizeof(res->error), "%s|%s|%s", msg->external_id,
	         msg->recipient_phone, msg->message_body);
	snprintf(res->upstream_code, sizeof(res->upstream_code), "%zu",
	         res->struct_size);
}

static const wa_provider v10_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR, /* 0 */
    .struct_size = sizeof(wa_provider),
    .name = "v10",
    .version = "1.0.0",
    .message_id_name = "v10_id",
    .init = v10_init,
    .destroy = v10_destroy,
    .send = v10_send,
};

WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                                           uint32_t host_minor);

const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                        uint32_t host_minor)
{
	(void)host_minor;
	return host_major == WA_PROVIDER_ABI_MAJOR ? &v10_provider : NULL;
}
