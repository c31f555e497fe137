/* twilio.h - state shared by the Twilio plugin's sending and callback halves */
#ifndef WA_TWILIO_H
#define WA_TWILIO_H

#include "pc.h"

#define TW_BODY_MAX 1600 /* Body limit in characters; longer is error 21617 */

/* What twilio.so sends (ABI 1.2 content_kinds). */
#define TW_CONTENT_KINDS                                                       \
	(WA_CONTENT_TEXT | WA_CONTENT_TEMPLATE | WA_CONTENT_IMAGE |            \
	 WA_CONTENT_DOCUMENT | WA_CONTENT_AUDIO | WA_CONTENT_VIDEO)

typedef struct tw_state {
	const wa_host *host;
	char account_sid[40];
	char auth_header[440];      /* "Basic <base64(user:secret)>" */
	bool api_key;               /* Basic auth uses an SK... key pair */
	char url[WA_URL_MAX];       /* .../Accounts/AC.../Messages.json */
	char from[48];              /* "whatsapp:+<digits>" or "" */
	char messaging_service[40]; /* "MG..." or "" */
	char status_callback[WA_URL_MAX]; /* "" when PUBLIC_BASE_URL unset */
	char webhook_token[257];          /* signs callbacks; "" refuses them */
} tw_state;

/* on_callback of twilio.so (twilio_callback.c). */
void wa_twilio_on_callback(void *state, const wa_callback_request *req,
                           wa_callback_reply *reply);

/* Does sig match the signature of url (tried as given, then with the
 * default port added or the port removed, as Twilio's validators do)? */
bool wa_twilio_signature_ok(const char *token, const char *url,
                            const wa_pc_form *params, const char *sig);

#endif
