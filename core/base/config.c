/* config.c - configuration: environment, optional env file */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/defaults.h"
#include "base/keywords.h"

/* clang-format off */
const wa_config_spec wa_core_keys[] = {
	{"PORT", "3001", "TCP port of the HTTP API."},
	{"BIND_ADDRESS", "0.0.0.0", "IPv4 address to listen on."},
	{"API_KEY", NULL, "Key callers send in X-API-Key (required; 16 characters or more)."},
	{"API_KEYS", NULL, "More accepted keys, comma-separated (optional)."},
	{"ADMIN_API_KEYS", NULL, "Operator keys, comma-separated (optional): every sending route plus listing, requeue and stats."},
	{"WHATSAPP_PROVIDER", "mock", "Provider name (PROVIDER_DIR/<name>.so) or absolute path to a .so."},
	{"PROVIDER_DIR", WA_DEFAULT_PROVIDER_DIR, "Directory holding provider plugins."},
	{"MAX_BODY_BYTES", "65536", "Largest accepted request body, in bytes."},
	{"WORKERS", "16", "Delivery worker threads (blocking-send providers)."},
	{"HTTP_THREADS", "0", "HTTP thread pool size; 0 = number of cores."},
	{"MAX_CONNECTIONS", "1024", "Simultaneous HTTP connections; past them a client gets 503 + Retry-After and a close (16 more are kept for /health and /ready probes)."},
	{"CONNECTION_TIMEOUT", "30", "Seconds a kept-alive HTTP connection may idle between requests before it is closed (quietly, counted in /metrics)."},
	{"REQUEST_TIMEOUT", "15", "Seconds a client has to send a whole request (head and body), from accept or its request line; slower clients are cut off."},
	{"LOG_LEVEL", "info", "debug, info, warn or error."},
	{"SHUTDOWN_TIMEOUT", "20", "Seconds allowed for a graceful stop; with an HTTP provider, keep it above HTTP_TIMEOUT_MS."},
	{"STORE_PATH", "./wadispatch.db", "SQLite database file."},
	{"STORE_SYNC", "full", "full (survives power loss) or normal (survives a process crash, not a power loss)."},
	{"STORE_PREWARM_MB", "512", "MiB of the SQLite file read into the OS page cache at start, in the background: the inner pages of the messages table and its indexes, then the leaves of the external_id index (where a message with a random external_id lands), 16 pages at a time; 0 = off."},
	{"DATABASE_URL", NULL, "PostgreSQL store shared by several instances (any libpq connection string, e.g. postgresql://user@host/db?sslmode=require); unset = SQLite at STORE_PATH."},
	{"RETENTION", "30d", "How long finished messages (and their history), inbound messages and idle contacts that are not opted out are kept, e.g. 30d, 12h; 0 keeps everything. The idempotency window: an external_id can be reused after its message is deleted."},
	{"PROVIDER_RATE", NULL, "Messages per second to the provider; unset = the provider's default, 0 = unlimited."},
	{"MAX_ATTEMPTS", "8", "Delivery attempts before a message fails."},
	{"MESSAGE_TTL", "86400", "Seconds after acceptance when an undelivered message fails."},
	{"MAX_SCHEDULE_AHEAD", "3024000", "Largest send_at ahead of now, in seconds (35 days)."},
	{"LEASE_SECONDS", "60", "How long a worker owns a message it is sending."},
	{"RETRY_BASE_MS", "1000", "First retry backoff ceiling, in ms (doubles per attempt, full jitter)."},
	{"RETRY_MAX_MS", "300000", "Largest retry backoff, in ms."},
	{"BATCH_MAX", "1000", "Most messages in one POST /v1/messages/batch."},
	{"BATCH_MAX_BODY_BYTES", "0", "Largest POST /v1/messages/batch body, in bytes; 0 = the larger of MAX_BODY_BYTES and 1024 x BATCH_MAX."},
	{"QUEUE_MAX", "10000", "Inserts waiting for the store before 503 + Retry-After."},
	{"HTTP_TIMEOUT_MS", "15000", "Total timeout of one provider HTTP request."},
	{"HTTP_CONNECT_TIMEOUT_MS", "5000", "Connect timeout of one provider HTTP request."},
	{"HTTP_MAX_RESPONSE_BYTES", "1048576", "Largest provider reply accepted, in bytes."},
	{"HTTP_MAX_INFLIGHT", "1024", "Most provider HTTP requests in flight at once (about 45 KiB of memory each)."},
	{"PROVIDER_CA_FILE", NULL, "PEM file of the certificate authorities HTTPS calls to the provider are verified against (a private CA or a TLS-inspecting proxy); unset = the system's."},
	{"RATE_LIMIT_RPS", "0", "Requests per second allowed per API key (a batch counts its items); 0 = off."},
	{"RATE_LIMIT_BURST", "0", "Requests an API key may save up; 0 = max(1, RATE_LIMIT_RPS)."},
	{"MAX_INFLIGHT", "512", "Requests being processed at once (head received) before 503; /health and /ready are never refused; 0 = off."},
	{"MAX_CONN_PER_IP", "0", "Connections one client IP may hold; 0 = off (use 0 behind a proxy)."},
	{"MAX_UNFINISHED_PER_IP", "64", "Connections one client IP may hold that have not sent a whole request (idle keep-alive included); more are closed at once; 0 = off (use 0 or more behind a proxy)."},
	{"ACCESS_LOG", "true", "One log line per request (method, route, status, duration, request id, key id)."},
	{"TLS_CERT_FILE", NULL, "PEM certificate (chain): serve HTTPS instead of HTTP."},
	{"TLS_KEY_FILE", NULL, "PEM private key for TLS_CERT_FILE."},
	{"TLS_PRIORITIES", "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE", "GnuTLS priority string for HTTPS."},
	{"STATUS_WEBHOOK_URL", NULL, "POST every status change here (signed JSON); unset = off."},
	{"STATUS_WEBHOOK_SECRET", NULL, "HMAC-SHA256 key for X-Wadispatch-Signature (required with STATUS_WEBHOOK_URL, 16+ chars)."},
	{"PUBLIC_BASE_URL", NULL, "Public base URL providers use to reach this service (status callbacks)."},
	{"CONSOLE_DIR", WA_DEFAULT_CONSOLE_DIR, "Operator console files served at /console/; off = no console."},
	{"CHARTJS_DIR", WA_DEFAULT_CHARTJS_DIR, "Chart.js (Debian's libjs-chart.js) served to the console."},
	{"PROBE_INTERVAL_MS", "5000", "First wait before re-probing a paused provider (doubles, max 5 min)."},
	{"STOP_KEYWORDS", WA_STOP_KEYWORDS_DEFAULT, "Inbound texts that opt the sender out (comma-separated; whole message, trimmed, case- and accent-insensitive)."},
	{"START_KEYWORDS", WA_START_KEYWORDS_DEFAULT, "Inbound texts that opt the sender back in (same rules as STOP_KEYWORDS)."},
	{"WINDOW_POLICY", "off", "off, or enforce: refuse a free-form send to a number whose 24-hour window is known closed (templates always pass)."},
	{"RECIPIENT_ORDER", "on", "on: a recipient's messages go to the provider in the order accepted, one at a time (a retried message keeps its place); off: no order per recipient."},
	{"RECIPIENT_INTERVAL_MS", "1000", "With RECIPIENT_ORDER, least time between two sends to one recipient, in ms (Meta's pair rate limit averages one per 6 s with bursts allowed; its error 131056 is retried); 0 = none."},
	{"MESSAGING_LIMIT", "unlimited", "The account's messaging tier: distinct recipients outside their 24-hour window per MESSAGING_LIMIT_WINDOW (e.g. 250, 2000, 10000, 100000), or unlimited. Over it, messages wait queued."},
	{"MESSAGING_LIMIT_WINDOW", "24h", "The rolling window of MESSAGING_LIMIT, e.g. 24h."},
	{"QUALITY_PAUSE", "10m", "How long sending pauses after the provider says the account is throttled for quality or hit its tier (QUALITY_PAUSE_CODES), e.g. 10m; 0 = never pause."},
	{"QUALITY_PAUSE_CODES", "131048,63018", "Provider error codes that pause sending for QUALITY_PAUSE (comma-separated): Cloud API 131048 spam rate limit, Twilio 63018 sender rate limit."},
	{NULL, NULL, NULL},
};
/* clang-format on */

