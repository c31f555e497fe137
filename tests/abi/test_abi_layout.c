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
PIN(wa_callback_reply, failure_class, 14424);
PIN(wa_callback_reply, n_inbound, 14552);
PIN(wa_callback_reply, inbound, 14560);
PIN(wa_callback_reply, n_contact_events, 174496);
PIN(wa_callback_reply, contact_events, 174504);
PIN(wa_provider, content_kinds, 112);
PIN(wa_message, content_kinds, 88);
PIN(wa_message, content_json, 96);
PIN(wa_inbound_message, provider_message_id, 0);
PIN(wa_inbound_message, type, 128);
PIN(wa_inbound_message, flags, 132);
PIN(wa_inbound_message, occurred_at_ms, 136);
PIN(wa_inbound_message, from, 144);
PIN(wa_inbound_message, to, 208);
PIN(wa_inbound_message, sender_name, 272);
PIN(wa_inbound_message, text, 400);
PIN(wa_inbound_message, reply_id, 16788);
PIN(wa_inbound_message, context_id, 17300);
PIN(wa_inbound_message, media_id, 17428);
PIN(wa_inbound_message, media_url, 17556);
PIN(wa_inbound_message, media_mime, 19604);
PIN(wa_inbound_message, media_file_name, 19732);
PIN(wa_contact_event, kind, 0);
PIN(wa_contact_event, occurred_at_ms, 8);
PIN(wa_contact_event, phone, 16);
PIN(wa_contact_event, source, 80);
PIN(wa_contact_event, detail, 144);
PIN_SIZE(wa_host, 40);
PIN_SIZE(wa_config_key, 32);
PIN_SIZE(wa_message, 104);
PIN_SIZE(wa_http_request, 18488);
PIN_SIZE(wa_http_response, 48);
PIN_SIZE(wa_result, 448);
PIN_SIZE(wa_status_update, 432);
PIN_SIZE(wa_callback_request, 72);
PIN_SIZE(wa_callback_reply, 177704);
PIN_SIZE(wa_provider, 120);
PIN_SIZE(wa_inbound_message, 19992);
PIN_SIZE(wa_contact_event, 400);
/* clang-format on */
#endif

/* 1.2 values, any architecture: enumerators, flags and sizes are ABI. */
#define PIN_VALUE(c, v) _Static_assert((c) == (v), #c " changed")
PIN_VALUE(WA_FAILURE_UNSPECIFIED, 0);
PIN_VALUE(WA_FAILURE_PERMANENT, 1);
PIN_VALUE(WA_FAILURE_RETRYABLE, 2);
PIN_VALUE(WA_INBOUND_OTHER, 0);
PIN_VALUE(WA_INBOUND_TEXT, 1);
PIN_VALUE(WA_INBOUND_IMAGE, 2);
PIN_VALUE(WA_INBOUND_DOCUMENT, 3);
PIN_VALUE(WA_INBOUND_AUDIO, 4);
PIN_VALUE(WA_INBOUND_VIDEO, 5);
PIN_VALUE(WA_INBOUND_BUTTON, 6);
PIN_VALUE(WA_INBOUND_BUTTON_REPLY, 7);
PIN_VALUE(WA_INBOUND_LIST_REPLY, 8);
PIN_VALUE(WA_CONTACT_UNKNOWN, 0);
PIN_VALUE(WA_CONTACT_OPTED_OUT, 1);
PIN_VALUE(WA_CONTACT_OPTED_IN, 2);
PIN_VALUE(WA_CONTENT_TEXT, 0x01u);
PIN_VALUE(WA_CONTENT_TEMPLATE, 0x02u);
PIN_VALUE(WA_CONTENT_IMAGE, 0x04u);
PIN_VALUE(WA_CONTENT_DOCUMENT, 0x08u);
PIN_VALUE(WA_CONTENT_AUDIO, 0x10u);
PIN_VALUE(WA_CONTENT_VIDEO, 0x20u);
PIN_VALUE(WA_CONTENT_BUTTONS, 0x40u);
PIN_VALUE(WA_CONTENT_LIST, 0x80u);
PIN_VALUE(WA_CONTENT_TEMPLATE_MEDIA, 0x100u);
PIN_VALUE(WA_INBOUND_TRUNCATED, 0x1u);
PIN_VALUE(WA_ADDRESS_MAX, 64);
PIN_VALUE(WA_INBOUND_TEXT_MAX, 16388);
PIN_VALUE(WA_REPLY_ID_MAX, 512);
PIN_VALUE(WA_MIME_MAX, 128);
PIN_VALUE(WA_FILE_NAME_MAX, 256);
PIN_VALUE(WA_NAME_MAX, 128);
PIN_VALUE(WA_SOURCE_MAX, 64);
PIN_VALUE(WA_INBOUND_MAX, 8);
PIN_VALUE(WA_CONTACT_EVENTS_MAX, 8);

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
	/* 1.2 fields all live past the end of their v1.1 struct. */
	for (const wa_abi_item *a = wa_abi_current_v1_2_fields; a->name; a++) {
		char sname[64];
		const wa_abi_item *v11;

		snprintf(sname, sizeof(sname), "%.*s",
		         (int)strcspn(a->name, "."), a->name);
		v11 = find(wa_abi_frozen11_structs, sname);
		CHECK(v11 != NULL);
		CHECK(v11 && a->offset >= v11->offset);
	}
	/* The loader's "1.0 table size" is the frozen sizeof(wa_provider). */
	CHECK_INT(find(wa_abi_frozen_structs, "wa_provider")->offset,
	          offsetof(wa_provider, on_callback) + sizeof(void *));
}

/* 2b. Every field of the frozen v1.1 header sits where it put it, and
 * its structs only grew since. */
static void test_fields_match_frozen_v1_1(void)
{
	int n = 0;

	for (const wa_abi_item *f = wa_abi_frozen11_fields; f->name; f++, n++) {
		const wa_abi_item *c = find(wa_abi_current_fields, f->name);
		CHECK(c != NULL);
		if (!c)
			continue;
		CHECK_INT(c->offset, f->offset);
		CHECK_INT(c->size, f->size);
	}
	CHECK_INT(n, 78); /* 73 of v1.0 + 5 of v1.1 */
	for (const wa_abi_item *f = wa_abi_frozen11_structs; f->name; f++) {
		const wa_abi_item *c = find(wa_abi_current_structs, f->name);
		CHECK(c != NULL);
		if (c && f->size)
			CHECK(c->offset >= f->offset);
		else if (c)
			CHECK_INT(c->offset, f->offset);
	}
	for (const wa_abi_item *f = wa_abi_frozen11_consts; f->name; f++) {
		const wa_abi_item *c = find(wa_abi_current_consts, f->name);
		CHECK(c != NULL);
		if (c)
			CHECK_INT(c->offset, f->offset);
	}
	CHECK_INT(wa_abi_frozen11_minor, 1);
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
	test_fields_match_frozen_v1_1();
	test_structs_only_grow();
	test_constants();
	return wa_t_report();
}
