/* fuzz_phone.c - fuzz the phone normaliser and the UTF-8 counter against small
 * reference models */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "base/validate.h"

/* Reference phone rule, written from the header comment: an optional '+'
 * first (after spaces); drop spaces, '-', '(', ')', '.'; the rest must be
 * 10-15 digits, the first not 0. */
static int ref_phone(const char *in, char *digits, size_t cap)
{
	size_t n = 0;

	in += strspn(in, " ");
	if (*in == '+')
		in++;
	for (; *in; in++) {
		if (strchr(" -().", *in))
			continue;
		if (*in < '0' || *in > '9')
			return -1;
		if (n + 1 >= cap)
			return -1;
		digits[n++] = *in;
	}
	digits[n] = '\0';
	return (n >= 10 && n <= 15 && digits[0] != '0') ? 0 : -1;
}

/* Reference UTF-8 validator: the well-formed byte sequences of the
 * Unicode standard (table 3-7). Code points, or -1. */
static long ref_utf8(const unsigned char *s, size_t len)
{
	long n = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t k;

		if (c <= 0x7F) {
			i++;
			n++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3;
		else
			return -1;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		if (len - i <= k)
			return -1;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return -1;
		for (size_t j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xBF)
				return -1;
		i += k + 1;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_copy(data, size); /* stops at the first NUL, as C does */
	char out[20], small[16], want[32];
	int rc, ref;

	memset(out, 'x', sizeof(out));
	rc = wa_phone_normalize(s, out, sizeof(out));
	ref = ref_phone(s, want, sizeof(want));
	FZ_CHECK(rc == ref);
	if (rc == 0) {
		FZ_CHECK(out[0] == '+' && strcmp(out + 1, want) == 0);
		/* Normalising is idempotent. */
		{
			char again[20];

			FZ_CHECK(
			    wa_phone_normalize(out, again, sizeof(again)) == 0);
			FZ_CHECK(strcmp(again, out) == 0);
		}
	}
	/* An output buffer under 17 bytes is refused, never overrun. */
	FZ_CHECK(wa_phone_normalize(s, small, sizeof(small)) == -1);
	FZ_CHECK(wa_phone_normalize(NULL, out, sizeof(out)) == -1);

	/* The raw bytes, NULs included, then the C string. */
	FZ_CHECK(wa_utf8_chars((const char *)data, size) ==
	         ref_utf8(data, size));
	FZ_CHECK(wa_utf8_chars(s, strlen(s)) ==
	         ref_utf8((const unsigned char *)s, strlen(s)));
	free(s);
	return 0;
}
