/* pc_crypto.c - HMAC, constant-time compare and the Twilio request signature */
#include "pc.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

bool wa_pc_ct_streq(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

static int hmac(const EVP_MD *md, const char *key, const void *msg, size_t n,
                unsigned char *out, unsigned int want)
{
	unsigned int len = 0;
	size_t klen = strlen(key);

	if (klen > 4096)
		return -1;
	if (!HMAC(md, key, (int)klen, msg, n, out, &len) || len != want)
		return -1;
	return 0;
}

int wa_pc_hmac_sha1(const char *key, const void *msg, size_t n,
                    unsigned char out[20])
{
	return hmac(EVP_sha1(), key, msg, n, out, 20);
}

int wa_pc_hmac_sha256(const char *key, const void *msg, size_t n,
                      unsigned char out[32])
{
	return hmac(EVP_sha256(), key, msg, n, out, 32);
}

typedef struct pair {
	const char *name;
	const char *value;
} pair;

static int pair_cmp(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

int wa_pc_twilio_signature(const char *token, const char *url,
                           const wa_pc_form *f, char *out, size_t cap)
{
	pair p[WA_PC_FORM_MAX];
	size_t n = f ? f->n : 0, total = strlen(url) + 1, len = 0;
	unsigned char mac[20];
	char *s;
	int rc;

	for (size_t i = 0; i < n; i++) {
		p[i].name = f->name[i];
		p[i].value = f->value[i];
		total += strlen(p[i].name) + strlen(p[i].value);
	}
	/* Names in byte order; a name's values de-duplicated, in byte order. */
	qsort(p, n, sizeof(p[0]), pair_cmp);
	s = malloc(total);
	if (!s)
		return -1;
	memcpy(s, url, strlen(url));
	len = strlen(url);
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(p[i].name), lv = strlen(p[i].value);

		if (i > 0 && pair_cmp(&p[i - 1], &p[i]) == 0)
			continue;
		memcpy(s + len, p[i].name, ln);
		len += ln;
		memcpy(s + len, p[i].value, lv);
		len += lv;
	}
	rc = wa_pc_hmac_sha1(token, s, len, mac);
	free(s);
	if (rc == 0)
		rc = wa_pc_base64(mac, sizeof(mac), out, cap);
	return rc;
}
