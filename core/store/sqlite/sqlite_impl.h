/* sqlite_impl.h - internals shared by the SQLite store's source files */
#ifndef WA_STORE_SQLITE_IMPL_H
#define WA_STORE_SQLITE_IMPL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "store/store.h"

/* The schema version this program writes (PRAGMA user_version). */
#define WA_SQ_SCHEMA_VERSION 11

/* The columns of a full message row, in the order wa_sq_fill_rec reads. */
#define WA_SQ_MSG_COLS                                                         \
	"id, external_id, phone, body, template_json, media_url, provider, "   \
	"status, attempts, provider_message_id, last_error, upstream_code, "   \
	"upstream_status, created_ms, updated_ms, next_attempt_ms, "           \
	"expires_ms, lease_until_ms, campaign_id, content_json"

/* Prepared statements of the write connection (sqlite_write.c). */
enum {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_FIND_EXT,
	W_INSERT_MSG,
	W_INSERT_HIST,
	W_INSERT_OUTBOX,
	W_CLAIM_LEASED,
	W_SET_SENDING,
	W_CLAIMED_ROW,
	W_GET_STATE,
	W_FINISH_SENT,
	W_FINISH_RETRY,
	W_FINISH_FAILED,
	W_FINISH_RELEASE,
	W_CANCEL,
	W_FIND_PMID,
	W_SET_STATUS,
	W_RELEASE_HIST,
	W_RELEASE_ALL,
	W_OB_CLAIM,
	W_OB_LEASE,
	W_OB_DELETE,
	W_OB_RETRY,
	W_PURGE,
	W_FIND_OPTOUT,
	W_N
};

/* Read statements, prepared lazily on each read connection. */
enum {
	R_BEGIN,
	R_END,
	R_GET_ID,
	R_GET_EXT,
	R_GET_PMID,
	R_HIST,
	R_COUNTS,
	R_OLDEST,
	R_OLDEST_ALL,
	R_OB_COUNT,
	R_NEXT_Q,
	R_NEXT_L,
	R_PING,
	R_OPTED_OUT,
	R_N
};

#define WA_SQ_POOL_MAX 8
/* How long a connection waits for a lock before SQLITE_BUSY. */
#define WA_SQ_BUSY_TIMEOUT_MS 5000
/* ping reports a failed write this long unless a commit succeeds first. */
#define WA_SQ_FAULT_HOLD_MS 30000

typedef struct wa_sq_reader {
	sqlite3 *db;
	sqlite3_stmt *st[R_N];
	int busy;
} wa_sq_reader;

/* sqlite_wback.c: the checkpointer's write-back, WA_SQ_WB_WINDOW runs of
 * neighbouring pages at a time. */
#define WA_SQ_WB_WINDOW 16
typedef struct wa_sq_wb_window {
	sqlite3_int64 lo, hi; /* the span of the file its pages cover */
	sqlite3_int64 next;   /* the byte after the last page written */
	size_t runs;          /* runs of neighbours in it */
} wa_sq_wb_window;
typedef struct wa_sq_wback {
	int fd; /* the store's own (own_fd); -1: nothing paced */
	wa_sq_wb_window win[2];
	int cur;           /* the window being filled; the other: on its way */
	atomic_long pages; /* writes seen (for tests) */
	atomic_long waits; /* times it waited for the window before */
} wa_sq_wback;

