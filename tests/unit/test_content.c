/* test_content.c - the send's rich content object (issue 14 item 5): limits,
 * required members, canonical form, kinds, and what a provider declares */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/content.h"
#include "testing.h"
#include "wadispatch/provider.h"

/* Check content (JSON text) with message_body body: 0 and the canonical
 * JSON in canon (caller frees) and kinds, or -1 and the sentence. */
static int check(const char *content, const char *body, char **canon,
                 uint32_t *kinds, char *msg, size_t len)
{
	json_object *o = json_tokener_parse(content);
	int rc;

	*canon = NULL;
	msg[0] = 0;
	if (!o) {
		snprintf(msg, len, "test JSON does not parse");
		return -2;
	}
	rc = wa_content_check(o, body, canon, kinds, msg, len);
	json_object_put(o);
	return rc;
}

static void ok(const char *content, const char *want_canon, uint32_t want_kinds)
{
	char msg[256], *canon;
	uint32_t kinds = 0;

	CHECK_INT(check(content, "body", &canon, &kinds, msg, sizeof(msg)), 0);
	if (msg[0])
		fprintf(stderr, "unexpected refusal of %s: %s\n", content, msg);
	CHECK_STR(canon ? canon : "", want_canon);
	CHECK_INT(kinds, want_kinds);
	CHECK_INT(wa_content_kinds(canon), want_kinds);
	free(canon);
}

static void bad(const char *content, const char *body, const char *needle)
{
	char msg[256], *canon;
	uint32_t kinds = 7;

	CHECK_INT(check(content, body, &canon, &kinds, msg, sizeof(msg)), -1);
	CHECK(canon == NULL);
	CHECK_CONTAINS(msg, needle);
}

static void valid(void)
{
	/* Members reordered into the canonical order; nulls dropped. */
	ok("{\"media\":{\"caption\":\"c\",\"url\":\"https://e.x/a.png\","
	   "\"type\":\"image\",\"file_name\":null}}",
	   "{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a.png\","
	   "\"caption\":\"c\"}}",
	   WA_CONTENT_IMAGE);
	ok("{\"media\":{\"type\":\"document\",\"url\":\"https://e.x/r\","
	   "\"file_name\":\"r.pdf\"}}",
	   "{\"media\":{\"type\":\"document\",\"url\":\"https://e.x/r\","
	   "\"file_name\":\"r.pdf\"}}",
	   WA_CONTENT_DOCUMENT);
	ok("{\"media\":{\"type\":\"audio\",\"url\":\"https://e.x/a.ogg\"}}",
	   "{\"media\":{\"type\":\"audio\",\"url\":\"https://e.x/a.ogg\"}}",
	   WA_CONTENT_AUDIO);
	ok("{\"media\":{\"type\":\"video\",\"url\":\"https://e.x/v\"}}",
	   "{\"media\":{\"type\":\"video\",\"url\":\"https://e.x/v\"}}",
	   WA_CONTENT_VIDEO);
	ok("{\"template\":{\"body_parameters\":[\"a\"],\"name\":\"t\"}}",
	   "{\"template\":{\"name\":\"t\",\"body_parameters\":[\"a\"]}}",
	   WA_CONTENT_TEMPLATE);
	ok("{\"template\":{\"name\":\"t\",\"header\":{\"type\":\"text\","
	   "\"text\":\"H\"}}}",
	   "{\"template\":{\"name\":\"t\",\"header\":{\"type\":\"text\","
	   "\"text\":\"H\"}}}",
	   WA_CONTENT_TEMPLATE);
	ok("{\"template\":{\"name\":\"t\",\"language\":\"pt_BR\",\"header\":{"
	   "\"type\":\"image\",\"url\":\"https://e.x/i.png\"},"
	   "\"button_parameters\":[{\"value\":\"p\",\"index\":2,\"sub_type\":"
	   "\"quick_reply\"}]}}",
	   "{\"template\":{\"name\":\"t\",\"language\":\"pt_BR\",\"header\":{"
	   "\"type\":\"image\",\"url\":\"https://e.x/i.png\"},"
	   "\"button_parameters\":[{\"index\":2,\"sub_type\":\"quick_reply\","
	   "\"value\":\"p\"}]}}",
	   WA_CONTENT_TEMPLATE | WA_CONTENT_TEMPLATE_MEDIA);
	ok("{\"interactive\":{\"type\":\"buttons\",\"buttons\":[{\"title\":"
	   "\"Yes\",\"id\":\"y\"},{\"id\":\"n\",\"title\":\"No\"},{\"id\":"
	   "\"m\","
	   "\"title\":\"Maybe\"}]}}",
	   "{\"interactive\":{\"type\":\"buttons\",\"buttons\":[{\"id\":\"y\","
	   "\"title\":\"Yes\"},{\"id\":\"n\",\"title\":\"No\"},{\"id\":\"m\","
	   "\"title\":\"Maybe\"}]}}",
	   WA_CONTENT_BUTTONS);
	ok("{\"interactive\":{\"type\":\"list\",\"button\":\"B\",\"footer\":"
	   "\"F\",\"sections\":[{\"title\":\"S\",\"rows\":[{\"id\":\"1\","
	   "\"title\":\"One\"}]}]}}",
	   "{\"interactive\":{\"type\":\"list\",\"footer\":\"F\",\"button\":"
	   "\"B\",\"sections\":[{\"title\":\"S\",\"rows\":[{\"id\":\"1\","
	   "\"title\":\"One\"}]}]}}",
	   WA_CONTENT_LIST);
}

