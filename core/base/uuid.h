/* uuid.h - RFC 9562 UUIDs: random (version 4) and time-ordered (version 7) */
#ifndef WA_UUID_H
#define WA_UUID_H

#include <stddef.h>
#include <time.h>

#define WA_UUID_STR_LEN 36

/* Write "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx" (N in 8,9,a,b) plus NUL into
 * out (>= 37 bytes). 0, or -1 if the kernel gave no randomness. */
int wa_uuid_v4(char *out, size_t len);

/* A version 7 UUID for the wall-clock time now: 48 bits of Unix
 * milliseconds, 12 bits of sub-millisecond fraction, 62 random bits.
 * Same text form and return as wa_uuid_v4. */
int wa_uuid_v7_at(const struct timespec *now, char *out, size_t len);

/* "msg-<uuid v7>" into out (>= 41 bytes). Time-ordered, so the store's
 * index on message ids grows at one end instead of touching a random page
 * per message (see docs/architecture.md, "Message ids"). */
int wa_message_id_new(char *out, size_t len);

/* Fill buf with len random bytes from getrandom (up to 64 bytes from a
 * per-thread pool refilled 512 bytes at a time). 0 or -1. */
int wa_random_bytes(void *buf, size_t len);

#endif