typedef struct wa_sq_store {
	wa_store base;
	char *path;
	sqlite3 *wdb;      /* the write connection: writer thread only */
	char instance[40]; /* this process's claim owner (claimed_by) */
	sqlite3_stmt *ws[W_N];
	atomic_bool outbox;
	atomic_int
	    write_fault; /* primary SQLite code of a failed write, 0 ok */
	atomic_llong fault_mono_ms; /* when it happened (monotonic clock) */
	dev_t dev;
	ino_t ino;
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	wa_sq_reader *readers[WA_SQ_POOL_MAX];
	size_t n_readers;
	/* Appended: the operators' reads (sqlite_ops.c) use a connection of
	 * their own, so a listing never holds one the API's lookups need. */
	pthread_mutex_t ops_mu;
	sqlite3 *ops_db;
	/* Appended (sqlite_counts.c; writer thread only): the status changes
	 * of the transaction under way, by wa_msg_status, applied to
	 * status_counts at commit. */
	long long count_delta[7];
	int status_col; /* messages.status's column number */
	sqlite3_stmt *count_st;
	/* Appended (issue 14): per-recipient pacing and the tier budget
	 * (sqlite_pace.c); statements prepared on first use. */
	wa_store_pacing pace;
	sqlite3_stmt *ps[16];
	atomic_long b_used, b_held;
	atomic_llong b_frees;
	/* Appended (issue 17): WAL checkpoints on a thread of their own
	 * (sqlite_ckpt.c) */
	pthread_t ck_thread;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;
	atomic_bool ck_want;
	atomic_bool ck_stop;
	bool ck_inited, ck_running;
	int ck_signaled; /* writer thread: WAL frames at the last wake-up */
	sqlite3 *ck_db;
	/* Appended (issue 17): the page cache warm-up (sqlite_warm.c) */
	pthread_t pw_thread;
	bool pw_running;
	atomic_bool pw_stop;
	atomic_long pw_pages;  /* pages warmed, once done; -1 before */
	atomic_long pw_cached; /* of them, pages already cached */
	atomic_long pw_waits;  /* times it waited for a window (pace) */
	size_t pw_budget;      /* bytes */
	/* A descriptor of the store's own on its file (wa_sq_own_fd): the
	 * warm-up reads with it, the checkpointer starts write-back with it.
	 * -1, or open until every connection is closed. */
	int own_fd;
	/* Appended (issue 17): the checkpointer's paced write-back
	 * (sqlite_wback.c), used by its thread only */
	wa_sq_wback ck_wb;
} wa_sq_store;

/* sqlite_warm.c: the child page numbers of b-tree page pgno (page of
 * psz bytes, read from a file of npages pages), up to cap of them into
 * out (*n); only numbers from 2 to npages are kept. The page's type: 2 or
 * 5 an inner page (index, table), 10 or 13 a leaf (no children), 0 not a
 * b-tree page. */
int wa_sq_btree_children(const unsigned char *page, size_t psz, uint32_t pgno,
                         uint32_t npages, uint32_t *out, size_t cap, size_t *n);
/* Stop the warm-up thread, if any (first thing at close). */
void wa_sq_warm_stop(wa_sq_store *s);

/* sqlite_wback.c: the store's own descriptor on its file, opened on first use
 * (read-only); -1 with errno when it cannot be. Closing any descriptor of
 * the file drops every POSIX lock the process holds on it, SQLite's
 * included: it stays open until every connection is closed. */
int wa_sq_own_fd(wa_sq_store *s);

/* sqlite_wback.c: a page (amt bytes at off) the checkpointer wrote to the
 * database file; once a window is full, its write-back is started and
 * the window before waited for. */
void wa_sq_wb_wrote(wa_sq_wback *wb, sqlite3_int64 off, int amt);
/* The database file is about to be synced: start the rest. */
void wa_sq_wb_sync(wa_sq_wback *wb);

/* sqlite_pace.c: a queued claim candidate that may go */
typedef struct wa_sq_cand {
	int64_t rowid, next;
	int64_t counted; /* > 0: the claim spends budget on its phone then */
} wa_sq_cand;
/* Up to max queued messages due at now that the pacing rules let go, in
 * (next_attempt_ms, rowid) order; the due ones that must wait are moved
 * to when they may go. 0 or -1. */
int wa_sq_pace_pick(wa_sq_store *s, int64_t now_ms, size_t max, wa_sq_cand *out,
                    size_t *n, char *err, size_t err_len);
/* Is a new message to phone to be held at insert: pacing per recipient is
 * on and the phone already has a message queued or in flight? 1, 0, -1. */
int wa_sq_pace_insert_held(wa_sq_store *s, const char *phone, char *err,
                           size_t err_len);
/* A message to phone was just claimed: its recipient's next allowed
 * claim and budget count. 0 or -1. */
int wa_sq_pace_claimed(wa_sq_store *s, const char *phone, int64_t now_ms,
                       int64_t counted, char *err, size_t err_len);
/* A retryable late failure of message id: back to queued, due after its
 * backoff (wa_store_late_retry_at); the due time, 0 when it is to fail
 * instead (nothing changed), -1 on error. The caller records history. */
int64_t wa_sq_late_requeue(wa_sq_store *s, const char *id,
                           const wa_status_change *c, char *err,
                           size_t err_len);
/* A message to phone ended its attempt at at_ms (sent, retry, failed):
 * the phone's next claim not before at_ms + the interval. 0 or -1. */
int wa_sq_pace_finished(wa_sq_store *s, const char *phone, int64_t at_ms,
                        char *err, size_t err_len);
/* A message to phone left the queue (sent, failed, canceled): bring the
 * phone's next message back at now if it was held for it. 0 or -1. */
int wa_sq_pace_pull(wa_sq_store *s, const char *phone, int64_t now_ms,
                    char *err, size_t err_len);
