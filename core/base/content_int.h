/* content_int.h - what base/content*.c share (not for other folders) */
#ifndef WA_CONTENT_INT_H
#define WA_CONTENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "base/content.h"

/* Where a check writes its sentence. */
typedef struct ck {
	char *msg;
	size_t len;
} ck;

/* Text flags. */
#define T_LINES 0x1 /* newlines and tabs allowed (captions) */
#define T_BYTES 0x2 /* limits count bytes, not characters */

/* Write the sentence; returns -1. */
int wa_ct_bad(ck *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Code points in s[0..n), or -1 when it is not valid UTF-8. */
long wa_ct_chars(const char *s, size_t n);
/* Refuse members other than allowed (NULL-terminated): 0 or -1. */
int wa_ct_only(json_object *o, const char *path, const char *const *allowed,
               ck *c);
/* Member key of o, NULL when absent or null. */
json_object *wa_ct_member(json_object *o, const char *key);
/* A string member of min..max characters (T_BYTES: bytes); NULL when
 * absent and not required; *err = -1 with the sentence when invalid. */
const char *wa_ct_text(json_object *o, const char *key, const char *path,
                       bool required, long min, long max, int flags, ck *c,
                       int *err);
/* The "url" member of o: https://, printable ASCII, bounded. */
const char *wa_ct_url(json_object *o, const char *path, ck *c, int *err);
/* The optional "file_name" member of o. */
const char *wa_ct_file_name(json_object *o, const char *path, ck *c, int *err);
/* Add a string (s NULL: nothing) or an object under key: 0 or -1. */
int wa_ct_add_str(json_object *o, const char *key, const char *s);
int wa_ct_add_obj(json_object *o, const char *key, json_object *v);
/* The WA_CONTENT_* bit of a media type name: 0, or -1 when unknown. */
int wa_ct_media_type(const char *t, uint32_t *kind);

/* content.interactive -> canonical object and its kind (content_interactive.c).
 */
json_object *wa_ct_check_interactive(json_object *it, const char *body, ck *c,
                                     uint32_t *kinds);

#endif
