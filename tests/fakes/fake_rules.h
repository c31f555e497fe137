/* fake_rules.h - what the fake provider servers check and answer (no sockets
 * here) */
#ifndef WA_FAKE_RULES_H
#define WA_FAKE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum fp_mode {
	FP_TWILIO,
	FP_EVOLUTION,
	FP_CLOUDAPI,
	FP_RECEIVER /* a status webhook receiver: 200 to every POST */
} fp_mode;

#define FP_TWILIO_ACCOUNT "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_TWILIO_TOKEN "test_auth_token_0123456789abcdef"
#define FP_TWILIO_KEY_SID "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FP_TWILIO_KEY_SECRET "test_api_key_secret"
#define FP_EVOLUTION_INSTANCE "dispatcher"
#define FP_EVOLUTION_KEY "test_evolution_key_0123"
#define FP_CLOUDAPI_PHONE_ID "106540352242922"
#define FP_CLOUDAPI_TOKEN "EAAtest_cloudapi_token_0123"

typedef struct fp_config {
	fp_mode mode;
	unsigned long outage; /* first N requests fail transiently */
	bool outage_503;
	bool auth_fail;
	char retry_after[16];
} fp_config;

typedef struct fp_request {
	const char *method;
	const char *path;
	const char *authorization; /* may be NULL */
	const char *apikey;        /* may be NULL */
	const char *content_type;  /* may be NULL */
	const char *body;
	size_t body_len;
} fp_request;

typedef struct fp_answer {
	int status;
	char body[32768];
	char retry_after[16];
	char record[16384]; /* "" unless the send was accepted */
} fp_answer;

/* The message id the fake gives the send that is its request n (1-based),
 * so a test can know it before the send. */
static inline void fp_message_id(fp_mode mode, unsigned long n, char *out,
                                 size_t len)
{
	switch (mode) {
	case FP_TWILIO:
		snprintf(out, len, "SM%032lx", n);
		break;
	case FP_EVOLUTION:
		snprintf(out, len, "3EB0%018lX", n);
		break;
	case FP_CLOUDAPI:
		snprintf(out, len, "wamid.FAKE%020lu", n);
		break;
	case FP_RECEIVER:
		snprintf(out, len, "event-%lu", n);
		break;
	}
}

/* Check request n (1-based) and fill the answer. Thread-safe. */
void fp_handle(const fp_config *cfg, const fp_request *req, unsigned long n,
               fp_answer *a);

#endif
