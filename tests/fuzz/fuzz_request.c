/* fuzz_request.c - fuzz the request body path: strict JSON parse, then the send
 * validator (single and batch) */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "base/content.h"
#include "base/jsonutil.h"
#include "base/validate.h"

#define FZ_BATCH_MAX 1000 /* the default BATCH_MAX */

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Validate one message object and check what the validator promises. */
static void check_send(json_object *obj)
{
	wa_send_fields f;
	const char *error = NULL;
	char msgbuf[160];
	size_t plen;

	memset(msgbuf, 'x', sizeof(msgbuf));
	if (wa_validate_send(obj, &f, &error, msgbuf, sizeof(msgbuf)) != 0) {
		FZ_CHECK(error && *error);
		FZ_CHECK(!f.template_json);
		FZ_CHECK(!f.content_json && !f.content_kinds);
		return;
	}
	/* "+" and 10-15 digits (E.164). */
	plen = strlen(f.phone);
	FZ_CHECK(f.phone[0] == '+' && plen >= 11 && plen <= 16);
	FZ_CHECK(all_digits(f.phone + 1));
	FZ_CHECK(f.body && *f.body);
	{
		long chars = wa_utf8_chars(f.body, strlen(f.body));

		FZ_CHECK(chars > 0 && chars <= WA_BODY_MAX_CHARS);
	}
	FZ_CHECK(f.external_id && *f.external_id &&
	         strlen(f.external_id) <= WA_EXTERNAL_ID_MAX_BYTES);
	FZ_CHECK(!f.media_url || strncmp(f.media_url, "http", 4) == 0);
	if (f.template_json) {
		/* The canonical template is stored and read back: it must
		 * pass our own strict parser as an object with a name. */
		char err[128];
		json_object *t = wa_json_parse_strict(
		    f.template_json, strlen(f.template_json), err, sizeof(err));
		json_object *name;

		FZ_CHECK(t && json_object_is_type(t, json_type_object));
		FZ_CHECK(json_object_object_get_ex(t, "name", &name) &&
		         json_object_is_type(name, json_type_string));
		json_object_put(t);
	}
	FZ_CHECK(!f.content_json == !f.content_kinds);
	FZ_CHECK(!(f.content_json && (f.template_json || f.media_url)));
	if (f.content_json) {
		/* The stored canonical content is read back at send time: it
		 * parses strictly, validates again to itself, and gives the
		 * same kinds the accept path checked. */
		char err[160], *again = NULL;
		uint32_t kinds = 0;
		json_object *c = wa_json_parse_strict(
		    f.content_json, strlen(f.content_json), err, sizeof(err));

		FZ_CHECK(c && json_object_is_type(c, json_type_object));
		FZ_CHECK(wa_content_check(c, f.body, &again, &kinds, err,
		                          sizeof(err)) == 0);
		FZ_CHECK(again && strcmp(again, f.content_json) == 0);
		FZ_CHECK(kinds == f.content_kinds);
		FZ_CHECK(wa_content_kinds(f.content_json) == f.content_kinds);
		free(again);
		json_object_put(c);
	}
	wa_send_fields_clear(&f);
	FZ_CHECK(!f.template_json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_object *obj, *arr;

	memset(err, 0, sizeof(err));
	obj = wa_json_parse_strict((const char *)data, size, err, sizeof(err));
	if (!obj) {
		FZ_CHECK(err[0] != '\0' && fz_terminated(err, sizeof(err)));
		return 0;
	}
	/* Accepted input has no NUL byte (it is valid UTF-8 JSON text). */
	FZ_CHECK(!memchr(data, '\0', size));
	/* POST /v1/messages/send */
	check_send(obj);
	/* POST /v1/messages/batch: {"messages": [ ... ]} */
	if (json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, "messages", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);

		for (size_t i = 0; i < n && i < FZ_BATCH_MAX; i++)
			check_send(json_object_array_get_idx(arr, i));
	}
	json_object_put(obj);
	return 0;
}
