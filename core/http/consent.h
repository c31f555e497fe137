/* consent.h - accept-time checks of a send's recipient: opted out, or
 * (WINDOW_POLICY=enforce) a free-form text outside the 24-hour window */
#ifndef WA_HTTP_CONSENT_H
#define WA_HTTP_CONSENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/validate.h"
#include "http/app.h"

/* WhatsApp's customer service window: free-form messages are allowed for
 * this long after the recipient's last message. */
#define WA_WINDOW_MS (24LL * 3600 * 1000)

/* The refusal of a send to a phone that opted out (by source at at_ms),
 * the same sentence whether the early check or the store's insert found
 * it. Returns 409. */
int wa_consent_optout_msg(const char *phone, const char *source, int64_t at_ms,
                          char *msg, size_t len);

/* The early check (the store's insert refuses again, in the transaction
 * that would queue the message: store.h). 0 when f may be queued; 409 with a
 * sentence in msg when the recipient opted out or the window is known closed (a
 * template passes); -1 when the store cannot tell (msg says why: refuse rather
 * than risk it). */
int wa_consent_check(wa_app *app, const wa_send_fields *f, int64_t now_ms,
                     char *msg, size_t len);

#endif
