/* fuzz_cloudapi_callback.c - fuzz the Cloud API webhook: GET handshake,
 * X-Hub-Signature-256, the JSON parser
 *
 * Input: one flags byte, the X-Hub-Signature-256 value up to '\n' (empty:
 * no header), the query string up to '\n', then the raw body.
 *   0x01  POST (else GET)
 *   0x02  ignore the signature field: sign the body validly (HMAC-SHA256
 *         computed here with libcrypto) so the JSON parser is reached
 *   0x04  with 0x02, upper-case hex digits
 *   0x08  method PUT (must be refused with 405)
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CA_SECRET "test_app_secret"
#define CA_VERIFY "verify-token-123"

#define F_POST 0x01
#define F_SIGN 0x02
#define F_UPPER 0x04
#define F_PUT 0x08

static const char *const fz_config[] = {
    "CLOUDAPI_TOKEN=EAAtesttoken0123456789",
    "CLOUDAPI_PHONE_NUMBER_ID=106540352242922",
    "CLOUDAPI_APP_SECRET=" CA_SECRET,
    "CLOUDAPI_VERIFY_TOKEN=" CA_VERIFY,
    NULL,
};

/* "sha256=" + hex(HMAC-SHA256(secret, body)). */
static void fz_sign(const uint8_t *body, size_t len, bool upper, char out[80])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	if (!HMAC(EVP_sha256(), CA_SECRET, (int)strlen(CA_SECRET), body, len,
	          mac, &mlen) ||
	    mlen != 32)
		abort();
	memcpy(out, "sha256=", 7);
	for (unsigned i = 0; i < 32; i++) {
		out[7 + 2 * i] = digits[mac[i] >> 4];
		out[8 + 2 * i] = digits[mac[i] & 15];
	}
	out[71] = '\0';
}

static bool challenge_shape(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789-_.") == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;
	unsigned flags = size ? data[0] : 0;
	char *sig, *query, mine[80];
	const char *headers[3] = {"X-Hub-Signature-256", NULL, NULL};
	const char *method;
	fz_cb_input in;
	wa_callback_reply reply;

	if (!p)
		p = fz_provider(fz_config, &state);
	if (size) {
		data++;
		size--;
	}
	sig = fz_field(&data, &size);
	query = fz_field(&data, &size);
	method = (flags & F_PUT) ? "PUT" : (flags & F_POST) ? "POST" : "GET";
	headers[1] = *sig ? sig : NULL;
	if (flags & F_SIGN) {
		fz_sign(data, size, flags & F_UPPER, mine);
		headers[1] = mine;
	}

	memset(&in, 0, sizeof(in));
	in.method = method;
	in.public_url =
	    "https://wa.example.test/v1/providers/cloudapi/callback";
	in.query = query;
	in.content_type = "application/json";
	in.body = (const char *)data;
	in.body_len = size;
	in.headers = headers;
	fz_callback(p, state, &in, &reply);

	if (flags & F_PUT) {
		FZ_CHECK(reply.http_status == 405);
	} else if (flags & F_POST) {
		FZ_CHECK(reply.http_status == 200 || reply.http_status == 400 ||
		         reply.http_status == 401);
		if (flags & F_SIGN)
			FZ_CHECK(reply.http_status != 401);
		if (!headers[1])
			FZ_CHECK(reply.http_status == 401);
	} else {
		FZ_CHECK(reply.n_updates == 0);
		FZ_CHECK(reply.http_status == 200 || reply.http_status == 400 ||
		         reply.http_status == 403);
		/* The echoed challenge is a short plain token. */
		if (reply.http_status == 200)
			FZ_CHECK(challenge_shape(reply.body));
	}
	free(query);
	free(sig);
	return 0;
}
