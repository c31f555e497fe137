/* store.h - the durable message store interface (SQLite default,
 * PostgreSQL for several instances, memory for tests)
 *
 * Threading contract
 *   - Write operations (begin/commit/rollback and everything between) are
 *     called from ONE thread at a time: the writer thread (writer.c), which
 *     groups many operations into one transaction (group commit), or a
 *     caller of wa_writer_run_here while the writer is idle and kept off
 *     the store (the claimer: no wake-up of the writer for a claim). A
 *     backend keeps nothing tied to the thread that writes.
 *   - Read operations (get*, stats, next_due, ping) are thread-safe and may
 *     run concurrently with writes, from any thread; they see committed data.
 *
 * Status moves only forward (wa_msg_status_can_move); the store enforces it.
 * Every status change appends a history entry and, when the outbox is on,
 * an outbox event in the same transaction. The first entry (queued, at
 * created_ms) may be implied rather than stored: the SQLite store derives
 * it, saving a row and an index entry on the accept path.
 */
#ifndef WA_STORE_H
#define WA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WA_ID_MAX 48           /* "msg-" + uuid + NUL */
#define WA_EXTERNAL_ID_MAX 257 /* 256 bytes + NUL */
#define WA_PHONE_MAX 20        /* "+" + 15 digits + NUL */
#define WA_PROVIDER_NAME_MAX 64
#define WA_PMID_MAX 128 /* provider message id */
#define WA_ERR_MAX 256
#define WA_UCODE_MAX 32
#define WA_CAMPAIGN_ID_MAX 65 /* 64 bytes + NUL */
#define WA_OPT_SOURCE_MAX 64  /* who opted a phone out or in */

typedef enum wa_msg_status {
	WA_MSG_QUEUED = 0,
	WA_MSG_SENDING = 1,
	WA_MSG_SENT = 2,
	WA_MSG_DELIVERED = 3,
	WA_MSG_READ = 4,
	WA_MSG_FAILED = 5,
	WA_MSG_CANCELED = 6
} wa_msg_status;

/* "queued", "sending", ... */
const char *wa_msg_status_name(wa_msg_status s);
/* -1 if unknown */
int wa_msg_status_parse(const char *name);
/* An owner id for this process's claims ("host-pid-random", under 40
 * bytes): release_all gives back only the claims of its own store. */
void wa_store_instance_id(char *out, size_t n);
/* The monotonic rule: queued -> sending -> sent -> delivered -> read;
 * failed from queued/sending/sent/delivered; canceled only from queued;
 * sending -> queued is allowed only as a retry/release (see finish). */
bool wa_msg_status_can_move(wa_msg_status from, wa_msg_status to);

/* What the API accepts. Pointers are the caller's, valid until the
 * transaction of the insert ends (see insert). */
typedef struct wa_new_message {
	char id[WA_ID_MAX];      /* the new id, made by the caller */
	const char *external_id; /* idempotency key */
	const char *phone;       /* E.164 */
	const char *body;
	const char *template_json; /* NULL or a JSON object text */
	const char *media_url;     /* NULL or URL */
	const char *provider;      /* loaded provider's name */
	int64_t created_ms;
	int64_t expires_ms; /* created + MESSAGE_TTL */
	/* Appended; insert itself ignores them: wa_store_insert_full (or
	 * ops->schedule after a CREATED insert) stores them. */
	const char *campaign_id; /* NULL or up to 64 bytes */
	int64_t send_at_ms;      /* first due time; 0 = at once */
	/* Appended (issue 14 item 5): canonical content JSON or NULL; part
	 * of the insert and of the idempotency comparison. */
	const char *content_json;
} wa_new_message;

typedef enum wa_insert_kind {
	WA_INSERT_CREATED = 0,  /* new message, queued */
	WA_INSERT_REPLAYED = 1, /* same external_id, same phone/body/template */
	WA_INSERT_CONFLICT = 2, /* same external_id, different content */
	/* Appended (two-way messaging): nothing inserted, the phone is
	 * opted out (suppressed) as of this transaction; opt_source and
	 * opt_at_ms say by whom and when. A known external_id still gives
	 * REPLAYED or CONFLICT: the check guards new messages only. */
	WA_INSERT_SUPPRESSED = 3
} wa_insert_kind;

