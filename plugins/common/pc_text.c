/* pc_text.c - bounded buffers, URL/form encoding, base64/hex and small text
 * checks */
#include "pc.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

void wa_pc_buf_init(wa_pc_buf *b, char *data, size_t cap)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
	b->overflow = cap == 0;
	if (cap > 0)
		data[0] = '\0';
}

void wa_pc_buf_add(wa_pc_buf *b, const char *s, size_t n)
{
	if (b->overflow)
		return;
	if (n >= b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void wa_pc_buf_adds(wa_pc_buf *b, const char *s)
{
	wa_pc_buf_add(b, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

void wa_pc_buf_add_pct(wa_pc_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n && !b->overflow; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (unreserved(c)) {
			wa_pc_buf_add(b, (const char *)&s[i], 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 0xf];
		wa_pc_buf_add(b, esc, 3);
	}
}

void wa_pc_form_add(wa_pc_buf *b, const char *name, const char *value)
{
	if (b->len > 0)
		wa_pc_buf_add(b, "&", 1);
	wa_pc_buf_add_pct(b, name, strlen(name));
	wa_pc_buf_add(b, "=", 1);
	wa_pc_buf_add_pct(b, value, strlen(value));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long wa_pc_pct_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

int wa_pc_base64(const unsigned char *in, size_t n, char *out, size_t cap)
{
	if (n > (size_t)1 << 20 || cap < 4 * ((n + 2) / 3) + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return 0;
}

int wa_pc_hex(const unsigned char *in, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";

	if (cap < 2 * n + 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

size_t wa_pc_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int wa_pc_digits(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (o + 1 >= cap)
			return -1;
		out[o++] = *s;
	}
	if (cap == 0 || o == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

static bool phone_sep(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' ||
	       c == '/';
}

/* Length of the number starting at the digit s[0]: digits, with at most two
 * separators in a row between them ("5564 9999 8888", "(64) 9999-8888");
 * *digits gets how many digits it holds. Ends on a digit. */
static size_t number_len(const char *s, size_t *digits)
{
	size_t i = 0, end = 0, n = 0;

	for (;;) {
		size_t seps = 0;

		while (s[i] >= '0' && s[i] <= '9')
			i++, n++;
		end = i;
		*digits = n;
		while (seps < 2 && phone_sep(s[i + seps]))
			seps++;
		if (!seps || s[i + seps] < '0' || s[i + seps] > '9')
			return end;
		i += seps;
	}
}

void wa_pc_copy_masked(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; s[i] && o + 1 < cap;) {
		size_t digits = 0, len;

		if (s[i] >= '0' && s[i] <= '9') {
			len = number_len(s + i, &digits);
			/* 6+ digits, even broken by separators: all but the
			 * last 2 digits masked, the separators kept. */
			for (size_t k = 0, seen = 0; k < len && o + 1 < cap;
			     k++) {
				char c = s[i + k];
				bool digit = c >= '0' && c <= '9';
				if (digit)
					seen++;
				out[o++] =
				    digit && digits >= 6 && seen + 2 <= digits
				        ? '*'
				        : c;
			}
			i += len;
			continue;
		}
		out[o++] =
		    ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
		i++;
	}
	out[o] = '\0';
}

bool wa_pc_is_sid(const char *s, const char *prefix, size_t nhex)
{
	size_t p = strlen(prefix);

	if (!s || strncmp(s, prefix, p) != 0 || strlen(s) != p + nhex)
		return false;
	for (size_t i = p; i < p + nhex; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

bool wa_pc_is_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int wa_pc_form_parse(wa_pc_form *f, const char *in, size_t n)
{
	size_t used = 0, i = 0;

	f->n = 0;
	while (i < n) {
		size_t end = i, eq;
		long ln, lv;

		while (end < n && in[end] != '&')
			end++;
		if (end == i) {
			i++;
			continue;
		}
		for (eq = i; eq < end && in[eq] != '='; eq++)
			;
		if (f->n >= WA_PC_FORM_MAX)
			return -1;
		ln = wa_pc_pct_decode(in + i, eq - i, f->store + used,
		                      sizeof(f->store) - used);
		if (ln < 0)
			return -1;
		f->name[f->n] = f->store + used;
		used += (size_t)ln + 1;
		lv = wa_pc_pct_decode(in + (eq < end ? eq + 1 : end),
		                      eq < end ? end - eq - 1 : 0,
		                      f->store + used, sizeof(f->store) - used);
		if (lv < 0)
			return -1;
		f->value[f->n] = f->store + used;
		used += (size_t)lv + 1;
		/* A NUL inside a name or value would make it ambiguous. */
		if (strlen(f->name[f->n]) != (size_t)ln ||
		    strlen(f->value[f->n]) != (size_t)lv)
			return -1;
		f->n++;
		i = end + 1;
	}
	return 0;
}

const char *wa_pc_form_get(const wa_pc_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return NULL;
}
