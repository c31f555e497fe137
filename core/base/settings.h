/* settings.h - the daemon's typed, validated settings */
#ifndef WA_SETTINGS_H
#define WA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WA_DEV_API_KEY "dev-api-key-12345"
#define WA_MAX_API_KEYS 32
#define WA_BATCH_ITEM_MIN_BYTES 128 /* a small item, with some slack */
#define WA_BATCH_ITEM_BYTES 1024    /* per item, for the default cap */
#define WA_MIN_API_KEY_LEN 16       /* characters; the dev key is exempt */

typedef struct wa_settings {
	int port;
	char bind_address[64];
	char *api_keys[WA_MAX_API_KEYS]; /* strdup'd */
	size_t n_api_keys;
	bool dev_key_in_use;
	char provider[1024];
	char provider_dir[1024];
	size_t max_body_bytes;
	unsigned workers;
	unsigned http_threads;
	unsigned max_connections;
	unsigned connection_timeout_s;
	unsigned request_timeout_s;
	int log_level;
	unsigned shutdown_timeout_s;
	char store_path[1024];
	char database_url[4096]; /* "" = SQLite at store_path */
	int64_t retention_ms;    /* 0 = keep everything */
	bool store_sync_full;
	long store_prewarm_mb; /* STORE_PREWARM_MB; 0 = off */
	bool provider_rate_set;
	double provider_rate;
	int max_attempts;
	int64_t message_ttl_ms;
	int64_t lease_ms;
	int64_t retry_base_ms;
	int64_t retry_max_ms;
	size_t batch_max;
	size_t batch_body_bytes; /* body cap of the batch route */
	size_t queue_max;
	long http_timeout_ms;
	long http_connect_timeout_ms;
	long http_max_response_bytes;
	unsigned http_max_inflight;
	int64_t probe_interval_ms;
	double rate_limit_rps;
	double rate_limit_burst;
	unsigned max_inflight;
	unsigned max_conn_per_ip;
	unsigned max_unfinished_per_ip;
	bool access_log;
	char *tls_cert; /* PEM contents, malloc'd, or NULL */
	char *tls_key;
	char tls_priorities[512];
	char provider_ca_file[1024]; /* "" = the system's CAs */
	char webhook_url[2048];
	char webhook_secret[512];
	char console_dir[1024]; /* "" = no console (off, or not installed) */
	char chartjs_dir[1024]; /* "" = Chart.js not installed */
	/* two-way messaging */
	char stop_keywords[2048]; /* comma-separated (base/keywords.h) */
	char start_keywords[2048];
	bool window_enforce; /* WINDOW_POLICY=enforce */
	/* Appended (issue 15). */
	bool key_admin[WA_MAX_API_KEYS]; /* api_keys[i] is an ADMIN_API_KEYS */
	size_t n_admin_keys;
	int64_t max_schedule_ahead_ms;
	/* Appended (issue 14): campaign-safe sending. */
	bool recipient_order;
	int64_t recipient_interval_ms;
	long messaging_limit; /* 0 = unlimited */
	int64_t messaging_window_ms;
	int64_t quality_pause_ms; /* 0 = never */
	char quality_pause_codes[256];
} wa_settings;

/* Read and validate every core key (config.h). 0, or -1 with one sentence
 * naming the variable in err. */
int wa_settings_load(wa_settings *s, char *err, size_t err_len);
void wa_settings_free(wa_settings *s);

/* Does given match one of the keys? Constant time in the keys' contents. */
bool wa_settings_key_ok(const wa_settings *s, const char *given);
/* Which key (0-based) given matches, or -1. Compares against all keys. */
int wa_settings_key_index(const wa_settings *s, const char *given);

/* SIGHUP: read API_KEY, API_KEYS and LOG_LEVEL again (the environment, then
 * the env file at config_path, read afresh; NULL for none), with the same
 * rules as at startup, and swap them in while requests keep running. 0, or
 * -1 with a sentence in err and nothing changed. Call from one thread. */
int wa_settings_reload(wa_settings *s, const char *config_path, char *err,
                       size_t err_len);
/* Is key index i (wa_settings_key_index) an operator key? */
bool wa_settings_key_is_admin(const wa_settings *s, int i);

#endif