typedef struct wa_insert_result {
	wa_insert_kind kind;
	char id[WA_ID_MAX];   /* the new id, or the existing message's */
	wa_msg_status status; /* current status */
	int64_t created_ms;
	/* Appended: SUPPRESSED only (id "" then). */
	char opt_source[WA_OPT_SOURCE_MAX];
	int64_t opt_at_ms;
} wa_insert_result;

typedef struct wa_history_entry {
	wa_msg_status status;
	int64_t at_ms;
	char detail[WA_ERR_MAX]; /* e.g. "attempt 2: HTTP 503" or "" */
} wa_history_entry;

/* A full message as stored. Filled by get* and claim; free with
 * wa_message_rec_free (body, template_json, media_url, history are
 * malloc'd). */
typedef struct wa_message_rec {
	char id[WA_ID_MAX];
	char external_id[WA_EXTERNAL_ID_MAX];
	char phone[WA_PHONE_MAX];
	char *body;
	char *template_json; /* NULL when none */
	char *media_url;     /* NULL when none */
	wa_msg_status status;
	int attempts; /* provider calls started so far */
	char provider[WA_PROVIDER_NAME_MAX];
	char provider_message_id[WA_PMID_MAX];
	char last_error[WA_ERR_MAX];
	char upstream_code[WA_UCODE_MAX];
	long upstream_status;
	int64_t created_ms, updated_ms, next_attempt_ms, expires_ms,
	    lease_until_ms;
	size_t n_history; /* filled by get*, not by claim */
	wa_history_entry *history;
	/* Appended: the claim's fencing token (PostgreSQL; 0 elsewhere). */
	int64_t claim_seq;
	/* Appended: "" when none. */
	char campaign_id[WA_CAMPAIGN_ID_MAX];
	/* Appended (issue 14 item 5): canonical content JSON; NULL when none
	 * (malloc'd, freed by wa_message_rec_free). */
	char *content_json;
} wa_message_rec;

void wa_message_rec_free(
    wa_message_rec *m); /* accepts NULL; frees members only */

/* The outcome of one provider attempt on a message in status sending. */
typedef enum wa_outcome_kind {
	WA_OUT_SENT = 0,   /* provider accepted: status sent */
	WA_OUT_RETRY = 1,  /* back to queued at next_attempt_ms */
	WA_OUT_FAILED = 2, /* permanent: status failed */
	WA_OUT_RELEASE = 3 /* give back unsent (shutdown, provider paused):
	                      queued at next_attempt_ms, attempt not counted */
} wa_outcome_kind;

typedef struct wa_outcome {
	wa_outcome_kind kind;
	int64_t at_ms;
	int64_t next_attempt_ms;         /* RETRY/RELEASE */
	const char *provider_message_id; /* SENT; may be NULL */
	const char *error;               /* may be NULL */
	const char *upstream_code;       /* may be NULL */
	long upstream_status;
	/* Appended: the claim this outcome belongs to (its rec.claim_seq).
	 * When not 0, a store that fences claims (PostgreSQL) ignores the
	 * outcome (finish returns 1) once a newer claim holds the message. */
	int64_t claim_seq;
	/* Appended: when not NULL, a backend may defer the finish to the
	 * transaction's commit (PostgreSQL sends a group commit's outcomes in
	 * one round trip): finish then returns 0 and its real return value
	 * (0, or 1 ignored) is stored here once commit returned 0; the
	 * outcome's strings must stay valid until the transaction ends. */
	int *result;
} wa_outcome;

/* A status reported later by the provider (callback). */
typedef struct wa_status_change {
	const char *provider; /* provider name */
	const char *provider_message_id;
	wa_msg_status status; /* SENT, DELIVERED, READ or FAILED */
	int64_t at_ms;
	const char *error; /* may be NULL */
	/* Appended (issue 14): a FAILED change the provider classes as
	 * retryable. The store puts the message back to queued (history
	 * "late failure, retrying: <error>", provider message id cleared,
	 * due after the backoff of wa_store_pacing) unless it has used
	 * max_attempts or the backoff would pass its expiry: then failed. */
	bool retryable;
} wa_status_change;

typedef enum wa_apply_kind {
	WA_APPLY_APPLIED = 0, /* moved forward */
	WA_APPLY_STALE = 1,   /* known message, not a forward move: ignored */
	WA_APPLY_UNKNOWN = 2  /* no message with that provider id */
} wa_apply_kind;

typedef enum wa_cancel_kind {
	WA_CANCEL_DONE = 0,
	WA_CANCEL_NOT_FOUND = 1,
	WA_CANCEL_TOO_LATE = 2 /* already handed to the provider or final */
} wa_cancel_kind;