void wa_sq_set_pacing(wa_store *st, const wa_store_pacing *p);
void wa_sq_budget(wa_store *st, wa_store_budget *out);
void wa_sq_pace_close(wa_sq_store *s);

/* sqlite_ckpt.c: every WA_SQ_CKPT_PAGES new WAL frames (4 KiB pages) wake
 * the checkpointer; at WA_SQ_CKPT_CAP frames in the WAL the writer
 * checkpoints what is left itself. */
#define WA_SQ_CKPT_PAGES 256
#define WA_SQ_CKPT_CAP 8192
/* sqlite_warm.c: pages the warm-up asks for at a time (its pace) */
#define WA_SQ_WARM_WINDOW 16
/* Open the checkpoint connection, start its thread and hook the write
 * connection's commits to it (replaces wal_autocheckpoint). 0, or -1 with
 * err (wa_sq_ckpt_stop cleans up either way). */
int wa_sq_ckpt_start(wa_sq_store *s, bool sync_full, char *err, size_t err_len);
/* Stop the thread and close its connection (before the write
 * connection closes). */
void wa_sq_ckpt_stop(wa_sq_store *s);

/* sqlite_vfs.c: the name of the VFS that gathers the WAL writes of a
 * transaction until its sync, for the write connection with
 * synchronous=FULL only; NULL when it cannot be registered (then the
 * default VFS). */
const char *wa_sq_wal_vfs(void);
/* The name of the checkpoint connection's VFS, or NULL (then the
 * default): the default one, whose database files can report their
 * writes and syncs to a write-back pacer (wa_sq_vfs_pace). */
const char *wa_sq_ckpt_vfs(void);
/* Report f's writes and syncs to wb, if f was opened by
 * wa_sq_ckpt_vfs(); false if it was not. */
bool wa_sq_vfs_pace(sqlite3_file *f, wa_sq_wback *wb);

/* sqlite_schema.c: create or upgrade the schema to
 * WA_SQ_SCHEMA_VERSION. 0, or -1 with err. */
int wa_sq_migrate(sqlite3 *db, char *err, size_t err_len);

/* sqlite_insert.c (the statements are the writer's, sqlite_write.c) */
int wa_sq_insert(wa_store *st, const wa_new_message *m, wa_insert_result *res,
                 char *err, size_t err_len);

/* sqlite_write.c */
int wa_sq_prepare_writes(wa_sq_store *s, char *err, size_t err_len);
int wa_sq_begin(wa_store *st, char *err, size_t err_len);
int wa_sq_commit(wa_store *st, char *err, size_t err_len);
void wa_sq_rollback(wa_store *st);
int wa_sq_claim(wa_store *st, int64_t now_ms, int64_t lease_until_ms,
                size_t max, wa_message_rec *out, size_t *n, char *err,
                size_t err_len);
int wa_sq_finish(wa_store *st, const char *id, const wa_outcome *o, char *err,
                 size_t err_len);
int wa_sq_cancel(wa_store *st, const char *id, int64_t now_ms,
                 wa_cancel_kind *kind, wa_msg_status *status, char *err,
                 size_t err_len);
int wa_sq_apply_status(wa_store *st, const wa_status_change *c,
                       wa_apply_kind *kind, char *message_id, char *err,
                       size_t err_len);
long wa_sq_release_all(wa_store *st, int64_t now_ms, char *err, size_t err_len);
void wa_sq_set_outbox(wa_store *st, bool enabled);
int wa_sq_outbox_claim(wa_store *st, int64_t now_ms, int64_t lease_until_ms,
                       size_t max, wa_outbox_event *out, size_t *n, char *err,
                       size_t err_len);
long wa_sq_purge(wa_store *st, int64_t before_ms, size_t max, char *err,
                 size_t err_len);
int wa_sq_outbox_finish(wa_store *st, int64_t seq, bool delivered,
                        int64_t next_attempt_ms, const char *error, char *err,
                        size_t err_len);

/* sqlite_pool.c: check a read connection out of the pool (opening one
 * while the pool is not full) and back in; close one. */
wa_sq_reader *wa_sq_reader_get(wa_sq_store *s, char *err, size_t err_len);
void wa_sq_reader_put(wa_sq_store *s, wa_sq_reader *r);
void wa_sq_reader_free(wa_sq_reader *r);
/* sqlite_write.c: describe the write connection's last error (-1). */
int wa_sq_werr(wa_sq_store *s, const char *what, char *err, size_t err_len);

/* sqlite_contacts.c: two-way messaging */
int wa_sq_inbound_add(wa_store *st, const wa_inbound_rec *in, bool *created,
                      char *err, size_t err_len);
