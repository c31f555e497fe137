/* uuid.h - random (version 4) UUIDs from getrandom(2) */
#ifndef WA_UUID_H
#define WA_UUID_H

#include <stddef.h>

#define WA_UUID_STR_LEN 36

/* Write "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx" (N in 8,9,a,b) plus NUL into
 * out (>= 37 bytes). 0, or -1 if the kernel gave no randomness. */
int wa_uuid_v4(char *out, size_t len);

/* "msg-<uuid>" into out (>= 41 bytes). */
int wa_message_id_new(char *out, size_t len);

/* Fill buf with len random bytes from getrandom. 0 or -1. */
int wa_random_bytes(void *buf, size_t len);

#endif
