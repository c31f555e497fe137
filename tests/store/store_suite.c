/* store_suite.c - one store test suite, run against a backend given as
 * argv[1] ("sqlite", "memory" or "postgresql", the last under
 * tests/lib/pgtmp.sh; default WA_STORE_BACKEND) */
#include <stdio.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#ifndef WA_STORE_BACKEND
#define WA_STORE_BACKEND "sqlite"
#endif

/* Which backends run a case. */
enum { ALL = 0, SQLITE = 1, PG = 2, SHARED = 3 /* SQLite and PostgreSQL */ };

typedef struct tcase {
	const char *name;
	void (*fn)(void);
	int only;
} tcase;

static const tcase cases[] = {
    {"insert", su_case_insert, ALL},
    {"replay_conflict", su_case_replay_conflict, ALL},
    {"claim", su_case_claim, ALL},
    {"lease", su_case_lease, ALL},
    {"finish", su_case_finish, ALL},
    {"can_move", su_case_can_move, ALL},
    {"apply_status", su_case_apply_status, ALL},
    {"cancel", su_case_cancel, ALL},
    {"lookups", su_case_lookups, ALL},
    {"history", su_case_history, ALL},
    {"outbox", su_case_outbox, ALL},
    {"stats", su_case_stats, ALL},
    {"release_all", su_case_release_all, ALL},
    {"next_due", su_case_next_due, ALL},
    {"rollback", su_case_rollback, ALL},
    {"sqlite_reopen", su_case_sqlite_reopen, SQLITE},
    {"sqlite_pragmas", su_case_sqlite_pragmas, SQLITE},
    {"sqlite_ping", su_case_sqlite_ping, SQLITE},
    {"sqlite_read_isolation", su_case_sqlite_read_isolation, SQLITE},
    {"release_own", su_case_release_own, SHARED},
    {"batch_insert", su_case_batch_insert, ALL},
    {"purge", su_case_purge, SHARED},
    {"deferred_finish", su_case_deferred_finish, ALL},
    {"outbox_two", su_case_outbox_two, SHARED},
    {"pg_fence", su_case_pg_fence, PG},
    {"pg_parallel_insert", su_case_pg_parallel_insert, PG},
    {"pg_newer_schema", su_case_pg_newer_schema, PG},
    {"inbound_dedup", su_case_inbound_dedup, ALL},
    {"contact_opt", su_case_contact_opt, ALL},
    {"cancel_phone", su_case_cancel_phone, ALL},
    {"outbox_events", su_case_outbox_events, ALL},
    {"inbound_list", su_case_inbound_list, ALL},
    {"suppression_list", su_case_suppression_list, ALL},
    {"twoway_rollback", su_case_twoway_rollback, ALL},
    {"sqlite_migrate_v4", su_case_sqlite_migrate_v4, SQLITE},
    {"schedule", su_case_schedule, ALL},
    {"list", su_case_list, ALL},
    {"requeue", su_case_requeue, ALL},
    {"requeue_many", su_case_requeue_many, ALL},
    {"campaign", su_case_campaign, ALL},
    {"content", su_case_content, ALL},
    {"failure_codes", su_case_failure_codes, ALL},
    {"counts", su_case_counts, ALL},
    {"counts_two", su_case_counts_two, SHARED},
    {"outbox_campaign", su_case_outbox_campaign, ALL},
    {"pg_counts_migrate", su_case_pg_counts_migrate, PG},
    {"sqlite_counts_migrate", su_case_sqlite_counts_migrate, SQLITE},
    {"optout_insert", su_case_optout_insert, ALL},
    {"insert_incomplete", su_case_insert_incomplete, ALL},
    {"optout_group_commit", su_case_optout_group_commit, ALL},
    {"optout_other_conn", su_case_optout_other_conn, SHARED},
    {"purge_twoway", su_case_purge_twoway, SHARED},
    {"suppressed", su_case_suppressed, ALL},
    {"requeue_optout", su_case_requeue_optout, ALL},
    {"shared_pause", su_case_shared_pause, ALL},
    {"shared_quality", su_case_shared_quality, ALL},
    {"stats_up", su_case_stats_up, ALL},
    {"shared_peek", su_case_shared_peek, ALL},
    {"shared_early", su_case_shared_early, ALL},
    {"pace_order", su_case_pace_order, ALL},
    {"pace_lease_and_off", su_case_pace_lease_and_off, ALL},
    {"pace_budget", su_case_pace_budget, ALL},
    {"pace_late_failure", su_case_pace_late_failure, ALL},
    {"pace_held_at_insert", su_case_pace_held_at_insert, ALL},
    {"pace_purge", su_case_pace_purge, SHARED},
};

static bool runs_here(int only)
{
	switch (only) {
	case SQLITE:
		return su_is_sqlite();
	case PG:
		return su_is_pg();
	case SHARED:
		return su_is_sqlite() || su_is_pg();
	default:
		return true;
	}
}

static void add_counts(void (*get)(int *, int *))
{
	int p, f;

	get(&p, &f);
	wa_t_passed += p;
	wa_t_failed += f;
}

int main(int argc, char **argv)
{
	const char *backend = argc > 1 ? argv[1] : WA_STORE_BACKEND;
	size_t i;

	if (strcmp(backend, "sqlite") != 0 && strcmp(backend, "memory") != 0 &&
	    strcmp(backend, "postgresql") != 0) {
		fprintf(stderr, "usage: %s [sqlite|memory|postgresql]\n",
		        argv[0]);
		return 2;
	}
	su_init(backend);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!runs_here(cases[i].only))
			continue;
		printf("%s: %s\n", backend, cases[i].name);
		cases[i].fn();
	}
	su_cleanup();
	add_counts(su_util_counts);
	add_counts(su_cases1_counts);
	add_counts(su_cases2_counts);
	add_counts(su_cases3_counts);
	add_counts(su_cases4_counts);
	add_counts(su_cases5_counts);
	add_counts(su_cases6_counts);
	add_counts(su_cases_twoway_counts);
	add_counts(su_cases_shared_counts);
	add_counts(su_cases_pacing_counts);
	return wa_t_report();
}
