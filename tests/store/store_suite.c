/* store_suite.c - one store test suite, run against a backend given as
 * argv[1] ("sqlite" or "memory"; default WA_STORE_BACKEND) */
#include <stdio.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#ifndef WA_STORE_BACKEND
#define WA_STORE_BACKEND "sqlite"
#endif

typedef struct tcase {
	const char *name;
	void (*fn)(void);
	bool sqlite_only;
} tcase;

static const tcase cases[] = {
    {"insert", su_case_insert, false},
    {"replay_conflict", su_case_replay_conflict, false},
    {"claim", su_case_claim, false},
    {"lease", su_case_lease, false},
    {"finish", su_case_finish, false},
    {"can_move", su_case_can_move, false},
    {"apply_status", su_case_apply_status, false},
    {"cancel", su_case_cancel, false},
    {"lookups", su_case_lookups, false},
    {"history", su_case_history, false},
    {"outbox", su_case_outbox, false},
    {"stats", su_case_stats, false},
    {"release_all", su_case_release_all, false},
    {"next_due", su_case_next_due, false},
    {"rollback", su_case_rollback, false},
    {"sqlite_reopen", su_case_sqlite_reopen, true},
    {"sqlite_pragmas", su_case_sqlite_pragmas, true},
    {"sqlite_ping", su_case_sqlite_ping, true},
    {"sqlite_read_isolation", su_case_sqlite_read_isolation, true},
};

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

	if (strcmp(backend, "sqlite") != 0 && strcmp(backend, "memory") != 0) {
		fprintf(stderr, "usage: %s [sqlite|memory]\n", argv[0]);
		return 2;
	}
	su_init(backend);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].sqlite_only && !su_is_sqlite())
			continue;
		printf("%s: %s\n", backend, cases[i].name);
		cases[i].fn();
	}
	su_cleanup();
	add_counts(su_util_counts);
	add_counts(su_cases1_counts);
	add_counts(su_cases2_counts);
	return wa_t_report();
}
