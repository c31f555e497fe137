/* test_inbound_keywords.c - the host's keyword rule over what a plugin
 * hands it: a text, and a quick-reply button, reply button or list row
 * whose title (text) or payload (reply_id) is a stop or start keyword,
 * change the sender's consent; a media caption does not (memory store) */
#include <stdio.h>
#include <string.h>

#include "base/keywords.h"
#include "engine/inbound.h"
#include "testing.h"

static const wa_twoway_config cfg = {WA_STOP_KEYWORDS_DEFAULT,
                                     WA_START_KEYWORDS_DEFAULT};

/* Store one inbound message in a transaction; the counts it gave. */
static wa_twoway_counts deliver(wa_store *s, const char *id,
                                wa_inbound_type type, const char *text,
                                const char *reply_id)
{
	wa_inbound_message m;
	wa_twoway_counts c;
	char err[256] = "";

	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	snprintf(m.provider_message_id, sizeof(m.provider_message_id), "%s",
	         id);
	m.type = type;
	m.occurred_at_ms = 1000;
	snprintf(m.from, sizeof(m.from), "+5511987650001");
	snprintf(m.text, sizeof(m.text), "%s", text);
	snprintf(m.reply_id, sizeof(m.reply_id), "%s", reply_id);
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(
	    wa_inbound_store(s, &cfg, "mock", &m, 2000, &c, err, sizeof(err)),
	    0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	return c;
}

static bool opted_out(wa_store *s, char *source, size_t len)
{
	wa_contact ct;
	char err[256] = "";

	CHECK_INT(
	    s->ops->contact_get(s, "+5511987650001", &ct, err, sizeof(err)), 0);
	snprintf(source, len, "%s", ct.opt_source);
	return ct.opted_out;
}

int main(void)
{
	char err[256] = "", src[WA_OPT_SOURCE_MAX];
	wa_store *s = wa_store_open_memory(err, sizeof(err));
	wa_twoway_counts c;

	CHECK(s != NULL);
	if (!s)
		return wa_t_report();
	/* a Cloud API quick reply: title "Stop promotions", payload STOP */
	c = deliver(s, "b1", WA_INBOUND_BUTTON, "Stop promotions", "STOP");
	CHECK(c.opted_out == 1);
	CHECK(opted_out(s, src, sizeof(src)));
	CHECK_STR(src, "keyword:STOP");
	/* an interactive reply button titled "Voltar" (id opt-in-1) */
	c = deliver(s, "b2", WA_INBOUND_BUTTON_REPLY, "Voltar", "opt-in-1");
	CHECK(c.opted_in == 1);
	CHECK(!opted_out(s, src, sizeof(src)));
	CHECK_STR(src, "keyword:VOLTAR");
	/* a list row whose id is the keyword */
	c = deliver(s, "b3", WA_INBOUND_LIST_REPLY, "No more offers",
	            "unsubscribe");
	CHECK(c.opted_out == 1);
	CHECK(opted_out(s, src, sizeof(src)));
	/* a caption is not a keyword: still opted out after "start" */
	c = deliver(s, "b4", WA_INBOUND_IMAGE, "start", "");
	CHECK(c.opted_in == 0);
	CHECK(opted_out(s, src, sizeof(src)));
	/* a button that is no keyword changes nothing */
	c = deliver(s, "b5", WA_INBOUND_BUTTON, "Yes", "confirm-42");
	CHECK(c.opted_in == 0 && c.opted_out == 0);
	CHECK(opted_out(s, src, sizeof(src)));
	/* a text still works: START */
	c = deliver(s, "b6", WA_INBOUND_TEXT, "Start", "");
	CHECK(c.opted_in == 1);
	CHECK(!opted_out(s, src, sizeof(src)));
	wa_store_close(s);
	return wa_t_report();
}
