/* fuzz_twilio_callback.c - fuzz the Twilio status callback: X-Twilio-Signature
 * check, then the form parser
 *
 * Input: one flags byte, the X-Twilio-Signature value up to '\n' (empty:
 * no header), the query string up to '\n', then the raw body.
 *   0x01  POST (else GET)
 *   0x02  ignore the signature field: sign the request validly (HMAC-SHA1
 *         computed here with libcrypto), so the form handling behind the
 *         check is reached and "valid signature => not 403" is checked
 *   0x04  public URL https://wa.example.test/... (else the fixture's
 *         http://127.0.0.1:8080/callbacks/twilio/status)
 *   0x08  sign the other port form of the URL (default port added, or the
 *         port dropped), which Twilio's validators also accept
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "pc.h"

#define TW_TOKEN "test_auth_token_0123456789abcdef"

#define F_POST 0x01
#define F_SIGN 0x02
#define F_EXAMPLE 0x04
#define F_VARIANT 0x08

static const char *const fz_config[] = {
    "TWILIO_ACCOUNT_SID=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "TWILIO_AUTH_TOKEN=" TW_TOKEN,
    "TWILIO_FROM=whatsapp:+14155552345",
    "PUBLIC_BASE_URL=https://wa.example.test",
    NULL,
};

/* [0]: what the host reports; [1]: the same URL in its other port form. */
static const char *const fz_urls[2][2] = {
    {"http://127.0.0.1:8080/callbacks/twilio/status",
     "http://127.0.0.1/callbacks/twilio/status"},
    {"https://wa.example.test/v1/providers/twilio/callback",
     "https://wa.example.test:443/v1/providers/twilio/callback"},
};

typedef struct fz_pair {
	const char *name;
	const char *value;
} fz_pair;

static int pair_cmp(const void *a, const void *b)
{
	const fz_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Twilio's rule: base64(HMAC-SHA1(token, url + name+value for each name in
 * byte order, its distinct values in byte order)). 0 or -1. */
static int fz_sign(const char *url, const wa_pc_form *f, char out[32])
{
	fz_pair pairs[WA_PC_FORM_MAX];
	size_t n = f ? f->n : 0, cap = strlen(url) + 1, len;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	char *msg;

	for (size_t i = 0; i < n; i++) {
		pairs[i].name = f->name[i];
		pairs[i].value = f->value[i];
		cap += strlen(f->name[i]) + strlen(f->value[i]);
	}
	qsort(pairs, n, sizeof(pairs[0]), pair_cmp);
	msg = malloc(cap);
	if (!msg)
		return -1;
	len = (size_t)snprintf(msg, cap, "%s", url);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && pair_cmp(&pairs[i - 1], &pairs[i]) == 0)
			continue;
		len += (size_t)snprintf(msg + len, cap - len, "%s%s",
		                        pairs[i].name, pairs[i].value);
	}
	if (!HMAC(EVP_sha1(), TW_TOKEN, (int)strlen(TW_TOKEN),
	          (const unsigned char *)msg, len, mac, &mlen) ||
	    mlen != 20) {
		free(msg);
		return -1;
	}
	free(msg);
	EVP_EncodeBlock((unsigned char *)out, mac, 20); /* 28 chars + NUL */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;
	static wa_pc_form form;
	unsigned flags = size ? data[0] : 0;
	char *sig, *query, *url, *signed_url, mine[32];
	const char *headers[3] = {"X-Twilio-Signature", NULL, NULL};
	const char *const *pair = fz_urls[(flags & F_EXAMPLE) ? 1 : 0];
	bool post = flags & F_POST, form_ok = true, signed_ok = false;
	fz_cb_input in;
	wa_callback_reply reply;
	size_t ulen;

	if (!p)
		p = fz_provider(fz_config, &state);
	if (size) {
		data++;
		size--;
	}
	sig = fz_field(&data, &size);
	query = fz_field(&data, &size);
	ulen = strlen(pair[0]) + strlen(pair[1]) + strlen(query) + 2;
	url = malloc(ulen);
	signed_url = malloc(ulen);
	if (!url || !signed_url)
		abort();
	snprintf(url, ulen, "%s%s%s", pair[0], *query ? "?" : "", query);
	snprintf(signed_url, ulen, "%s%s%s", pair[(flags & F_VARIANT) ? 1 : 0],
	         *query ? "?" : "", query);

	headers[1] = *sig ? sig : NULL;
	if (flags & F_SIGN) {
		form.n = 0;
		if (post)
			form_ok = wa_pc_form_parse(&form, (const char *)data,
			                           size) == 0;
		if (form_ok && fz_sign(signed_url, &form, mine) == 0) {
			headers[1] = mine;
			signed_ok = true;
		}
	}

	memset(&in, 0, sizeof(in));
	in.method = post ? "POST" : "GET";
	in.public_url = url;
	in.query = query;
	in.content_type = "application/x-www-form-urlencoded";
	in.body = (const char *)data;
	in.body_len = size;
	in.headers = headers;
	fz_callback(p, state, &in, &reply);

	FZ_CHECK(reply.http_status == 200 || reply.http_status == 400 ||
	         reply.http_status == 403 || reply.http_status == 503);
	FZ_CHECK(reply.n_updates <= 1);
	/* A valid signature is never refused (the port variant needs room
	 * for ":443" in the plugin's URL buffer). */
	if (signed_ok && strlen(url) + 8 < WA_URL_MAX)
		FZ_CHECK(reply.http_status != 403);
	/* Without any signature nothing gets through. */
	if (!headers[1])
		FZ_CHECK(reply.http_status == 403);
	free(url);
	free(signed_url);
	free(query);
	free(sig);
	return 0;
}
