/* fuzz_evolution_callback.c - fuzz the Evolution API webhook: shared-token
 * check, then the JSON parser
 *
 * Input: one flags byte, the X-Wadispatch-Token value up to '\n' (empty:
 * no header), the query string up to '\n', then the raw body.
 *   0x01  POST (else GET)
 *   0x02  send the configured token in the header (reaches the parser)
 *   0x04  put "token=<configured token>&" before the query
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_HOOK "evo-webhook-token-42"

#define F_POST 0x01
#define F_HEADER 0x02
#define F_QUERY 0x04

static const char *const fz_config[] = {
    "EVOLUTION_BASE_URL=http://10.0.0.5:8080",
    "EVOLUTION_INSTANCE=dispatcher",
    "EVOLUTION_API_KEY=evo-api-key-0123456789",
    "EVOLUTION_WEBHOOK_TOKEN=" EV_HOOK,
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const wa_provider *p;
	static void *state;
	unsigned flags = size ? data[0] : 0;
	char *tok, *query, *q;
	const char *headers[3] = {"X-Wadispatch-Token", NULL, NULL};
	bool post = flags & F_POST;
	fz_cb_input in;
	wa_callback_reply reply;
	size_t qlen;

	if (!p)
		p = fz_provider(fz_config, &state);
	if (size) {
		data++;
		size--;
	}
	tok = fz_field(&data, &size);
	query = fz_field(&data, &size);
	qlen = strlen(query) + sizeof("token=" EV_HOOK "&");
	q = malloc(qlen);
	if (!q)
		abort();
	snprintf(q, qlen, "%s%s", (flags & F_QUERY) ? "token=" EV_HOOK "&" : "",
	         query);
	headers[1] = (flags & F_HEADER) ? EV_HOOK : (*tok ? tok : NULL);

	memset(&in, 0, sizeof(in));
	in.method = post ? "POST" : "GET";
	in.public_url =
	    "https://wa.example.test/v1/providers/evolution/callback";
	in.query = q;
	in.content_type = "application/json";
	in.body = (const char *)data;
	in.body_len = size;
	in.headers = headers;
	fz_callback(p, state, &in, &reply);

	FZ_CHECK(reply.http_status == 200 || reply.http_status == 400 ||
	         reply.http_status == 401 || reply.http_status == 405);
	if (flags & F_HEADER)
		FZ_CHECK(post ? (reply.http_status == 200 ||
		                 reply.http_status == 400)
		              : reply.http_status == 405);
	/* Neither header nor query token: refused. */
	if (!headers[1] && !*q)
		FZ_CHECK(reply.http_status == 401);
	free(q);
	free(query);
	free(tok);
	return 0;
}
