/* test_storefault.c - the store's disk refuses writes, then takes them again
 *
 * The running daemon's file size limit (RLIMIT_FSIZE, set from outside with
 * prlimit) drops to 32 KiB, so every write SQLite makes past that offset
 * fails (EFBIG), as it would on a full or failing disk. While it lasts:
 * sends and batches answer 503 "Store unavailable" with Retry-After and
 * keep nothing, replays still answer 200, /ready says why, the daemon lives
 * on; 16 sends held in a one-second provider call come back and their
 * outcome cannot be written. Once the limit is lifted: the refused message
 * is accepted as new, /ready recovers, every message that got a 200 is
 * delivered, none reached the provider twice, and all of it survives a
 * restart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "e2e.h"
#include "testing.h"

enum { BEFORE = 20, TRIES = 200 };

#define BATCH                                                                  \
	"{\"messages\":[{\"recipient_phone\":\"+5564999998888\","              \
	"\"message_body\":\"b1\",\"external_id\":\"fault-batch-1\"},"          \
	"{\"recipient_phone\":\"+5564999998888\",\"message_body\":\"b2\","     \
	"\"external_id\":\"fault-batch-2\"}]}"

static wa_daemon d;
static char record_kv[400], record[320];
/* 16 workers hold 16 sends of a second each when the fault starts: those
 * calls succeed at the provider while their outcome cannot be written.
 * They all go to one number: no order per recipient (RECIPIENT_ORDER),
 * which would send them one at a time. */
static const char *const env[] = {"API_KEY=" E2E_KEY, "BIND_ADDRESS=127.0.0.1",
                                  "MOCK_DELAY_MS=1000", "RECIPIENT_ORDER=off",
                                  "WORKERS=16", "LEASE_SECONDS=3",
                                  "RETRY_BASE_MS=10", record_kv,
                                  /* the log file must stay under the limit */
                                  "LOG_LEVEL=warn", "ACCESS_LOG=false", NULL};

static int set_fsize(rlim_t limit)
{
	struct rlimit rl = {limit, RLIM_INFINITY};
	return prlimit(d.pid, RLIMIT_FSIZE, &rl, NULL);
}

static int is_ready(void *arg)
{
	wa_http_reply r;
	long st = e2e_get(&d, "/ready", &r);
	(void)arg;
	wa_h_reply_free(&r);
	return st == 200;
}

/* Every id in ids[0..n) reaches status sent (after one timeout, the rest
 * are only looked at once: a dead daemon must not cost minutes). */
static void all_sent(char ids[][48], int n)
{
	char st[32];
	int missing = 0;
	for (int i = 0; i < n; i++) {
		if (missing ? strcmp(e2e_status(&d, ids[i], st, sizeof(st)),
		                     "sent") != 0
		            : !e2e_wait_status(&d, ids[i], "sent", 20000))
			missing++;
	}
	CHECK_INT(missing, 0);
}

/* Provider calls whose outcome the daemon could not write yet. */
static int unrecorded(void *arg)
{
	(void)arg;
	return wa_h_count_lines(record, " fault-before-") >= 16 &&
	       wa_h_count_lines(d.log_path, "Cannot record the attempt of") >=
	           16;
}

/* How many of ids[0..n) the mock was called for more than once. */
static int sent_twice(char ids[][48], int n)
{
	char needle[64];
	int twice = 0;
	for (int i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "%s ", ids[i]);
		if (wa_h_count_lines(record, needle) > 1) {
			fprintf(stderr, "%s was sent %d times\n", ids[i],
			        wa_h_count_lines(record, needle));
			twice++;
		}
	}
	return twice;
}