/* One pending status webhook (outbox row). */
typedef struct wa_outbox_event {
	int64_t seq; /* order of creation */
	char message_id[WA_ID_MAX];
	char external_id[WA_EXTERNAL_ID_MAX];
	wa_msg_status status;
	char provider[WA_PROVIDER_NAME_MAX];
	char provider_message_id[WA_PMID_MAX];
	char error[WA_ERR_MAX];
	int64_t occurred_ms;
	int attempts; /* deliveries tried so far */
	/* Appended (two-way messaging): an event that is not about a message's
	 * status (outbox_add). event is its name ("message.received",
	 * "contact.opted_out", ...; "" for a status event), body the whole
	 * JSON body to send (malloc'd by outbox_claim, free with
	 * wa_outbox_event_free; NULL for a status event) and message_id its
	 * ordering key (events with one key go out in order). */
	char event[32];
	char *body;
	/* Appended (operators): the message's campaign_id, "" when none or
	 * for an event that is not about a message. */
	char campaign_id[WA_CAMPAIGN_ID_MAX];
} wa_outbox_event;

/* Frees ev's members (body); accepts NULL. */
void wa_outbox_event_free(wa_outbox_event *ev);

/* ---- two-way messaging: inbound messages and contacts ---- */

/* An inbound message as stored. json is the whole message as one JSON
 * object (what the API lists and message.received carries), malloc'd:
 * free with wa_inbound_rec_free. */
typedef struct wa_inbound_rec {
	char id[WA_ID_MAX]; /* the host's id, "in-<uuid>" */
	char provider[WA_PROVIDER_NAME_MAX];
	char provider_message_id[WA_PMID_MAX]; /* with provider: unique */
	char phone[WA_PHONE_MAX];              /* the sender */
	int64_t occurred_ms;                   /* when the user sent it */
	int64_t received_ms;                   /* when we stored it */
	char *json;
} wa_inbound_rec;

void wa_inbound_rec_free(wa_inbound_rec *r); /* members only; NULL ok */

/* What the store knows about one phone. */
typedef struct wa_contact {
	char phone[WA_PHONE_MAX];
	int64_t last_inbound_ms; /* newest inbound message's time, 0: none */
	bool opted_out;
	char opt_source[WA_OPT_SOURCE_MAX]; /* who changed it last, or "" */
	int64_t opt_at_ms;                  /* when, 0: never */
} wa_contact;

/* inbound_list's filter and keyset cursor: messages ordered by
 * (occurred_ms, id), after (after_ms, after_id) when after_id is not "". */
typedef struct wa_inbound_query {
	const char *phone; /* NULL: any */
	int64_t since_ms;  /* occurred_ms >= since_ms (0: no bound) */
	int64_t until_ms;  /* occurred_ms < until_ms (0: no bound) */
	int64_t after_ms;
	const char *after_id; /* NULL or "": from the start */
} wa_inbound_query;

typedef struct wa_store_stats {
	long long count[7]; /* by wa_msg_status */
	int64_t
	    oldest_queued_ms; /* created_ms of the oldest queued, 0 if none */
	long long outbox_pending;
	/* Appended: created_ms of the oldest message kept (any status), 0 if
	 * none: how far back retention reaches. */
	int64_t oldest_ms;
} wa_store_stats;

/* A filter over messages (list, requeue_many). Zero it, then set; status
 * -1 (or any negative) matches every status. */
typedef struct wa_msg_filter {
	int status;
	const char *campaign_id; /* NULL: any */
	const char *phone;       /* NULL: any; E.164 */
	int64_t since_ms;        /* created_ms >= since_ms when > 0 */
	int64_t until_ms;        /* created_ms < until_ms when > 0 */
	/* Keyset: only messages strictly older than (after_created_ms,
	 * after_id) in the order created_ms DESC, id DESC. */
	bool has_after;
	int64_t after_created_ms;
	char after_id[WA_ID_MAX];
} wa_msg_filter;

typedef enum wa_requeue_kind {
	WA_REQUEUE_DONE = 0,
	WA_REQUEUE_NOT_FOUND = 1,
	WA_REQUEUE_NOT_FINAL = 2 /* not failed or canceled */
} wa_requeue_kind;

/* Counts of one campaign's messages by wa_msg_status. */
typedef struct wa_campaign_counts {
	long long count[7];
	long long total;
} wa_campaign_counts;

