/* fz_util.c - small helpers shared by the fuzz targets: checks, copies, field
 * splitting */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz property violated at %s:%d: %s\n", file, line,
	        what);
	abort();
}

char *fz_copy(const void *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s) {
		fprintf(stderr, "fuzz: out of memory\n");
		abort();
	}
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

char *fz_field(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = *size ? memchr(*data, '\n', *size) : NULL;
	size_t n = nl ? (size_t)(nl - *data) : *size;
	char *s = fz_copy(*data, n);

	*data += nl ? n + 1 : n;
	*size -= nl ? n + 1 : n;
	return s;
}

int fz_terminated(const char *buf, size_t cap)
{
	return memchr(buf, '\0', cap) != NULL;
}
