/* test_abi_compat.c - today's loader loads and drives a v1.0 provider */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "provider/loader.h"
#include "testing.h"

int main(void)
{
	static const char *const vars[] = {"a", "b"};
	char err[1024];
	wa_loaded_provider p;
	/* A current (1.1) message, 1.1 fields set: the v1.0 plugin never
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

	wa_provider_unload(&p);
	CHECK(p.table == NULL);
	return wa_t_report();
}
