/* testplugin.c - one provider source built many ways, most broken on purpose
 *
 * tests/loader/CMakeLists.txt builds this file once per TP_* combination
 * into tests/loader/plugins/tp_<case>.so; test_loader.c checks how the
 * loader accepts or refuses each one.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <wadispatch/provider.h>

#ifndef TP_NAME
#define TP_NAME "testplugin"
#endif
#ifndef TP_VERSION
#define TP_VERSION "0.0.1"
#endif
#ifndef TP_MAJOR
#define TP_MAJOR WA_PROVIDER_ABI_MAJOR
#endif
#ifndef TP_MINOR
#define TP_MINOR WA_PROVIDER_ABI_MINOR
#endif
#ifndef TP_SIZE
#define TP_SIZE sizeof(wa_provider)
#endif

#ifdef TP_UNDEFINED
/* Defined nowhere: dlopen(RTLD_NOW) must fail on it. */
extern int tp_symbol_defined_nowhere(void);
#endif

static const wa_config_key tp_keys[] = {
#ifdef TP_NEED_KEY
    {"LOADER_TEST_TOKEN", NULL, WA_CONFIG_REQUIRED | WA_CONFIG_SECRET,
     "A required secret."},
#endif
    {"LOADER_TEST_GREETING", "hi", 0, "Echoed by send."},
    {"LOADER_TEST_DESTROY_FILE", NULL, 0, "Created by destroy()."},
    {"LOADER_TEST_SECRET", NULL, WA_CONFIG_SECRET, "A secret."},
    {NULL, NULL, 0, NULL},
};

typedef struct tp_state {
	const wa_host *host;
	char greeting[64];
	char destroy_file[512];
} tp_state;

static tp_state tp_the_state;

/* unused when TP_NO_INIT leaves it out of the table */
static __attribute__((unused)) int tp_init(const wa_host *host, void **state,
                                           char *err, size_t err_len)
{
	const char *v;

#ifdef TP_INIT_FAIL
	(void)host;
	(void)state;
	snprintf(err, err_len, "upstream rejected the test token.");
	return -1;
#endif
#ifdef TP_UNDEFINED
	if (tp_symbol_defined_nowhere())
		return -1;
#endif
	memset(&tp_the_state, 0, sizeof(tp_the_state));
	tp_the_state.host = host;
	v = host->config_get(host, "LOADER_TEST_GREETING");
	snprintf(tp_the_state.greeting, sizeof(tp_the_state.greeting), "%s",
	         v ? v : "hi");
	v = host->config_get(host, "LOADER_TEST_DESTROY_FILE");
	if (v)
		snprintf(tp_the_state.destroy_file,
		         sizeof(tp_the_state.destroy_file), "%s", v);
	host->log(host, WA_LOG_INFO, "testplugin %s ready", TP_NAME);
	*state = &tp_the_state;
	return 0;
}

static void tp_destroy(void *state)
{
	tp_state *s = state;

	if (s && s->destroy_file[0]) {
		int fd =
		    open(s->destroy_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			if (write(fd, "destroyed\n", 10) != 10)
				s->destroy_file[0] = 0;
			close(fd);
		}
	}
}

#if defined(TP_SEND)
static void tp_send(void *state, const wa_message *msg, wa_result *res)
{
	tp_state *s = state;

	res->result_class = WA_RESULT_OK;
	res->upstream_status = 200;
	snprintf(res->provider_message_id, sizeof(res->provider_message_id),
	         "tp-%s-%u", msg->message_id, msg->attempt);
	snprintf(res->error, sizeof(res->error), "%s", s->greeting);
}
#endif

#if defined(TP_BUILD)
static int tp_build(void *state, const wa_message *msg, wa_http_request *req,
                    wa_result *res)
{
	(void)state;
	(void)res;
	snprintf(req->url, sizeof(req->url), "http://127.0.0.1:1/%s",
	         msg->message_id);
	return 0;
}
#endif

#if defined(TP_PARSE)
static void tp_parse(void *state, const wa_message *msg,
                     const wa_http_response *resp, wa_result *res)
{
	(void)state;
	(void)msg;
	res->result_class =
	    resp->status == 201 ? WA_RESULT_OK : WA_RESULT_RETRY;
	res->upstream_status = resp->status;
}
#endif

static const wa_provider tp_provider = {
    .abi_major = TP_MAJOR,
    .abi_minor = TP_MINOR,
    .struct_size = TP_SIZE,
#ifndef TP_NO_NAME
    .name = TP_NAME,
#endif
#ifndef TP_NO_VERSION
    .version = TP_VERSION,
#endif
    .description = "A provider for loader tests.",
    .config_keys = tp_keys,
#ifdef TP_ID_NAME
    .message_id_name = TP_ID_NAME,
#endif
#ifndef TP_NO_INIT
    .init = tp_init,
#endif
    .destroy = tp_destroy,
#ifdef TP_BUILD
    .build_request = tp_build,
#endif
#ifdef TP_PARSE
    .parse_response = tp_parse,
#endif
#ifdef TP_SEND
    .send = tp_send,
#endif
};

#ifdef TP_NO_ENTRY
/* Exports something, just not the v1 entry point. */
WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v2(uint32_t host_major,
                                                           uint32_t host_minor);
const wa_provider *wa_provider_entry_v2(uint32_t host_major,
                                        uint32_t host_minor)
#else
WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                                           uint32_t host_minor);
const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                        uint32_t host_minor)
#endif
{
	(void)host_major;
	(void)host_minor;
#ifdef TP_NULL_ENTRY
	(void)&tp_provider;
	return NULL;
#else
	return &tp_provider;
#endif
}
