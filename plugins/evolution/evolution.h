/* evolution.h - what the Evolution plugin's halves share */
#ifndef WA_EVOLUTION_H
#define WA_EVOLUTION_H

#include "pc.h"

/* What evolution.so sends (ABI 1.2 content_kinds): text, media through
 * sendMedia, reply buttons through sendButtons, lists through sendList.
 * No templates: the Baileys channel has none. */
#define EV_CONTENT_KINDS                                                       \
	(WA_CONTENT_TEXT | WA_CONTENT_IMAGE | WA_CONTENT_DOCUMENT |            \
	 WA_CONTENT_AUDIO | WA_CONTENT_VIDEO | WA_CONTENT_BUTTONS |            \
	 WA_CONTENT_LIST)

/* The JSON body of a message with rich content (part and which from
 * wa_pc_content) to number (digits), and in *route the endpoint's name
 * ("sendMedia", "sendButtons", "sendList"). NULL when out of memory
 * (evolution_content.c). */
json_object *wa_evolution_content(const wa_message *msg, json_object *part,
                                  const char *which, const char *number,
                                  const char **route);

#endif
