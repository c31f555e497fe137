/* test_pe_pg_early.c - a status callback that reaches one daemon before
 * another daemon on the same PostgreSQL database has recorded the send
 * (run under tests/lib/pgtmp.sh, Twilio through its loopback fake): kept
 * in the database by the first, applied once the second records the send.
 * The first daemon is stopped before the send, so nothing of it can live
 * in its memory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_rules.h"
#include "pe.h"
#include "testing.h"

#define PHONE "+5511987654321"

int main(void)
{
	const pe_provider *prov;
	wa_daemon a, b;
	wa_fake f;
	pe_env env_a, env_b;
	wa_http_reply r;
	char rec[512], early[128], id[64], pmid[128], got[256];

	if (!getenv("DATABASE_URL")) {
		printf("skipped: DATABASE_URL is not set; run this test "
		       "through tests/lib/pgtmp.sh\n");
		return 77;
	}
	pe_clean_environ();
	prov = pe_find("twilio");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_INT(wa_h_daemon_init(&a), 0);
	CHECK_INT(wa_h_daemon_init(&b), 0);
	snprintf(rec, sizeof(rec), "%s/twilio.jsonl", a.dir);
	if (!prov || wa_fake_start(&f, "twilio", rec, NULL) != 0) {
		fprintf(stderr, "cannot start the fake twilio server\n");
		return 1;
	}
	pe_env_init(&env_a, prov, wa_h_free_port(), f.base, 0);
	pe_env_init(&env_b, prov, wa_h_free_port(), f.base, 0);
	CHECK_INT(wa_h_daemon_start(&a, env_a.list), 0);
	CHECK_INT(wa_h_daemon_start(&b, env_b.list), 0);

	/* "delivered" for the fake's first message id, at B, before any
	 * send: no message has that id yet */
	fp_message_id(FP_TWILIO, 1, early, sizeof(early));
	CHECK_INT(pe_callback(&b, prov, early, "delivered", PE_SIGNED), 200);
	CHECK_INT(wa_h_daemon_stop(&b, SIGTERM, 15000), 0);

	/* A sends it and records the send: the kept update applies */
	CHECK_INT(pe_send(&a, "pg-early-1", PHONE, "early bird", true, &r),
	          200);
	pe_json(r.body, "message_id", id, sizeof(id));
	pe_json(r.body, "provider_details.sid", pmid, sizeof(pmid));
	wa_h_reply_free(&r);
	CHECK_STR(pmid, early);
	CHECK(e2e_wait_status(&a, id, "delivered", 15000));
	snprintf(got, sizeof(got), "/v1/messages/%s", id);
	CHECK_INT(e2e_get(&a, got, &r), 200);
	CHECK_STR(pe_history(r.body, got, sizeof(got)),
	          "queued sending sent delivered");
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_count_lines(a.log_path, "came before their send"), 1);

	CHECK_INT(wa_h_daemon_stop(&a, SIGTERM, 15000), 0);
	CHECK_INT(wa_fake_stop(&f), 0);
	if (wa_t_failed)
		fprintf(stderr, "daemon logs: %s %s\n", a.log_path, b.log_path);
	return wa_t_report();
}
