/* receiver.c - a tiny status-webhook receiver on 127.0.0.1 that checks
 * signatures */
#include "receiver.h"

#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_CAP 16384

struct receiver {
	struct MHD_Daemon *d;
	char secret[128];
	int fail_first;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC; signalled on each request */
	bool stall, released;
	rcv_req log[RCV_MAX];
	int n;
};

typedef struct conn_st {
	char body[BODY_CAP];
	size_t len;
	bool over;
} conn_st;

/* The receiver's own check: HMAC-SHA256(secret, ts "." raw body), hex. */
static bool check_sig(const char *secret, const char *ts, const char *body,
                      size_t len, const char *header)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char want[80];
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[2];
	size_t out_len = 0;
	bool ok = false;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	/* Streaming, unlike the code under test which hashes one buffer. */
	if (c &&
	    EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret),
	                 params) &&
	    EVP_MAC_update(c, (const unsigned char *)ts, strlen(ts)) &&
	    EVP_MAC_update(c, (const unsigned char *)".", 1) &&
	    EVP_MAC_update(c, (const unsigned char *)body, len) &&
	    EVP_MAC_final(c, mac, &out_len, sizeof(mac)) && out_len == 32) {
		int o = snprintf(want, sizeof(want), "sha256=");

		for (size_t i = 0; i < out_len; i++)
			o += snprintf(want + o, sizeof(want) - (size_t)o,
			              "%02x", mac[i]);
		ok = header && strcmp(header, want) == 0;
	}
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return ok;
}

static void str_member(json_object *o, const char *k, char *out, size_t len,
                       bool *is_null, bool *ok)
{
	json_object *v;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, k, &v)) {
		*ok = false;
		return;
	}
	if (is_null)
		*is_null = v == NULL;
	if (!v) {
		if (!is_null)
			*ok = false;
		return;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*ok = false;
		return;
	}
	snprintf(out, len, "%s", json_object_get_string(v));
}

