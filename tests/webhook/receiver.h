/* receiver.h - a tiny status-webhook receiver on 127.0.0.1 that checks
 * signatures */
#ifndef WA_TEST_RECEIVER_H
#define WA_TEST_RECEIVER_H

#include <stdbool.h>
#include <stdint.h>

#define RCV_MAX 512

/* One request as the receiver saw it. */
typedef struct rcv_req {
	long long event_id;
	char message_id[64];
	char status[16];
	char provider_message_id[64]; /* "" when JSON null */
	char error[128];              /* "" when JSON null */
	bool pmid_null, error_null;
	bool sig_ok;     /* signature recomputed from raw body + timestamp */
	bool json_ok;    /* body parsed, every member present */
	bool ctype_ok;   /* Content-Type: application/json */
	long long ts;    /* X-Wadispatch-Timestamp */
	unsigned answer; /* the status code we replied */
	/* Appended: two-way messaging events. event is "message.status",
	 * "message.received", "contact.opted_out" or "contact.opted_in";
	 * message.received fills message_id (our inbound id),
	 * provider_message_id, phone (from) and text; contact events phone
	 * and source. json_ok checks each event's own members. */
	char event[32];
	char phone[24];
	char text[64];
	char source[64];
	/* Appended: message.status's campaign_id ("" and campaign_null when
	 * JSON null). */
	char campaign_id[72];
	bool campaign_null;
} rcv_req;

typedef struct receiver receiver;

/* Start on 127.0.0.1, port 0. The first fail_first requests get 500. */
receiver *rcv_start(const char *secret, int fail_first);
int rcv_port(receiver *r);
/* Hold every new request unanswered until rcv_release (stall tests). */
void rcv_set_stall(receiver *r, bool stall);
void rcv_release(receiver *r);
/* Wait until at least n requests arrived (held ones count), or timeout.
 * Returns the number seen. */
int rcv_wait(receiver *r, int n, int64_t timeout_ms);
/* Copy the log out (up to max); returns the count. */
int rcv_log(receiver *r, rcv_req *out, int max);
void rcv_stop(receiver *r);

#endif
