/* settings.c - the daemon's typed, validated settings */
#include "base/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"

/* Guards the API key lists against a reload (SIGHUP) while requests
 * compare keys. One process, one settings. */
static pthread_rwlock_t g_keys_lock = PTHREAD_RWLOCK_INITIALIZER;

static int add_key(wa_settings *s, const char *k, size_t len, const char *var,
                   char *err, size_t err_len)
{
	while (len && (*k == ' ' || *k == '\t'))
		k++, len--;
	while (len && (k[len - 1] == ' ' || k[len - 1] == '\t'))
		len--;
	if (!len) {
		if (strcmp(var, "API_KEY") != 0)
			return 0; /* an empty item of a list, e.g. "a,,b" */
		snprintf(err, err_len,
		         "%s is empty or only spaces: no caller could use the "
		         "API; set a key of %d or more characters",
		         var, WA_MIN_API_KEY_LEN);
		return -1;
	}
	if (len < WA_MIN_API_KEY_LEN &&
	    !(len == strlen(WA_DEV_API_KEY) &&
	      memcmp(k, WA_DEV_API_KEY, len) == 0)) {
		snprintf(err, err_len,
		         "%s holds a key shorter than %d characters; use a "
		         "longer random key (e.g. openssl rand -hex 16)",
		         var, WA_MIN_API_KEY_LEN);
		return -1;
	}
	if (s->n_api_keys >= WA_MAX_API_KEYS) {
		snprintf(err, err_len, "%s: more than %d API keys", var,
		         WA_MAX_API_KEYS);
		return -1;
	}
	s->api_keys[s->n_api_keys] = strndup(k, len);
	if (!s->api_keys[s->n_api_keys]) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	if (strcmp(s->api_keys[s->n_api_keys], WA_DEV_API_KEY) == 0)
		s->dev_key_in_use = true;
	s->n_api_keys++;
	return 0;
}

/* API_KEY (required), the API_KEYS list and the ADMIN_API_KEYS list (the
 * operators' keys) into s. */
static int load_keys(wa_settings *s, const char *key, const char *list,
                     const char *admin, char *err, size_t err_len)
{
	if (!key) {
		snprintf(err, err_len,
		         "API_KEY is not set: refusing to run without "
		         "authentication");
		return -1;
	}
	if (add_key(s, key, strlen(key), "API_KEY", err, err_len) != 0)
		return -1;
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (add_key(s, p, len, "API_KEYS", err, err_len) != 0)
			return -1;
		p += len + (c ? 1 : 0);
	}
	for (const char *p = admin; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		size_t before = s->n_api_keys;
		if (add_key(s, p, len, "ADMIN_API_KEYS", err, err_len) != 0)
			return -1;
		if (s->n_api_keys > before) {
			s->key_admin[before] = true;
			s->n_admin_keys++;
		}
		p += len + (c ? 1 : 0);
	}
	return 0;
}

static int copy_str(char *dst, size_t len, const char *key, char *err,
                    size_t err_len)
{
	const char *v = wa_config_get(key);
	if (!v)
		v = wa_config_default(key);
	if (!v)
		v = "";
	if ((size_t)snprintf(dst, len, "%s", v) >= len) {
		snprintf(err, err_len, "%s is too long", key);
		return -1;
	}
	return 0;
}

