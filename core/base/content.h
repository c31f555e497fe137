/* content.h - the provider-neutral rich content of a send (issue 14 item 5):
 * strict validation, canonical JSON and the WA_CONTENT_* kinds it needs */
#ifndef WA_CONTENT_H
#define WA_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The JSON Schema is docs/content.md; limits are WhatsApp's own. */
#define WA_CONTENT_URL_MAX 2000      /* bytes, https:// only */
#define WA_CONTENT_CAPTION_MAX 1024  /* characters */
#define WA_CONTENT_FILE_NAME_MAX 240 /* bytes */
#define WA_CONTENT_PARAMS_MAX 32     /* template body parameters */
#define WA_CONTENT_PARAM_MAX 1024    /* characters of one parameter */
#define WA_CONTENT_BUTTON_PARAMS_MAX 10
#define WA_CONTENT_BUTTONS_MAX 3
#define WA_CONTENT_SECTIONS_MAX 10
#define WA_CONTENT_ROWS_MAX 10   /* rows of a list, all sections together */
#define WA_CONTENT_BODY_MAX 1024 /* message_body of an interactive message */

/* Validate a request's "content" member. 0 with *canon (malloc'd canonical
 * JSON: known members only, in a fixed order) and *kinds (the WA_CONTENT_*
 * bits a provider must declare to send it); or -1 with a sentence in msg
 * and nothing allocated. body is the message_body (its length is checked
 * where it becomes an interactive body or a caption). */
int wa_content_check(json_object *c, const char *body, char **canon,
                     uint32_t *kinds, char *msg, size_t msg_len);

/* The WA_CONTENT_* bits of stored canonical content (0 when NULL or not
 * content). */
uint32_t wa_content_kinds(const char *canon);

/* A kind bit's name for sentences: "template", "image", "interactive
 * buttons", ... */
const char *wa_content_kind_name(uint32_t bit);

/* What a provider table declares, as the host reads it: its content_kinds
 * when built for ABI 1.2 or later, else 0 (a 1.0/1.1 plugin does not read
 * the content fields, so it is refused every "content"). */
struct wa_provider;
uint32_t wa_content_declared(const struct wa_provider *table);

/* The first bit of need missing from have (0: all there). */
uint32_t wa_content_missing(uint32_t need, uint32_t have);

#endif
