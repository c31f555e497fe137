/* keywords.c - opt-out and opt-in keywords (whole message, folded) */
#include "base/keywords.h"

#include <stdio.h>
#include <string.h>

/* The unaccented upper-case ASCII letter of Latin-1 code point cp
 * (U+00C0..U+00FF), or 0. */
static char latin1_base(unsigned cp)
{
	static const char map[] = "AAAAAAACEEEEIIIIDNOOOOO*OUUUUYTS"
	                          "AAAAAAACEEEEIIIIDNOOOOO/OUUUUYTY";

	if (cp < 0xc0 || cp > 0xff)
		return 0;
	return map[cp - 0xc0] == '*' || map[cp - 0xc0] == '/' ? 0
	                                                      : map[cp - 0xc0];
}

static bool is_space_or_punct(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f' || c == '.' || c == '!' || c == ',' || c == ';';
}

void wa_keyword_fold(const char *text, char *out, size_t out_len)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	size_t o = 0;
	bool space = false;

	if (out_len == 0)
		return;
	while (*p && is_space_or_punct(*p))
		p++;
	while (*p && o + 1 < out_len) {
		unsigned char c = *p;
		char f;

		if (is_space_or_punct(c)) {
			space = true;
			p++;
			continue;
		}
		if (space) {
			out[o++] = ' ';
			space = false;
			if (o + 1 >= out_len)
				break;
		}
		if (c == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf &&
		    (f = latin1_base(0xc0u + (p[1] - 0x80u))) != 0) {
			out[o++] = f;
			p += 2;
			continue;
		}
		out[o++] =
		    (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : (char)c;
		p++;
	}
	out[o] = '\0';
}

bool wa_keyword_match(const char *list, const char *text, char *match,
                      size_t match_len)
{
	char t[64], item[64], one[64];
	const char *p = list ? list : "";

	if (!text || strlen(text) >= sizeof(t))
		return false; /* a keyword is a short whole message */
	wa_keyword_fold(text, t, sizeof(t));
	if (!t[0])
		return false;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			wa_keyword_fold(one, item, sizeof(item));
			if (item[0] && strcmp(item, t) == 0) {
				if (match && match_len)
					snprintf(match, match_len, "%s", item);
				return true;
			}
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

wa_keyword_kind wa_keyword_classify(const char *stop, const char *start,
                                    const char *const *texts, size_t n,
                                    char *match, size_t match_len)
{
	for (size_t i = 0; i < n; i++)
		if (texts[i] && texts[i][0] &&
		    wa_keyword_match(stop, texts[i], match, match_len))
			return WA_KEYWORD_STOP;
	for (size_t i = 0; i < n; i++)
		if (texts[i] && texts[i][0] &&
		    wa_keyword_match(start, texts[i], match, match_len))
			return WA_KEYWORD_START;
	return WA_KEYWORD_NONE;
}
