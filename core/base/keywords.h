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

typedef enum wa_keyword_kind {
	WA_KEYWORD_NONE = 0,
	WA_KEYWORD_STOP = 1,
	WA_KEYWORD_START = 2
} wa_keyword_kind;

/* The consent change one reply asks for, from the strings that carry what
 * the user said (a text; a button's or list row's title and payload/id):
 * STOP when any of texts[0..n) is a stop keyword, else START when any is
 * a start keyword, else NONE; the keyword (folded) into match (may be
 * NULL). NULL and "" entries are skipped. A stop wins over a start: in
 * doubt, stop messaging. */
wa_keyword_kind wa_keyword_classify(const char *stop, const char *start,
                                    const char *const *texts, size_t n,
                                    char *match, size_t match_len);

#endif
