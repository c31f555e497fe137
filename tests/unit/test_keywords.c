/* test_keywords.c - stop and start keywords: whole message, trimmed, case-
 * and accent-insensitive */
#include <string.h>

#include "base/keywords.h"
#include "testing.h"

int main(void)
{
	const char *stop = WA_STOP_KEYWORDS_DEFAULT;
	const char *start = WA_START_KEYWORDS_DEFAULT;
	char m[64], f[64];

	CHECK(wa_keyword_match(stop, "Parar", m, sizeof(m)));
	CHECK_STR(m, "PARAR");
	CHECK(wa_keyword_match(stop, "  stop!\n", m, sizeof(m)));
	CHECK_STR(m, "STOP");
	CHECK(wa_keyword_match(stop, "descadastrar.", NULL, 0));
	CHECK(wa_keyword_match(stop, "UNSUBSCRIBE", NULL, 0));
	CHECK(wa_keyword_match(start, "voltar", m, sizeof(m)));
	CHECK_STR(m, "VOLTAR");
	CHECK(wa_keyword_match(start, "START", NULL, 0));
	/* whole message only */
	CHECK(!wa_keyword_match(stop, "please stop sending", NULL, 0));
	CHECK(!wa_keyword_match(stop, "stopped", NULL, 0));
	CHECK(!wa_keyword_match(stop, "", NULL, 0));
	CHECK(!wa_keyword_match(stop, "   ", NULL, 0));
	CHECK(!wa_keyword_match(NULL, "stop", NULL, 0));
	CHECK(!wa_keyword_match(stop, NULL, NULL, 0));
	/* accents, both in the list and in the message */
	CHECK(wa_keyword_match("NÃO QUERO,Não", "nao", m, sizeof(m)));
	CHECK_STR(m, "NAO");
	CHECK(wa_keyword_match("nao quero", "  Não   Quero ", NULL, 0));
	CHECK(wa_keyword_match(" sair , parar ", "SAÍR", NULL, 0));
	wa_keyword_fold("  Ação, já!  ", f, sizeof(f));
	CHECK_STR(f, "ACAO JA");
	/* a long message is never a keyword */
	{
		char big[200];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CHECK(!wa_keyword_match(stop, big, NULL, 0));
	}
	/* a reply's strings: a text, or a button's title and payload */
	{
		const char *btn[2] = {"Stop promotions", "STOP"};
		const char *both[2] = {"Voltar", "parar"};
		const char *none[2] = {"Yes please", "confirm-42"};
		const char *in[2] = {NULL, " start "};
		const char *empty[2] = {"", NULL};

		CHECK_INT(
		    wa_keyword_classify(stop, start, btn, 2, m, sizeof(m)),
		    WA_KEYWORD_STOP);
		CHECK_STR(m, "STOP");
		/* a stop anywhere wins: in doubt, stop messaging */
		CHECK_INT(
		    wa_keyword_classify(stop, start, both, 2, m, sizeof(m)),
		    WA_KEYWORD_STOP);
		CHECK_STR(m, "PARAR");
		CHECK_INT(wa_keyword_classify(stop, start, none, 2, NULL, 0),
		          WA_KEYWORD_NONE);
		CHECK_INT(wa_keyword_classify(stop, start, in, 2, m, sizeof(m)),
		          WA_KEYWORD_START);
		CHECK_STR(m, "START");
		CHECK_INT(wa_keyword_classify(stop, start, empty, 2, NULL, 0),
		          WA_KEYWORD_NONE);
		CHECK_INT(wa_keyword_classify(stop, start, btn, 1, NULL, 0),
		          WA_KEYWORD_NONE);
	}
	return wa_t_report();
}
