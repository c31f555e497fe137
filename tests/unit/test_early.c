/* test_early.c - status updates kept for a send recorded late: matching,
 * order, age limit, and the bound on how many are kept */
#include <stdio.h>
#include <string.h>

#include "engine/early.h"
#include "testing.h"

static wa_status_change change(const char *pmid, wa_msg_status st, int64_t at,
                               const char *error)
{
	wa_status_change c = {"twilio", pmid, st, at, error, false};
	return c;
}

int main(void)
{
	wa_early_change out[8];
	wa_early *b = wa_early_new(3, 1000);
	wa_status_change c;

	CHECK(b != NULL);
	if (!b)
		return wa_t_report();
	CHECK_INT(wa_early_take(b, "twilio", "SM1", 0, out, 8), 0);

	/* kept with copies of the strings; taken once, oldest first */
	c = change("SM1", WA_MSG_DELIVERED, 10, NULL);
	wa_early_keep(b, &c, 0);
	c = change("SM2", WA_MSG_FAILED, 11, "30008: Unknown error");
	wa_early_keep(b, &c, 0);
	c = change("SM1", WA_MSG_READ, 12, NULL);
	wa_early_keep(b, &c, 1);
	CHECK_INT(wa_early_take(b, "evolution", "SM1", 2, out, 8), 0);
	CHECK_INT(wa_early_take(b, "twilio", "SM1", 2, out, 8), 2);
	CHECK_INT(out[0].status, WA_MSG_DELIVERED);
	CHECK_INT(out[0].at_ms, 10);
	CHECK_INT(out[1].status, WA_MSG_READ);
	CHECK_STR(out[1].provider, "twilio");
	CHECK_INT(wa_early_take(b, "twilio", "SM1", 2, out, 8), 0);
	CHECK_INT(wa_early_take(b, "twilio", "SM2", 2, out, 1), 1);
	CHECK_STR(out[0].error, "30008: Unknown error");
	CHECK_STR(out[0].provider_message_id, "SM2");

	/* older than the ttl: not applied */
	c = change("SM3", WA_MSG_DELIVERED, 20, NULL);
	wa_early_keep(b, &c, 100);
	CHECK_INT(wa_early_take(b, "twilio", "SM3", 1101, out, 8), 0);

	/* full: the oldest makes room */
	for (int i = 0; i < 4; i++) {
		char pmid[16];
		snprintf(pmid, sizeof(pmid), "SMF%d", i);
		c = change(pmid, WA_MSG_DELIVERED, 30 + i, NULL);
		wa_early_keep(b, &c, 2000 + i);
	}
	CHECK_INT(wa_early_take(b, "twilio", "SMF0", 2010, out, 8), 0);
	CHECK_INT(wa_early_take(b, "twilio", "SMF1", 2010, out, 8), 1);
	CHECK_INT(wa_early_take(b, "twilio", "SMF3", 2010, out, 8), 1);
	wa_early_free(b);
	wa_early_free(NULL);
	CHECK(wa_early_new(0, 1000) == NULL);
	return wa_t_report();
}
