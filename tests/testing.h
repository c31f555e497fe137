/* testing.h - the few assertion macros every test in tests/ uses */
#ifndef WA_TESTING_H
#define WA_TESTING_H

#include <stdio.h>
#include <string.h>

static int wa_t_passed, wa_t_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			wa_t_passed++;                                         \
		} else {                                                       \
			wa_t_failed++;                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_INT(got, want)                                                   \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (g_ == w_) {                                                \
			wa_t_passed++;                                         \
		} else {                                                       \
			wa_t_failed++;                                         \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",      \
			        __FILE__, __LINE__, #got, g_, w_);             \
		}                                                              \
	} while (0)

#define CHECK_STR(got, want)                                                   \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (g_ && w_ && strcmp(g_, w_) == 0) {                         \
			wa_t_passed++;                                         \
		} else {                                                       \
			wa_t_failed++;                                         \
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n",  \
			        __FILE__, __LINE__, #got, g_ ? g_ : "(null)",  \
			        w_ ? w_ : "(null)");                           \
		}                                                              \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (h_ && n_ && strstr(h_, n_)) {                              \
			wa_t_passed++;                                         \
		} else {                                                       \
			wa_t_failed++;                                         \
			fprintf(stderr,                                        \
			        "%s:%d: \"%s\" does not contain \"%s\"\n",     \
			        __FILE__, __LINE__, h_ ? h_ : "(null)",        \
			        n_ ? n_ : "(null)");                           \
		}                                                              \
	} while (0)

/* Told how the test ended, when linked in: tests/lib/harness.c removes the
 * temp dirs of a passing run with it. */
void wa_t_finished(int ok) __attribute__((weak));

/* Print the closing line CTest logs show and turn it into an exit code. A
 * test that checked nothing fails: it proved nothing. */
static inline int wa_t_report(void)
{
	int ok = wa_t_failed == 0 && wa_t_passed > 0;

	printf("%d passed, %d failed\n", wa_t_passed, wa_t_failed);
	if (wa_t_finished)
		wa_t_finished(ok);
	return ok ? 0 : 1;
}

#endif