static void invalid(void)
{
	static char rows11[2048], long_body[1100];
	size_t n = 0;

	bad("[]", "b", "content must be an object");
	bad("{}", "b", "exactly one of template, media or interactive");
	bad("{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a\"},"
	    "\"template\":{\"name\":\"t\"}}",
	    "b", "exactly one");
	bad("{\"text\":{}}", "b", "content has an unknown member \"text\"");
	/* media */
	bad("{\"media\":{\"type\":\"image\"}}", "b",
	    "content.media.url is required");
	bad("{\"media\":{\"type\":\"image\",\"url\":\"http://e.x/a\"}}", "b",
	    "must be an https:// URL");
	bad("{\"media\":{\"type\":\"image\",\"url\":\"https:///a\"}}", "b",
	    "must be an https:// URL");
	bad("{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a b\"}}", "b",
	    "must not contain spaces");
	bad("{\"media\":{\"type\":\"gif\",\"url\":\"https://e.x/a\"}}", "b",
	    "image, document, audio or video");
	bad("{\"media\":{\"type\":\"audio\",\"url\":\"https://e.x/a\","
	    "\"caption\":\"c\"}}",
	    "b", "audio has no caption");
	bad("{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a\","
	    "\"file_name\":\"a.png\"}}",
	    "b", "only for documents");
	bad("{\"media\":{\"type\":\"document\",\"url\":\"https://e.x/a\","
	    "\"file_name\":\"../etc/passwd\"}}",
	    "b", "without / or");
	bad("{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a\","
	    "\"caption\":7}}",
	    "b", "content.media.caption must be a string");
	memset(long_body, 'x', 1025);
	bad("{\"media\":{\"type\":\"image\",\"url\":\"https://e.x/a\"}}",
	    long_body, "message_body is the caption");
	/* template */
	bad("{\"template\":{}}", "b", "content.template.name is required");
	bad("{\"template\":{\"name\":\"t\",\"language\":\"pt BR\"}}", "b",
	    "language code");
	bad("{\"template\":{\"name\":\"t\",\"header\":{\"type\":\"audio\","
	    "\"url\":\"https://e.x/a\"}}}",
	    "b", "text, image, document or video");
	bad("{\"template\":{\"name\":\"t\",\"header\":{\"type\":\"text\"}}}",
	    "b", "content.template.header.text is required");
	bad("{\"template\":{\"name\":\"t\",\"body_parameters\":[\"\"]}}", "b",
	    "body_parameters[0] must be 1 to 1024 characters");
	bad("{\"template\":{\"name\":\"t\",\"body_parameters\":[\"a\\nb\"]}}",
	    "b", "must not contain control characters");
	bad("{\"template\":{\"name\":\"t\",\"button_parameters\":[{\"index\":"
	    "0,\"sub_type\":\"url\",\"value\":\"a\"},{\"index\":0,\"sub_type\":"
	    "\"url\",\"value\":\"b\"}]}}",
	    "b", "distinct integer from 0 to 9");
	bad("{\"template\":{\"name\":\"t\",\"button_parameters\":[{\"index\":"
	    "0,\"sub_type\":\"call\",\"value\":\"a\"}]}}",
	    "b", "quick_reply or url");
	/* interactive */
	bad("{\"interactive\":{\"type\":\"buttons\",\"buttons\":[]}}", "b",
	    "1 to 3 buttons");
	bad("{\"interactive\":{\"type\":\"buttons\",\"buttons\":[{\"id\":\"a\","
	    "\"title\":\"123456789012345678901\"}]}}",
	    "b", "buttons[0].title must be 1 to 20 characters");
	bad("{\"interactive\":{\"type\":\"buttons\",\"buttons\":[{\"id\":\"a\","
	    "\"title\":\"A\"},{\"id\":\"a\",\"title\":\"B\"}]}}",
	    "b", "buttons[1].id repeats");
	bad("{\"interactive\":{\"type\":\"list\",\"sections\":[{\"title\":"
	    "\"S\","
	    "\"rows\":[{\"id\":\"1\",\"title\":\"A\"}]}]}}",
	    "b", "content.interactive.button is required");
	bad("{\"interactive\":{\"type\":\"list\",\"button\":\"B\",\"buttons\":"
	    "[]}}",
	    "b", "buttons go with type buttons");
	bad("{\"interactive\":{\"type\":\"list\",\"button\":\"B\",\"sections\":"
	    "[{\"title\":\"S\",\"rows\":[{\"id\":\"1\",\"title\":\"A\"}]},{"
	    "\"title\":\"T\",\"rows\":[{\"id\":\"1\",\"title\":\"B\"}]}]}}",
	    "b", "sections[1].rows[0].id repeats");
	n +=
	    (size_t)snprintf(rows11 + n, sizeof(rows11) - n,
	                     "{\"interactive\":{\"type\":\"list\",\"button\":"
	                     "\"B\",\"sections\":[{\"title\":\"S\",\"rows\":[");
	for (int i = 0; i < 11; i++)
		n += (size_t)snprintf(rows11 + n, sizeof(rows11) - n,
		                      "%s{\"id\":\"r%d\",\"title\":\"R\"}",
		                      i ? "," : "", i);
	snprintf(rows11 + n, sizeof(rows11) - n, "]}]}}");
	bad(rows11, "b", "at most 10 rows in all");
	bad("{\"interactive\":{\"type\":\"buttons\",\"buttons\":[{\"id\":\"a\","
	    "\"title\":\"A\"}]}}",
	    long_body, "body of an interactive message");
}

