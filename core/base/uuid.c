/* uuid.c - RFC 9562 UUIDs: random (version 4) and time-ordered (version 7) */
#include "base/uuid.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Bytes kept per thread for small requests: a request makes two UUIDs
 * (its request id and the message id), so without it every accepted
 * message cost two getrandom calls, a fifth of the daemon's system calls
 * per request (strace -c -f under wrk). The bytes are the kernel's all
 * the same, handed out once each; the daemon never forks. */
#define POOL 512

static int fill(void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom((char *)buf + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int wa_random_bytes(void *buf, size_t len)
{
	static _Thread_local uint8_t pool[POOL];
	static _Thread_local size_t left;

	if (len > 64)
		return fill(buf, len);
	if (left < len) {
		if (fill(pool, sizeof(pool)) != 0)
			return -1;
		left = sizeof(pool);
	}
	memcpy(buf, pool + sizeof(pool) - left, len);
	/* handed out once: not left behind in the pool */
	memset(pool + sizeof(pool) - left, 0, len);
	left -= len;
	return 0;
}

/* Stamp version and variant into b, then write its canonical text. */
static void format(uint8_t b[16], unsigned version, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	b[6] = (uint8_t)((b[6] & 0x0f) | (version << 4));
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = 0;
}

int wa_uuid_v4(char *out, size_t len)
{
	uint8_t b[16];

	if (len < WA_UUID_STR_LEN + 1 || wa_random_bytes(b, sizeof(b)) != 0)
		return -1;
	format(b, 4, out);
	return 0;
}

int wa_uuid_v7_at(const struct timespec *now, char *out, size_t len)
{
	uint64_t ms =
	    (uint64_t)now->tv_sec * 1000 + (uint64_t)now->tv_nsec / 1000000;
	/* rand_a carries the sub-millisecond fraction in 1/4096 steps (RFC
	 * 9562 section 6.2, method 3), so ids made in order sort in order. */
	unsigned frac =
	    (unsigned)(((uint64_t)now->tv_nsec % 1000000) * 4096 / 1000000);
	uint8_t b[16];

	if (len < WA_UUID_STR_LEN + 1 || wa_random_bytes(b + 8, 8) != 0)
		return -1;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (8 * (5 - i)));
	b[6] = (uint8_t)(frac >> 8);
	b[7] = (uint8_t)frac;
	format(b, 7, out);
	return 0;
}

int wa_message_id_new(char *out, size_t len)
{
	char u[WA_UUID_STR_LEN + 1];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (wa_uuid_v7_at(&now, u, sizeof(u)) != 0)
		return -1;
	if ((size_t)snprintf(out, len, "msg-%s", u) >= len)
		return -1;
	return 0;
}