static void parse_body(rcv_req *q, const char *body, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o =
	    tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
	json_object *v;
	char tmp[64];
	bool ok = o && json_object_is_type(o, json_type_object) &&
	          json_tokener_get_error(tok) == json_tokener_success;

	if (ok && json_object_object_get_ex(o, "event", &v) && v)
		snprintf(q->event, sizeof(q->event), "%s",
		         json_object_get_string(v));
	if (ok && strcmp(q->event, "message.received") == 0) {
		json_object *m = NULL;

		ok = json_object_object_get_ex(o, "message", &m) && m &&
		     json_object_is_type(m, json_type_object) &&
		     json_object_object_length(o) == 2;
		if (ok) {
			str_member(m, "id", q->message_id,
			           sizeof(q->message_id), NULL, &ok);
			str_member(m, "provider", tmp, sizeof(tmp), NULL, &ok);
			str_member(m, "provider_message_id",
			           q->provider_message_id,
			           sizeof(q->provider_message_id), NULL, &ok);
			str_member(m, "from", q->phone, sizeof(q->phone), NULL,
			           &ok);
			str_member(m, "type", tmp, sizeof(tmp), NULL, &ok);
			str_member(m, "text", q->text, sizeof(q->text), NULL,
			           &ok);
			str_member(m, "occurred_at", tmp, sizeof(tmp), NULL,
			           &ok);
			str_member(m, "received_at", tmp, sizeof(tmp), NULL,
			           &ok);
		}
	} else if (ok && strncmp(q->event, "contact.opted_", 14) == 0) {
		str_member(o, "phone", q->phone, sizeof(q->phone), NULL, &ok);
		str_member(o, "source", q->source, sizeof(q->source), NULL,
		           &ok);
		str_member(o, "occurred_at", tmp, sizeof(tmp), NULL, &ok);
	} else if (ok) {
		ok = strcmp(q->event, "message.status") == 0;
		str_member(o, "message_id", q->message_id,
		           sizeof(q->message_id), NULL, &ok);
		str_member(o, "external_id", tmp, sizeof(tmp), NULL, &ok);
		str_member(o, "status", q->status, sizeof(q->status), NULL,
		           &ok);
		str_member(o, "provider", tmp, sizeof(tmp), NULL, &ok);
		str_member(o, "provider_message_id", q->provider_message_id,
		           sizeof(q->provider_message_id), &q->pmid_null, &ok);
		str_member(o, "error", q->error, sizeof(q->error),
		           &q->error_null, &ok);
		str_member(o, "occurred_at", tmp, sizeof(tmp), NULL, &ok);
		str_member(o, "campaign_id", q->campaign_id,
		           sizeof(q->campaign_id), &q->campaign_null, &ok);
		ok = ok && json_object_object_length(o) == 9;
	}
	q->json_ok = ok;
	json_object_put(o);
	if (tok)
		json_tokener_free(tok);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code)
{
	static const char ok[] = "ok";
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc = MHD_queue_response(c, code, r);

	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
	receiver *r = cls;
	conn_st *st = *con_cls;
	rcv_req q;
	const char *ts, *sig, *id, *ct;
	unsigned code;

	(void)url;
	(void)version;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		if (st->len + *upload_size >= BODY_CAP)
			st->over = true;
		else {
			memcpy(st->body + st->len, upload, *upload_size);
			st->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&q, 0, sizeof(q));
	ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                 "X-Wadispatch-Timestamp");
	sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                  "X-Wadispatch-Signature");
	id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                 "X-Wadispatch-Event-Id");
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	q.ctype_ok = ct && strcmp(ct, "application/json") == 0 &&
	             strcmp(method, "POST") == 0;
	q.ts = ts ? atoll(ts) : 0;
	q.event_id = id ? atoll(id) : -1;
	q.sig_ok =
	    !st->over && ts && check_sig(r->secret, ts, st->body, st->len, sig);
	parse_body(&q, st->body, st->len);

	pthread_mutex_lock(&r->mu);
	code = r->n < r->fail_first ? 500 : 200;
	q.answer = code;
	if (r->n < RCV_MAX)
		r->log[r->n] = q;
	r->n++;
	pthread_cond_broadcast(&r->cv);
	while (r->stall && !r->released)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	return reply(c, code);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

receiver *rcv_start(const char *secret, int fail_first)
{
	receiver *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	struct sockaddr_in sa;

	if (!r)
		return NULL;
	snprintf(r->secret, sizeof(r->secret), "%s", secret);
	r->fail_first = fail_first;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	        MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handler, r, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, r, MHD_OPTION_END);
	if (!r->d) {
		free(r);
		return NULL;
	}
	return r;
}

int rcv_port(receiver *r)
{
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? (int)i->port : -1;
}

void rcv_set_stall(receiver *r, bool stall)
{
	pthread_mutex_lock(&r->mu);
	r->stall = stall;
	r->released = false;
	pthread_mutex_unlock(&r->mu);
}

void rcv_release(receiver *r)
{
	pthread_mutex_lock(&r->mu);
	r->released = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void mono_ts(int64_t ms_from_now, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms_from_now / 1000);
	ts->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int rcv_wait(receiver *r, int n, int64_t timeout_ms)
{
	struct timespec until;
	int got;

	mono_ts(timeout_ms, &until);
	pthread_mutex_lock(&r->mu);
	while (r->n < n)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0)
			break;
	got = r->n;
	pthread_mutex_unlock(&r->mu);
	return got;
}

int rcv_log(receiver *r, rcv_req *out, int max)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n < RCV_MAX ? r->n : RCV_MAX;
	if (n > max)
		n = max;
	memcpy(out, r->log, (size_t)n * sizeof(*out));
	pthread_mutex_unlock(&r->mu);
	return n;
}

void rcv_stop(receiver *r)
{
	if (!r)
		return;
	rcv_release(r);
	MHD_stop_daemon(r->d);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