int wa_sq_contact_set_opt(wa_store *st, const char *phone, bool opted_out,
                          const char *source, int64_t at_ms, bool *changed,
                          char *err, size_t err_len);
int wa_sq_cancel_phone(wa_store *st, const char *phone, int64_t now_ms,
                       const char *detail, long *n, char *err, size_t err_len);
int wa_sq_outbox_add(wa_store *st, const char *key, const char *event,
                     const char *body, int64_t at_ms, char *err,
                     size_t err_len);
int wa_sq_contact_get(wa_store *st, const char *phone, wa_contact *out,
                      char *err, size_t err_len);
int wa_sq_inbound_list(wa_store *st, const wa_inbound_query *q,
                       wa_inbound_rec *out, size_t max, size_t *n, char *err,
                       size_t err_len);
int wa_sq_suppression_list(wa_store *st, const char *after_phone,
                           wa_contact *out, size_t max, size_t *n, char *err,
                           size_t err_len);
long wa_sq_purge_twoway(wa_store *st, int64_t before_ms, size_t max, char *err,
                        size_t err_len);
int wa_sq_suppressed(wa_store *st, const char *const *phones, size_t n,
                     bool *out, char *err, size_t err_len);

/* sqlite_ops.c: the operators' operations (store.h, appended ops) */
/* Close the operators' read connection and destroy ops_mu (sq_close). */
void wa_sq_ops_close(wa_sq_store *s);
int wa_sq_schedule(wa_store *st, const char *id, const char *campaign_id,
                   int64_t send_at_ms, char *err, size_t err_len);
int wa_sq_list(wa_store *st, const wa_msg_filter *f, size_t max,
               wa_message_rec *out, size_t *n, char *err, size_t err_len);
int wa_sq_requeue(wa_store *st, const char *id, int64_t now_ms,
                  int64_t expires_ms, const char *reason, wa_requeue_kind *kind,
                  wa_msg_status *status, char *err, size_t err_len);
long wa_sq_requeue_many(wa_store *st, const wa_msg_filter *f, size_t max,
                        int64_t now_ms, int64_t expires_ms, const char *reason,
                        char *err, size_t err_len);
long wa_sq_cancel_campaign(wa_store *st, const char *campaign_id,
                           int64_t now_ms, char *err, size_t err_len);
int wa_sq_campaign_counts(wa_store *st, const char *campaign_id,
                          wa_campaign_counts *out, char *err, size_t err_len);
int wa_sq_failure_codes(wa_store *st, int64_t since_ms, size_t max,
                        wa_failure_count *out, size_t *n, char *err,
                        size_t err_len);

/* sqlite_counts.c: counts per status (status_counts), summed in memory
 * by a pre-update hook on the write connection and applied once per
 * commit. init installs the hook (after the migration); finish removes
 * it; reset forgets the sums (begin, rollback); flush applies them inside
 * the transaction, before COMMIT (0, or -1 with the error left on the
 * write connection for wa_sq_werr). */
int wa_sq_counts_init(wa_sq_store *s, char *err, size_t err_len);
void wa_sq_counts_finish(wa_sq_store *s);
void wa_sq_counts_reset(wa_sq_store *s);
int wa_sq_counts_flush(wa_sq_store *s);

/* Row helpers (sqlite_rows.c). */
/* Fill m from a row whose first columns are WA_SQ_MSG_COLS. 0 or -1 (OOM). */
int wa_sq_fill_rec(sqlite3_stmt *st, wa_message_rec *m);
/* Copy column col as text into a fixed buffer ("" for NULL). */
void wa_sq_col_copy(sqlite3_stmt *st, int col, char *dst, size_t n);
/* Bind s as text, or NULL when s is NULL. */
int wa_sq_bind_str(sqlite3_stmt *st, int idx, const char *s);
/* Map a status column back to the enum (-1 when unknown). */
int wa_sq_col_status(sqlite3_stmt *st, int col);
/* Step a statement that reads one row: 1 with the row (the caller reads,
 * resets and clears it), 0 none, -1 error (err set, wa_sq_werr); reset and
 * cleared unless 1. */
int wa_sq_step_row(wa_sq_store *s, sqlite3_stmt *st, const char *what,
                   char *err, size_t err_len);
/* Step a write statement that returns no row, then reset it and clear
 * its bindings. 0, or -1 with err set (wa_sq_werr). */
int wa_sq_step_done(wa_sq_store *s, sqlite3_stmt *st, const char *what,
                    char *err, size_t err_len);

#endif
