/* loader.h - find, dlopen and vet a provider plugin, then init it */
#ifndef WA_LOADER_H
#define WA_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "wadispatch/provider.h"

typedef struct wa_loaded_provider {
	const wa_provider *table;
	void *state;  /* what init() returned */
	void *handle; /* dlopen handle; never dlclose()d */
	char path[1024];
	wa_host host; /* services lent to the plugin */
	bool initialized;
} wa_loaded_provider;

/* Is name a bare provider name ([a-z0-9_-]+, 1..64 chars)? */
bool wa_provider_name_valid(const char *name);

/* Load name_or_path: a bare name is <dir>/<name>.so; an absolute path to a
 * .so is taken as is. Checks, in order: the file exists (else the sentence
 * lists the providers found in dir), dlopen(RTLD_NOW|RTLD_LOCAL), the entry
 * symbol, the table (major equal, minor <= host, struct_size >= the 1.0
 * size, name/version/init/destroy non-NULL, exactly one of the HTTP pair
 * or send), every WA_CONFIG_REQUIRED key set, then init(). Returns 0, or -1
 * with one sentence naming the file and the reason in err. */
int wa_provider_load(const char *name_or_path, const char *dir,
                     wa_loaded_provider *out, char *err, size_t err_len);

/* destroy() the state (after all delivery threads joined). No dlclose. */
void wa_provider_unload(wa_loaded_provider *p);

/* Does the provider deliver through the HTTP pair (else blocking send)? */
bool wa_provider_is_http(const wa_loaded_provider *p);

/* Is key declared secret by the provider? */
bool wa_provider_key_is_secret(const wa_loaded_provider *p, const char *key);

/* Does the provider declare key? */
bool wa_provider_declares(const wa_loaded_provider *p, const char *key);

/* The key naming the provider message id in provider_details. */
const char *wa_provider_id_name(const wa_loaded_provider *p);

#endif
