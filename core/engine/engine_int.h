/* engine_int.h - the delivery engine's private parts, shared by engine*.c */
#ifndef WA_ENGINE_INT_H
#define WA_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/ratelimit.h"
#include "engine/engine.h"
#include "engine/httpexec.h"

#define WA_ENGINE_HTTP_INFLIGHT 1024 /* default of http_max_inflight */
#define WA_ENGINE_PROBE_MAX_MS 300000
/* Outcomes wait to be committed together, in the claimer's next claim
 * transaction (one transaction and one fsync for the group instead of one
 * each): see wa_job_finish. At most e->linger_ms: a claim period (below)
 * and WA_ENGINE_LINGER_MARGIN_MS more, so that with a backlog every
 * outcome rides a claim, at least WA_ENGINE_FINISH_LINGER_MS and at most
 * WA_ENGINE_LINGER_MAX_MS (engine.h). */
#define WA_ENGINE_FINISH_LINGER_MS 100
#define WA_ENGINE_LINGER_MARGIN_MS 25
#define WA_ENGINE_FINISH_GROUP_MAX 512 /* or until this many are waiting */
/* Claims under a rate limit wait for this share of the token bucket (whose
 * default size, wa_ratelimit_default_burst, is a tenth of a second's tokens,
 * up to a quarter second's at low rates), so a claim (a transaction) takes
 * a group, not one message per token: every 90 ms from 160 msg/s on, every
 * 180 ms at 80 msg/s, every 225 ms at 64 msg/s and below. */
#define WA_ENGINE_CLAIM_SHARE 0.9

struct json_object;

/* One claimed message on its way through the engine. */
typedef struct wa_job {
	struct wa_job *next;
	struct wa_engine *e;
	wa_message_rec rec;
	wa_message msg;          /* points into rec and tpl */
	struct json_object *tpl; /* parsed template_json, or NULL */
	const char **vars;       /* template variables (into tpl) */
	bool probe;              /* the one message let through a pause */
	bool called;             /* the provider was called */
	int64_t call_start_us;   /* when (monotonic), for metrics */
	wa_result res;           /* the provider's answer */
	wa_outcome out;          /* what is written to the store */
	wa_msg_status reached;   /* status after the outcome */
	char error[WA_ERR_MAX];
	int finish_rc;      /* store finish: 0, 1 ignored, -1 */
	atomic_llong fence; /* the claim's token, renewed by a re-claim */
	/* this answer paused the provider (or a probe failed again): a
	 * shared store records the pause with the outcome, next probe at
	 * pause_until (wall ms) */
	bool share_pause;
	int64_t pause_until;
	/* this answer paused sending for quality: a shared store records it
	 * with the outcome, until quality_until (wall ms) */
	bool share_quality;
	int64_t quality_until;
	struct wa_job *fl_prev, *fl_next; /* e->flying, under mu */
} wa_job;

/* A pending wa_engine_wait(). */
typedef struct wa_waiter {
	struct wa_waiter *next;
	char id[WA_ID_MAX];
	int64_t deadline_ms; /* wall clock */
	wa_engine_wait_cb cb;
	void *ud;
	wa_attempt_report rep;
} wa_waiter;

struct wa_engine {
	wa_engine_config cfg;
	wa_store *store;
	wa_writer *writer;
	wa_loaded_provider *prov;
	bool http;
	size_t max_inflight;

	pthread_mutex_t mu;
	pthread_cond_t claim_cond; /* the claimer: kick, capacity, done jobs */
	pthread_cond_t work_cond;  /* workers: a job is queued */
	pthread_cond_t idle_cond;  /* stop: in_flight / pending reached 0 */

	/* all below under mu */
	bool started, stopping, abandon, shutdown, stopped;
	bool kicked;
	/* the claimer found nothing due (next_due, or a claim that came back
	 * short of its due answer): only then does a kick wake it */
	bool dry;
	size_t in_flight;              /* claimed, outcome not yet committed */
	wa_job *flying;                /* those in_flight jobs, linked */
	size_t pending_finish;         /* finishes submitted to the writer */
	wa_job *work_head, *work_tail; /* for the send workers */
	wa_job *done_head;             /* committed, waiters to tell */
	wa_job *fin_head, *fin_tail;   /* outcomes lingering before commit */
	size_t fin_n;
	int64_t fin_due; /* mono ms: commit the lingering group */
	/* mono ms the claimer sleeps until (it has seen every group's due
	 * time before it); 0 while it runs and will see them anyway */
	int64_t claimer_until;
	int64_t linger_ms; /* how long an outcome may wait (set at create) */
	/* Outcomes the store refused to write (disk full, I/O error): still
	 * in flight and written again by the claimer, at once after the next
	 * commit that succeeds. If one of these messages is claimed again
	 * first (its lease ran out), the saved outcome is written instead of
	 * calling the provider a second time. */
	wa_job *unrecorded;
	int64_t rerecord_at;   /* mono ms: the next try */
	int64_t rerecord_wait; /* ms: the wait after the next failure */
	bool rerecord_kicked;  /* a commit already brought the next try on */
	wa_waiter *waiters;
	wa_ratelimit rl;
	bool paused, probe_out;
	int64_t probe_at;       /* mono ms */
	int64_t probe_interval; /* ms */
	char pause_error[WA_ERR_MAX];
	/* The quality pause (quality.c): no claims before quality_until
	 * (mono ms) while quality_on; why, for /ready. */
	bool quality_on;
	int64_t quality_until;
	char quality_why[WA_ERR_MAX];
	/* A shared store: a quality pause a callback brought is to be
	 * written for the other instances (by the claimer; quality_busy:
	 * submitted). One an answer brought goes with its outcome. */
	bool quality_write, quality_busy;
	/* A store shared by several instances (store ops pause_get etc.):
	 * engine_shared.c. share_lift: the pause is to be lifted in the
	 * store (until that is committed; lift_busy: submitted); shared_seen:
	 * this pause is in the store, so its absence there means another
	 * instance lifted it. The *_at are monotonic ms (claimer only). */
	bool share_lift, lift_busy;
	bool shared_seen;
	int64_t pause_read_at, peek_at, early_at;
	bool early_due, early_busy;

