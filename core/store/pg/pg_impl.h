/* pg_impl.h - internals shared by the PostgreSQL store's source files */
#ifndef WA_STORE_PG_IMPL_H
#define WA_STORE_PG_IMPL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store/store.h"

/* The schema version this program writes (table wadispatch_schema). */
#define WA_PG_SCHEMA_VERSION 13

/* Retention: one instance at a time, the others skip the round (the lock
 * is held until the transaction ends). Any constant unique to this
 * program. */
#define WA_PG_PURGE_LOCK "7523094288207667810"

/* The columns of a full message row, in the order wa_pg_fill_rec reads. */
#define WA_PG_MSG_COLS                                                         \
	"id, external_id, phone, body, template_json, media_url, provider, "   \
	"status, attempts, provider_message_id, last_error, upstream_code, "   \
	"upstream_status, created_ms, updated_ms, next_attempt_ms, "           \
	"expires_ms, lease_until_ms, claim_seq, campaign_id, content_json"
#define WA_PG_N_MSG_COLS 21

#define WA_PG_POOL_MAX 8
/* Reconnect backoff of the write connection. */
#define WA_PG_BACKOFF_MIN_MS 100
#define WA_PG_BACKOFF_MAX_MS 5000

typedef struct wa_pg_reader {
	PGconn *c;
	bool busy;
} wa_pg_reader;

/* An insert waiting for the transaction's next statement or its commit
 * (pg_batch.c); both pointers are the caller's (store.h: insert). */
typedef struct wa_pg_pending {
	const wa_new_message *m;
	wa_insert_result *res;
} wa_pg_pending;

/* A finish waiting for the commit; o's strings are the caller's. */
typedef struct wa_pg_dfin {
	char id[WA_ID_MAX];
	wa_outcome o;
} wa_pg_dfin;

typedef struct wa_pg_store {
	wa_store base;
	char *conninfo;
	char instance[40]; /* this process's claim owner */
	char rate_provider[WA_PROVIDER_NAME_MAX];
	double rate, burst; /* shared claim budget; 0: none */
	PGconn *w;          /* the write connection: writer thread only */
	bool in_tx;         /* writer thread only: between begin and commit */
	bool began;         /* BEGIN has been sent in this transaction */
	wa_pg_pending *pending; /* inserts not sent yet */
	size_t n_pending, cap_pending;
	wa_pg_dfin *dfin; /* finishes not sent yet */
	size_t n_dfin, cap_dfin;
	int64_t retry_mono_ms, backoff_ms; /* reconnect (writer thread) */
	atomic_bool outbox;
	atomic_bool write_down;     /* the write connection is lost */
	atomic_llong fault_mono_ms; /* since when */
	pthread_mutex_t fault_mu;
	char fault[WA_ERR_MAX]; /* why, for ping */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	wa_pg_reader readers[WA_PG_POOL_MAX];
	size_t n_readers;
	/* a read connection that could not connect: until read_retry_ms
	 * (monotonic) reads fail at once with read_fault, so HTTP threads do
	 * not each wait out a connect timeout; under pool_mu */
	int64_t read_retry_ms, read_backoff_ms;
	char read_fault[WA_ERR_MAX];
	/* Appended: the operators' reads (pg_ops.c) use a connection of
	 * their own, so a listing never holds one the API's lookups need. */
	pthread_mutex_t ops_mu;
	PGconn *ops_c;
	/* Appended (issue 14, pg_pace.c): per-recipient pacing and the tier
	 * budget as the last claim saw it. */
	wa_store_pacing pace;
	atomic_long b_used, b_held;
	atomic_llong b_frees;
} wa_pg_store;

/* pg_pace.c: the queued messages a claim may take (their ids as a text[]
 * literal for the claim statement) and the budget each spends. */
typedef struct wa_pg_arr {
	char *b;
	size_t n, cap;
	bool oom;
} wa_pg_arr;
typedef struct wa_pg_pick {
	char (*id)[WA_ID_MAX];
	int64_t *counted;
	size_t n;
	wa_pg_arr ids;
} wa_pg_pick;