/* How many messages failed with one reason (failure_codes). */
typedef struct wa_failure_count {
	char code[WA_ERR_MAX]; /* upstream_code, else last_error, else "" */
	long long n;
} wa_failure_count;

/* Appended (issue 14): how claim paces messages per recipient and how a
 * retryable late failure is backed off. Set once before the first claim
 * (ops->set_pacing); all zero (the default) is no spacing, no budget. */
typedef struct wa_store_pacing {
	/* Per recipient: claim hands out a phone's messages in the order
	 * accepted, one at a time: a queued message is claimable only when
	 * no earlier message to its phone is queued or sending and no other
	 * one is sending (false: the fire-hose, as before issue 14). */
	bool per_recipient;
	/* With per_recipient, at least this long between two claims for one
	 * phone (the start of two provider calls); 0 = none. */
	int64_t interval_ms;
	/* The messaging tier: at most this many distinct recipients whose
	 * conversation claim starts per rolling window_ms (0 = unlimited).
	 * A phone counts when claim takes its message and the phone did not
	 * count within the window already; a phone whose customer service
	 * window is open (contact's last_inbound_ms within 24 h) never
	 * counts. Over budget, messages stay queued, due when it frees. */
	long messaging_limit;
	int64_t window_ms;
	/* Late retryable failures (wa_status_change.retryable). */
	int max_attempts;
	int64_t retry_base_ms, retry_max_ms;
} wa_store_pacing;

/* The tier budget as the last claim saw it (ops->budget). */
typedef struct wa_store_budget {
	long limit;       /* 0: unlimited */
	long used;        /* distinct recipients counted in the window */
	long held;        /* queued messages the last claims held for budget */
	int64_t frees_ms; /* when the oldest count leaves the window, or 0 */
} wa_store_budget;

/* Helpers every backend shares (store_common.c). */
/* Does m carry what every insert needs (id, external_id, phone, body,
 * provider)? 0, or -1 with err set. */
int wa_new_message_check(const wa_new_message *m, char *err, size_t err_len);
/* When a message with attempts attempts that failed late (retryable) at
 * at_ms is due again: at_ms + base * 2^(attempts-1), at most max (no
 * jitter: the callbacks' own arrival spreads them), not before the
 * recipient interval. 0 when it is to fail instead (attempts used up,
 * or past its expiry). */
int64_t wa_store_late_retry_at(const wa_store_pacing *p, int attempts,
                               int64_t expires_ms, int64_t at_ms);
/* A message that must wait for an earlier message of its phone is held:
 * at insert when that one is already there, else when the claim meets
 * it. Its outcome (sent, failed) or cancel brings the held one back at
 * once, so a backlog for one phone is not touched by the claim at all;
 * the hold's end is only the fallback (bulk cancels, a race between
 * instances): wa_store_pace_hold_until. A candidate over the tier budget
 * with no time to wait for is due again not before now + max(interval,
 * WA_PACE_RECHECK_MS). */
#define WA_PACE_HOLD_MS 30000
#define WA_PACE_HOLD_MAX_MS 600000
#define WA_PACE_RECHECK_MS 100
int64_t wa_store_pace_recheck(const wa_store_pacing *p, int64_t now_ms);
/* When a held message accepted at created_ms is looked at again if
 * nothing brought it back: after as long as it has waited already, at
 * least WA_PACE_HOLD_MS and at most WA_PACE_HOLD_MAX_MS (so a long
 * backlog for one phone is looked at a few times per message, not every
 * 30 s). */
int64_t wa_store_pace_hold_until(int64_t now_ms, int64_t created_ms);
/* A recipient counted against the tier before this, with its next claim
 * allowed before before_ms, is needed by no rule: before_ms minus the
 * tier window (at least the 24 h service window, so a window lengthened
 * by a restart still finds its counts). */
int64_t wa_store_pace_stale_ms(const wa_store_pacing *p, int64_t before_ms);
#define WA_SERVICE_WINDOW_MS (24LL * 3600 * 1000)

/* A message's state as peek reads it. */
typedef struct wa_msg_peek {
	bool found;
	wa_msg_status status;
	int attempts;
	char provider_message_id[WA_PMID_MAX];
	char last_error[WA_ERR_MAX];
} wa_msg_peek;

