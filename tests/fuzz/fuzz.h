/* fuzz.h - the libFuzzer entry point each target defines, and helpers the
 * targets share */
#ifndef WA_FUZZ_H
#define WA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "wadispatch/provider.h"

/* Defined by every fuzz_<target>.c; called by libFuzzer, or by
 * regress_main.c once per corpus file in the plain regression build. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken property is a finding: say which, then abort so libFuzzer (or
 * CTest) reports the input. */
#define FZ_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond))                                                   \
			fz_fail(__FILE__, __LINE__, #cond);                    \
	} while (0)

void fz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/* malloc'd copy of data[0..size) plus a NUL (exactly size + 1 bytes, so
 * ASan sees any read past the terminator). Aborts when out of memory. */
char *fz_copy(const void *data, size_t size);

/* Cut the next '\n'-terminated field off (*data, *size) (the newline is
 * consumed; without one the rest is the field). Returns a fz_copy. */
char *fz_field(const uint8_t **data, size_t *size);

/* Is there a NUL inside buf[0..cap)? (fixed-size result strings) */
int fz_terminated(const char *buf, size_t cap);

/* ---- providers (fz_provider.c; the plugin sources are linked in) ------- */

/* The entry point of the one plugin compiled into this fuzzer. */
const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                        uint32_t host_minor);

/* Look the plugin up through its entry and init() it with kv, a
 * NULL-terminated list of "KEY=VALUE" (kept by reference). Values of
 * secret keys must never appear in a log line (checked). Aborts when init
 * fails: the harness's credentials must be valid. */
const wa_provider *fz_provider(const char *const *kv, void **state);

/* parse_response on one canned reply (body copied to a NUL-terminated
 * buffer of exactly len + 1 bytes), then check the result's invariants. */
void fz_parse_response(const wa_provider *p, void *state, long status,
                       const char *retry_after, const char *body, size_t len);

/* The response fuzzers' input: an optional first line "<status>[ <retry
 * after>]" (when the input starts with a digit or '-'), then the body.
 * Runs parse_response with that status (200 without the line), then with
 * a few fixed ones so every branch sees every body. */
void fz_response_input(const wa_provider *p, void *state, const uint8_t *data,
                       size_t size);

/* Header lookup for fz_callback: a NULL-terminated "Name", "value" list. */
typedef struct fz_cb_input {
	const char *method;
	const char *public_url;
	const char *query;
	const char *content_type;
	const char *body;
	size_t body_len;
	const char *const *headers;
} fz_cb_input;

/* on_callback on in, then check the reply's invariants (status range,
 * NUL-terminated strings, known statuses, no updates unless 200). */
void fz_callback(const wa_provider *p, void *state, const fz_cb_input *in,
                 wa_callback_reply *reply);

#endif
