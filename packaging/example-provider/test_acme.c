/* test_acme.c - a fake host for acme.so: load it the way wadispatchd does,
 * hand it a configuration, deliver two messages, check the answers.
 * Run: make check */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <wadispatch/provider.h>

static int failures;

#define EXPECT(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: expected %s\n", __FILE__,      \
			        __LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* The configuration the fake host serves (the daemon reads the
 * environment and its env file). */
static const char *fake_config[][2] = {
    {"ACME_TOKEN", "test-token"},
    {"ACME_SENDER", "tester"},
};

static void fake_log(const wa_host *host, wa_log_level level, const char *fmt,
                     ...)
{
	va_list ap;

	(void)host;
	fprintf(stderr, "[log %d] ", (int)level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *fake_config_get(const wa_host *host, const char *key)
{
	(void)host;
	for (size_t i = 0; i < sizeof(fake_config) / sizeof(fake_config[0]);
	     i++)
		if (strcmp(fake_config[i][0], key) == 0)
			return fake_config[i][1];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "./acme.so";
	wa_host host = {
	    .abi_major = WA_PROVIDER_ABI_MAJOR,
	    .abi_minor = WA_PROVIDER_ABI_MINOR,
	    .struct_size = sizeof(wa_host),
	    .log = fake_log,
	    .config_get = fake_config_get,
	};
	wa_message msg = {
	    .struct_size = sizeof(wa_message),
	    .message_id = "msg-00000000-0000-4000-8000-000000000001",
	    .external_id = "order-1",
	    .recipient_phone = "+5511999990000",
	    .message_body = "hello",
	    .attempt = 1,
	};
	char long_body[1200];
	wa_provider_entry_fn entry;
	const wa_provider *p;
	wa_result res;
	void *state = NULL, *h, *sym;
	char err[WA_ERROR_MAX] = "";

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	sym = dlsym(h, WA_PROVIDER_ENTRY_SYMBOL);
	EXPECT(sym != NULL);
	if (!sym)
		return 1;
	memcpy(&entry, &sym, sizeof(entry));
	p = entry(WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR);
	EXPECT(p != NULL);
	if (!p)
		return 1;
	EXPECT(p->abi_major == WA_PROVIDER_ABI_MAJOR);
	EXPECT(p->abi_minor <= WA_PROVIDER_ABI_MINOR);
	EXPECT(p->struct_size >= sizeof(wa_provider));
	EXPECT(p->init && p->destroy && p->send);
	EXPECT(!p->build_request && !p->parse_response);
	EXPECT(entry(WA_PROVIDER_ABI_MAJOR + 1, 0) == NULL);

	EXPECT(p->init(&host, &state, err, sizeof(err)) == 0);

	/* The host zeroes the result and sets struct_size before each call. */
	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);
	p->send(state, &msg, &res);
	EXPECT(res.result_class == WA_RESULT_OK);
	EXPECT(strncmp(res.provider_message_id, "acme-", 5) == 0);

	memset(long_body, 'x', sizeof(long_body) - 1);
	long_body[sizeof(long_body) - 1] = 0;
	msg.message_body = long_body;
	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);
	p->send(state, &msg, &res);
	EXPECT(res.result_class == WA_RESULT_REJECT);
	EXPECT(res.error[0] != 0);

	p->destroy(state);
	/* wadispatchd never dlclose()s a provider; neither do we. */
	if (failures) {
		fprintf(stderr, "test_acme: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_acme: ok\n");
	return 0;
}
