/* pc_inbound.c - fill the ABI 1.2 parts of a callback reply: inbound
 * messages, contact events, the class of a late failure */
#include "pc.h"

#include <stdio.h>
#include <string.h>

#define PC_HAS(reply, field)                                                   \
	((reply)->struct_size >=                                               \
	 offsetof(wa_callback_reply, field) + sizeof((reply)->field))

bool wa_pc_reply_has_inbound(const wa_callback_reply *reply)
{
	return PC_HAS(reply, contact_events);
}

void wa_pc_reply_update_class(wa_callback_reply *reply, wa_failure_class cls)
{
	if (reply->n_updates == 0 || reply->n_updates > WA_STATUS_UPDATES_MAX ||
	    !PC_HAS(reply, failure_class))
		return;
	reply->failure_class[reply->n_updates - 1] = cls;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

bool wa_pc_copy_utf8(char *out, size_t cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	if (cap == 0)
		return *p == '\0';
	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0) {
			if (o + 1 >= cap)
				break;
			out[o++] = '?';
			p++;
			continue;
		}
		if (o + n >= cap)
			break;
		if (n == 1 && (*p < 0x20 || *p == 0x7f) && *p != '\n' &&
		    *p != '\t')
			out[o] = ' ';
		else
			memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return *p == '\0';
}

int wa_pc_phone(const char *s, char *out, size_t cap)
{
	const char *end;
	size_t n;

	if (!s)
		return -1;
	if (strncmp(s, "whatsapp:", 9) == 0)
		s += 9;
	if (*s == '+')
		s++;
	end = s + strspn(s, "0123456789");
	n = (size_t)(end - s);
	if (*end && strcmp(end, "@s.whatsapp.net") != 0)
		return -1;
	if (n < 8 || n > 15 || *s == '0' || n + 2 > cap)
		return -1;
	out[0] = '+';
	memcpy(out + 1, s, n);
	out[n + 1] = '\0';
	return 0;
}

wa_inbound_message *wa_pc_reply_inbound(wa_callback_reply *reply,
                                        const char *provider_id,
                                        wa_inbound_type type, const char *from,
                                        bool *dropped)
{
	wa_inbound_message *m;
	char id[sizeof(m->provider_message_id)];

	*dropped = false;
	if (!PC_HAS(reply, inbound) || !PC_HAS(reply, n_inbound))
		return NULL;
	/* An id that is empty, too long, or not clean UTF-8 (the copy would
	 * change it) names no message the host could store: skip it. */
	if (!provider_id || !*provider_id ||
	    !wa_pc_copy_utf8(id, sizeof(id), provider_id) ||
	    strcmp(id, provider_id) != 0)
		return NULL;
	for (size_t i = 0; i < reply->n_inbound && i < WA_INBOUND_MAX; i++)
		if (strcmp(reply->inbound[i].provider_message_id,
		           provider_id) == 0)
			return NULL;
	if (reply->n_inbound >= WA_INBOUND_MAX) {
		*dropped = true;
		return NULL;
	}
	m = &reply->inbound[reply->n_inbound++];
	memset(m, 0, sizeof(*m));
	snprintf(m->provider_message_id, sizeof(m->provider_message_id), "%s",
	         provider_id);
	m->type = type;
	snprintf(m->from, sizeof(m->from), "%s", from);
	return m;
}

void wa_pc_inbound_set(wa_inbound_message *m, char *field, size_t cap,
                       const char *s)
{
	if (!wa_pc_copy_utf8(field, cap, s))
		m->flags |= WA_INBOUND_TRUNCATED;
}

bool wa_pc_reply_contact(wa_callback_reply *reply, wa_contact_event_kind kind,
                         const char *phone, int64_t occurred_at_ms,
                         const char *source, const char *detail)
{
	wa_contact_event *e;

	if (!PC_HAS(reply, contact_events) ||
	    reply->n_contact_events >= WA_CONTACT_EVENTS_MAX)
		return false;
	e = &reply->contact_events[reply->n_contact_events++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->occurred_at_ms = occurred_at_ms;
	snprintf(e->phone, sizeof(e->phone), "%s", phone);
	wa_pc_copy_utf8(e->source, sizeof(e->source), source);
	if (detail)
		wa_pc_copy_masked(e->detail, sizeof(e->detail), detail);
	return true;
}

wa_inbound_type wa_pc_media_type(const char *mime)
{
	if (!mime)
		return WA_INBOUND_DOCUMENT;
	if (strncmp(mime, "image/", 6) == 0)
		return WA_INBOUND_IMAGE;
	if (strncmp(mime, "audio/", 6) == 0)
		return WA_INBOUND_AUDIO;
	if (strncmp(mime, "video/", 6) == 0)
		return WA_INBOUND_VIDEO;
	return WA_INBOUND_DOCUMENT;
}