/* Read a whole PEM file into *out (malloc'd). */
static int read_pem(const char *key, char **out, char *err, size_t err_len)
{
	const char *path = wa_config_get(key);
	FILE *f;
	long n;

	*out = NULL;
	if (!path)
		return 0;
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, err_len, "%s: cannot read %s: %s", key, path,
		         strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    n > (1 << 20) || fseek(f, 0, SEEK_SET) != 0 ||
	    !(*out = calloc(1, (size_t)n + 1)) ||
	    fread(*out, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, err_len,
		         "%s: %s is empty, unreadable or over 1 MiB", key,
		         path);
		fclose(f);
		free(*out);
		*out = NULL;
		return -1;
	}
	fclose(f);
	if (!strstr(*out, "-----BEGIN ")) {
		snprintf(err, err_len, "%s: %s is not a PEM file", key, path);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* PROVIDER_CA_FILE: read once here, so that a missing or wrong file stops
 * the start instead of failing every provider call; libcurl reads it
 * again at each new connection. */
static int load_provider_ca(wa_settings *s, char *err, size_t err_len)
{
	char *pem = NULL;

	if (read_pem("PROVIDER_CA_FILE", &pem, err, err_len) != 0)
		return -1;
	free(pem);
	return copy_str(s->provider_ca_file, sizeof(s->provider_ca_file),
	                "PROVIDER_CA_FILE", err, err_len);
}

static int load_tls(wa_settings *s, char *err, size_t err_len)
{
	if (read_pem("TLS_CERT_FILE", &s->tls_cert, err, err_len) != 0 ||
	    read_pem("TLS_KEY_FILE", &s->tls_key, err, err_len) != 0)
		return -1;
	if (!s->tls_cert != !s->tls_key) {
		snprintf(err, err_len,
		         "TLS_CERT_FILE and TLS_KEY_FILE must be set together");
		return -1;
	}
	return copy_str(s->tls_priorities, sizeof(s->tls_priorities),
	                "TLS_PRIORITIES", err, err_len);
}

#define LONG_OR_FAIL(key, min, max, dst)                                       \
	do {                                                                   \
		long v_;                                                       \
		if (wa_config_long(key, min, max, &v_, err, err_len) != 0)     \
			return -1;                                             \
		dst = v_;                                                      \
	} while (0)

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dst = the directory key names, or its default when unset. A set value
 * must be a directory (or "off" for dst = ""); a missing default gives "". */
static int load_dir(char *dst, size_t len, const char *key, char *err,
                    size_t err_len)
{
	const char *v = wa_config_get(key);

	dst[0] = 0;
	if (v && strcmp(v, "off") == 0)
		return 0;
	if (!v) {
		v = wa_config_default(key);
		if (v && is_dir(v))
			snprintf(dst, len, "%s", v);
		return 0;
	}
	if (strlen(v) >= len || !is_dir(v)) {
		snprintf(err, err_len, "%s is not a directory: \"%.200s\"", key,
		         v);
		return -1;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

/* "30d", "12h", "90m", "3600s", "3600" (seconds) or "0" (off) into ms;
 * at most ten years. */
static int parse_duration(const char *key, const char *v, int64_t *ms,
                          char *err, size_t err_len)
{
	char *end = NULL;
	long long n;
	int64_t unit = 1000;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (end && *end && !end[1]) {
		switch (*end) {
		case 's':
			unit = 1000;
			end++;
			break;
		case 'm':
			unit = 60000;
			end++;
			break;
		case 'h':
			unit = 3600000;
			end++;
			break;
		case 'd':
			unit = 86400000;
			end++;
			break;
		default:
			break;
		}
	}
	if (errno || end == v || *end || n < 0 ||
	    n > 3650LL * 86400000 / unit) {
		snprintf(err, err_len,
		         "%s must be a duration such as 30d, 12h, 90m or 3600s "
		         "(0 = off), got \"%.40s\"",
		         key, v);
		return -1;
	}
	*ms = (int64_t)n * unit;
	return 0;
}

/* The value of key, or its default. */
static const char *value_of(const char *key)
{
	const char *v = wa_config_get(key);

	return v ? v : wa_config_default(key);
}

/* Issue 14: order and spacing per recipient, the tier budget, the quality
 * pause. */
static int load_pacing(wa_settings *s, char *err, size_t err_len)
{
	const char *v;
	long n;

	if (wa_config_bool("RECIPIENT_ORDER", &s->recipient_order, err,
	                   err_len) != 0)
		return -1;
	LONG_OR_FAIL("RECIPIENT_INTERVAL_MS", 0, 3600000, n);
	s->recipient_interval_ms = n;
	v = value_of("MESSAGING_LIMIT");
	if (!v || strcmp(v, "unlimited") == 0 || strcmp(v, "0") == 0) {
		s->messaging_limit = 0;
	} else {
		LONG_OR_FAIL("MESSAGING_LIMIT", 1, 100000000, n);
		s->messaging_limit = n;
	}
	if (parse_duration("MESSAGING_LIMIT_WINDOW",
	                   value_of("MESSAGING_LIMIT_WINDOW"),
	                   &s->messaging_window_ms, err, err_len) != 0)
		return -1;
	if (s->messaging_window_ms <= 0) {
		snprintf(err, err_len,
		         "MESSAGING_LIMIT_WINDOW must be longer than 0");
		return -1;
	}
	if (parse_duration("QUALITY_PAUSE", value_of("QUALITY_PAUSE"),
	                   &s->quality_pause_ms, err, err_len) != 0)
		return -1;
	v = value_of("QUALITY_PAUSE_CODES");
	if (v && strlen(v) >= sizeof(s->quality_pause_codes)) {
		snprintf(err, err_len, "QUALITY_PAUSE_CODES is too long");
		return -1;
	}
	snprintf(s->quality_pause_codes, sizeof(s->quality_pause_codes), "%s",
	         v ? v : "");
	return 0;
}

int wa_settings_load(wa_settings *s, char *err, size_t err_len)
{
	const char *v;
	long n;
	struct in_addr addr;

	memset(s, 0, sizeof(*s));
	LONG_OR_FAIL("PORT", 1, 65535, s->port);
	if (copy_str(s->bind_address, sizeof(s->bind_address), "BIND_ADDRESS",
	             err, err_len) != 0)
		return -1;
	if (inet_pton(AF_INET, s->bind_address, &addr) != 1) {
		snprintf(err, err_len,
		         "BIND_ADDRESS must be an IPv4 address, got \"%.40s\"",
		         s->bind_address);
		return -1;
	}

	if (load_keys(s, wa_config_get("API_KEY"), wa_config_get("API_KEYS"),
	              wa_config_get("ADMIN_API_KEYS"), err, err_len) != 0)
		return -1;

	/* An empty value would quietly mean the mock: nothing would reach
	 * WhatsApp while every send answers 200. */
	if (wa_config_is_set("WHATSAPP_PROVIDER") &&
	    !wa_config_get("WHATSAPP_PROVIDER")) {
		snprintf(
		    err, err_len,
		    "WHATSAPP_PROVIDER is set but empty: name the provider "
		    "(mock, twilio, evolution, cloudapi or a .so path), or "
		    "remove the line to use the mock");
		return -1;
	}
	if (copy_str(s->provider, sizeof(s->provider), "WHATSAPP_PROVIDER", err,
	             err_len) != 0 ||
	    copy_str(s->provider_dir, sizeof(s->provider_dir), "PROVIDER_DIR",
	             err, err_len) != 0 ||
	    copy_str(s->store_path, sizeof(s->store_path), "STORE_PATH", err,
	             err_len) != 0)
		return -1;

	/* SQLite reads these as an in-memory database (each connection its
	 * own) or a URI: nothing accepted would be durable. */
	if (strcmp(s->store_path, ":memory:") == 0 ||
	    strncmp(s->store_path, "file:", 5) == 0) {
		snprintf(err, err_len,
		         "STORE_PATH must be a file path, got \"%.40s\": the "
		         "store must keep accepted messages on disk",
		         s->store_path);
		return -1;
	}

	LONG_OR_FAIL("MAX_BODY_BYTES", 1024, 16L << 20, s->max_body_bytes);
	LONG_OR_FAIL("WORKERS", 1, 1024, s->workers);
	LONG_OR_FAIL("HTTP_THREADS", 0, 256, s->http_threads);
	if (s->http_threads == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		s->http_threads = cores > 0 ? (unsigned)cores : 2;
	}
	LONG_OR_FAIL("MAX_CONNECTIONS", 16, 1000000, s->max_connections);
	LONG_OR_FAIL("CONNECTION_TIMEOUT", 1, 3600, s->connection_timeout_s);
	LONG_OR_FAIL("REQUEST_TIMEOUT", 1, 3600, s->request_timeout_s);
	LONG_OR_FAIL("SHUTDOWN_TIMEOUT", 1, 3600, s->shutdown_timeout_s);

	v = wa_config_get("LOG_LEVEL");
	if (!v)
		v = wa_config_default("LOG_LEVEL");
	if ((s->log_level = wa_log_level_parse(v)) < 0) {
		snprintf(err, err_len,
		         "LOG_LEVEL must be debug, info, warn or error, got "
		         "\"%.40s\"",
		         v);
		return -1;
	}

	/* Set: the PostgreSQL store (several instances, one queue); its
	 * syntax is libpq's, checked when the store connects. Unset or empty:
	 * SQLite at STORE_PATH. */
	if (copy_str(s->database_url, sizeof(s->database_url), "DATABASE_URL",
	             err, err_len) != 0)
		return -1;
	v = wa_config_get("RETENTION");
	if (parse_duration("RETENTION", v ? v : wa_config_default("RETENTION"),
	                   &s->retention_ms, err, err_len) != 0)
		return -1;

	v = wa_config_get("STORE_SYNC");
	if (!v)
		v = wa_config_default("STORE_SYNC");
	if (strcmp(v, "full") == 0)
		s->store_sync_full = true;
	else if (strcmp(v, "normal") == 0)
		s->store_sync_full = false;
	else {
		snprintf(err, err_len,
		         "STORE_SYNC must be full or normal, got \"%.40s\"", v);
		return -1;
	}

	if ((v = wa_config_get("PROVIDER_RATE"))) {
		char *end;
		double r = strtod(v, &end);
		if (end == v || *end || !(r >= 0) || r > 1e6) {
			snprintf(err, err_len,
			         "PROVIDER_RATE must be a number of messages "
			         "per second from 0 to 1000000, got \"%.40s\"",
			         v);
			return -1;
		}
		s->provider_rate_set = true;
		s->provider_rate = r;
	}
	LONG_OR_FAIL("MAX_ATTEMPTS", 1, 1000, s->max_attempts);
	LONG_OR_FAIL("MESSAGE_TTL", 1, 30L * 86400, n);
	s->message_ttl_ms = (int64_t)n * 1000;
	LONG_OR_FAIL("MAX_SCHEDULE_AHEAD", 1, 366L * 86400, n);
	s->max_schedule_ahead_ms = (int64_t)n * 1000;
	LONG_OR_FAIL("LEASE_SECONDS", 1, 3600, n);
	s->lease_ms = (int64_t)n * 1000;
	LONG_OR_FAIL("RETRY_BASE_MS", 1, 3600000, s->retry_base_ms);
	LONG_OR_FAIL("RETRY_MAX_MS", 1, 86400000, s->retry_max_ms);
	if (s->retry_max_ms < s->retry_base_ms) {
		snprintf(err, err_len,
		         "RETRY_MAX_MS must not be smaller than RETRY_BASE_MS");
		return -1;
	}
	LONG_OR_FAIL("BATCH_MAX", 1, 100000, s->batch_max);
	/* 1000 minimal items are about 72 KB: a batch needs its own cap, or
	 * the default BATCH_MAX could never be reached. */
	LONG_OR_FAIL("BATCH_MAX_BODY_BYTES", 0, 256L << 20, n);
	if (n == 0) {
		s->batch_body_bytes = s->batch_max * WA_BATCH_ITEM_BYTES;
		if (s->batch_body_bytes < s->max_body_bytes)
			s->batch_body_bytes = s->max_body_bytes;
	} else if ((size_t)n < s->batch_max * WA_BATCH_ITEM_MIN_BYTES) {
		snprintf(
		    err, err_len,
		    "BATCH_MAX_BODY_BYTES (%ld) cannot hold BATCH_MAX (%zu) "
		    "messages: give it at least %d bytes per message "
		    "(%zu), or 0 for the default",
		    n, s->batch_max, WA_BATCH_ITEM_MIN_BYTES,
		    s->batch_max * WA_BATCH_ITEM_MIN_BYTES);
		return -1;
	} else {
		s->batch_body_bytes = (size_t)n;
	}
	LONG_OR_FAIL("QUEUE_MAX", 1, 10000000, s->queue_max);
	LONG_OR_FAIL("STORE_PREWARM_MB", 0, 1048576, s->store_prewarm_mb);
	LONG_OR_FAIL("HTTP_TIMEOUT_MS", 100, 600000, s->http_timeout_ms);
	LONG_OR_FAIL("HTTP_CONNECT_TIMEOUT_MS", 100, 600000,
	             s->http_connect_timeout_ms);
	LONG_OR_FAIL("HTTP_MAX_RESPONSE_BYTES", 1024, 64L << 20,
	             s->http_max_response_bytes);
	LONG_OR_FAIL("HTTP_MAX_INFLIGHT", 1, 16384, s->http_max_inflight);
	if (load_provider_ca(s, err, err_len) != 0)
		return -1;
	LONG_OR_FAIL("PROBE_INTERVAL_MS", 10, 3600000, s->probe_interval_ms);
	LONG_OR_FAIL("RATE_LIMIT_RPS", 0, 1000000, n);
	s->rate_limit_rps = (double)n;
	LONG_OR_FAIL("RATE_LIMIT_BURST", 0, 10000000, n);
	s->rate_limit_burst = (double)n;
	LONG_OR_FAIL("MAX_INFLIGHT", 0, 1000000, s->max_inflight);
	LONG_OR_FAIL("MAX_CONN_PER_IP", 0, 1000000, s->max_conn_per_ip);
	LONG_OR_FAIL("MAX_UNFINISHED_PER_IP", 0, 1000000,
	             s->max_unfinished_per_ip);
	if (wa_config_bool("ACCESS_LOG", &s->access_log, err, err_len) != 0)
		return -1;
	if (load_tls(s, err, err_len) != 0)
		return -1;
	if (copy_str(s->webhook_url, sizeof(s->webhook_url),
	             "STATUS_WEBHOOK_URL", err, err_len) != 0 ||
	    copy_str(s->webhook_secret, sizeof(s->webhook_secret),
	             "STATUS_WEBHOOK_SECRET", err, err_len) != 0)
		return -1;
	if (s->webhook_url[0]) {
		if (strncmp(s->webhook_url, "http://", 7) != 0 &&
		    strncmp(s->webhook_url, "https://", 8) != 0) {
			snprintf(err, err_len,
			         "STATUS_WEBHOOK_URL must start with http:// "
			         "or https://");
			return -1;
		}
		if (strlen(s->webhook_secret) < 16) {
			snprintf(
			    err, err_len,
			    "STATUS_WEBHOOK_SECRET must be set (16 characters "
			    "or more) when STATUS_WEBHOOK_URL is set");
			return -1;
		}
	}
	if (copy_str(s->stop_keywords, sizeof(s->stop_keywords),
	             "STOP_KEYWORDS", err, err_len) != 0 ||
	    copy_str(s->start_keywords, sizeof(s->start_keywords),
	             "START_KEYWORDS", err, err_len) != 0)
		return -1;
	if (load_pacing(s, err, err_len) != 0)
		return -1;
	v = wa_config_get("WINDOW_POLICY");
	if (v && strcmp(v, "off") != 0 && strcmp(v, "enforce") != 0) {
		snprintf(err, err_len, "WINDOW_POLICY must be off or enforce");
		return -1;
	}
	s->window_enforce = v && strcmp(v, "enforce") == 0;
	if ((v = wa_config_get("PUBLIC_BASE_URL")) &&
	    strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		snprintf(err, err_len,
		         "PUBLIC_BASE_URL must start with http:// or https://");
		return -1;
	}
	if (load_dir(s->console_dir, sizeof(s->console_dir), "CONSOLE_DIR", err,
	             err_len) != 0 ||
	    load_dir(s->chartjs_dir, sizeof(s->chartjs_dir), "CHARTJS_DIR", err,
	             err_len) != 0)
		return -1;
	return 0;
}

void wa_settings_free(wa_settings *s)
{
	if (!s)
		return;
	free(s->tls_cert);
	free(s->tls_key);
	s->tls_cert = s->tls_key = NULL;
	for (size_t i = 0; i < s->n_api_keys; i++)
		free(s->api_keys[i]);
	s->n_api_keys = 0;
	memset(s->key_admin, 0, sizeof(s->key_admin));
	s->n_admin_keys = 0;
}

int wa_settings_key_index(const wa_settings *s, const char *given)
{
	int found = -1;

	pthread_rwlock_rdlock(&g_keys_lock);
	for (size_t i = 0; i < s->n_api_keys; i++) {
		bool eq = wa_ct_streq(s->api_keys[i], given);
		found = (found < 0 && eq) ? (int)i : found;
	}
	pthread_rwlock_unlock(&g_keys_lock);
	return found;
}

bool wa_settings_key_is_admin(const wa_settings *s, int i)
{
	bool admin;

	pthread_rwlock_rdlock(&g_keys_lock);
	admin = i >= 0 && (size_t)i < s->n_api_keys && s->key_admin[i];
	pthread_rwlock_unlock(&g_keys_lock);
	return admin;
}

bool wa_settings_key_ok(const wa_settings *s, const char *given)
{
	bool ok = false;

	/* Compare against every key, always, so timing does not reveal
	 * which key (or whether a later one) matched. */
	pthread_rwlock_rdlock(&g_keys_lock);
	for (size_t i = 0; i < s->n_api_keys; i++)
		ok |= wa_ct_streq(s->api_keys[i], given);
	pthread_rwlock_unlock(&g_keys_lock);
	return ok;
}

int wa_settings_reload(wa_settings *s, const char *config_path, char *err,
                       size_t err_len)
{
	static const char *const keys[] = {"API_KEY", "API_KEYS",
	                                   "ADMIN_API_KEYS", "LOG_LEVEL", NULL};
	char *v[4] = {NULL, NULL, NULL, NULL};
	wa_settings tmp;
	int level = s->log_level, rc = -1;

	memset(&tmp, 0, sizeof(tmp));
	if (wa_config_reread(config_path, keys, v, err, err_len) != 0)
		return -1;
	if (load_keys(&tmp, v[0], v[1], v[2], err, err_len) != 0)
		goto out;
	if (v[3] && (level = wa_log_level_parse(v[3])) < 0) {
		snprintf(err, err_len,
		         "LOG_LEVEL must be debug, info, warn or error, got "
		         "\"%.40s\"",
		         v[3]);
		goto out;
	}
	if (!v[3])
		level = wa_log_level_parse(wa_config_default("LOG_LEVEL"));
	/* Swap the key lists; the old strings are freed once no request
	 * can be reading them (readers hold the lock while comparing). */
	pthread_rwlock_wrlock(&g_keys_lock);
	for (size_t i = 0; i < s->n_api_keys; i++)
		free(s->api_keys[i]);
	memcpy(s->api_keys, tmp.api_keys, sizeof(s->api_keys));
	s->n_api_keys = tmp.n_api_keys;
	memcpy(s->key_admin, tmp.key_admin, sizeof(s->key_admin));
	s->n_admin_keys = tmp.n_admin_keys;
	s->dev_key_in_use = tmp.dev_key_in_use;
	pthread_rwlock_unlock(&g_keys_lock);
	tmp.n_api_keys = 0;
	s->log_level = level;
	wa_log_set_level((wa_log_level)level);
	rc = 0;
out:
	wa_settings_free(&tmp);
	for (int i = 0; i < 4; i++)
		free(v[i]);
	return rc;
}
