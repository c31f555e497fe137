/* store_cases_content.c - store suite: a message's rich content (issue 14
 * item 5) is stored, read back by get, lookups and claim, and is part of
 * the idempotency comparison, in one group commit as in single inserts */
#include <stdio.h>
#include <string.h>

#include "store_util.h"
#include "testing.h"

#define PHONE "+5511999990000"

static void msg(wa_new_message *m, const char *id, const char *ext,
                const char *content, int64_t t)
{
	su_new_message(m, id, ext, PHONE, "caption", t);
	m->content_json = content;
}

void su_case_content(void)
{
	/* Quotes, backslashes, braces and commas: array-literal hazards. */
	static const char img[] =
	    "{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a,b{c}.png\","
	    "\"caption\":\"say \\\"hi\\\" \\\\ NULL\"}}";
	static const char list[] =
	    "{\"interactive\":{\"type\":\"list\",\"button\":\"Go\","
	    "\"sections\":"
	    "[{\"title\":\"S\",\"rows\":[{\"id\":\"r\",\"title\":\"R\"}]}]}}";
	wa_store *s = su_open(NULL, 0);
	wa_new_message m[5];
	wa_insert_result r[5];
	wa_message_rec g, c[3];
	char err[256] = "";
	int rc = 0;

	msg(&m[0], "c1", "ce1", img, 100);
	msg(&m[1], "c2", "ce2", list, 101);
	msg(&m[2], "c3", "ce3", NULL, 102);
	msg(&m[3], "c4", "ce1", img, 103); /* same content: replay */
	msg(&m[4], "c5", "ce2", img, 104); /* other content: conflict */
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	for (int i = 0; i < 5 && rc == 0; i++)
		rc = s->ops->insert(s, &m[i], &r[i], err, sizeof(err));
	CHECK_INT(rc, 0);
	rc = s->ops->commit(s, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "content commit: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_INT(r[0].kind, WA_INSERT_CREATED);
	CHECK_INT(r[1].kind, WA_INSERT_CREATED);
	CHECK_INT(r[2].kind, WA_INSERT_CREATED);
	CHECK_INT(r[3].kind, WA_INSERT_REPLAYED);
	CHECK_STR(r[3].id, "c1");
	CHECK_INT(r[4].kind, WA_INSERT_CONFLICT);
	CHECK_STR(r[4].id, "c2");

	CHECK_INT(s->ops->get(s, "c1", &g, err, sizeof(err)), 0);
	CHECK_STR(g.content_json ? g.content_json : "", img);
	wa_message_rec_free(&g);
	CHECK(g.content_json == NULL); /* freed and cleared */
	CHECK_INT(s->ops->get_by_external(s, "ce2", &g, err, sizeof(err)), 0);
	CHECK_STR(g.content_json ? g.content_json : "", list);
	wa_message_rec_free(&g);
	CHECK_INT(s->ops->get(s, "c3", &g, err, sizeof(err)), 0);
	CHECK(g.content_json == NULL);
	wa_message_rec_free(&g);

	/* A single insert after the commit: no content vs content differ. */
	msg(&m[0], "c6", "ce3", img, 200);
	CHECK_INT(s->ops->begin(s, err, sizeof(err)), 0);
	CHECK_INT(s->ops->insert(s, &m[0], &r[0], err, sizeof(err)), 0);
	CHECK_INT(s->ops->commit(s, err, sizeof(err)), 0);
	CHECK_INT(r[0].kind, WA_INSERT_CONFLICT);

	/* The engine reads the content from the claim. */
	CHECK_INT(su_claim(s, 1000, 60000, 3, c), 3);
	for (int i = 0; i < 3; i++) {
		const char *want = strcmp(c[i].id, "c1") == 0   ? img
		                   : strcmp(c[i].id, "c2") == 0 ? list
		                                                : NULL;

		if (want)
			CHECK_STR(c[i].content_json ? c[i].content_json : "",
			          want);
		else
			CHECK(c[i].content_json == NULL);
	}
	su_free_recs(c, 3);
	wa_store_close(s);
}
