/* regress_main.c - run a fuzz target once over every file of its corpus (no
 * libFuzzer needed) */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef WA_FUZZ_CORPUS
#define WA_FUZZ_CORPUS "corpus"
#endif

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot size the file\n", path);
		fclose(f);
		return -1;
	}
	/* Exactly n bytes (at least 1 for malloc): overreads trip ASan. */
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read the file\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "running %s (%ld bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

/* Every regular file of dir, in name order. Returns files run or -1. */
static long run_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	long ran = 0;

	if (n < 0) {
		perror(dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", dir,
		                   names[i]->d_name);

		if (len > 0 && (size_t)len < sizeof(path) &&
		    names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	long total = 0;
	int nargs = argc > 1 ? argc - 1 : 1;

	for (int i = 0; i < nargs; i++) {
		const char *path = argc > 1 ? argv[i + 1] : WA_FUZZ_CORPUS;
		struct stat st;
		long ran;

		if (stat(path, &st) != 0) {
			perror(path);
			return 1;
		}
		ran = S_ISDIR(st.st_mode) ? run_dir(path)
		                          : (run_file(path) == 0 ? 1 : -1);
		if (ran < 0)
			return 1;
		total += ran;
	}
	printf("%ld corpus inputs ran without a finding\n", total);
	/* An empty corpus would make this test pass vacuously. */
	return total > 0 ? 0 : 1;
}
