/* fuzz_config.c - fuzz the env-file parser, the Prefer: wait parser and the
 * constant-time compare */
#include "fuzz.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "http/routes.h"

static int key_ok(const char *k)
{
	if (!*k || isdigit((unsigned char)*k) || strlen(k) >= 256)
		return 0;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_')
			return 0;
	return 1;
}

static int on_pair(const char *key, const char *value, void *ud)
{
	size_t *pairs = ud;
	size_t vl = strlen(value);

	FZ_CHECK(key_ok(key));
	FZ_CHECK(vl < 4096);
	(*pairs)++;
	return 0;
}

static int refuse(const char *key, const char *value, void *ud)
{
	(void)key;
	(void)value;
	(void)ud;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	size_t pairs = 0;
	char *s;
	int rc, w;

	memset(err, 0, sizeof(err));
	rc = wa_config_parse((const char *)data, size, "fuzz.env", on_pair,
	                     &pairs, err, sizeof(err));
	if (rc != 0)
		FZ_CHECK(err[0] != '\0' && fz_terminated(err, sizeof(err)));
	/* Lines hold at most one pair each. */
	FZ_CHECK(pairs <= size);
	/* A setter failing stops the parse with an error. */
	if (rc == 0 && pairs > 0) {
		memset(err, 0, sizeof(err));
		FZ_CHECK(wa_config_parse((const char *)data, size, "fuzz.env",
		                         refuse, NULL, err, sizeof(err)) == -1);
		FZ_CHECK(err[0] != '\0');
	}

	/* The same bytes as a Prefer header value. */
	s = fz_copy(data, size);
	w = wa_prefer_wait(s, 30);
	FZ_CHECK(w >= 0 && w <= 30);
	FZ_CHECK(wa_prefer_wait(s, 0) == 0);

	/* And as "secret\ngiven" for the API key comparison. */
	{
		char *nl = strchr(s, '\n');
		const char *given = nl ? nl + 1 : "";

		if (nl)
			*nl = '\0';
		FZ_CHECK(wa_ct_streq(s, given) == (strcmp(s, given) == 0));
	}
	free(s);
	return 0;
}
