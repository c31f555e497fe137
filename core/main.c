/* main.c - wadispatchd: configuration, start-up, signals, graceful stop */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/defaults.h"
#include "base/lockfile.h"
#include "base/log.h"
#include "base/ratelimit.h"
#include "base/timeutil.h"
#include "engine/early.h"
#include "engine/webhook.h"
#include "http/app.h"
#include "http/guard.h"
#include "http/http.h"
#include "http/routes.h"
#include "store/retention.h"

/* How often retention looks for finished messages past RETENTION. */
#define RETENTION_INTERVAL_MS 60000

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: wadispatchd [--config FILE] [--check-config] [--version] "
	    "[--help]\n"
	    "\n"
	    "WhatsApp message dispatcher. Settings come from the environment;\n"
	    "--config FILE also reads KEY=VALUE lines (the environment wins).\n"
	    "\n"
	    "  --config FILE   read settings from an env file\n"
	    "  --check-config  validate settings, load the provider, open the\n"
	    "                  store, then exit 0 (or 1 with the reason)\n"
	    "  --version       print the version\n"
	    "  --help          this text\n"
	    "\nSettings (default in brackets):\n");
	for (const wa_config_spec *s = wa_core_keys; s->name; s++)
		fprintf(f, "  %-24s %s [%s]\n", s->name, s->help,
		        s->def ? s->def : "unset");
	fprintf(
	    f, "\nProviders declare their own settings; see wadispatchd(8).\n");
}

static int fail(const char *msg)
{
	wa_log(WA_LOG_ERROR, "main", "%s", msg);
	return 1;
}

static bool is_core_key(const char *key)
{
	for (const wa_config_spec *s = wa_core_keys; s->name; s++)
		if (!strcmp(s->name, key))
			return true;
	return false;
}

/* A setting named like the provider's own ("TWILIO_...") that it does not
 * declare is a typo that would silently be ignored: refuse it. Other
 * unknown keys in the config file only get a warning (the file may hold
 * settings of providers not loaded now). */
static int check_unknown_keys(const wa_loaded_provider *p, char *err,
                              size_t err_len)
{
	extern char **environ;
	char prefix[80];
	size_t n = 0;
	const char **keys;
	size_t nf = wa_config_file_keys(&keys);

	for (const char *c = p->table->name; *c && n + 2 < sizeof(prefix); c++)
		prefix[n++] =
		    (*c == '-') ? '_' : (char)toupper((unsigned char)*c);
	prefix[n++] = '_';
	prefix[n] = 0;
	for (char **e = environ; *e; e++) {
		char key[256];
		const char *eq = strchr(*e, '=');
		size_t kl = eq ? (size_t)(eq - *e) : 0;
		if (!kl || kl >= sizeof(key) || strncmp(*e, prefix, n) != 0)
			continue;
		memcpy(key, *e, kl);
		key[kl] = 0;
		if (!wa_provider_declares(p, key) && !is_core_key(key)) {
			snprintf(err, err_len,
			         "Unknown setting %s: the %s provider does not "
			         "read it (check the spelling; see wadispatchd "
			         "--help and the provider's docs)",
			         key, p->table->name);
			return -1;
		}
	}
	for (size_t i = 0; i < nf; i++) {
		if (is_core_key(keys[i]) || wa_provider_declares(p, keys[i]))
			continue;
		if (strncmp(keys[i], prefix, n) == 0) {
			snprintf(
			    err, err_len,
			    "Unknown setting %s in the config file: the %s "
			    "provider does not read it (check the spelling)",
			    keys[i], p->table->name);
			return -1;
		}
		wa_log(WA_LOG_WARN, "config",
		       "Unknown setting %s in the config file (not used by the "
		       "core or the %s provider)",
		       keys[i], p->table->name);
	}
	return 0;
}

/* After every commit: new work for the engine, maybe new webhook events. */
static void on_commit(void *ud)
{
	wa_app *app = ud;
	wa_engine_kick(app->engine);
	if (app->webhook)
		wa_webhook_kick(app->webhook);
}

