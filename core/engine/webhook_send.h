/* webhook_send.h - the webhook sender's state and its libcurl transfers
 * (internal to engine/: webhook.c runs the thread, webhook_send.c the
 * transfers) */
#ifndef WA_WEBHOOK_SEND_H
#define WA_WEBHOOK_SEND_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/webhook.h"

/* Events in flight at once (a claim takes up to this many, the oldest
 * pending one per message, and sends them together). A receiver answering
 * in 100 ms must take 3 events per message (sent, delivered, read) at
 * PROVIDER_RATE 1000: 300 in flight. */
#define WH_PARALLEL 512
#define WH_SAFETY_MS 1000       /* longest idle wait before looking again */
#define WH_PUMP_MS 20           /* longest socket wait with events in flight */
#define WH_LINGER_MS 20         /* outcomes wait this long to share a commit */
#define WH_PROBE_MAX_MS 30000   /* longest wait between probes when down */
#define WH_RESP_MAX (64 * 1024) /* response bytes read before giving up */
#define WH_RETRY_SLOTS 64       /* retry times remembered for wake-ups */
#define WH_SECRET_MIN 16
#define WH_COMP "webhook"

/* A slot's state: free, a transfer in flight, or concluded and waiting
 * for its outcome to be recorded. */
enum { XF_FREE, XF_BUSY, XF_DONE };

/* One event on its way (sender thread only). */
typedef struct wh_xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	wa_outbox_event ev;
	char *body; /* malloc'd: 8 KiB for a status, plus a stored body */
	size_t body_cap;
	size_t resp_len;
	int state; /* XF_* */
	bool done;
	/* the outcome, for outbox_finish */
	bool delivered;
	int64_t next_ms;
	char error[WA_ERR_MAX];
} wh_xfer;

struct wa_webhook {
	char *url, *secret;
	long timeout_ms, connect_timeout_ms;
	int64_t base_ms, max_ms, lease_ms;
	wa_store *store;
	wa_writer *writer;

	/* sender thread only */
	CURLM *multi;
	int epfd, evfd;   /* the sockets libcurl watches; evfd wakes a stop */
	int64_t timer_at; /* mono ms libcurl wants to be called at; -1 none */
	wh_xfer x[WH_PARALLEL];
	size_t n_busy, n_done;
	int64_t first_done_ms; /* mono ms the oldest unrecorded outcome came */
	int64_t retry_at[WH_RETRY_SLOTS]; /* wall ms of scheduled retries */
	size_t n_retry;

	pthread_t thread;
	bool started, joined, curl_inited;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool kicked, stopping;
	bool deaf; /* waiting for a probe's time: kicks are not taken */
	int64_t deadline_ms;
	/* Our own writer jobs commit too, and each commit kicks us. To not
	 * wake ourselves forever, a job of ours notes the writer's committed
	 * job count before its batch; a kick for a batch holding only our
	 * job (count + 1) is ignored. */
	bool own_armed;
	unsigned long long own_jobs0;

	atomic_ullong delivered, failed;
	bool failing; /* sender thread: the receiver's last round all failed */
	unsigned long long fails_logged; /* failed count when failing began */
	int fail_rounds;  /* rounds failed in a row while failing */
	int64_t probe_at; /* mono ms: while failing, one event is tried then */
};

/* Start ev on the free slot x (which takes ev over); a start that fails
 * leaves x concluded with the reason. */
void wa_webhook_xfer_start(wa_webhook *w, wh_xfer *x, const wa_outbox_event *ev,
                           long long ts);
/* Hand libcurl the sockets that are ready (waiting at most wait_ms) and
 * conclude the transfers that ended. */
void wa_webhook_pump(wa_webhook *w, int64_t wait_ms);
/* Conclude every transfer in flight as interrupted (stop deadline). */
void wa_webhook_abandon(wa_webhook *w);
/* libcurl's multi socket and timer callbacks (userdata: the webhook). */
int wa_webhook_on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                         void *sockp);
int wa_webhook_on_timer(CURLM *multi, long timeout_ms, void *ud);

#endif
