/* config.h - configuration: environment, optional env file, typed settings */
#ifndef WA_CONFIG_H
#define WA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One core key: name, default (NULL: none), one-line help. */
typedef struct wa_config_spec {
	const char *name;
	const char *def;
	const char *help;
} wa_config_spec;

/* Every key the core reads, ending with { NULL }. etc/wadispatch.env lists
 * exactly these (a test checks). */
extern const wa_config_spec wa_core_keys[];

/* Load KEY=VALUE lines from an env file. Values already present in the
 * process environment win over the file. Returns 0, or -1 with a sentence
 * naming the file and line in err. May be called once. */
int wa_config_load_file(const char *path, char *err, size_t err_len);

/* Read keys (NULL-terminated) afresh, without touching what
 * wa_config_get returns: the environment, then the env file at path (read
 * again now; NULL for none). values[i] is a malloc'd copy or NULL when
 * unset; the caller frees each. 0, or -1 with err (values all NULL). */
int wa_config_reread(const char *path, const char *const *keys, char **values,
                     char *err, size_t err_len);

/* Parse env-file text (exposed for tests and fuzzing). For each pair,
 * calls set(key, value, ud); returns 0 or -1 with err filled. */
int wa_config_parse(const char *text, size_t len, const char *origin,
                    int (*set)(const char *key, const char *value, void *ud),
                    void *ud, char *err, size_t err_len);

/* The value of key: environment, then env file, then NULL. Empty strings
 * count as unset. The returned string lives as long as the process. */
const char *wa_config_get(const char *key);

/* Whether key is present at all (environment or env file), even empty. */
bool wa_config_is_set(const char *key);

/* Keys that came from the env file (for unknown-key warnings). */
size_t wa_config_file_keys(const char ***keys);

/* The default of a core key, or NULL. */
const char *wa_config_default(const char *key);

/* Typed lookups with the core default: 0 or -1 with a sentence naming the
 * variable in err. */
int wa_config_long(const char *key, long min, long max, long *out, char *err,
                   size_t err_len);
int wa_config_bool(const char *key, bool *out, char *err, size_t err_len);

/* Constant-time comparison of two NUL-terminated strings (time depends
 * only on the length of b, the attacker's input... and not on where they
 * differ). Returns true when equal. */
bool wa_ct_streq(const char *secret, const char *given);

#endif