typedef struct kv {
	char *key;
	char *value;
} kv;

static kv *g_file;
static size_t g_nfile;

bool wa_ct_streq(const char *secret, const char *given)
{
	size_t ls = strlen(secret), lg = strlen(given);
	unsigned char diff = (unsigned char)(ls != lg);

	/* Walk the caller's input; index the secret modulo its length so the
	 * time depends on the input's length, not on where bytes differ. */
	for (size_t i = 0; i < lg; i++)
		diff |= (unsigned char)given[i] ^
		        (unsigned char)(ls ? secret[i % ls] : 0);
	return diff == 0;
}

static int valid_key(const char *k)
{
	if (!*k || isdigit((unsigned char)*k))
		return 0;
	for (; *k; k++)
		if (!(isalnum((unsigned char)*k) || *k == '_'))
			return 0;
	return 1;
}

int wa_config_parse(const char *text, size_t len, const char *origin,
                    int (*set)(const char *key, const char *value, void *ud),
                    void *ud, char *err, size_t err_len)
{
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		char line[4096], key[256], value[4096];
		size_t ll = 0, vl = 0;
		char *p, *eq;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (text[pos] == '\0') {
				snprintf(err, err_len,
				         "%s:%d: NUL byte in config", origin,
				         lineno);
				return -1;
			}
			if (ll + 1 >= sizeof(line)) {
				snprintf(err, err_len, "%s:%d: line too long",
				         origin, lineno);
				return -1;
			}
			line[ll++] = text[pos++];
		}
		pos++; /* the newline */
		if (ll && line[ll - 1] == '\r')
			ll--;
		line[ll] = 0;
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		eq = strchr(p, '=');
		if (!eq) {
			snprintf(err, err_len,
			         "%s:%d: expected KEY=VALUE, got \"%.60s\"",
			         origin, lineno, p);
			return -1;
		}
		*eq = 0;
		for (char *e = eq - 1; e >= p && (*e == ' ' || *e == '\t'); e--)
			*e = 0;
		if (strlen(p) >= sizeof(key) || !valid_key(p)) {
			snprintf(err, err_len, "%s:%d: invalid key \"%.60s\"",
			         origin, lineno, p);
			return -1;
		}
		snprintf(key, sizeof(key), "%s", p);
		p = eq + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"' || *p == '\'') {
			char q = *p++;
			while (*p && *p != q) {
				if (q == '"' && *p == '\\' && p[1]) {
					p++;
					value[vl++] = *p == 'n' ? '\n' : *p;
					p++;
					continue;
				}
				value[vl++] = *p++;
			}
			if (*p != q) {
				snprintf(err, err_len,
				         "%s:%d: unterminated quote in %s",
				         origin, lineno, key);
				return -1;
			}
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && *p != '#') {
				snprintf(
				    err, err_len,
				    "%s:%d: text after closing quote in %s",
				    origin, lineno, key);
				return -1;
			}
		} else {
			/* Unquoted: ends at " #" (a comment) or end of line. */
			while (*p) {
				if (*p == '#' && vl &&
				    (value[vl - 1] == ' ' ||
				     value[vl - 1] == '\t'))
					break;
				value[vl++] = *p++;
			}
			while (vl &&
			       (value[vl - 1] == ' ' || value[vl - 1] == '\t'))
				vl--;
		}
		value[vl] = 0;
		if (set(key, value, ud) != 0) {
			snprintf(err, err_len, "%s:%d: out of memory", origin,
			         lineno);
			return -1;
		}
	}
	return 0;
}