/* The pauses several instances share (pause_get, pause_set). */
typedef enum wa_pause_kind {
	WA_PAUSE_CONFIG = 0,  /* bad credentials: until_ms is the next probe */
	WA_PAUSE_QUALITY = 1, /* throttled for quality (issue 14): until_ms is
	                         its end; it ends by itself */
	WA_PAUSE_KINDS
} wa_pause_kind;

/* One kind of shared pause as pause_get reads it. */
typedef struct wa_shared_pause {
	bool on;          /* recorded (a quality pause may be over already) */
	int64_t until_ms; /* wall clock */
	char reason[WA_ERR_MAX];
} wa_shared_pause;

/* A status update kept until its message is known (early_take). */
typedef struct wa_kept_status {
	char provider[WA_PROVIDER_NAME_MAX];
	char provider_message_id[WA_PMID_MAX];
	wa_msg_status status;
	int64_t at_ms;
	char error[WA_ERR_MAX]; /* "" for none */
	bool retryable;         /* wa_status_change.retryable (issue 14) */
} wa_kept_status;

typedef struct wa_store wa_store;

typedef struct wa_store_ops {
	void (*close)(wa_store *s);

	/* ---- write side: one thread at a time, inside begin/commit ---- */
	int (*begin)(wa_store *s, char *err, size_t err_len);
	int (*commit)(wa_store *s, char *err, size_t err_len);
	void (*rollback)(wa_store *s);

	/* Insert one message or resolve it against an existing external_id.
	 * A new message to a phone opted out as of this point of the
	 * transaction (an opt-out earlier in the same group commit included)
	 * is refused: kind SUPPRESSED, nothing stored. The check and the
	 * insert are one statement, so no opt-out can commit between them.
	 * 0, or -1 on a store error (err). A backend may defer the work to
	 * the transaction's commit (PostgreSQL does, to send a whole group
	 * commit in one round trip): m's strings and res must stay valid
	 * until commit or rollback returns, and res is final only once
	 * commit returned 0 (a store error may then surface at commit). */
	int (*insert)(wa_store *s, const wa_new_message *m,
	              wa_insert_result *res, char *err, size_t err_len);
	/* Take up to max due messages: queued with next_attempt_ms <= now, or
	 * sending with an expired lease (a crashed or stuck sender). Each
	 * becomes sending with lease_until_ms and attempts+1. Oldest due
	 * first. Fills out[0..*n) (caller frees each with
	 * wa_message_rec_free). */
	int (*claim)(wa_store *s, int64_t now_ms, int64_t lease_until_ms,
	             size_t max, wa_message_rec *out, size_t *n, char *err,
	             size_t err_len);
	/* Record an attempt's outcome for a message in status sending.
	 * Returns 0, 1 if the message is not in status sending (ignored), -1
	 * on error. */
	int (*finish)(wa_store *s, const char *id, const wa_outcome *o,
	              char *err, size_t err_len);
	/* Cancel a queued message. Fills *kind and *status (current). */
	int (*cancel)(wa_store *s, const char *id, int64_t now_ms,
	              wa_cancel_kind *kind, wa_msg_status *status, char *err,
	              size_t err_len);
	/* Apply a provider-reported status by provider message id. Fills
	 * *kind and message_id (WA_ID_MAX) when found. */
	int (*apply_status)(wa_store *s, const wa_status_change *c,
	                    wa_apply_kind *kind, char *message_id, char *err,
	                    size_t err_len);
	/* Give every sending message this store (process) claimed back to
	 * queued without counting the attempt (graceful shutdown); another
	 * process's claims are left to it or to their lease. Returns the
	 * number released or -1. */
	long (*release_all)(wa_store *s, int64_t now_ms, char *err,
	                    size_t err_len);

	/* Outbox: events are only created while outbox is enabled. */
	void (*set_outbox)(wa_store *s, bool enabled);
	/* Up to max events due at now: per message only its oldest pending
	 * event (in order per message), each leased until lease_until_ms. */
	int (*outbox_claim)(wa_store *s, int64_t now_ms, int64_t lease_until_ms,
	                    size_t max, wa_outbox_event *out, size_t *n,
	                    char *err, size_t err_len);
	/* delivered: remove it; else retry at next_attempt_ms with error. */
	int (*outbox_finish)(wa_store *s, int64_t seq, bool delivered,
	                     int64_t next_attempt_ms, const char *error,
	                     char *err, size_t err_len);

	/* ---- read side: thread-safe, committed data ---- */
	/* 0 found, 1 not found, -1 error. */
	int (*get)(wa_store *s, const char *id, wa_message_rec *out, char *err,
	           size_t err_len);
	int (*get_by_external)(wa_store *s, const char *external_id,
	                       wa_message_rec *out, char *err, size_t err_len);
	int (*get_by_provider_id)(wa_store *s, const char *provider,
	                          const char *provider_message_id,
	                          wa_message_rec *out, char *err,
	                          size_t err_len);
	int (*stats)(wa_store *s, wa_store_stats *out, char *err,
	             size_t err_len);
	/* Earliest next_attempt_ms among queued messages and expiring
	 * leases; 1 when nothing is pending. */
	int (*next_due)(wa_store *s, int64_t *due_ms, char *err,
	                size_t err_len);
	/* Is the store usable for writes? (e.g. the file still writable) */
	int (*ping)(wa_store *s, char *err, size_t err_len);

	/* ---- appended ---- */
	/* Retention, a write operation: delete up to max finished messages
	 * (sent, delivered, read, failed, canceled) created before before_ms,
	 * oldest first, with their history and outbox rows. The number
	 * deleted, or -1. On PostgreSQL one instance at a time purges (the
	 * others get 0). NULL when the backend keeps everything (memory). */
	long (*purge)(wa_store *s, int64_t before_ms, size_t max, char *err,
	              size_t err_len);
	/* The provider's send rate (messages/s, 0 = unlimited) and burst,
	 * set once before the first claim. A store shared by several
	 * instances (PostgreSQL) then lets claim take at most that many per
	 * second over all instances together. NULL when the store has one
	 * instance (the engine's own limiter is enough). */
	void (*set_rate)(wa_store *s, const char *provider, double rate,
	                 double burst);

	/* ---- appended: two-way messaging (write side) ---- */
	/* Keep an inbound message unless (provider, provider_message_id) is
	 * known (providers retry their webhooks): *created tells. A new one
	 * also moves its phone's last_inbound_ms forward (never back). */
	int (*inbound_add)(wa_store *s, const wa_inbound_rec *in, bool *created,
	                   char *err, size_t err_len);
	/* Set a phone's opt-out state (creating the contact). *changed is
	 * false when it already was in that state (source and time kept). */
	int (*contact_set_opt)(wa_store *s, const char *phone, bool opted_out,
	                       const char *source, int64_t at_ms, bool *changed,
	                       char *err, size_t err_len);
	/* Cancel every queued message to phone, with detail in the history
	 * entry (and the canceled outbox event). *n canceled. */
	int (*cancel_phone)(wa_store *s, const char *phone, int64_t now_ms,
	                    const char *detail, long *n, char *err,
	                    size_t err_len);
	/* Queue an event that is not a message status (see wa_outbox_event);
	 * nothing while the outbox is off. key orders events (the phone). */
	int (*outbox_add)(wa_store *s, const char *key, const char *event,
	                  const char *body, int64_t at_ms, char *err,
	                  size_t err_len);

	/* ---- appended: two-way messaging (read side) ---- */
	/* 0 found, 1 unknown phone (out zeroed), -1 error. */
	int (*contact_get)(wa_store *s, const char *phone, wa_contact *out,
	                   char *err, size_t err_len);
	/* Up to max messages matching q into out[0..*n) (free each). */
	int (*inbound_list)(wa_store *s, const wa_inbound_query *q,
	                    wa_inbound_rec *out, size_t max, size_t *n,
	                    char *err, size_t err_len);
	/* Up to max opted-out contacts, by phone, after after_phone (NULL or
	 * "": from the start). */
	int (*suppression_list)(wa_store *s, const char *after_phone,
	                        wa_contact *out, size_t max, size_t *n,
	                        char *err, size_t err_len);

	/* ---- appended: operators (issue 15) ---- */
	/* Write: set the campaign and the first due time (send_at_ms > 0
	 * moves next_attempt_ms and expires_ms forward by the delay) of a
	 * message just inserted, still queued and never attempted. 0, 1 when
	 * no such message, -1 on error. */
	int (*schedule)(wa_store *s, const char *id, const char *campaign_id,
	                int64_t send_at_ms, char *err, size_t err_len);
	/* Read: up to max messages matching f, newest first (created_ms DESC,
	 * id DESC), without history. Fills out[0..*n). */
	int (*list)(wa_store *s, const wa_msg_filter *f, size_t max,
	            wa_message_rec *out, size_t *n, char *err, size_t err_len);
	/* Write: a failed or canceled message back to queued, due at now_ms,
	 * attempts 0, expiring at expires_ms, provider message id cleared;
	 * history entry queued with detail "requeued: <reason>". Fills *kind
	 * and *status (current, after). */
	int (*requeue)(wa_store *s, const char *id, int64_t now_ms,
	               int64_t expires_ms, const char *reason,
	               wa_requeue_kind *kind, wa_msg_status *status, char *err,
	               size_t err_len);
	/* Write: requeue (as above) up to max messages matching f whose
	 * status is failed or canceled (f->status, when set, must be one of
	 * them), newest first, skipping those to a phone that is opted out.
	 * Returns how many, or -1. */
	long (*requeue_many)(wa_store *s, const wa_msg_filter *f, size_t max,
	                     int64_t now_ms, int64_t expires_ms,
	                     const char *reason, char *err, size_t err_len);
	/* Write: cancel every queued message of a campaign. Returns how many,
	 * or -1. */
	long (*cancel_campaign)(wa_store *s, const char *campaign_id,
	                        int64_t now_ms, char *err, size_t err_len);
	/* Read: a campaign's counts by status (total 0: unknown campaign). */
	int (*campaign_counts)(wa_store *s, const char *campaign_id,
	                       wa_campaign_counts *out, char *err,
	                       size_t err_len);
	/* Read: the max most frequent failure reasons among failed messages
	 * created at or after since_ms (an index range: status, created_ms),
	 * most frequent first. */
	int (*failure_codes)(wa_store *s, int64_t since_ms, size_t max,
	                     wa_failure_count *out, size_t *n, char *err,
	                     size_t err_len);

	/* ---- appended: two-way messaging retention ---- */
	/* Write: delete up to max inbound messages that occurred before
	 * before_ms (oldest first) and up to max contacts that are not opted
	 * out and whose last inbound message and last opt change are both
	 * before before_ms. An opted-out contact is never deleted (a
	 * suppression lasts until an opt-in or DELETE). Webhook events are
	 * left alone: a delivered one is gone already (outbox_finish), a
	 * pending one still goes out (its body is a copy). The number of
	 * rows deleted, or -1. On PostgreSQL one instance at a time purges
	 * (the others get 0). NULL when the backend keeps everything.
	 * Also up to max recipients' pacing rows that no rule needs any more
	 * (next claim allowed before before_ms, not counted against the tier
	 * since wa_store_pace_stale_ms), counted in the result. */
	long (*purge_twoway)(wa_store *s, int64_t before_ms, size_t max,
	                     char *err, size_t err_len);
	/* Read: which of phones[0..n) are opted out (committed data): out[i]
	 * true for each. One round trip for the lot (the engine asks once
	 * per claim, so a message claimed after its phone opted out, e.g.
	 * retried or requeued, is never sent). 0, or -1 on error. */
	int (*suppressed)(wa_store *s, const char *const *phones, size_t n,
	                  bool *out, char *err, size_t err_len);

	/* ---- appended: state several instances share (PostgreSQL; NULL
	 * where one instance owns the store: the engine keeps it in memory)
	 * ---- */
	/* Read: the provider's pauses, shared by every instance, in one
	 * statement: out[kind] for each wa_pause_kind (on false where none
	 * is recorded). 0, or -1 on error. */
	int (*pause_get)(wa_store *s, const char *provider,
	                 wa_shared_pause out[WA_PAUSE_KINDS], char *err,
	                 size_t err_len);
	/* Write: pause the provider for every instance (reason, until_ms:
	 * see wa_pause_kind), or lift that kind of pause when reason is NULL.
	 * A quality pause recorded already keeps the later of the two ends.
	 * While any pause's until_ms is ahead, claim takes nothing. */
	int (*pause_set)(wa_store *s, const char *provider, wa_pause_kind kind,
	                 const char *reason, int64_t until_ms, char *err,
	                 size_t err_len);
	/* Read: the current state of n messages by id (Prefer: wait answered
	 * whichever instance delivered). out[i] for ids[i]. */
	int (*peek)(wa_store *s, const char *const *ids, size_t n,
	            wa_msg_peek *out, char *err, size_t err_len);
	/* Write: keep a status update whose provider message id no message
	 * has yet (a callback that came before its send was recorded, at any
	 * instance), kept at now_ms. */
	int (*early_keep)(wa_store *s, const wa_status_change *c,
	                  int64_t now_ms, char *err, size_t err_len);
	/* Write: drop the kept updates kept before min_kept_ms, and take
	 * (delete) up to max of those whose message is known now, oldest
	 * first, into out[0..*n); the caller applies them in the same
	 * transaction. */
	int (*early_take)(wa_store *s, int64_t min_kept_ms, wa_kept_status *out,
	                  size_t max, size_t *n, char *err, size_t err_len);

	/* ---- appended: campaign-safe sending (issue 14) ---- */
	/* Set once before the first claim (see wa_store_pacing). */
	void (*set_pacing)(wa_store *s, const wa_store_pacing *p);
	/* Read: the tier budget as the last claim left it (thread-safe). */
	void (*budget)(wa_store *s, wa_store_budget *out);

	/* ---- appended: /metrics in one round trip (issue 17) ---- */
	/* Read: what stats and ping tell, together: 0 with *out filled and
	 * *up (ping == 0; when false, err says why), or -1 when the stats
	 * cannot be read (*up false, err). NULL: call stats, then ping. */
	int (*stats_up)(wa_store *s, wa_store_stats *out, bool *up, char *err,
	                size_t err_len);
} wa_store_ops;

