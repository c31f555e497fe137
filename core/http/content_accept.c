/* content_accept.c - accept-time check of a send's rich content against what
 * the loaded provider declares (issue 14 item 5) */
#include "http/content_accept.h"

#include <stdio.h>

#include "base/content.h"

int wa_content_accept(const wa_app *app, const wa_send_fields *f, char *msg,
                      size_t len)
{
	const wa_provider *t;
	uint32_t have, miss;

	if (!f->content_kinds)
		return 0;
	t = app->provider ? app->provider->table : NULL;
	have = wa_content_declared(t);
	miss = wa_content_missing(f->content_kinds, have);
	if (!miss)
		return 0;
	if (!have)
		snprintf(msg, len,
		         "The provider %s does not declare rich content (a "
		         "plugin built before ABI 1.2), so it cannot send %s; "
		         "nothing was queued.",
		         t ? t->name : "(none)", wa_content_kind_name(miss));
	else
		snprintf(msg, len,
		         "The provider %s cannot send %s content; nothing was "
		         "queued.",
		         t->name, wa_content_kind_name(miss));
	return WA_CONTENT_REFUSED;
}
