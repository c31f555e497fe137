/* test_manpage.c - every setting (core keys, each built provider's keys) is in
 * wadispatchd(8), and every provider key is in etc/wadispatch.env with its
 * default (core keys there are checked by unit_config) */
#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wadispatch/provider.h>

#include "base/config.h"
#include "testing.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = 0;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static bool key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Is key in text as a whole word (API_KEY must not match API_KEYS)? */
static bool has_word(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
		if ((p == text || !key_char(p[-1])) && !key_char(p[kl]))
			return true;
	}
	return false;
}

static void check_key(const char *man, const char *where, const char *key)
{
	if (has_word(man, key)) {
		CHECK(true);
		return;
	}
	fprintf(stderr, "wadispatchd.8 does not document %s (from %s)\n", key,
	        where);
	CHECK(false);
}

static char *g_env; /* etc/wadispatch.env */

/* "#KEY=<default>" on a line of its own in the sample env file. */
static void check_env(const char *where, const wa_config_key *k)
{
	char want[512];

	snprintf(want, sizeof(want), "\n#%s=%s\n", k->name,
	         k->default_value ? k->default_value : "");
	if (g_env && strstr(g_env, want)) {
		CHECK(true);
		return;
	}
	fprintf(stderr, "etc/wadispatch.env lacks \"%s\" (from %s)\n", want + 1,
	        where);
	CHECK(false);
}

static int check_providers(const char *man, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d) {
		fprintf(stderr, "cannot open provider dir %s\n", dir);
		return 0;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char path[4096];
		void *h;
		wa_provider_entry_fn entry;
		const wa_provider *p;

		if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		                     e->d_name) >= sizeof(path))
			continue;
		h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		CHECK(h != NULL);
		if (!h) {
			fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
			continue;
		}
		*(void **)&entry = dlsym(h, WA_PROVIDER_ENTRY_SYMBOL);
		CHECK(entry != NULL);
		p = entry ? entry(WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR)
		          : NULL;
		CHECK(p != NULL);
		if (p && p->config_keys) {
			for (const wa_config_key *k = p->config_keys; k->name;
			     k++) {
				check_key(man, e->d_name, k->name);
				if (!wa_config_default(k->name) &&
				    strcmp(k->name, "PUBLIC_BASE_URL") != 0)
					check_env(e->d_name, k);
			}
		}
		if (p) {
			char section[128];
			snprintf(section, sizeof(section), "Provider %s",
			         p->name);
			CHECK_CONTAINS(man, section);
		}
		n++;
		/* never dlclose()d, as in the daemon */
	}
	closedir(d);
	return n;
}

int main(void)
{
	const char *src = getenv("WA_SOURCE_DIR");
	const char *pdir = getenv("WA_PROVIDER_BUILD_DIR");
	char path[4096];
	char *man;
	int n = 0;

	CHECK(src != NULL && pdir != NULL);
	if (!src || !pdir)
		return wa_t_report();
	snprintf(path, sizeof(path), "%s/etc/wadispatch.env", src);
	g_env = slurp(path);
	CHECK(g_env != NULL);
	snprintf(path, sizeof(path), "%s/packaging/wadispatchd.8", src);
	man = slurp(path);
	CHECK(man != NULL);
	if (!man)
		return wa_t_report();

	for (const wa_config_spec *s = wa_core_keys; s->name; s++) {
		check_key(man, "core/base/config.c", s->name);
		n++;
	}
	CHECK(n > 20);
	/* The shipped providers, at least the mock. */
	CHECK(check_providers(man, pdir) >= 1);
	free(man);
	free(g_env);
	return wa_t_report();
}