static int file_set(const char *key, const char *value, void *ud)
{
	(void)ud;
	for (size_t i = 0; i < g_nfile; i++) {
		if (strcmp(g_file[i].key, key) == 0) {
			char *v = strdup(value);
			if (!v)
				return -1;
			free(g_file[i].value);
			g_file[i].value = v;
			return 0;
		}
	}
	kv *n = realloc(g_file, (g_nfile + 1) * sizeof(*n));
	if (!n)
		return -1;
	g_file = n;
	g_file[g_nfile].key = strdup(key);
	g_file[g_nfile].value = strdup(value);
	if (!g_file[g_nfile].key || !g_file[g_nfile].value)
		return -1;
	g_nfile++;
	return 0;
}

/* The whole file at path into *buf (malloc'd) and *n. */
static int read_file(const char *path, char **buf, size_t *n, char *err,
                     size_t err_len)
{
	FILE *f = fopen(path, "rb");
	long len;

	*buf = NULL;
	if (!f) {
		snprintf(err, err_len, "Cannot read config file %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    len > (1 << 20) || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, err_len,
		         "Config file %s is unreadable or over 1 MiB", path);
		fclose(f);
		return -1;
	}
	*buf = malloc((size_t)len + 1);
	if (!*buf || fread(*buf, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, err_len, "Cannot read config file %s", path);
		free(*buf);
		*buf = NULL;
		fclose(f);
		return -1;
	}
	fclose(f);
	*n = (size_t)len;
	return 0;
}

