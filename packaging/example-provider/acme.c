/* acme.c - example wadispatch provider with a blocking send()
 *
 * "Acme" stands for an upstream that is not a plain HTTP API, so this
 * provider delivers with send() instead of the build_request/parse_response
 * pair. Here it only logs and answers OK with an id of its own.
 * Build and install: make && sudo make install. Run: WHATSAPP_PROVIDER=acme
 * (or the absolute path of acme.so) and ACME_TOKEN=<anything>.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wadispatch/provider.h>

/* The keys this provider reads. The host refuses to start when a REQUIRED
 * key is unset and never logs a SECRET one. */
static const wa_config_key acme_keys[] = {
    {"ACME_TOKEN", NULL, WA_CONFIG_REQUIRED | WA_CONFIG_SECRET,
     "API token of the Acme account."},
    {"ACME_SENDER", "acme-demo", 0, "Sender name shown to recipients."},
    {NULL, NULL, 0, NULL},
};

/* Decided in init(), read-only afterwards except the atomic counter:
 * send() runs on many threads at once. */
typedef struct acme_state {
	const wa_host *host;
	char sender[64];
	atomic_ulong next_id;
} acme_state;

static int acme_init(const wa_host *host, void **state, char *err,
                     size_t err_len)
{
	const char *token = host->config_get(host, "ACME_TOKEN");
	const char *sender = host->config_get(host, "ACME_SENDER");
	acme_state *s;

	if (!token) {
		snprintf(err, err_len, "ACME_TOKEN is not set");
		return -1;
	}
	if (!sender)
		sender = "acme-demo";
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_len, "Out of memory");
		return -1;
	}
	if ((size_t)snprintf(s->sender, sizeof(s->sender), "%s", sender) >=
	    sizeof(s->sender)) {
		snprintf(err, err_len, "ACME_SENDER is longer than %zu bytes",
		         sizeof(s->sender) - 1);
		free(s);
		return -1;
	}
	s->host = host;
	atomic_init(&s->next_id, 1);
	*state = s;
	host->log(host, WA_LOG_INFO, "acme ready, sender %s", s->sender);
	return 0;
}

static void acme_destroy(void *state)
{
	free(state);
}

static void acme_send(void *state, const wa_message *msg, wa_result *res)
{
	acme_state *s = state;
	size_t len = strlen(msg->recipient_phone);
	unsigned long id;

	/* A real provider talks to its upstream here and maps the outcome:
	 * accepted -> OK, transient -> RETRY, this message is bad -> REJECT,
	 * our credentials are bad -> CONFIG. */
	if (strlen(msg->message_body) > 1000) {
		res->result_class = WA_RESULT_REJECT;
		snprintf(res->upstream_code, sizeof(res->upstream_code),
		         "TOO_LONG");
		snprintf(res->error, sizeof(res->error),
		         "Acme accepts at most 1000 bytes of text");
		return;
	}
	id = atomic_fetch_add(&s->next_id, 1);
	res->result_class = WA_RESULT_OK;
	res->upstream_status = 200;
	snprintf(res->provider_message_id, sizeof(res->provider_message_id),
	         "acme-%lu", id);
	/* Never log a full phone number: the last two digits are enough. */
	s->host->log(s->host, WA_LOG_INFO, "acme accepted %s for ...%s as %s",
	             msg->message_id,
	             len > 2 ? msg->recipient_phone + len - 2 : "",
	             res->provider_message_id);
}

static const wa_provider acme_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_provider),
    .name = "acme",
    .version = "1.0.0",
    .description = "Example provider: logs each message and answers OK.",
    .config_keys = acme_keys,
    .message_id_name = "acme_id",
    .default_rate = 10,
    .init = acme_init,
    .destroy = acme_destroy,
    .send = acme_send,
};

WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                                           uint32_t host_minor)
{
	(void)host_minor;
	if (host_major != WA_PROVIDER_ABI_MAJOR)
		return NULL;
	return &acme_provider;
}