static void declared(void)
{
	wa_provider t;

	memset(&t, 0, sizeof(t));
	t.abi_major = 1;
	t.abi_minor = 2;
	t.struct_size = sizeof(t);
	t.content_kinds = WA_CONTENT_TEXT | WA_CONTENT_IMAGE;
	CHECK_INT(wa_content_declared(&t), WA_CONTENT_TEXT | WA_CONTENT_IMAGE);
	/* a 1.1 table never declares content, whatever lies past its end */
	t.abi_minor = 1;
	CHECK_INT(wa_content_declared(&t), 0);
	t.abi_minor = 2;
	t.struct_size = offsetof(wa_provider, content_kinds);
	CHECK_INT(wa_content_declared(&t), 0);
	CHECK_INT(wa_content_declared(NULL), 0);
	CHECK_INT(
	    wa_content_missing(WA_CONTENT_TEMPLATE | WA_CONTENT_TEMPLATE_MEDIA,
	                       WA_CONTENT_TEMPLATE),
	    WA_CONTENT_TEMPLATE_MEDIA);
	CHECK_INT(wa_content_missing(WA_CONTENT_LIST, WA_CONTENT_LIST), 0);
	CHECK_STR(wa_content_kind_name(WA_CONTENT_BUTTONS),
	          "interactive buttons");
}

int main(void)
{
	valid();
	invalid();
	declared();
	return wa_t_report();
}