struct wa_store {
	const wa_store_ops *ops;
	const char *kind; /* "sqlite", "memory", "postgresql" */
	void *impl;
};

/* Open (create and migrate) a SQLite store at path. sync_full selects
 * synchronous=FULL (else NORMAL). NULL with err on failure. */
wa_store *wa_store_open_sqlite(const char *path, bool sync_full, char *err,
                               size_t err_len);
/* SQLite: ask the kernel to read up to budget_bytes of the store file into
 * its page cache, on a thread of the store's own (at nice 10 where the
 * system call filter allows it), and return (sqlite/sqlite_warm.c): the
 * inner pages of the messages table and its indexes, then the external_id
 * index's leaves, 16 pages at a time, skipping pages cached already.
 * One INFO line says what it asked for. 0 (nothing done for another kind of
 * store, or a budget of 0), -1 with err when the thread cannot start. */
int wa_store_sqlite_prewarm(wa_store *s, size_t budget_bytes, char *err,
                            size_t err_len);
/* Wait for that warm-up to end: the pages it asked for, or -1 when none
 * was started. */
long wa_store_sqlite_prewarm_wait(wa_store *s);
/* Stop that warm-up if it still runs, and join its thread (close does it
 * too; the daemon does it first thing when it stops, so that a stop that
 * leaves without closing the store leaves no thread unjoined). */
