/* framing.h - is a request's head unambiguous (request smuggling, NULs)
 *
 * A proxy in front may read an ambiguous head differently from us: two
 * Content-Length headers, a Transfer-Encoding other than "chunked", a NUL
 * byte inside the request line or a header. libmicrohttpd 0.9.75 cuts a
 * value at a NUL without a word (what follows the NUL never reaches a
 * handler, and the value size it reports is the cut one), so the NUL check
 * reads the head where libmicrohttpd keeps it: the request line and every
 * header line lie one after the other in its read buffer, with the
 * separators (the space after the method and the target, the colon, CR and
 * LF) overwritten by NUL bytes, and MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE
 * says how long the head was. Where the bytes between two fields are not
 * exactly those separators, the line went on after a NUL.
 */
#ifndef WA_FRAMING_H
#define WA_FRAMING_H

#include <stddef.h>

struct MHD_Connection;

typedef struct wa_head {
	const char *method;  /* as handed to the request handler */
	const char *url;     /* idem */
	const char *version; /* idem */
	size_t raw_uri_len;  /* strlen of the target as the URI log saw it */
} wa_head;

/* NULL when the head of the request on c is unambiguous, else why not (a
 * static phrase for the 400's details). Call once the head has arrived
 * (the first call of the request handler). */
const char *wa_framing_check(struct MHD_Connection *c, const wa_head *h);

#endif