/* Text parameters for PQexecParams; numbers are formatted in place. */
#define WA_PG_MAX_PARAMS 16
typedef struct wa_pg_params {
	const char *v[WA_PG_MAX_PARAMS];
	char num[WA_PG_MAX_PARAMS][24];
	int n;
} wa_pg_params;

/* The common tail of a status change: $1 id, $2 at, $3 fencing token (0:
 * none), $4 new status, $5 history detail, $6 outbox error, $7 outbox on.
 * The head is "WITH u AS (UPDATE messages SET ... WHERE ...". */
#define WA_PG_CHANGE_TAIL                                                      \
	" RETURNING id, external_id, provider, provider_message_id),"          \
	" h AS (INSERT INTO history (message_id, status, at_ms, detail)"       \
	"  SELECT id, $4, $2, $5 FROM u),"                                     \
	" o AS (INSERT INTO outbox (message_id, external_id, status,"          \
	"  provider, provider_message_id, error, occurred_ms)"                 \
	"  SELECT id, external_id, $4, provider, provider_message_id, $6, $2"  \
	"  FROM u WHERE $7::boolean)"                                          \
	" SELECT count(*) FROM u"

/* pg_conn.c: connections, statements, rows (shared by every file) */
/* Connect with our defaults (connect_timeout, application_name) under
 * conninfo. NULL with err (one sentence, the password never in it). */
PGconn *wa_pg_connect(const char *conninfo, char *err, size_t err_len);
/* libpq's message on one line, trimmed. */
void wa_pg_msg(const char *msg, char *out, size_t out_len);
void wa_pg_p_str(wa_pg_params *p, const char *s);
void wa_pg_p_i64(wa_pg_params *p, int64_t v);
/* Run sql with p on c. Returns the result when its status is
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK, else NULL with err ("Store <what>
 * failed: ..."). The caller PQclears the result. */
PGresult *wa_pg_exec(PGconn *c, const char *sql, const wa_pg_params *p,
                     const char *what, char *err, size_t err_len);
/* Column helpers: copy into a fixed buffer ("" for NULL), a 64-bit
 * integer (0 for NULL), a status (-1 when unknown). */
void wa_pg_copy(const PGresult *r, int row, int col, char *dst, size_t n);
int64_t wa_pg_i64(const PGresult *r, int row, int col);
int wa_pg_status(const PGresult *r, int row, int col);
/* Fill m from row whose first columns are WA_PG_MSG_COLS. 0 or -1. */
int wa_pg_fill_rec(const PGresult *r, int row, wa_message_rec *m);
/* Remember (or clear, with NULL) why the store cannot write. */
void wa_pg_set_fault(wa_pg_store *s, const char *why);

/* pg_schema.c: create or upgrade the schema under an advisory lock. */
int wa_pg_migrate(PGconn *c, char *err, size_t err_len);

/* pg_batch.c: the group commit */
int wa_pg_insert(wa_store *st, const wa_new_message *m, wa_insert_result *res,
                 char *err, size_t err_len);
/* Record finish(id, o) to be sent with the commit; o->result receives its
 * return value then. 0 or -1 (out of memory). */
int wa_pg_defer_finish(wa_pg_store *s, const char *id, const wa_outcome *o,
                       char *err, size_t err_len);
/* Send BEGIN (when not yet sent), the waiting inserts and finishes and,
 * with commit, COMMIT, in one pipelined round trip; fill their results.
 * With sql (and commit false), that statement goes last in the same round
 * trip and *res receives its result (the caller PQclears it). */
int wa_pg_flush(wa_pg_store *s, bool commit, const char *sql,
                const wa_pg_params *p, const char *what, PGresult **res,
                char *err, size_t err_len);

/* pg_finish.c: status changes */
/* Fill $1..$7 of WA_PG_CHANGE_TAIL. */
void wa_pg_change_params(wa_pg_store *s, wa_pg_params *p, const char *id,
                         int64_t at, int64_t fence, wa_msg_status to,
                         const char *detail);
