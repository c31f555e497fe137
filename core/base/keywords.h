/* keywords.h - opt-out and opt-in keywords: is a whole message one of a
 * comma-separated list (trimmed, case- and accent-insensitive)? */
#ifndef WA_BASE_KEYWORDS_H
#define WA_BASE_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>

#define WA_STOP_KEYWORDS_DEFAULT                                               \
	"STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,PARAR,PARE,SAIR,CANCELAR,"   \
	"DESCADASTRAR,REMOVER"
#define WA_START_KEYWORDS_DEFAULT "START,UNSTOP,SUBSCRIBE,VOLTAR,RETOMAR"

/* Fold text for comparison into out: leading and trailing white space and
 * punctuation (".!") dropped, inner white space collapsed to one space,
 * ASCII and Latin-1 letters upper-cased without accents ("Não" -> "NAO").
 * Other bytes are kept as they are. out is always NUL-terminated. */
void wa_keyword_fold(const char *text, char *out, size_t out_len);
/* The list item equal to text once both are folded, copied (folded) into
 * match (may be NULL); false when none. list may be NULL or "". */
bool wa_keyword_match(const char *list, const char *text, char *match,
                      size_t match_len);

#endif
