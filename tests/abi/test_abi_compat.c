/* test_abi_compat.c - today's loader loads and drives v1.0 and v1.1
 * providers */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/loader.h"
#include "testing.h"

static const char *cb_header(const wa_callback_request *req, const char *n)
{
	(void)req;
	(void)n;
	return NULL;
}

/* A v1.1 plugin: its 1.1 fields are read, its callback fills the 1.1 part
 * of a current (1.2) reply and leaves the 1.2 arrays zero. */
static void test_v11(void)
{
	static const char *const vars[] = {"a", "b", "c"};
	char err[1024];
	wa_loaded_provider p;
	wa_message msg = {.struct_size = sizeof(msg),
	                  .message_id = "msg-v11",
	                  .external_id = "ext-v11",
	                  .recipient_phone = "+5511987654321",
	                  .message_body = "corpo",
	                  .attempt = 1,
	                  .template_name = "tpl",
	                  .template_language = "pt_BR",
	                  .template_variables = vars,
	                  .n_template_variables = 3,
	                  .media_url = "https://example.invalid/x.png"};
	wa_callback_request req = {.struct_size = sizeof(req),
	                           .method = "POST",
	                           .public_url = "http://h/cb",
	                           .query = "",
	                           .body = "late",
	                           .body_len = 4,
	                           .header = cb_header};
	wa_callback_reply *reply = calloc(1, sizeof(*reply));
	wa_result res;

	if (wa_provider_load(WA_V11_PLUGIN, "/nonexistent", &p, err,
	                     sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		free(reply);
		return;
	}
	CHECK_INT(p.table->abi_minor, 1);
	CHECK_INT(p.table->struct_size,
	          offsetof(wa_provider, on_callback) + sizeof(void *));
	CHECK_STR(p.table->name, "v11");
	CHECK_INT(p.table->content_kinds, 0); /* past its table: zero */
	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);
	p.table->send(p.state, &msg, &res);
	CHECK_INT(res.result_class, WA_RESULT_OK);
	CHECK_STR(res.provider_message_id, "v11:msg-v11");
	CHECK_STR(res.error, "tpl|pt_BR|3|https://example.invalid/x.png");
	CHECK_INT(res.upstream_status, sizeof(wa_message));

	CHECK(reply != NULL);
	if (reply) {
		char want[32];

		reply->struct_size = sizeof(*reply);
		p.table->on_callback(p.state, &req, reply);
		snprintf(want, sizeof(want), "%zu", sizeof(*reply));
		CHECK_STR(reply->body, want); /* it saw the 1.2 size */
		CHECK_INT(reply->n_updates, 1);
		CHECK_STR(reply->updates[0].provider_message_id, "v11-id");
		CHECK_INT(reply->updates[0].status, WA_STATUS_FAILED);
		CHECK_STR(reply->updates[0].error, "late");
		/* It knows nothing of 1.2: unspecified, no inbound. */
		CHECK_INT(reply->failure_class[0], WA_FAILURE_UNSPECIFIED);
		CHECK_INT(reply->n_inbound, 0);
		CHECK_INT(reply->n_contact_events, 0);
	}
	free(reply);
	wa_provider_unload(&p);
}

int main(void)
{
	static const char *const vars[] = {"a", "b"};
	char err[1024];
	wa_loaded_provider p;
	/* A current message, 1.1 fields set: the v1.0 plugin never
	 * looks past its own wa_message. */
	wa_message msg = {.struct_size = sizeof(msg),
	                  .message_id = "msg-v10",
	                  .external_id = "ext-v10",
	                  .recipient_phone = "+5511987654321",
	                  .message_body = "corpo",
	                  .attempt = 1,
	                  .template_name = "tpl",
	                  .template_language = "pt_BR",
	                  .template_variables = vars,
	                  .n_template_variables = 2,
	                  .media_url = "https://example.invalid/x.png"};
	wa_result res;

	if (wa_provider_load(WA_V10_PLUGIN, "/nonexistent", &p, err,
	                     sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return wa_t_report();
	}
	CHECK_INT(p.table->abi_major, 1);
	CHECK_INT(p.table->abi_minor, 0);
	CHECK_INT(p.table->struct_size,
	          offsetof(wa_provider, on_callback) + sizeof(void *));
	CHECK_STR(p.table->name, "v10");
	CHECK_STR(wa_provider_id_name(&p), "v10_id");
	CHECK(!wa_provider_is_http(&p));

	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);
	p.table->send(p.state, &msg, &res);
	CHECK_INT(res.result_class, WA_RESULT_OK);
	CHECK_STR(res.provider_message_id, "v10:msg-v10:1");
	CHECK_STR(res.error, "ext-v10|+5511987654321|corpo");
	CHECK_INT(res.upstream_status, sizeof(wa_message)); /* saw 1.1 size */
	{
		char want[32];
		snprintf(want, sizeof(want), "%zu", sizeof(wa_result));
		CHECK_STR(res.upstream_code, want); /* and the result's */
	}

	msg.attempt = 2;
	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);
	p.table->send(p.state, &msg, &res);
	CHECK_INT(res.result_class, WA_RESULT_RETRY);
	CHECK_STR(res.provider_message_id, "v10:msg-v10:2");

	CHECK_INT(p.table->content_kinds, 0);
	wa_provider_unload(&p);
	CHECK(p.table == NULL);
	test_v11();
	return wa_t_report();
}
