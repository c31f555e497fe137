/* test_abi_exports.c - every built provider exports exactly one symbol
 *
 * Runs `nm -D --defined-only` on each *.so in $WA_PROVIDER_BUILD_DIR (the
 * directory is read at test time, so new providers are covered without
 * touching this test). The only defined dynamic symbol allowed is
 * wa_provider_entry_v1. Nothing else is tolerated: with
 * -fvisibility=hidden, GNU ld puts no other defined symbol (not _init,
 * _fini, _edata, _end or __bss_start) in .dynsym of a module, also under
 * the sanitizers; if one ever appears, the build flags regressed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

/* 0 when path exports exactly the entry symbol; prints what it found. */
static int check_exports(const char *path)
{
	char cmd[1200], line[512];
	int entry = 0, other = 0, rc;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s' 2>&1", path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char addr[64], type[8], name[256];

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3) {
			fprintf(stderr, "%s: unexpected nm output: %s\n", path,
			        line);
			other++;
			continue;
		}
		if (strcmp(name, "wa_provider_entry_v1") == 0 &&
		    strcmp(type, "T") == 0) {
			entry++;
		} else {
			fprintf(stderr, "%s exports %s (%s)\n", path, name,
			        type);
			other++;
		}
	}
	rc = pclose(p);
	if (rc != 0)
		fprintf(stderr, "nm failed on %s (status %d)\n", path, rc);
	return rc == 0 && entry == 1 && other == 0 ? 0 : -1;
}

int main(void)
{
	const char *dir = getenv("WA_PROVIDER_BUILD_DIR");
	struct dirent *de;
	int n = 0, mock = 0;
	DIR *d;

	if (!dir || !(d = opendir(dir))) {
		fprintf(stderr, "cannot open WA_PROVIDER_BUILD_DIR\n");
		return 1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char path[1024];

		if (l < 4 || strcmp(de->d_name + l - 3, ".so") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		printf("checking %s\n", path);
		CHECK(check_exports(path) == 0);
		n++;
		mock += strcmp(de->d_name, "mock.so") == 0;
	}
	closedir(d);
	CHECK(n >= 1);
	CHECK_INT(mock, 1);
#ifdef WA_V10_PLUGIN
	/* The plugins built against the frozen headers follow it too. */
	CHECK(check_exports(WA_V10_PLUGIN) == 0);
#endif
#ifdef WA_V11_PLUGIN
	CHECK(check_exports(WA_V11_PLUGIN) == 0);
#endif
	return wa_t_report();
}