int main(int argc, char **argv)
{
	static wa_settings settings;
	static wa_loaded_provider provider;
	static wa_app app;
	const char *config_file = NULL;
	bool check_only = false;
	char err[1024];
	sigset_t sigs;
	int sig = 0;
	wa_engine_config ec;

	/* Keep up to 16 MiB free at the top of each malloc arena instead of
	 * 128 KiB: glibc gives a thread arena's top back with madvise, and
	 * the TLB shootdown that follows on every core cost the writer and
	 * the HTTP loop about a third of their CPU per delivered message
	 * (perf, issue 17). Peak RSS is unchanged; it only falls back later. */
	mallopt(M_TRIM_THRESHOLD, 16 << 20);

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("wadispatchd %s (provider ABI %d.%d)\n",
			       WA_VERSION, WA_PROVIDER_ABI_MAJOR,
			       WA_PROVIDER_ABI_MINOR);
			return 0;
		} else if (!strcmp(argv[i], "--help") ||
		           !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--check-config")) {
			check_only = true;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_file = argv[++i];
		} else {
			fprintf(stderr,
			        "wadispatchd: unknown argument \"%s\"\n\n",
			        argv[i]);
			usage(stderr);
			return 2;
		}
	}

	if (config_file &&
	    wa_config_load_file(config_file, err, sizeof(err)) != 0)
		return fail(err);
	if (wa_settings_load(&settings, err, sizeof(err)) != 0)
		return fail(err);
	wa_log_set_level((wa_log_level)settings.log_level);
	if (settings.dev_key_in_use)
		wa_log(WA_LOG_WARN, "main",
		       "WARNING: the development API key \"" WA_DEV_API_KEY
		       "\" is accepted. Anyone who read the docs can send "
		       "messages. "
		       "Set API_KEY to a secret before going to production.");

	/* Signals are taken by sigwait() in main; every thread created from
	 * here on inherits the mask. */
	signal(SIGPIPE, SIG_IGN);
	/* A write past the file size limit (systemd's LimitFSIZE, ulimit -f)
	 * must fail like a full disk (EFBIG: the store answers 503 and /ready
	 * says why), not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (wa_provider_load(settings.provider, settings.provider_dir,
	                     &provider, err, sizeof(err)) != 0)
		return fail(err);
	if (check_unknown_keys(&provider, err, sizeof(err)) != 0)
		return fail(err);
	if (provider.table->build_request) { /* an HTTP provider */
		/* A stop shorter than a provider call can cut it after the
		 * provider took the message; the message is then released and
		 * sent again after the restart. Allowed (a quick stop can
		 * matter more), said. */
		if ((long long)settings.shutdown_timeout_s * 1000 <=
		    settings.http_timeout_ms)
			wa_log(WA_LOG_WARN, "main",
			       "SHUTDOWN_TIMEOUT (%ld s) is not longer than "
			       "HTTP_TIMEOUT_MS (%ld ms): a stop can cut a "
			       "provider call after the provider took the "
			       "message, which is then sent again after the "
			       "restart.",
			       (long)settings.shutdown_timeout_s,
			       (long)settings.http_timeout_ms);
		/* A provider call still running when its lease ends can be
		 * claimed again and sent twice; so can a decided outcome
		 * still waiting to be committed with others (another
		 * instance may take the message). */
		if (settings.lease_ms <=
		    settings.http_timeout_ms + WA_ENGINE_LINGER_MAX_MS) {
			snprintf(
			    err, sizeof(err),
			    "LEASE_SECONDS (%lld s) must be longer than "
			    "HTTP_TIMEOUT_MS (%ld ms) and %d ms: a provider "
			    "call that outlives its lease can be sent twice",
			    (long long)(settings.lease_ms / 1000),
			    (long)settings.http_timeout_ms,
			    WA_ENGINE_LINGER_MAX_MS);
			return fail(err);
		}
	}

	app.settings = &settings;
	app.provider = &provider;
	app.started_ms = wa_now_ms();
	/* One daemon per SQLite file: a second one would claim, and at stop
	 * release, under the first one's feet. (--check-config only looks.) */
	if (!settings.database_url[0] && !check_only &&
	    wa_lockfile_hold(settings.store_path, err, sizeof(err)) != 0)
		return fail(err);
	if (settings.database_url[0])
		app.store =
		    wa_store_open_pg(settings.database_url, err, sizeof(err));
	else
		app.store = wa_store_open_sqlite(settings.store_path,
		                                 settings.store_sync_full, err,
		                                 sizeof(err));
	if (!app.store)
		return fail(err);
	app.store->ops->set_outbox(app.store, settings.webhook_url[0] != 0);
	app.writer =
	    wa_writer_create(app.store, settings.queue_max, err, sizeof(err));
	if (!app.writer)
		return fail(err);

	memset(&ec, 0, sizeof(ec));
	ec.workers = settings.workers;
	ec.rate = settings.provider_rate_set
	              ? settings.provider_rate
	              : (double)provider.table->default_rate;
	/* PROVIDER_RATE is the provider account's limit: a store shared by
	 * several instances keeps all of them within it together. */
	if (app.store->ops->set_rate)
		app.store->ops->set_rate(app.store, provider.table->name,
		                         ec.rate,
		                         wa_ratelimit_default_burst(ec.rate));
	if (app.store->ops->set_pacing) { /* issue 14 */
		wa_store_pacing pc = {
		    .per_recipient = settings.recipient_order,
		    .interval_ms = settings.recipient_interval_ms,
		    .messaging_limit = settings.messaging_limit,
		    .window_ms = settings.messaging_window_ms,
		    .max_attempts = settings.max_attempts,
		    .retry_base_ms = settings.retry_base_ms,
		    .retry_max_ms = settings.retry_max_ms,
		};

		app.store->ops->set_pacing(app.store, &pc);
	}
	ec.quality_pause_ms = settings.quality_pause_ms;
	ec.quality_codes = settings.quality_pause_codes;
	ec.max_attempts = settings.max_attempts;
	ec.lease_ms = settings.lease_ms;
	ec.retry_base_ms = settings.retry_base_ms;
	ec.retry_max_ms = settings.retry_max_ms;
	ec.http_timeout_ms = settings.http_timeout_ms;
	ec.http_connect_timeout_ms = settings.http_connect_timeout_ms;
	ec.http_max_response_bytes = settings.http_max_response_bytes;
	ec.http_max_inflight = settings.http_max_inflight;
	snprintf(ec.http_ca_file, sizeof(ec.http_ca_file), "%s",
	         settings.provider_ca_file);
	ec.probe_interval_ms = settings.probe_interval_ms;
	app.early = wa_early_new(WA_EARLY_MAX, WA_EARLY_TTL_MS);
	if (!app.early)
		return fail("Out of memory.");
	ec.early = app.early;
	app.engine = wa_engine_create(&ec, app.store, app.writer, &provider,
	                              err, sizeof(err));
	if (!app.engine)
		return fail(err);

	if (settings.webhook_url[0]) {
		wa_webhook_config wc = {
		    .url = settings.webhook_url,
		    .secret = settings.webhook_secret,
		    .timeout_ms = settings.http_timeout_ms,
		    .retry_base_ms = settings.retry_base_ms,
		    .retry_max_ms = settings.retry_max_ms,
		    .lease_ms = settings.lease_ms,
		};
		app.webhook = wa_webhook_create(&wc, app.store, app.writer, err,
		                                sizeof(err));
		if (!app.webhook)
			return fail(err);
	}

	if (check_only) {
		printf("Configuration OK: provider %s %s from %s, store %s\n",
		       provider.table->name, provider.table->version,
		       provider.path,
		       settings.database_url[0] ? "PostgreSQL (DATABASE_URL)"
		                                : settings.store_path);
		wa_webhook_destroy(app.webhook);
		wa_engine_destroy(app.engine);
		wa_writer_destroy(app.writer);
		wa_early_free(app.early);
		wa_store_close(app.store);
		wa_provider_unload(&provider);
		wa_settings_free(&settings);
		return 0;
	}

	app.guard = wa_guard_create(WA_MAX_API_KEYS, settings.rate_limit_rps,
	                            settings.rate_limit_burst);
	if (!app.guard)
		return fail("Out of memory creating the rate limiter");
	wa_writer_on_commit(app.writer, on_commit, &app);
	if (wa_engine_start(app.engine, err, sizeof(err)) != 0)
		return fail(err);
	if (app.webhook && wa_webhook_start(app.webhook, err, sizeof(err)) != 0)
		return fail(err);
	/* finished messages older than RETENTION, 500 per writer job */
	wa_retention *retention =
	    wa_retention_start(app.store, app.writer, settings.retention_ms,
	                       RETENTION_INTERVAL_MS, 500, err, sizeof(err));
	if (!retention)
		return fail(err);
	if (wa_http_start(&app, wa_routes, err, sizeof(err)) != 0) {
		wa_engine_stop(app.engine, wa_mono_ms());
		return fail(err);
	}
	/* SQLite: the hot pages of a big store into the page cache while the
	 * daemon serves (store.h). Started last, so that no failed start
	 * leaves its thread behind; it only speeds things up, so a failure
	 * to start it is a warning. */
	if (wa_store_sqlite_prewarm(app.store,
	                            (size_t)settings.store_prewarm_mb << 20,
	                            err, sizeof(err)) != 0)
		wa_log(WA_LOG_WARN, "store", "%s Going on without it.", err);
	char rate[32];
	if (ec.rate > 0)
		snprintf(rate, sizeof(rate), "%g/s", ec.rate);
	else
		snprintf(rate, sizeof(rate), "unlimited");
	wa_log(WA_LOG_INFO, "main",
	       "wadispatchd %s listening on %s:%d with provider %s %s (rate "
	       "%s, %u HTTP threads)",
	       WA_VERSION, settings.bind_address, settings.port,
	       provider.table->name, provider.table->version, rate,
	       settings.http_threads);
	if (settings.console_dir[0])
		wa_log(WA_LOG_INFO, "main",
		       "Operator console at /console/ from %s (charts: %s)",
		       settings.console_dir,
		       settings.chartjs_dir[0] ? settings.chartjs_dir
		                               : "Chart.js not installed");

	for (;;) {
		while (sigwait(&sigs, &sig) != 0)
			;
		if (sig != SIGHUP)
			break;
		/* Logs go to stderr (journald): nothing to reopen. What can
		 * change safely under running requests is read again. */
		if (wa_settings_reload(&settings, config_file, err,
		                       sizeof(err)) != 0)
			wa_log(WA_LOG_ERROR, "main",
			       "SIGHUP: the settings were not reloaded (the "
			       "running ones stay): %s",
			       err);
		else
			wa_log(WA_LOG_INFO, "main",
			       "SIGHUP: reloaded API_KEY, API_KEYS (%zu keys) "
			       "and LOG_LEVEL",
			       settings.n_api_keys);
		if (settings.dev_key_in_use)
			wa_log(WA_LOG_WARN, "main",
			       "The development API key is in use: set a "
			       "secret API_KEY in production");
	}
	wa_log(WA_LOG_INFO, "main", "Got %s: stopping (at most %u s)",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT",
	       settings.shutdown_timeout_s);

	int64_t deadline =
	    wa_mono_ms() + (int64_t)settings.shutdown_timeout_s * 1000;
	/* From here sends and batches are answered 503 "Shutting down" and
	 * /ready 503. The port stays open until wa_http_stop: closing it
	 * early (MHD_quiesce_daemon) can abort the process in libmicrohttpd
	 * 0.9.75 with a thread pool in epoll mode, whose workers race the
	 * quiesce to take the listening socket out of their epoll sets. */
	app.stopping = true;
	wa_store_sqlite_prewarm_stop(app.store);
	/* Leave a second for the writer and HTTP to flush after the engine. */
	bool clean = wa_engine_stop(app.engine, deadline - 1000);
	wa_webhook_stop(app.webhook, deadline - 1000);
	wa_retention_stop(retention);
	/* Commits what is queued and answers it; later writes get 503. */
	wa_writer_stop(app.writer);
	wa_http_drain(&app, deadline);
	wa_http_stop(&app);
	if (!clean) {
		/* A provider's blocking send() outlived SHUTDOWN_TIMEOUT. Its
		 * message is already released (committed), so leave now rather
		 * than wait: tearing down the provider under a running call
		 * would be unsafe, and the bound is what operators rely on. */
		wa_log(WA_LOG_WARN, "main",
		       "Stopped with provider calls still running; their "
		       "messages will be sent again after a restart");
		_exit(0);
	}
	wa_webhook_destroy(app.webhook);
	wa_engine_destroy(app.engine);
	wa_writer_destroy(app.writer);
	wa_early_free(app.early);
	wa_guard_destroy(app.guard);
	wa_provider_unload(&provider);
	wa_store_close(app.store);
	wa_settings_free(&settings);
	wa_log(WA_LOG_INFO, "main", "Stopped cleanly");
	return 0;
}
