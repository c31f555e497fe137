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
	return wa_t_report();
}
