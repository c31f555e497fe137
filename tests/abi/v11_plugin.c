/* v11_plugin.c - a provider built against the frozen v1.1 header
 *
 * Every later host must load it, deliver through it (reading the 1.1
 * template and media fields of a longer, current wa_message) and take its
 * status callbacks, although the host hands it a longer (current)
 * wa_callback_reply than the one it was compiled with.
 */
#include <stdio.h>
#include <string.h>

#include "provider_v1_1.h"

static int v11_init(const wa_host *host, void **state, char *err,
                    size_t err_len)
{
	(void)err;
	(void)err_len;
	host->log(host, WA_LOG_DEBUG, "v1.1 test provider ready");
	*state = NULL;
	return 0;
}

static void v11_destroy(void *state)
{
	(void)state;
}

/* Echo the 1.1 fields so the test sees what the plugin read. */
static void v11_send(void *state, const wa_message *msg, wa_result *res)
{
	(void)state;
	res->result_class = WA_RESULT_OK;
	res->upstream_status = (long)msg->struct_size;
	snprintf(res->provider_message_id, sizeof(res->provider_message_id),
	         "v11:%s", msg->message_id);
	snprintf(res->error, sizeof(res->error), "%s|%s|%zu|%s",
	         msg->template_name ? msg->template_name : "-",
	         msg->template_language ? msg->template_language : "-",
	         msg->n_template_variables,
	         msg->media_url ? msg->media_url : "-");
}

/* One FAILED update per request, the whole callback as the error text;
 * fills every byte of the 1.1 reply so the host can see nothing past it
 * was touched. */
static void v11_on_callback(void *state, const wa_callback_request *req,
                            wa_callback_reply *reply)
{
	wa_status_update *u = &reply->updates[0];

	(void)state;
	reply->http_status = 200;
	snprintf(reply->content_type, sizeof(reply->content_type),
	         "text/plain");
	snprintf(reply->body, sizeof(reply->body), "%zu", reply->struct_size);
	reply->n_updates = 1;
	snprintf(u->provider_message_id, sizeof(u->provider_message_id),
	         "v11-id");
	u->status = WA_STATUS_FAILED;
	u->occurred_at_ms = 1750030080000LL;
	snprintf(u->error_code, sizeof(u->error_code), "131056");
	snprintf(u->error, sizeof(u->error), "%.*s", (int)req->body_len,
	         req->body);
}

static const wa_provider v11_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR, /* 1 */
    .struct_size = sizeof(wa_provider),
    .name = "v11",
    .version = "1.1.0",
    .message_id_name = "v11_id",
    .init = v11_init,
    .destroy = v11_destroy,
    .send = v11_send,
    .on_callback = v11_on_callback,
};

WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                                           uint32_t host_minor);

const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                        uint32_t host_minor)
{
	return host_major == WA_PROVIDER_ABI_MAJOR &&
	               host_minor >= WA_PROVIDER_ABI_MINOR
	           ? &v11_provider
	           : NULL;
}
