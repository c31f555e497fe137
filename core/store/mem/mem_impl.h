/* mem_impl.h - internals shared by the memory store's source files */
#ifndef WA_STORE_MEM_IMPL_H
#define WA_STORE_MEM_IMPL_H

#include <pthread.h>

#include "store/store.h"

typedef struct mem_msg {
	wa_message_rec r; /* history grows in place (hist_cap) */
	bool
	    held; /* issue 14: moved away for an earlier message (mem_pace.c) */
	int64_t send_at_ms;     /* its send_at, kept for the release; 0: none */
	unsigned long long ord; /* insertion order (not the address's) */
	size_t hist_cap;
	size_t next_id, next_ext;     /* hash chains: index + 1, 0 ends */
	unsigned long long count_gen; /* last commit that counted it */
} mem_msg;

typedef struct mem_ob {
	wa_outbox_event e;
	int64_t next_attempt_ms, lease_until_ms;
	char last_error[WA_ERR_MAX];
	bool deleted;
	char *body; /* outbox_add's events: owned, freed when dropped */
} mem_ob;

/* The mutable part of a message, saved before a change for rollback. */
typedef struct msg_state {
	wa_msg_status status;
	int attempts;
	char provider_message_id[WA_PMID_MAX];
	char last_error[WA_ERR_MAX];
	char upstream_code[WA_UCODE_MAX];
	long upstream_status;
	int64_t updated_ms, next_attempt_ms, lease_until_ms;
	size_t n_history;
	int64_t expires_ms; /* appended: requeue and schedule move it */
	bool held;          /* appended: pacing holds and pulls */
	int64_t send_at_ms;
} msg_state;

enum { U_MSG_NEW, U_MSG_SET, U_OB_NEW, U_OB_SET, U_IN_NEW, U_CT_NEW, U_CT_SET };

typedef struct undo {
	int kind;
	size_t idx;
	union {
		msg_state ms;
		mem_ob ob;
		wa_contact ct;
	} u;
} undo;

typedef struct mem_store {
	wa_store base;
	pthread_mutex_t mu; /* recursive: held from begin to commit */
	bool in_tx;         /* writer thread only */
	bool outbox;
	mem_msg **msgs;
	size_t n_msgs, cap_msgs;
	size_t *head_id, *head_ext; /* hash buckets: index + 1 */
	size_t n_buckets;
	mem_ob *obs;
	size_t n_obs, cap_obs, n_ob_deleted;
	int64_t next_seq;
	unsigned long long next_ord; /* mem_msg.ord of the next insert */
	undo *undo;
	size_t n_undo, cap_undo;
	/* two-way messaging (mem_contacts.c): linear, tests only */
	wa_inbound_rec *ins;
	size_t n_ins, cap_ins;
	wa_contact *cts;
	size_t n_cts, cap_cts;
	/* issue 14 (mem_pace.c): pacing rules and, per phone, when claim may
	 * next take its message and when it last counted against the budget
	 * (linear, tests only; not undone by a rollback: a rolled-back claim
	 * only makes its phone wait longer) */
	wa_store_pacing pace;
	struct mem_lane *lanes;
	size_t n_lanes, cap_lanes;
	long b_used, b_held; /* under mu */
	int64_t b_frees;
	/* Appended: counts per status, changed once per commit from the
	 * undo log (mem_core.c); count_gen numbers the commits. */
	long long counts[7];
	unsigned long long count_gen;
} mem_store;

typedef struct mem_lane {
	char phone[WA_PHONE_MAX];
	int64_t next_ok_ms, counted_ms;
} mem_lane;

static inline mem_store *M(wa_store *s)
{
	return s->impl;
}

/* mem_core.c: index, undo log, transactions, helpers */
int wa_mem_begin(wa_store *s, char *err, size_t err_len);
int wa_mem_commit(wa_store *s, char *err, size_t err_len);
void wa_mem_rollback(wa_store *s);
bool wa_mem_eq_opt(const char *a, const char *b);
void wa_mem_grow_fail(char *err, size_t err_len);
void wa_mem_link_msg(mem_store *m, size_t idx);
int wa_mem_rehash(mem_store *m, size_t n_buckets);
mem_msg *wa_mem_find_id(mem_store *m, const char *id);
mem_msg *wa_mem_find_ext(mem_store *m, const char *ext);
mem_msg *wa_mem_find_pmid(mem_store *m, const char *provider, const char *pmid);
void wa_mem_msg_free(mem_msg *mm);
undo *wa_mem_undo_push(mem_store *m, int kind, size_t idx);
/* Save a message's mutable state before changing it (for rollback). */
int wa_mem_touch(mem_store *m, mem_msg *mm, char *err, size_t err_len);
/* Write operations outside begin/commit run in their own transaction. */
bool wa_mem_w_enter(mem_store *m);
int wa_mem_w_leave(mem_store *m, bool own, int rc);
/* strdup of NULL is NULL; sets *oom on failure. */
char *wa_mem_dup_opt(const char *s, bool *oom);

/* mem_pace.c: up to max queued messages due at now that the pacing
 * rules let go, in (next_attempt_ms, insertion) order, with counted[i] >
 * 0 when claiming out[i] spends budget; due ones that must wait are moved
 * to when they may go. Under the write lock. 0 or -1. */
int wa_mem_pace_pick(mem_store *m, int64_t now_ms, size_t max, mem_msg **out,
                     int64_t *counted, size_t *n, char *err, size_t err_len);
