/* webhook_body.c - the status webhook's JSON body and its HMAC-SHA256 signature
 */
#include "engine/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

/* ---- the body and the signature ---- */

typedef struct wh_buf {
	char *p;
	size_t len, o;
	bool over;
} wh_buf;

static void put(wh_buf *b, const char *s, size_t n)
{
	if (b->over || b->o + n >= b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->o, s, n);
	b->o += n;
	b->p[b->o] = '\0';
}

static void put_s(wh_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* A JSON string, quoted; null when null_if_empty and s is "". Control
 * characters are escaped and invalid UTF-8 becomes U+FFFD, so receivers
 * always get valid JSON. */
static void put_str(wh_buf *b, const char *s, bool null_if_empty)
{
	const unsigned char *p = (const unsigned char *)s;
	char tmp[8];
	size_t n;

	if (null_if_empty && !*p) {
		put_s(b, "null");
		return;
	}
	put_s(b, "\"");
	while (*p) {
		if (*p == '"' || *p == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)*p;
			put(b, tmp, 2);
			p++;
		} else if (*p < 0x20) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
			put(b, tmp, 6);
			p++;
		} else if ((n = utf8_len(p)) == 0) {
			put_s(b, "\\ufffd");
			p++;
		} else {
			put(b, (const char *)p, n);
			p += n;
		}
	}
	put_s(b, "\"");
}

int wa_webhook_body(const wa_outbox_event *ev, char *out, size_t len)
{
	wh_buf b = {out, len, 0, false};
	char ts[32];

	if (!ev || !out || len == 0)
		return -1;
	out[0] = '\0';
	if (ev->event[0]) {
		/* two-way messaging: the host built the whole body when it
		 * queued the event */
		put_s(&b, ev->body ? ev->body : "{}");
		if (b.over) {
			out[0] = '\0';
			return -1;
		}
		return (int)b.o;
	}
	put_s(&b, "{\"event\":\"message.status\",\"message_id\":");
	put_str(&b, ev->message_id, false);
	put_s(&b, ",\"external_id\":");
	put_str(&b, ev->external_id, false);
	put_s(&b, ",\"status\":");
	put_str(&b, wa_msg_status_name(ev->status), false);
	put_s(&b, ",\"provider\":");
	put_str(&b, ev->provider, false);
	put_s(&b, ",\"provider_message_id\":");
	put_str(&b, ev->provider_message_id, true);
	put_s(&b, ",\"error\":");
	put_str(&b, ev->error, true);
	put_s(&b, ",\"occurred_at\":\"");
	put_s(&b, wa_iso8601(ev->occurred_ms, ts, sizeof(ts)));
	put_s(&b, "\",\"campaign_id\":");
	put_str(&b, ev->campaign_id, true);
	put_s(&b, "}");
	if (b.over) {
		out[0] = '\0';
		return -1;
	}
	return (int)b.o;
}

int wa_webhook_sign(const char *secret, const char *timestamp, const char *body,
                    size_t body_len, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0, i;
	size_t tl, n;
	unsigned char *msg;
	int ok;

	if (!secret || !timestamp || (!body && body_len) || !out)
		return -1;
	tl = strlen(timestamp);
	n = tl + 1 + body_len;
	msg = malloc(n);
	if (!msg)
		return -1;
	memcpy(msg, timestamp, tl);
	msg[tl] = '.';
	if (body_len)
		memcpy(msg + tl + 1, body, body_len);
	ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, n, mac,
	          &mac_len) != NULL;
	free(msg);
	if (!ok || mac_len != 32 || len < 7 + 2 * (size_t)mac_len + 1)
		return -1;
	memcpy(out, "sha256=", 7);
	for (i = 0; i < mac_len; i++) {
		out[7 + 2 * i] = hex[mac[i] >> 4];
		out[7 + 2 * i + 1] = hex[mac[i] & 15];
	}
	out[7 + 2 * mac_len] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int wa_webhook_body_grow(const wa_outbox_event *ev, char **buf, size_t *cap)
{
	/* 8 KiB always holds a status event; another carries its body. */
	size_t need = 8192 + (ev->body ? strlen(ev->body) + 1 : 0);
	char *nb;

	if (*cap < need) {
		if (!(nb = realloc(*buf, need)))
			return -1;
		*buf = nb;
		*cap = need;
	}
	return wa_webhook_body(ev, *buf, *cap);
}
