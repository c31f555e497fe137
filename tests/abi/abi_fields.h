/* abi_fields.h - the v1 ABI's fields and constants, listed once for the ABI
 * tests
 *
 * Includes no provider header: abi_frozen.c expands these lists against
 * the frozen v1.0 header and abi_current.c against the current one, and
 * test_abi_layout.c compares the two tables at run time.
 */
#ifndef WA_ABI_FIELDS_H
#define WA_ABI_FIELDS_H

#include <stddef.h>

/* Every field of ABI 1.0, per struct, in declaration order. */
/* clang-format off */
#define WA_ABI_V1_0_FIELDS(X) \
	X(wa_host, abi_major) X(wa_host, abi_minor) X(wa_host, struct_size) \
	X(wa_host, log) X(wa_host, config_get) X(wa_host, host_data) \
	X(wa_config_key, name) X(wa_config_key, default_value) \
	X(wa_config_key, flags) X(wa_config_key, description) \
	X(wa_message, struct_size) X(wa_message, message_id) \
	X(wa_message, external_id) X(wa_message, recipient_phone) \
	X(wa_message, message_body) X(wa_message, attempt) \
	X(wa_http_request, struct_size) X(wa_http_request, method) \
	X(wa_http_request, url) X(wa_http_request, n_headers) \
	X(wa_http_request, headers) X(wa_http_request, body) \
	X(wa_http_request, body_cap) X(wa_http_request, body_len) \
	X(wa_http_request, timeout_ms) \
	X(wa_http_response, struct_size) X(wa_http_response, status) \
	X(wa_http_response, content_type) X(wa_http_response, retry_after) \
	X(wa_http_response, body) X(wa_http_response, body_len) \
	X(wa_result, struct_size) X(wa_result, result_class) \
	X(wa_result, upstream_status) X(wa_result, retry_after_ms) \
	X(wa_result, upstream_code) X(wa_result, provider_message_id) \
	X(wa_result, error) \
	X(wa_status_update, provider_message_id) X(wa_status_update, status) \
	X(wa_status_update, occurred_at_ms) X(wa_status_update, error_code) \
	X(wa_status_update, error) \
	X(wa_callback_request, struct_size) X(wa_callback_request, method) \
	X(wa_callback_request, public_url) X(wa_callback_request, query) \
	X(wa_callback_request, content_type) X(wa_callback_request, body) \
	X(wa_callback_request, body_len) X(wa_callback_request, header) \
	X(wa_callback_request, host_ctx) \
	X(wa_callback_reply, struct_size) X(wa_callback_reply, http_status) \
	X(wa_callback_reply, content_type) X(wa_callback_reply, body) \
	X(wa_callback_reply, n_updates) X(wa_callback_reply, updates) \
	X(wa_provider, abi_major) X(wa_provider, abi_minor) \
	X(wa_provider, struct_size) X(wa_provider, name) X(wa_provider, version) \
	X(wa_provider, description) X(wa_provider, config_keys) \
	X(wa_provider, message_id_name) X(wa_provider, default_rate) \
	X(wa_provider, init) X(wa_provider, destroy) \
	X(wa_provider, build_request) X(wa_provider, parse_response) \
	X(wa_provider, send) X(wa_provider, on_callback)

/* Fields appended by ABI 1.1. */
#define WA_ABI_V1_1_FIELDS(X) \
	X(wa_message, template_name) X(wa_message, template_language) \
	X(wa_message, template_variables) X(wa_message, n_template_variables) \
	X(wa_message, media_url)

/* Fields appended by ABI 1.2 to structs of 1.0 (new structs below). */
#define WA_ABI_V1_2_FIELDS(X) \
	X(wa_callback_reply, failure_class) X(wa_callback_reply, n_inbound) \
	X(wa_callback_reply, inbound) X(wa_callback_reply, n_contact_events) \
	X(wa_callback_reply, contact_events) X(wa_provider, content_kinds) \
	X(wa_message, content_kinds) X(wa_message, content_json)

/* The structs; Y(struct, grows): grows is 1 when a later minor appended
 * fields (its size may increase), 0 when it must never change size
 * (wa_status_update is an array element inside wa_callback_reply). */
#define WA_ABI_STRUCTS(Y) \
	Y(wa_host, 1) Y(wa_config_key, 0) Y(wa_message, 1) \
	Y(wa_http_request, 1) Y(wa_http_response, 1) Y(wa_result, 1) \
	Y(wa_status_update, 0) Y(wa_callback_request, 1) \
	Y(wa_callback_reply, 1) Y(wa_provider, 1)

