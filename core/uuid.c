/* uuid.c - random (version 4) UUIDs from getrandom(2) */
#include "uuid.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

int wa_random_bytes(void *buf, size_t len)
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

int wa_uuid_v4(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	size_t o = 0;

	if (len < WA_UUID_STR_LEN + 1 || wa_random_bytes(b, sizeof(b)) != 0)
		return -1;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = 0;
	return 0;
}

int wa_message_id_new(char *out, size_t len)
{
	char u[WA_UUID_STR_LEN + 1];

	if (wa_uuid_v4(u, sizeof(u)) != 0)
		return -1;
	if ((size_t)snprintf(out, len, "msg-%s", u) >= len)
		return -1;
	return 0;
}