	pthread_t claimer;
	pthread_t *workers;
	unsigned n_workers;
	unsigned n_exited; /* workers that left their loop (under mu) */
	unsigned n_joined; /* workers[0..n_joined) have been joined */
	bool detached;     /* an incomplete stop detached the workers */
	bool claimer_joined;
	wa_httpexec *hx;

	_Atomic unsigned long long n_attempts, n_sent, n_retried, n_failed,
	    n_config;
};

/* engine_job.c */
wa_job *wa_job_new(wa_engine *e, wa_message_rec *rec);
void wa_job_free(wa_job *j);
/* The provider answered (j->res): decide the outcome, update the pause
 * state and counters, and queue the store write. Any thread. */
void wa_job_complete(wa_job *j);
/* Count j in flight (claimed, outcome not yet committed) / no longer.
 * Under mu. */
void wa_engine_fly_locked(wa_engine *e, wa_job *j);
void wa_engine_land_locked(wa_engine *e, wa_job *j);
/* Record a decided outcome (j->out etc.) through the writer: it joins the
 * group of outcomes committed together (at once when stopping). */
void wa_job_finish(wa_job *j);
/* Commit the lingering group of outcomes if its time has come (or now,
 * with force, or when stopping). Without mu. */
void wa_engine_flush_finishes(wa_engine *e, bool force);
/* The lingering group of outcomes, taken (NULL if none), to be written by
 * the caller with the job pair below: wa_engine_finish_group_fn in the
 * transaction, wa_engine_finish_group_done after it. Without mu. */
wa_job *wa_engine_take_finishes(wa_engine *e);
int wa_engine_finish_group_fn(wa_store *s, void *ud, char *err, size_t err_len);
void wa_engine_finish_group_done(void *ud, int rc, const char *err);
/* Write the outcomes the store refused earlier, if their time has come (or
 * now, with force). Without mu. */
void wa_engine_rerecord(wa_engine *e, bool force);
/* Run the blocking send() of one job and complete it. */
void wa_job_run_send(wa_job *j);
/* Lift the provider's pause and log "Provider <name><why>." (why starts
 * with its own space or colon); under mu. */
void wa_engine_unpause(wa_engine *e, const char *why);
/* Tell the waiters of the committed jobs on list; frees the jobs. Call
 * without mu. */
void wa_engine_notify_done(wa_engine *e, wa_job *list);
/* Answer waiters whose deadline passed (all when everything is true);
 * returns the earliest deadline left (wall ms) or INT64_MAX. Call without
 * mu. */
int64_t wa_engine_expire_waiters(wa_engine *e, bool everything);

/* quality.c: is code one of cfg.quality_codes? */
bool wa_engine_quality_code(const wa_engine *e, const char *code);
/* Under mu: 0 when no quality pause holds (logging its end once), else
 * the mono ms it ends. */
int64_t wa_engine_quality_until_locked(wa_engine *e, int64_t now_mono);
/* The provider's answer to j (j->res) paused sending for quality? As
 * wa_engine_quality_pause; a shared store records the pause with j's
 * outcome (j->share_quality). */
bool wa_engine_quality_pause_job(wa_job *j);
/* Sharing it (a store several instances use; called by engine_shared.c):
 * in j's outcome transaction, record the pause j brought; the claimer's
 * write of a pause a callback brought; follow a pause another instance
 * recorded (under mu). */
int wa_engine_quality_share_fn(wa_store *s, wa_job *j, char *err,
                               size_t err_len);
void wa_engine_quality_share_write(wa_engine *e);
void wa_engine_quality_follow_locked(wa_engine *e, const wa_shared_pause *q);
/* engine_shared.c: state shared with other instances through the store
 * (no-ops when the store has one instance). */
/* The local pause was lifted: have the claimer write it for the other
 * instances (a pause is written with the outcome that caused it:
 * wa_job.share_pause). Under mu. */
void wa_engine_share_lift_locked(wa_engine *e);
/* In the outcome's transaction: record j's pause for the other
 * instances when it paused the provider. */
int wa_engine_share_pause_fn(wa_store *s, wa_job *j, char *err, size_t err_len);
/* j's outcome was committed. Under mu. */
void wa_engine_share_recorded_locked(wa_engine *e, const wa_job *j);
/* The claimer's round of shared work: submit the pause write, read the
 * shared pause (at most once a second), answer waiters whose message
 * another instance delivered (every WA_ENGINE_PEEK_MS while any wait),
 * take early status updates. Without mu; returns the next time (mono ms)
 * it has something to do, or INT64_MAX. */
int64_t wa_engine_shared_tick(wa_engine *e);
/* A finished group recorded sends: take their early updates soon. */
void wa_engine_early_soon(wa_engine *e);

/* engine_claim.c: the claimer thread and a blocking-send worker (arg: the
 * engine). */
void *wa_engine_claimer_main(void *arg);
void *wa_engine_worker_main(void *arg);

/* backoff.c: uniform in [0, 1) from a per-thread xorshift seeded by
 * getrandom(). */
double wa_rand01(void);

#endif