/* Structs new in ABI 1.2: array elements, they never change size. */
#define WA_ABI_V1_2_STRUCTS(Y) Y(wa_inbound_message, 0) Y(wa_contact_event, 0)

/* Values that are ABI too: enumerators, flags and buffer sizes. */
#define WA_ABI_CONSTANTS(C) \
	C(WA_PROVIDER_ABI_MAJOR) \
	C(WA_RESULT_OK) C(WA_RESULT_RETRY) C(WA_RESULT_REJECT) \
	C(WA_RESULT_CONFIG) \
	C(WA_LOG_DEBUG) C(WA_LOG_INFO) C(WA_LOG_WARN) C(WA_LOG_ERROR) \
	C(WA_STATUS_UNKNOWN) C(WA_STATUS_SENT) C(WA_STATUS_DELIVERED) \
	C(WA_STATUS_READ) C(WA_STATUS_FAILED) \
	C(WA_CONFIG_REQUIRED) C(WA_CONFIG_SECRET) \
	C(WA_URL_MAX) C(WA_METHOD_MAX) C(WA_HEADER_MAX) C(WA_HEADERS_MAX) \
	C(WA_PROVIDER_ID_MAX) C(WA_ERROR_MAX) C(WA_CODE_MAX) \
	C(WA_STATUS_UPDATES_MAX) C(WA_REPLY_BODY_MAX) C(WA_CONTENT_TYPE_MAX)

/* Values new in ABI 1.2. */
#define WA_ABI_V1_2_CONSTANTS(C) \
	C(WA_FAILURE_UNSPECIFIED) C(WA_FAILURE_PERMANENT) \
	C(WA_FAILURE_RETRYABLE) \
	C(WA_INBOUND_OTHER) C(WA_INBOUND_TEXT) C(WA_INBOUND_IMAGE) \
	C(WA_INBOUND_DOCUMENT) C(WA_INBOUND_AUDIO) C(WA_INBOUND_VIDEO) \
	C(WA_INBOUND_BUTTON) C(WA_INBOUND_BUTTON_REPLY) \
	C(WA_INBOUND_LIST_REPLY) \
	C(WA_CONTACT_UNKNOWN) C(WA_CONTACT_OPTED_OUT) C(WA_CONTACT_OPTED_IN) \
	C(WA_CONTENT_TEXT) C(WA_CONTENT_TEMPLATE) C(WA_CONTENT_IMAGE) \
	C(WA_CONTENT_DOCUMENT) C(WA_CONTENT_AUDIO) C(WA_CONTENT_VIDEO) \
	C(WA_CONTENT_BUTTONS) C(WA_CONTENT_LIST) C(WA_INBOUND_TRUNCATED) \
	C(WA_CONTENT_TEMPLATE_MEDIA) \
	C(WA_ADDRESS_MAX) C(WA_INBOUND_TEXT_MAX) C(WA_REPLY_ID_MAX) \
	C(WA_MIME_MAX) C(WA_FILE_NAME_MAX) C(WA_NAME_MAX) C(WA_SOURCE_MAX) \
	C(WA_INBOUND_MAX) C(WA_CONTACT_EVENTS_MAX)
/* clang-format on */

typedef struct wa_abi_item {
	const char *name; /* "wa_result.error", "wa_result", "WA_URL_MAX" */
	size_t offset;    /* field offset; struct size; constant value */
	size_t size;      /* field size; 1 if the struct may grow; 0 */
} wa_abi_item;

/* Each table ends with { NULL }. Fields, then structs, then constants. */
extern const wa_abi_item wa_abi_frozen_fields[], wa_abi_current_fields[];
extern const wa_abi_item wa_abi_frozen_structs[], wa_abi_current_structs[];
extern const wa_abi_item wa_abi_frozen_consts[], wa_abi_current_consts[];
extern const wa_abi_item wa_abi_current_v1_1_fields[];
extern const wa_abi_item wa_abi_current_v1_2_fields[];
extern const long wa_abi_frozen_minor, wa_abi_current_minor;

/* The frozen v1.1 header (abi_frozen_v1_1.c): fields of 1.0 and 1.1, the
 * structs and constants of 1.0, its minor. */
extern const wa_abi_item wa_abi_frozen11_fields[], wa_abi_frozen11_structs[];
extern const wa_abi_item wa_abi_frozen11_consts[];
extern const long wa_abi_frozen11_minor;

#endif
