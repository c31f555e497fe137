/* app.h - the daemon's parts, wired together once at startup */
#ifndef WA_APP_H
#define WA_APP_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/settings.h"
#include "engine/engine.h"
#include "provider/loader.h"
#include "store/store.h"
#include "store/writer.h"

struct MHD_Daemon;
struct wa_early;
struct wa_guard;
struct wa_watchdog;
struct wa_webhook;

typedef struct wa_app {
	wa_settings *settings;
	wa_store *store;
	wa_writer *writer;
	wa_engine *engine;
	struct wa_webhook *webhook; /* NULL unless STATUS_WEBHOOK_URL is set */
	wa_loaded_provider *provider;
	struct MHD_Daemon *mhd;
	struct wa_guard *guard;       /* per-key rate limits */
	struct wa_watchdog *watchdog; /* slow-client deadline */
	struct wa_early *early;       /* status updates ahead of their send */
	atomic_bool stopping; /* set on SIGTERM: /ready fails, sends get 503 */
	atomic_long requests_open; /* requests between arrival and completion */
	/* requests whose head has fully arrived, until completion: what
	 * MAX_INFLIGHT caps (a client still sending its head uses none) */
	atomic_long requests_active;
	atomic_ulong auth_failures;     /* 401s: missing or wrong API key */
	atomic_ulong callbacks_refused; /* provider callbacks refused */
	int64_t started_ms;
} wa_app;

#endif
