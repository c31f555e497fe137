/* host.h - the services table the daemon lends a provider plugin */
#ifndef WA_HOST_H
#define WA_HOST_H

#include "wadispatch/provider.h"

/* Fill host (caller memory) with the daemon's services for the provider
 * called provider_name: log() goes to wa_logv() under the component
 * "provider:<name>", config_get() to wa_config_get(). provider_name is
 * borrowed, not copied: it must outlive host (the loader passes the name
 * in the plugin's static table, which is never unloaded). host must not
 * move once a plugin holds its address. Nothing to free. */
void wa_host_setup(wa_host *host, const char *provider_name);

#endif
