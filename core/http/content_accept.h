/* content_accept.h - accept-time check of a send's rich content against what
 * the loaded provider declares (issue 14 item 5) */
#ifndef WA_HTTP_CONTENT_ACCEPT_H
#define WA_HTTP_CONTENT_ACCEPT_H

#include <stddef.h>

#include "base/validate.h"
#include "http/app.h"

/* The status of a content the provider did not declare. 422: the request
 * is valid, this deployment's provider cannot carry it (docs/content.md). */
#define WA_CONTENT_REFUSED 422

/* 0 when the provider can send f's content (or f has none); else
 * WA_CONTENT_REFUSED with a sentence naming the provider and the kind in
 * msg. Nothing is stored, no provider is called. */
int wa_content_accept(const wa_app *app, const wa_send_fields *f, char *msg,
                      size_t len);

#endif
