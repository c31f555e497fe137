/* cloudapi.h - state shared by the Cloud API plugin's sending and callback
 * halves */
#ifndef WA_CLOUDAPI_H
#define WA_CLOUDAPI_H

#include "pc.h"

typedef struct ca_state {
	const wa_host *host;
	char url[WA_URL_MAX];   /* {base}/{version}/{phone id}/messages */
	char auth_header[1000]; /* "Bearer <token>" */
	char language[16];      /* default template language */
	char app_secret[257];   /* "" refuses callback POSTs */
	char verify_token[257]; /* "" refuses the GET handshake */
} ca_state;

/* What cloudapi.so sends (ABI 1.2 content_kinds). */
#define CA_CONTENT_KINDS                                                       \
	(WA_CONTENT_TEXT | WA_CONTENT_TEMPLATE | WA_CONTENT_TEMPLATE_MEDIA |   \
	 WA_CONTENT_IMAGE | WA_CONTENT_DOCUMENT | WA_CONTENT_AUDIO |           \
	 WA_CONTENT_VIDEO | WA_CONTENT_BUTTONS | WA_CONTENT_LIST)

/* Is s a template name Meta accepts (a-z, 0-9, _; 1..512)? (cloudapi.c) */
bool wa_cloudapi_template_name_ok(const char *s);

/* The /messages body of a message with rich content (part and which from
 * wa_pc_content), to the recipient's digits; NULL with res filled
 * (cloudapi_content.c). */
json_object *wa_cloudapi_content_json(const ca_state *st, const wa_message *msg,
                                      const char *to, json_object *part,
                                      const char *which, wa_result *res);

/* on_callback of cloudapi.so (cloudapi_callback.c). */
void wa_cloudapi_on_callback(void *state, const wa_callback_request *req,
                             wa_callback_reply *reply);

/* Is a Cloud API error code transient (throughput, pair rate, outage)?
 * (cloudapi.c) */
bool wa_cloudapi_code_retryable(int64_t code);

/* Turn one webhook change value's messages[] and user_preferences[] into
 * inbound messages and contact events (cloudapi_inbound.c). Counts what
 * did not fit in *dropped. */
void wa_cloudapi_inbound(json_object *value, wa_callback_reply *reply,
                         size_t *dropped);

#endif
