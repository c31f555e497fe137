/* consent.c - accept-time checks of a send's recipient (two-way
 * messaging): nothing is queued for a number that opted out */
#include "http/consent.h"

#include <stdio.h>

#include "base/log.h"
#include "base/timeutil.h"

int wa_consent_optout_msg(const char *phone, const char *source, int64_t at_ms,
                          char *msg, size_t len)
{
	char masked[32], ts[40];

	wa_mask_phone(phone, masked, sizeof(masked));
	snprintf(msg, len,
	         "The recipient %s opted out of messages (%s, %s); "
	         "nothing was queued.",
	         masked, source && source[0] ? source : "unknown",
	         wa_iso8601(at_ms, ts, sizeof(ts)));
	return 409;
}

int wa_consent_check(wa_app *app, const wa_send_fields *f, int64_t now_ms,
                     char *msg, size_t len)
{
	wa_store *s = app->store;
	wa_contact c;
	char err[WA_ERR_MAX] = "", masked[32], ts[40];
	int rc;

	/* Without WINDOW_POLICY=enforce only the opt-out is checked, and the
	 * store's insert does that in its own transaction (it answers
	 * WA_INSERT_SUPPRESSED with the same sentence, and never queues for
	 * an opted-out number): a read here would cost every accept a read
	 * transaction (about 20 us on SQLite, issue 17) to say it earlier.
	 * A repeat of an external_id whose message was accepted before the
	 * opt-out then answers as the replay it is, with that message's
	 * status (canceled by the opt-out). */
	if (!app->settings->window_enforce)
		return 0;
	rc = s->ops->contact_get(s, f->phone, &c, err, sizeof(err));
	if (rc < 0) {
		snprintf(msg, len, "%s", err);
		return -1;
	}
	if (rc != 0)
		return 0; /* never heard of: nothing known against it */
	wa_mask_phone(f->phone, masked, sizeof(masked));
	if (c.opted_out)
		return wa_consent_optout_msg(f->phone, c.opt_source,
		                             c.opt_at_ms, msg, len);
	/* A template passes: the 1.1 field or content.template. */
	if (app->settings->window_enforce && !f->template_json &&
	    !(f->content_kinds & WA_CONTENT_TEMPLATE) &&
	    c.last_inbound_ms > 0 &&
	    now_ms - c.last_inbound_ms > WA_WINDOW_MS) {
		snprintf(msg, len,
		         "The 24-hour window for free-form messages to %s "
		         "closed at %s; send a template instead.",
		         masked,
		         wa_iso8601(c.last_inbound_ms + WA_WINDOW_MS, ts,
		                    sizeof(ts)));
		return 409;
	}
	return 0;
}