int main(void)
{
	static char ids[BEFORE + TRIES + 1][48];
	char ext[64], ra[16];
	wa_http_reply r;
	long st = 0;
	int n = 0, refused_at = -1;

	if (wa_h_daemon_init(&d) == 0) {
		snprintf(record, sizeof(record), "%s/record.txt", d.dir);
		snprintf(record_kv, sizeof(record_kv), "MOCK_RECORD_FILE=%s",
		         record);
	}
	if (!record[0] || wa_h_daemon_start(&d, env) != 0) {
		CHECK(!"daemon started");
		return wa_t_report();
	}
	for (int i = 0; i < BEFORE; i++) {
		snprintf(ext, sizeof(ext), "fault-before-%d", i);
		CHECK_INT(
		    e2e_send(&d, ext, "+5564999998888", "before", NULL, &r),
		    200);
		e2e_field(r.body, "message_id", ids[n++], sizeof(ids[0]));
		wa_h_reply_free(&r);
	}

	/* The disk "fills": writes past 32 KiB fail from now on. A commit
	 * that happens to fit below that offset may still pass: keep those. */
	CHECK_INT(set_fsize(32768), 0);
	for (int i = 0; i < TRIES; i++) {
		snprintf(ext, sizeof(ext), "fault-during-%d", i);
		st = e2e_send(&d, ext, "+5564999998888", "during", NULL, &r);
		if (st != 200) {
			refused_at = i;
			break;
		}
		e2e_field(r.body, "message_id", ids[n++], sizeof(ids[0]));
		wa_h_reply_free(&r);
	}
	CHECK_INT(st, 503);
	CHECK(refused_at >= 0);
	CHECK_CONTAINS(r.body, "\"error\":\"Store unavailable\"");
	CHECK_STR(wa_h_header(&r, "Retry-After", ra, sizeof(ra)), "5");
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(&d, "/ready", &r), 503);
	CHECK_CONTAINS(r.body,
	               "store not writable: The last store write failed");
	wa_h_reply_free(&r);
	/* Nothing of the refused message was kept... */
	snprintf(ext, sizeof(ext), "/v1/messages?external_id=fault-during-%d",
	         refused_at);
	CHECK_INT(e2e_get(&d, ext, &r), 404);
	wa_h_reply_free(&r);
	/* A batch is one transaction: refused as a whole. */
	CHECK_INT(e2e_post(&d, "/v1/messages/batch", BATCH, NULL, &r), 503);
	CHECK_CONTAINS(r.body, "\"error\":\"Store unavailable\"");
	wa_h_reply_free(&r);
	CHECK_INT(e2e_get(&d, "/v1/messages?external_id=fault-batch-1", &r),
	          404);
	wa_h_reply_free(&r);
	/* ...while a caller retrying a message it already has an answer for
	 * still gets that answer: a replay writes nothing. */
	CHECK_INT(e2e_send(&d, "fault-before-0", "+5564999998888", "before",
	                   NULL, &r),
	          200);
	CHECK_STR(wa_h_header(&r, "Idempotent-Replayed", ra, sizeof(ra)),
	          "true");
	wa_h_reply_free(&r);

	/* The sends in flight come back from the provider; their outcome
	 * cannot be written. */
	CHECK(wa_h_wait_for(unrecorded, NULL, 15000));

	/* Room again: the refused message was never stored, so the same
	 * external_id is a new message now, not a replay. */
	CHECK_INT(set_fsize(RLIM_INFINITY), 0);
	snprintf(ext, sizeof(ext), "fault-during-%d", refused_at);
	CHECK_INT(e2e_send(&d, ext, "+5564999998888", "during", NULL, &r), 200);
	CHECK(wa_h_header(&r, "Idempotent-Replayed", ra, sizeof(ra)) == NULL);
	e2e_field(r.body, "message_id", ids[n++], sizeof(ids[0]));
	wa_h_reply_free(&r);
	CHECK(wa_h_wait_for(is_ready, NULL, 15000));
	CHECK_INT(e2e_post(&d, "/v1/messages/batch", BATCH, NULL, &r), 200);
	CHECK_CONTAINS(r.body, "\"accepted\":2");
	wa_h_reply_free(&r);
	all_sent(ids, n);

	/* Each message went to the provider once: the outcomes that could not
	 * be written were written later, not sent again. */
	CHECK_INT(sent_twice(ids, n), 0);

	/* Nothing written around the fault was damaged. */
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 15000), 0);
	CHECK_INT(wa_h_daemon_start(&d, env), 0);
	all_sent(ids, n);
	CHECK_INT(e2e_get(&d, "/v1/messages?external_id=fault-before-0", &r),
	          200);
	wa_h_reply_free(&r);
	CHECK_INT(wa_h_daemon_stop(&d, SIGTERM, 15000), 0);
	return wa_t_report();
}
