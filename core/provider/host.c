/* host.c - the services table the daemon lends a provider plugin */
#include "provider/host.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/config.h"
#include "base/log.h"

/* Both services only read shared state (the log level is atomic; the
 * config is fixed before any plugin loads) and wa_logv() writes each line
 * with one write(2), so they are safe from any plugin thread. */

static void host_log(const wa_host *host, wa_log_level level, const char *fmt,
                     ...) WA_PRINTF_LIKE(3, 4);

static void host_log(const wa_host *host, wa_log_level level, const char *fmt,
                     ...)
{
	char component[96];
	const char *name = host && host->host_data ? host->host_data : "?";
	va_list ap;

	if (!fmt)
		return;
	/* A plugin may pass anything: clamp to the levels we know. */
	if ((int)level < (int)WA_LOG_DEBUG)
		level = WA_LOG_DEBUG;
	if ((int)level > (int)WA_LOG_ERROR)
		level = WA_LOG_ERROR;
	/* Names are at most 64 characters, so this never truncates. */
	snprintf(component, sizeof(component), "provider:%s", name);
	va_start(ap, fmt);
	wa_logv(level, component, fmt, ap);
	va_end(ap);
}

static const char *host_config_get(const wa_host *host, const char *key)
{
	(void)host;
	if (!key || !*key)
		return NULL;
	return wa_config_get(key);
}

void wa_host_setup(wa_host *host, const char *provider_name)
{
	host->abi_major = WA_PROVIDER_ABI_MAJOR;
	host->abi_minor = WA_PROVIDER_ABI_MINOR;
	host->struct_size = sizeof(*host);
	host->log = host_log;
	host->config_get = host_config_get;
	host->host_data = (void *)provider_name;
}