/* A message to phone was claimed at now. 0 or -1. */
/* Is a new message to phone held at insert: pacing per recipient is on
 * and the phone already has a message queued or in flight? */
bool wa_mem_pace_insert_held(const mem_store *m, const char *phone);
int wa_mem_pace_claimed(mem_store *m, const char *phone, int64_t now_ms,
                        int64_t counted, char *err, size_t err_len);
/* An attempt to phone ended at at: its next claim not before at + the
 * interval. 0 or -1. */
int wa_mem_pace_finished(mem_store *m, const char *phone, int64_t at, char *err,
                         size_t err_len);
/* mm left the queue (sent, failed, canceled): bring the next message of
 * its phone back at now if it was held. 0 or -1. */
int wa_mem_pace_pull(mem_store *m, const mem_msg *mm, int64_t now, char *err,
                     size_t err_len);
void wa_mem_set_pacing(wa_store *s, const wa_store_pacing *p);
void wa_mem_budget(wa_store *s, wa_store_budget *out);
void wa_mem_pace_free(mem_store *m);

/* mem_write.c: the write operations */
/* Append a history entry to mm (after wa_mem_touch). */
int wa_mem_hist_add(mem_msg *mm, wa_msg_status status, int64_t at_ms,
                    const char *detail, char *err, size_t err_len);
int wa_mem_insert(wa_store *s, const wa_new_message *n, wa_insert_result *res,
                  char *err, size_t err_len);
int wa_mem_claim(wa_store *s, int64_t now_ms, int64_t lease_until_ms,
                 size_t max, wa_message_rec *out, size_t *n, char *err,
                 size_t err_len);
int wa_mem_finish(wa_store *s, const char *id, const wa_outcome *o, char *err,
                  size_t err_len);
int wa_mem_cancel(wa_store *s, const char *id, int64_t now_ms,
                  wa_cancel_kind *kind, wa_msg_status *status, char *err,
                  size_t err_len);
int wa_mem_apply_status(wa_store *s, const wa_status_change *c,
                        wa_apply_kind *kind, char *message_id, char *err,
                        size_t err_len);
long wa_mem_release_all(wa_store *s, int64_t now_ms, char *err, size_t err_len);
void wa_mem_set_outbox(wa_store *s, bool enabled);
int wa_mem_outbox_claim(wa_store *s, int64_t now_ms, int64_t lease_until_ms,
                        size_t max, wa_outbox_event *out, size_t *n, char *err,
                        size_t err_len);
int wa_mem_outbox_finish(wa_store *s, int64_t seq, bool delivered,
                         int64_t next_attempt_ms, const char *error, char *err,
                         size_t err_len);

/* mem_core.c: the contact of phone when it is opted out, else NULL. */
const wa_contact *wa_mem_opted_out(mem_store *m, const char *phone);

/* mem_contacts.c: inbound messages, contacts, custom outbox events */
int wa_mem_suppressed(wa_store *s, const char *const *phones, size_t n,
                      bool *out, char *err, size_t err_len);
int wa_mem_inbound_add(wa_store *s, const wa_inbound_rec *in, bool *created,
                       char *err, size_t err_len);
int wa_mem_contact_set_opt(wa_store *s, const char *phone, bool opted_out,
                           const char *source, int64_t at_ms, bool *changed,
                           char *err, size_t err_len);
int wa_mem_cancel_phone(wa_store *s, const char *phone, int64_t now_ms,
                        const char *detail, long *n, char *err, size_t err_len);
int wa_mem_outbox_add(wa_store *s, const char *key, const char *event,
                      const char *body, int64_t at_ms, char *err,
                      size_t err_len);
int wa_mem_contact_get(wa_store *s, const char *phone, wa_contact *out,
                       char *err, size_t err_len);
int wa_mem_inbound_list(wa_store *s, const wa_inbound_query *q,
                        wa_inbound_rec *out, size_t max, size_t *n, char *err,
                        size_t err_len);
int wa_mem_suppression_list(wa_store *s, const char *after_phone,
                            wa_contact *out, size_t max, size_t *n, char *err,
                            size_t err_len);
/* mem_write.c: a status change of a queued message (history, outbox). */
int wa_mem_change(mem_store *m, mem_msg *mm, wa_msg_status to, int64_t at_ms,
                  const char *detail, char *err, size_t err_len);
/* mem_ops.c: the operators' operations (store.h, appended ops) */
int wa_mem_schedule(wa_store *s, const char *id, const char *campaign_id,
                    int64_t send_at_ms, char *err, size_t err_len);
int wa_mem_list(wa_store *s, const wa_msg_filter *f, size_t max,
                wa_message_rec *out, size_t *n, char *err, size_t err_len);
int wa_mem_requeue(wa_store *s, const char *id, int64_t now_ms,
                   int64_t expires_ms, const char *reason,
                   wa_requeue_kind *kind, wa_msg_status *status, char *err,
                   size_t err_len);
long wa_mem_requeue_many(wa_store *s, const wa_msg_filter *f, size_t max,
                         int64_t now_ms, int64_t expires_ms, const char *reason,
                         char *err, size_t err_len);
long wa_mem_cancel_campaign(wa_store *s, const char *campaign_id,
                            int64_t now_ms, char *err, size_t err_len);
int wa_mem_campaign_counts(wa_store *s, const char *campaign_id,
                           wa_campaign_counts *out, char *err, size_t err_len);
int wa_mem_failure_codes(wa_store *s, int64_t since_ms, size_t max,
                         wa_failure_count *out, size_t *n, char *err,
                         size_t err_len);

#endif