int wa_config_load_file(const char *path, char *err, size_t err_len)
{
	char *buf;
	size_t n;
	int rc;

	if (read_file(path, &buf, &n, err, err_len) != 0)
		return -1;
	rc = wa_config_parse(buf, n, path, file_set, NULL, err, err_len);
	free(buf);
	return rc;
}

typedef struct lookup {
	const char *const *keys;
	char **values;
} lookup;

static int lookup_set(const char *key, const char *value, void *ud)
{
	lookup *l = ud;

	for (size_t i = 0; l->keys[i]; i++) {
		if (strcmp(l->keys[i], key) != 0)
			continue;
		free(l->values[i]);
		l->values[i] = *value ? strdup(value) : NULL;
		if (*value && !l->values[i])
			return -1;
	}
	return 0;
}

int wa_config_reread(const char *path, const char *const *keys, char **values,
                     char *err, size_t err_len)
{
	lookup l = {keys, values};
	char *buf = NULL;
	size_t n = 0;
	int rc = 0;

	if (err_len)
		err[0] = 0;
	for (size_t i = 0; keys[i]; i++)
		values[i] = NULL;
	if (path && read_file(path, &buf, &n, err, err_len) != 0)
		return -1;
	if (path)
		rc =
		    wa_config_parse(buf, n, path, lookup_set, &l, err, err_len);
	free(buf);
	for (size_t i = 0; rc == 0 && keys[i]; i++) {
		const char *env = getenv(keys[i]);
		if (env && *env) { /* the environment wins, as at startup */
			free(values[i]);
			if (!(values[i] = strdup(env)))
				rc = -1;
		}
	}
	if (rc != 0) {
		for (size_t i = 0; keys[i]; i++) {
			free(values[i]);
			values[i] = NULL;
		}
		if (!err[0])
			snprintf(err, err_len, "out of memory");
	}
	return rc;
}

bool wa_config_is_set(const char *key)
{
	if (getenv(key))
		return true;
	for (size_t i = 0; i < g_nfile; i++)
		if (strcmp(g_file[i].key, key) == 0)
			return true;
	return false;
}

const char *wa_config_get(const char *key)
{
	const char *v = getenv(key);
	if (v && *v)
		return v;
	for (size_t i = 0; i < g_nfile; i++)
		if (strcmp(g_file[i].key, key) == 0)
			return *g_file[i].value ? g_file[i].value : NULL;
	return NULL;
}

size_t wa_config_file_keys(const char ***keys)
{
	static const char **list;
	free(list);
	list = calloc(g_nfile + 1, sizeof(*list));
	if (!list)
		return 0;
	for (size_t i = 0; i < g_nfile; i++)
		list[i] = g_file[i].key;
	*keys = list;
	return g_nfile;
}

const char *wa_config_default(const char *key)
{
	for (const wa_config_spec *s = wa_core_keys; s->name; s++)
		if (strcmp(s->name, key) == 0)
			return s->def;
	return NULL;
}

int wa_config_long(const char *key, long min, long max, long *out, char *err,
                   size_t err_len)
{
	const char *v = wa_config_get(key);
	char *end;
	long n;

	if (!v)
		v = wa_config_default(key);
	if (!v) {
		snprintf(err, err_len, "%s is not set", key);
		return -1;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		snprintf(
		    err, err_len,
		    "%s must be a whole number from %ld to %ld, got \"%.40s\"",
		    key, min, max, v);
		return -1;
	}
	*out = n;
	return 0;
}

int wa_config_bool(const char *key, bool *out, char *err, size_t err_len)
{
	const char *v = wa_config_get(key);
	if (!v)
		v = wa_config_default(key);
	if (!v) {
		*out = false;
		return 0;
	}
	if (!strcasecmp(v, "1") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "0") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "no") || !strcasecmp(v, "off")) {
		*out = false;
		return 0;
	}
	snprintf(err, err_len, "%s must be true or false, got \"%.40s\"", key,
	         v);
	return -1;
}