/* The statement recording outcome o of id and its parameters (*p); NULL
 * with err for an unknown kind. */
const char *wa_pg_finish_stmt(wa_pg_store *s, const char *id,
                              const wa_outcome *o, wa_pg_params *p, char *err,
                              size_t err_len);

/* pg_write.c: the write side (writer thread only) */
int wa_pg_begin(wa_store *st, char *err, size_t err_len);
int wa_pg_commit(wa_store *st, char *err, size_t err_len);
void wa_pg_rollback(wa_store *st);
void wa_pg_set_rate(wa_store *st, const char *provider, double rate,
                    double burst);
int wa_pg_claim(wa_store *st, int64_t now_ms, int64_t lease_until_ms,
                size_t max, wa_message_rec *out, size_t *n, char *err,
                size_t err_len);
int wa_pg_finish(wa_store *st, const char *id, const wa_outcome *o, char *err,
                 size_t err_len);
int wa_pg_cancel(wa_store *st, const char *id, int64_t now_ms,
                 wa_cancel_kind *kind, wa_msg_status *status, char *err,
                 size_t err_len);
int wa_pg_apply_status(wa_store *st, const wa_status_change *c,
                       wa_apply_kind *kind, char *message_id, char *err,
                       size_t err_len);
long wa_pg_release_all(wa_store *st, int64_t now_ms, char *err, size_t err_len);
void wa_pg_set_outbox(wa_store *st, bool enabled);
int wa_pg_outbox_claim(wa_store *st, int64_t now_ms, int64_t lease_until_ms,
                       size_t max, wa_outbox_event *out, size_t *n, char *err,
                       size_t err_len);
long wa_pg_purge(wa_store *st, int64_t before_ms, size_t max, char *err,
                 size_t err_len);
int wa_pg_outbox_finish(wa_store *st, int64_t seq, bool delivered,
                        int64_t next_attempt_ms, const char *error, char *err,
                        size_t err_len);

/* pg_pace.c */
void wa_pg_set_pacing(wa_store *st, const wa_store_pacing *p);
void wa_pg_budget(wa_store *st, wa_store_budget *out);
/* Are any pacing rules on? (else claim runs as before issue 14) */
bool wa_pg_pace_on(const wa_pg_store *s);
/* Lock up to max*4+64 due queued candidates, keep up to max that may go
 * now in *pick and move the others to when they may. 0 or -1. */
int wa_pg_pace_pick(wa_pg_store *s, int64_t now_ms, size_t max,
                    wa_pg_pick *pick, char *err, size_t err_len);
const char *wa_pg_pick_ids(wa_pg_pick *pick);
void wa_pg_pick_free(wa_pg_pick *pick);
/* recs[0..n) were claimed at now: their recipients' next allowed time
 * and budget counts. 0 or -1. */
int wa_pg_pace_claimed(wa_pg_store *s, const wa_pg_pick *pick,
                       const wa_message_rec *recs, size_t n, int64_t now_ms,
                       char *err, size_t err_len);
/* id left the queue (canceled): bring the next message of its phone
 * back at now if it was held for it. 0 or -1. */
int wa_pg_pace_pull(wa_pg_store *s, const char *id, int64_t now_ms, char *err,
                    size_t err_len);
/* A retryable late failure of id (its row locked): back to queued with
 * history; the due time, 0 when it is to fail instead, -1 on error. */
int64_t wa_pg_late_requeue(wa_pg_store *s, const char *id,
                           const wa_status_change *c, char *err,
                           size_t err_len);

/* pg_write.c: run a write statement in the current transaction (after
 * the inserts waiting before it); NULL with err. */
PGresult *wa_pg_write(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                      const char *what, char *err, size_t err_len);
/* pg_pool.c: check a read connection out of the pool and back in; run
 * a read on one (connecting it first when needed, replacing a connection
 * lost since its last use once); wa_pg_read does all three. NULL with
 * err. */
