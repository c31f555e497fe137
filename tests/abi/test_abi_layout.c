/* test_abi_layout.c - the provider ABI's layout is pinned and only ever
 * appended to */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wadispatch/provider.h"

#include "abi_fields.h"
#include "testing.h"

/* 1. Pinned layout (LP64): any change to a public struct breaks the build.
 * If this fails, you changed the ABI: append fields instead, bump
 * WA_PROVIDER_ABI_MINOR, and pin the new fields here. */
#if defined(__x86_64__) || defined(__aarch64__)
#define PIN(s, f, off)                                                         \
	_Static_assert(offsetof(s, f) == (off), #s "." #f " moved")
#define PIN_SIZE(s, size)                                                      \
	_Static_assert(sizeof(s) == (size), "sizeof(" #s ") changed")

/* clang-format off */
PIN(wa_host, abi_major, 0);
PIN(wa_host, abi_minor, 4);
PIN(wa_host, struct_size, 8);
PIN(wa_host, log, 16);
PIN(wa_host, config_get, 24);
PIN(wa_host, host_data, 32);
PIN(wa_config_key, name, 0);
PIN(wa_config_key, default_value, 8);
PIN(wa_config_key, flags, 16);
PIN(wa_config_key, description, 24);
PIN(wa_message, struct_size, 0);
PIN(wa_message, message_id, 8);
PIN(wa_message, external_id, 16);
PIN(wa_message, recipient_phone, 24);
PIN(wa_message, message_body, 32);
PIN(wa_message, attempt, 40);
PIN(wa_http_request, struct_size, 0);
PIN(wa_http_request, method, 8);
PIN(wa_http_request, url, 16);
PIN(wa_http_request, n_headers, 2064);
PIN(wa_http_request, headers, 2072);
PIN(wa_http_request, body, 18456);
PIN(wa_http_request, body_cap, 18464);
PIN(wa_http_request, body_len, 18472);
PIN(wa_http_request, timeout_ms, 18480);
PIN(wa_http_response, struct_size, 0);
PIN(wa_http_response, status, 8);
PIN(wa_http_response, content_type, 16);
PIN(wa_http_response, retry_after, 24);
PIN(wa_http_response, body, 32);
PIN(wa_http_response, body_len, 40);
PIN(wa_result, struct_size, 0);
PIN(wa_result, result_class, 8);
PIN(wa_result, upstream_status, 16);
PIN(wa_result, retry_after_ms, 24);
PIN(wa_result, upstream_code, 28);
PIN(wa_result, provider_message_id, 60);
PIN(wa_result, error, 188);
PIN(wa_status_update, provider_message_id, 0);
PIN(wa_status_update, status, 128);
PIN(wa_status_update, occurred_at_ms, 136);
PIN(wa_status_update, error_code, 144);
PIN(wa_status_update, error, 176);
PIN(wa_callback_request, struct_size, 0);
PIN(wa_callback_request, method, 8);
PIN(wa_callback_request, public_url, 16);
PIN(wa_callback_request, query, 24);
PIN(wa_callback_request, content_type, 32);
PIN(wa_callback_request, body, 40);
PIN(wa_callback_request, body_len, 48);
PIN(wa_callback_request, header, 56);
PIN(wa_callback_request, host_ctx, 64);
PIN(wa_callback_reply, struct_size, 0);
PIN(wa_callback_reply, http_status, 8);
PIN(wa_callback_reply, content_type, 12);
PIN(wa_callback_reply, body, 76);
PIN(wa_callback_reply, n_updates, 592);
PIN(wa_callback_reply, updates, 600);
PIN(wa_provider, abi_major, 0);
PIN(wa_provider, abi_minor, 4);
PIN(wa_provider, struct_size, 8);
PIN(wa_provider, name, 16);
PIN(wa_provider, version, 24);
PIN(wa_provider, description, 32);
PIN(wa_provider, config_keys, 40);
PIN(wa_provider, message_id_name, 48);
PIN(wa_provider, default_rate, 56);
PIN(wa_provider, init, 64);
PIN(wa_provider, destroy, 72);
PIN(wa_provider, build_request, 80);
PIN(wa_provider, parse_response, 88);
PIN(wa_provider, send, 96);
PIN(wa_provider, on_callback, 104);
PIN(wa_message, template_name, 48);
PIN(wa_message, template_language, 56);
PIN(wa_message, template_variables, 64);
PIN(wa_message, n_template_variables, 72);
PIN(wa_message, media_url, 80);
PIN_SIZE(wa_host, 40);
PIN_SIZE(wa_config_key, 32);
PIN_SIZE(wa_message, 88);
PIN_SIZE(wa_http_request, 18488);
PIN_SIZE(wa_http_response, 48);
PIN_SIZE(wa_result, 448);
PIN_SIZE(wa_status_update, 432);
PIN_SIZE(wa_callback_request, 72);
PIN_SIZE(wa_callback_reply, 14424);
PIN_SIZE(wa_provider, 112);
/* clang-format on */
#endif

static const wa_abi_item *find(const wa_abi_item *t, const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* 2. Every v1.0 field sits where the frozen v1.0 header put it. */
static void test_fields_match_frozen(void)
{
	int n = 0;

	for (const wa_abi_item *f = wa_abi_frozen_fields; f->name; f++, n++) {
		const wa_abi_item *c = find(wa_abi_current_fields, f->name);
		CHECK(c != NULL);
		if (!c)
			continue;
		if (c->offset != f->offset || c->size != f->size)
			fprintf(stderr,
			        "%s: frozen offset %zu size %zu, now %zu/%zu\n",
			        f->name, f->offset, f->size, c->offset,
			        c->size);
		CHECK_INT(c->offset, f->offset);
		CHECK_INT(c->size, f->size);
	}
	CHECK_INT(n, 73); /* every field of the v1.0 header is listed */
}

/* 3. Structs only grow (by appending) or, when embedded in arrays, never
 * change; appended fields all live past the v1.0 end. */
static void test_structs_only_grow(void)
{
	const wa_abi_item *frozen_msg =
	    find(wa_abi_frozen_structs, "wa_message");

	for (const wa_abi_item *f = wa_abi_frozen_structs; f->name; f++) {
		const wa_abi_item *c = find(wa_abi_current_structs, f->name);
		CHECK(c != NULL);
		if (!c)
			continue;
		if (f->size) /* may grow */
			CHECK(c->offset >= f->offset);
		else
			CHECK_INT(c->offset, f->offset);
	}
	CHECK(frozen_msg != NULL);
	for (const wa_abi_item *a = wa_abi_current_v1_1_fields; a->name; a++) {
		CHECK(strncmp(a->name, "wa_message.", 11) == 0);
		CHECK(frozen_msg && a->offset >= frozen_msg->offset);
	}
	/* The loader's "1.0 table size" is the frozen sizeof(wa_provider). */
	CHECK_INT(find(wa_abi_frozen_structs, "wa_provider")->offset,
	          offsetof(wa_provider, on_callback) + sizeof(void *));
}

/* 4. Enumerators, flags and buffer sizes never change. */
static void test_constants(void)
{
	for (const wa_abi_item *f = wa_abi_frozen_consts; f->name; f++) {
		const wa_abi_item *c = find(wa_abi_current_consts, f->name);
		CHECK(c != NULL);
		if (c)
			CHECK_INT(c->offset, f->offset);
	}
	CHECK_INT(wa_abi_frozen_minor, 0);
	CHECK(wa_abi_current_minor >= wa_abi_frozen_minor);
	CHECK_INT(wa_abi_current_minor, WA_PROVIDER_ABI_MINOR);
}

int main(void)
{
	test_fields_match_frozen();
	test_structs_only_grow();
	test_constants();
	return wa_t_report();
}
