/* test_config.c - env-file parsing, settings validation, key comparison */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/settings.h"
#include "testing.h"

typedef struct pairs {
	int n;
	char k[16][64];
	char v[16][128];
} pairs;

static int collect(const char *key, const char *value, void *ud)
{
	pairs *p = ud;
	if (p->n >= 16)
		return -1;
	snprintf(p->k[p->n], 64, "%s", key);
	snprintf(p->v[p->n], 128, "%s", value);
	p->n++;
	return 0;
}

static int parse(const char *text, pairs *p, char *err, size_t len)
{
	memset(p, 0, sizeof(*p));
	return wa_config_parse(text, strlen(text), "test.env", collect, p, err,
	                       len);
}

static void env_file(void)
{
	pairs p;
	char err[256];

	CHECK_INT(
	    parse("# comment\n\nPORT=3001                          # Porta\n"
	          "API_KEY=dev-api-key-12345\r\n"
	          "export WHATSAPP_PROVIDER=mock\n"
	          "  SPACED = value with spaces  \n"
	          "QUOTED=\"a # not a comment\"\n"
	          "SINGLE='x y'\n"
	          "EMPTY=\n"
	          "HASH=abc#def\n",
	          &p, err, sizeof(err)),
	    0);
	CHECK_INT(p.n, 8);
	CHECK_STR(p.k[0], "PORT");
	CHECK_STR(p.v[0], "3001");
	CHECK_STR(p.v[1], "dev-api-key-12345");
	CHECK_STR(p.k[2], "WHATSAPP_PROVIDER");
	CHECK_STR(p.k[3], "SPACED");
	CHECK_STR(p.v[3], "value with spaces");
	CHECK_STR(p.v[4], "a # not a comment");
	CHECK_STR(p.v[5], "x y");
	CHECK_STR(p.v[6], "");
	CHECK_STR(p.v[7], "abc#def");

	CHECK_INT(parse("PORT\n", &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "test.env:1");
	CHECK_INT(parse("A=1\n1BAD=2\n", &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "test.env:2");
	CHECK_CONTAINS(err, "invalid key");
	CHECK_INT(parse("A=\"open\n", &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "unterminated quote");
	CHECK_INT(wa_config_parse("A=1\0B=2", 7, "nul.env", collect, &p, err,
	                          sizeof(err)),
	          -1);
	CHECK_CONTAINS(err, "NUL");
}

static void ct_compare(void)
{
	CHECK(wa_ct_streq("dev-api-key-12345", "dev-api-key-12345"));
	CHECK(!wa_ct_streq("dev-api-key-12345", "dev-api-key-12346"));
	CHECK(!wa_ct_streq("dev-api-key-12345", "dev-api-key-1234"));
	CHECK(!wa_ct_streq("dev-api-key-12345", "dev-api-key-123455"));
	CHECK(!wa_ct_streq("dev-api-key-12345", ""));
	CHECK(!wa_ct_streq("abc", "abcabc")); /* modulo walk must not match */
	CHECK(wa_ct_streq("", ""));
}

static void clear_env(void)
{
	for (const wa_config_spec *s = wa_core_keys; s->name; s++)
		unsetenv(s->name);
}

static int load(wa_settings *s, char *err, size_t len)
{
	int rc = wa_settings_load(s, err, len);
	wa_settings_free(s);
	return rc;
}

/* PROVIDER_CA_FILE: a file that cannot be read or is not PEM stops the
 * start with a sentence naming it; a PEM file is kept by path. (That the
 * executor trusts it and only it: e2e_provider_h2.) */
static void provider_ca(void)
{
	wa_settings s;
	char err[256], pem[] = "/tmp/wa-ca-XXXXXX";
	const char *src = getenv("WA_SOURCE_DIR");
	char notpem[1024];
	int fd;

	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK_STR(s.provider_ca_file, "");
	wa_settings_free(&s);
	setenv("PROVIDER_CA_FILE", "/nonexistent/ca.pem", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err,
	               "PROVIDER_CA_FILE: cannot read /nonexistent/ca.pem");
	snprintf(notpem, sizeof(notpem), "%s/etc/wadispatch.env",
	         src ? src : "..");
	setenv("PROVIDER_CA_FILE", notpem, 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "is not a PEM file");
	fd = mkstemp(pem);
	CHECK(fd >= 0);
	if (fd >= 0) {
		static const char text[] = "-----BEGIN CERTIFICATE-----\n"
		                           "MA==\n-----END CERTIFICATE-----\n";
		CHECK(write(fd, text, sizeof(text) - 1) ==
		      (ssize_t)(sizeof(text) - 1));
		close(fd);
		setenv("PROVIDER_CA_FILE", pem, 1);
		CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
		CHECK_STR(s.provider_ca_file, pem);
		wa_settings_free(&s);
		unlink(pem);
	}
	unsetenv("PROVIDER_CA_FILE");
}

static void settings(void)
{
	wa_settings s;
	char err[256];

	clear_env();
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "API_KEY is not set");

	setenv("API_KEY", "dev-api-key-12345", 1);
	/* issue 16, smaller things: an empty provider, an in-memory store */
	setenv("WHATSAPP_PROVIDER", "", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "WHATSAPP_PROVIDER is set but empty");
	unsetenv("WHATSAPP_PROVIDER");
	setenv("STORE_PATH", ":memory:", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "STORE_PATH must be a file path");
	unsetenv("STORE_PATH");
	/* issue 16 #9: the batch route's cap follows BATCH_MAX */
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK_INT((long long)s.batch_body_bytes, 1000 * 1024);
	wa_settings_free(&s);
	setenv("BATCH_MAX_BODY_BYTES", "100000", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "BATCH_MAX_BODY_BYTES (100000) cannot hold");
	setenv("BATCH_MAX", "10", 1);
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK_INT((long long)s.batch_body_bytes, 100000);
	wa_settings_free(&s);
	unsetenv("BATCH_MAX_BODY_BYTES");
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK_INT((long long)s.batch_body_bytes, 65536);
	wa_settings_free(&s);
	unsetenv("BATCH_MAX");
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK_INT(s.port, 3001);
	CHECK(s.dev_key_in_use);
	CHECK_STR(s.provider, "mock");
	CHECK_INT((long long)s.max_body_bytes, 65536);
	CHECK_INT(s.max_attempts, 8);
	CHECK(s.store_sync_full);
	CHECK_INT(s.store_prewarm_mb, 512);
	CHECK(!s.provider_rate_set);
	CHECK(wa_settings_key_ok(&s, "dev-api-key-12345"));
	CHECK(!wa_settings_key_ok(&s, "dev-api-key-1234"));
	wa_settings_free(&s);

	setenv("API_KEYS", "second-key-000001, third-key-0000002", 1);
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK_INT((int)s.n_api_keys, 3);
	CHECK(wa_settings_key_ok(&s, "third-key-0000002"));
	CHECK(wa_settings_key_ok(&s, "second-key-000001"));
	CHECK(!wa_settings_key_ok(&s, " second-key-000001"));
	wa_settings_free(&s);
	setenv("API_KEYS", "short", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "API_KEYS");
	/* issue 16 #8: 15 characters is too short, 16 is enough */
	setenv("API_KEYS", "fifteen-chars-1", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "API_KEYS holds a key shorter than 16 characters");
	setenv("API_KEYS", "sixteen-chars-12", 1);
	CHECK_INT(load(&s, err, sizeof(err)), 0);
	wa_settings_free(&s);
	unsetenv("API_KEYS");
	/* a key of spaces only: no caller could use the daemon */
	setenv("API_KEY", "    ", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "API_KEY is empty or only spaces");
	setenv("API_KEY", "", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "API_KEY is not set");
	setenv("API_KEY", "short-key-123", 1);
	CHECK_INT(load(&s, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "API_KEY holds a key shorter than 16");
	setenv("API_KEY", "dev-api-key-12345", 1);

	struct {
		const char *key, *value, *want;
	} bad[] = {
	    {"PORT", "0", "PORT must be a whole number from 1 to 65535"},
	    {"PORT", "70000", "PORT must be"},
	    {"PORT", "30x", "PORT must be"},
	    {"MAX_BODY_BYTES", "-1", "MAX_BODY_BYTES"},
	    {"WORKERS", "0", "WORKERS"},
	    {"LOG_LEVEL", "loud",
	     "LOG_LEVEL must be debug, info, warn or error"},
	    {"STORE_SYNC", "off", "STORE_SYNC must be full or normal"},
	    {"STORE_PREWARM_MB", "-1",
	     "STORE_PREWARM_MB must be a whole number from 0 to 1048576"},
	    {"STORE_PREWARM_MB", "lots", "STORE_PREWARM_MB must be"},
	    {"RETENTION", "30x", "RETENTION must be a duration"},
	    {"RETENTION", "-1d", "RETENTION must be a duration"},
	    {"RETENTION", "99999d", "RETENTION must be a duration"},
	    {"PROVIDER_RATE", "fast", "PROVIDER_RATE must be"},
	    {"PROVIDER_RATE", "-3", "PROVIDER_RATE must be"},
	    {"BIND_ADDRESS", "localhost",
	     "BIND_ADDRESS must be an IPv4 address"},
	    {"MAX_ATTEMPTS", "0", "MAX_ATTEMPTS"},
	    {"MESSAGE_TTL", "abc", "MESSAGE_TTL"},
	    {"RETRY_MAX_MS", "10", "RETRY_MAX_MS must not be smaller"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv(bad[i].key, bad[i].value, 1);
		err[0] = 0;
		CHECK_INT(load(&s, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, bad[i].want);
		unsetenv(bad[i].key);
	}
	setenv("PROVIDER_RATE", "12.5", 1);
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK(s.provider_rate_set && s.provider_rate == 12.5);
	wa_settings_free(&s);
	unsetenv("PROVIDER_RATE");
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK(s.retention_ms == 30LL * 86400000); /* the default, 30d */
	wa_settings_free(&s);
	setenv("RETENTION", "12h", 1);
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK(s.retention_ms == 12LL * 3600000);
	wa_settings_free(&s);
	setenv("RETENTION", "0", 1);
	CHECK_INT(wa_settings_load(&s, err, sizeof(err)), 0);
	CHECK(s.retention_ms == 0);
	wa_settings_free(&s);
	unsetenv("RETENTION");
	provider_ca();
}

/* etc/wadispatch.env lists every core key with its default, and never
 * enables the development key. */
static void sample_env_complete(void)
{
	char path[1024], line[1024], want[512];
	const char *src = getenv("WA_SOURCE_DIR");
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0;

	snprintf(path, sizeof(path), "%s/etc/wadispatch.env", src ? src : "..");
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);
		if (len + l + 1 > cap) {
			cap = (cap + l + 1) * 2;
			text = realloc(text, cap);
		}
		memcpy(text + len, line, l + 1);
		len += l;
		CHECK(strncmp(line, "API_KEY=dev-api-key", 19) != 0);
	}
	fclose(f);
	for (const wa_config_spec *s = wa_core_keys; s->name; s++) {
		/* Their defaults depend on the install prefix. */
		if (strcmp(s->name, "PROVIDER_DIR") == 0 ||
		    strcmp(s->name, "CONSOLE_DIR") == 0) {
			snprintf(want, sizeof(want), "\n#%s=", s->name);
		} else {
			snprintf(want, sizeof(want), "\n#%s=%s\n", s->name,
			         s->def ? s->def : "");
		}
		if (!strstr(text, want))
			fprintf(stderr, "etc/wadispatch.env lacks \"%s\"\n",
			        want + 1);
		CHECK(strstr(text, want) != NULL);
	}
	free(text);
}

int main(void)
{
	env_file();
	ct_compare();
	settings();
	sample_env_complete();
	return wa_t_report();
}