wa_pg_reader *wa_pg_reader_get(wa_pg_store *s);
void wa_pg_reader_put(wa_pg_store *s, wa_pg_reader *r);
PGresult *wa_pg_rx(wa_pg_store *s, wa_pg_reader *r, const char *sql,
                   const wa_pg_params *p, const char *what, char *err,
                   size_t err_len);
PGresult *wa_pg_read(wa_pg_store *s, const char *sql, const wa_pg_params *p,
                     const char *what, char *err, size_t err_len);

/* pg_contacts.c: two-way messaging */
int wa_pg_inbound_add(wa_store *st, const wa_inbound_rec *in, bool *created,
                      char *err, size_t err_len);
int wa_pg_contact_set_opt(wa_store *st, const char *phone, bool opted_out,
                          const char *source, int64_t at_ms, bool *changed,
                          char *err, size_t err_len);
int wa_pg_cancel_phone(wa_store *st, const char *phone, int64_t now_ms,
                       const char *detail, long *n, char *err, size_t err_len);
int wa_pg_outbox_add(wa_store *st, const char *key, const char *event,
                     const char *body, int64_t at_ms, char *err,
                     size_t err_len);
int wa_pg_contact_get(wa_store *st, const char *phone, wa_contact *out,
                      char *err, size_t err_len);
int wa_pg_inbound_list(wa_store *st, const wa_inbound_query *q,
                       wa_inbound_rec *out, size_t max, size_t *n, char *err,
                       size_t err_len);
int wa_pg_suppression_list(wa_store *st, const char *after_phone,
                           wa_contact *out, size_t max, size_t *n, char *err,
                           size_t err_len);
long wa_pg_purge_twoway(wa_store *st, int64_t before_ms, size_t max, char *err,
                        size_t err_len);
int wa_pg_suppressed(wa_store *st, const char *const *phones, size_t n,
                     bool *out, char *err, size_t err_len);
/* pg_ops.c: the operators' operations (store.h, appended ops) */
/* Close the operators' read connection (pg_close; ops_mu is the
 * caller's). */
void wa_pg_ops_close(wa_pg_store *s);
int wa_pg_schedule(wa_store *st, const char *id, const char *campaign_id,
                   int64_t send_at_ms, char *err, size_t err_len);
int wa_pg_list(wa_store *st, const wa_msg_filter *f, size_t max,
               wa_message_rec *out, size_t *n, char *err, size_t err_len);
int wa_pg_requeue(wa_store *st, const char *id, int64_t now_ms,
                  int64_t expires_ms, const char *reason, wa_requeue_kind *kind,
                  wa_msg_status *status, char *err, size_t err_len);
long wa_pg_requeue_many(wa_store *st, const wa_msg_filter *f, size_t max,
                        int64_t now_ms, int64_t expires_ms, const char *reason,
                        char *err, size_t err_len);
long wa_pg_cancel_campaign(wa_store *st, const char *campaign_id,
                           int64_t now_ms, char *err, size_t err_len);
int wa_pg_campaign_counts(wa_store *st, const char *campaign_id,
                          wa_campaign_counts *out, char *err, size_t err_len);
int wa_pg_failure_codes(wa_store *st, int64_t since_ms, size_t max,
                        wa_failure_count *out, size_t *n, char *err,
                        size_t err_len);

/* pg_shared.c: state the instances share (store.h, appended ops) */
int wa_pg_pause_get(wa_store *st, const char *provider,
                    wa_shared_pause out[WA_PAUSE_KINDS], char *err,
                    size_t err_len);
int wa_pg_pause_set(wa_store *st, const char *provider, wa_pause_kind kind,
                    const char *reason, int64_t until_ms, char *err,
                    size_t err_len);
int wa_pg_peek(wa_store *st, const char *const *ids, size_t n, wa_msg_peek *out,
               char *err, size_t err_len);
int wa_pg_early_keep(wa_store *st, const wa_status_change *c, int64_t now_ms,
                     char *err, size_t err_len);
int wa_pg_early_take(wa_store *st, int64_t min_kept_ms, wa_kept_status *out,
                     size_t max, size_t *n, char *err, size_t err_len);

#endif
