/* store_util.h - helpers shared by the store suite and the writer test */
#ifndef WA_STORE_UTIL_H
#define WA_STORE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "testing.h"

/* The backend under test ("sqlite", "memory" or "postgresql") and a
 * private temp dir. */
void su_init(const char *backend);
void su_cleanup(void);
const char *su_backend(void);
bool su_is_sqlite(void);
bool su_is_pg(void);
/* A fresh, empty store of the backend under test; path (may be NULL)
 * receives the SQLite file name. */
wa_store *su_open(char *path, size_t path_len);
/* A second handle on the database su_open made last (SQLite, PostgreSQL:
 * another connection, as another process would have); its name. */
wa_store *su_open_again(void);
const char *su_last_db(void);

/* Each wrapper runs one operation in its own transaction and CHECKs that
 * the store call itself did not fail. */
wa_insert_result su_insert(wa_store *s, const char *id, const char *ext,
                           const char *phone, const char *body,
                           const char *tmpl, const char *media,
                           int64_t created);
/* Insert with default content: phone +5511999990000, body "hi". */
wa_insert_result su_insert_simple(wa_store *s, const char *id, const char *ext,
                                  int64_t created);
/* Insert through wa_store_insert_full (external_id "ext-<id>", body "hi")
 * with a send_at (0: none). */
wa_insert_result su_insert_at(wa_store *s, const char *id, const char *phone,
                              int64_t created, int64_t send_at);
/* m zeroed, then a mock message: id, ext, phone, body, created at
 * created and expiring a day later. */
void su_new_message(wa_new_message *m, const char *id, const char *ext,
                    const char *phone, const char *body, int64_t created);
/* Messages msg-<first> .. msg-<first+n-1> in one transaction, with
 * external_ids drawn from *seed (in no order: as random UUIDs land). */
void su_insert_random_group(wa_store *s, int first, int n, unsigned *seed);
/* SQLite: the first column of sql's first row as an integer, -1 when it
 * fails or gives no row. */
struct sqlite3;
int64_t su_sql_int(struct sqlite3 *db, const char *sql);
size_t su_claim(wa_store *s, int64_t now, int64_t lease, size_t max,
                wa_message_rec *out);
int su_finish(wa_store *s, const char *id, wa_outcome_kind kind, int64_t at,
              int64_t next, const char *pmid, const char *error);
wa_apply_kind su_apply(wa_store *s, const char *provider, const char *pmid,
                       wa_msg_status st, int64_t at, const char *error,
                       char *message_id);
wa_cancel_kind su_cancel(wa_store *s, const char *id, int64_t now,
                         wa_msg_status *status);
long su_release_all(wa_store *s, int64_t now);
size_t su_outbox_claim(wa_store *s, int64_t now, int64_t lease, size_t max,
                       wa_outbox_event *out);
int su_outbox_finish(wa_store *s, int64_t seq, bool delivered, int64_t next,
                     const char *error);
/* get by id: status, or -1 when not found. */
int su_status(wa_store *s, const char *id);
/* Drive a new message to sent with provider id pmid (provider "mock"). */
void su_make_sent(wa_store *s, const char *id, const char *ext,
                  const char *pmid, int64_t t);
void su_free_recs(wa_message_rec *r, size_t n);

/* cachestat(2): pages of fd's file dirty, and with writeback those under
 * write-back too; -1 where the call is missing (Linux < 6.5). */
long su_unwritten(int fd, bool writeback);
/* Why fd's dirty pages cannot be counted here (no cachestat, or tmpfs,
 * which never writes back), or NULL when they can. */
const char *su_no_dirty_pages(int fd);
/* The SQLite database su_open made last, at path, after its store is
 * closed: it opens again as a store, holds n messages and passes
 * integrity_check (CHECKed). */
void su_check_intact(const char *path, long n);

/* Each source file's CHECK counters (testing.h keeps them per file);
 * main adds them up before wa_t_report. */
void su_util_counts(int *passed, int *failed);
/* wa_t_report for a test whose own file and store_util.c are all its
 * CHECKs: adds the helpers' counts to the caller's first. */
static inline int su_report(void)
{
	int p, f;

	su_util_counts(&p, &f);
	wa_t_passed += p;
	wa_t_failed += f;
	return wa_t_report();
}
void su_cases1_counts(int *passed, int *failed);
void su_cases2_counts(int *passed, int *failed);
void su_cases3_counts(int *passed, int *failed);
void su_cases4_counts(int *passed, int *failed);
void su_cases5_counts(int *passed, int *failed);
void su_cases6_counts(int *passed, int *failed);
void su_cases_twoway_counts(int *passed, int *failed);
void su_cases_shared_counts(int *passed, int *failed);
void su_cases_pacing_counts(int *passed, int *failed);
/* store_cases_pacing.c: issue 14 */
void su_case_pace_order(void);
void su_case_pace_lease_and_off(void);
void su_case_pace_budget(void);
void su_case_pace_late_failure(void);
void su_case_pace_held_at_insert(void);
void su_case_pace_purge(void);

/* Cases (store_cases*.c). */
void su_case_insert(void);
void su_case_replay_conflict(void);
void su_case_claim(void);
void su_case_lease(void);
void su_case_finish(void);
void su_case_can_move(void);
void su_case_apply_status(void);
void su_case_cancel(void);
void su_case_lookups(void);
void su_case_history(void);
void su_case_outbox(void);
void su_case_stats(void);
void su_case_release_all(void);
void su_case_next_due(void);
void su_case_rollback(void);
void su_case_sqlite_reopen(void);
void su_case_sqlite_pragmas(void);
void su_case_sqlite_ping(void);
void su_case_sqlite_read_isolation(void);
void su_case_release_own(void);
void su_case_batch_insert(void);
void su_case_purge(void);
void su_case_deferred_finish(void);
void su_case_outbox_two(void);
void su_case_pg_fence(void);
void su_case_pg_parallel_insert(void);
void su_case_pg_newer_schema(void);
void su_case_inbound_dedup(void);
void su_case_contact_opt(void);
void su_case_cancel_phone(void);
void su_case_outbox_events(void);
void su_case_inbound_list(void);
void su_case_suppression_list(void);
void su_case_twoway_rollback(void);
void su_case_sqlite_migrate_v4(void);
void su_case_schedule(void);
void su_case_shared_pause(void);
void su_case_shared_quality(void);
void su_case_stats_up(void);
void su_case_shared_peek(void);
void su_case_shared_early(void);
void su_case_list(void);
void su_case_requeue(void);
void su_case_requeue_many(void);
void su_case_campaign(void);
void su_case_content(void); /* store_cases_content.c */
void su_case_failure_codes(void);
void su_case_counts(void);
void su_case_counts_two(void);
void su_case_outbox_campaign(void);
void su_case_pg_counts_migrate(void);
void su_case_sqlite_counts_migrate(void);
void su_case_optout_insert(void);
void su_case_insert_incomplete(void);
void su_case_optout_group_commit(void);
void su_case_optout_other_conn(void);
void su_case_purge_twoway(void);
void su_case_suppressed(void);
void su_case_requeue_optout(void);

#endif