void wa_store_sqlite_prewarm_stop(wa_store *s);
/* Open (connect and migrate) a PostgreSQL store; conninfo is any libpq
 * connection string ("postgresql://..." or "host=... dbname=..."). NULL
 * with err (one sentence, never the password) on failure. */
wa_store *wa_store_open_pg(const char *conninfo, char *err, size_t err_len);
/* A memory store (tests; nothing survives the process). */
wa_store *wa_store_open_memory(char *err, size_t err_len);

static inline void wa_store_close(wa_store *s)
{
	if (s)
		s->ops->close(s);
}

/* insert, then schedule when the message has a campaign or a send_at (a
 * no-op unless the insert created the row: store_ops.c). Same contract as
 * ops->insert. */
int wa_store_insert_full(wa_store *s, const wa_new_message *m,
                         wa_insert_result *res, char *err, size_t err_len);

/* Semantics both backends implement (decided with the implementation):
 *   - Outbox events are created only for changes of the externally
 *     meaningful status: sent, delivered, read, failed, canceled. Insert
 *     (queued: the caller learnt it from the 200), claim (sending) and the
 *     sending -> queued moves of RETRY, RELEASE and release_all create none;
 *     every change still appends a history entry.
 *   - History details: "" for queued on insert, "attempt N" for sending, the
 *     error for RETRY (status queued) and FAILED, "released" for RELEASE and
 *     release_all, the callback's error (or "") for apply_status.
 *   - finish SENT keeps last_error from earlier attempts; RELEASE and
 *     release_all give the attempt back (attempts - 1).
 *   - A lease is expired once lease_until_ms < now; next_due reports an
 *     expiring lease as due at lease_until_ms + 1.
 *   - outbox_finish returns 0, 1 when no event has that seq, -1 on error; a
 *     failed delivery increments the event's attempts and clears its lease.
 *   - Write operations are meant to run between begin and commit.
 */

#endif
