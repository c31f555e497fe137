/* pc_host.c - glue between a provider plugin and the host's structs */
#include "pc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *wa_pc_config(const wa_host *host, const char *key)
{
	const char *v;

	if (!host || !host->config_get)
		return NULL;
	v = host->config_get(host, key);
	return (v && *v) ? v : NULL;
}

int wa_pc_base_url(const char *key, const char *value, char *out, size_t cap,
                   char *err, size_t err_len)
{
	size_t n = strlen(value);
	const char *host;

	if (strncmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		host = value + 7;
	else {
		snprintf(err, err_len,
		         "%s must start with https:// or http://.", key);
		return -1;
	}
	if (*host == '\0' || *host == '/') {
		snprintf(err, err_len, "%s has no host name.", key);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
			snprintf(err, err_len,
			         "%s must be a plain base URL without spaces, "
			         "query or fragment.",
			         key);
			return -1;
		}
	}
	while (n > 0 && value[n - 1] == '/')
		n--;
	if (n + 1 > cap || n > 512) {
		snprintf(err, err_len, "%s is too long.", key);
		return -1;
	}
	memcpy(out, value, n);
	out[n] = '\0';
	return 0;
}

int wa_pc_req_header(wa_http_request *req, const char *name, const char *value)
{
	int n;

	if (req->n_headers >= WA_HEADERS_MAX)
		return -1;
	n = snprintf(req->headers[req->n_headers], WA_HEADER_MAX, "%s: %s",
	             name, value);
	if (n < 0 || (size_t)n >= WA_HEADER_MAX) {
		req->headers[req->n_headers][0] = '\0';
		return -1;
	}
	req->n_headers++;
	return 0;
}

static void vresult(wa_result *res, wa_result_class cls, long status,
                    const char *code, const char *fmt, va_list ap)
{
	res->result_class = cls;
	res->upstream_status = status;
	if (code)
		snprintf(res->upstream_code, sizeof(res->upstream_code), "%s",
		         code);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
}

void wa_pc_result(wa_result *res, wa_result_class cls, long status,
                  const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vresult(res, cls, status, code, fmt, ap);
	va_end(ap);
}

void wa_pc_retry(wa_result *res, const wa_http_response *resp, long status,
                 const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vresult(res, WA_RESULT_RETRY, status, code, fmt, ap);
	va_end(ap);
	res->retry_after_ms = wa_pc_retry_after_ms(resp->retry_after);
}

#define RETRY_AFTER_CAP_S 3600

/* "Jan".."Dec" -> 0..11 (case-sensitive, as RFC 9110 writes them), else -1. */
static int month_index(const char *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncmp(m, names + 3 * i, 3) == 0 && m[3] == 0)
			return i;
	return -1;
}

/* An HTTP-date (RFC 9110 section 5.6.7) as Unix seconds: the IMF-fixdate
 * form and the two obsolete forms a recipient must also accept. 0 and
 * *out set, or -1. */
static int http_date(const char *v, int64_t *out)
{
	char wd[10], mon[4], tail[4];
	unsigned day, year, hh, mm, ss;
	int n = 0, mi;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(v, "%3[A-Za-z], %2u %3[A-Za-z] %4u %2u:%2u:%2u %3s%n", wd,
	           &day, mon, &year, &hh, &mm, &ss, tail, &n) == 8) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		if (strcmp(tail, "GMT") != 0)
			return -1;
	} else if (sscanf(v, "%9[A-Za-z], %2u-%3[A-Za-z]-%2u %2u:%2u:%2u %3s%n",
	                  wd, &day, mon, &year, &hh, &mm, &ss, tail, &n) == 8) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT. A two-digit year
		 * more than 50 years ahead is in the past century (RFC 9110);
		 * from 1970 on, 70..99 are 19xx. */
		if (strcmp(tail, "GMT") != 0)
			return -1;
		year += year < 70 ? 2000 : 1900;
	} else if (sscanf(v, "%3[A-Za-z] %3[A-Za-z] %2u %2u:%2u:%2u %4u%n", wd,
	                  mon, &day, &hh, &mm, &ss, &year, &n) != 7) {
		/* not asctime either: Sun Nov  6 08:49:37 1994 */
		return -1;
	}
	while (v[n] == ' ' || v[n] == '\t')
		n++;
	mi = month_index(mon);
	if (v[n] || mi < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 ||
	    ss > 60 || year < 1970)
		return -1;
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = mi;
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = (int)ss;
	*out = (int64_t)timegm(&tm);
	return 0;
}

uint32_t wa_pc_retry_after_ms_at(const char *value, int64_t now_ms)
{
	unsigned long s = 0;
	int64_t at;

	if (!value)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value < '0' || *value > '9') {
		if (http_date(value, &at) < 0 || at * 1000 <= now_ms)
			return 0;
		if (at * 1000 - now_ms > (int64_t)RETRY_AFTER_CAP_S * 1000)
			return RETRY_AFTER_CAP_S * 1000;
		return (uint32_t)(at * 1000 - now_ms);
	}
	for (; *value >= '0' && *value <= '9'; value++) {
		s = s * 10 + (unsigned long)(*value - '0');
		if (s > RETRY_AFTER_CAP_S)
			s = RETRY_AFTER_CAP_S;
	}
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value)
		return 0;
	return (uint32_t)(s * 1000);
}

uint32_t wa_pc_retry_after_ms(const char *value)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return wa_pc_retry_after_ms_at(value, (int64_t)now.tv_sec * 1000 +
	                                          now.tv_nsec / 1000000);
}

bool wa_pc_reply_update(wa_callback_reply *reply, const char *provider_id,
                        wa_message_status status, int64_t occurred_at_ms,
                        const char *error_code, const char *error)
{
	wa_status_update *u;

	if (reply->n_updates >= WA_STATUS_UPDATES_MAX)
		return false;
	u = &reply->updates[reply->n_updates++];
	memset(u, 0, sizeof(*u));
	snprintf(u->provider_message_id, sizeof(u->provider_message_id), "%s",
	         provider_id);
	u->status = status;
	u->occurred_at_ms = occurred_at_ms;
	if (error_code)
		snprintf(u->error_code, sizeof(u->error_code), "%s",
		         error_code);
	if (error)
		wa_pc_copy_masked(u->error, sizeof(u->error), error);
	return true;
}

void wa_pc_reply(wa_callback_reply *reply, int http_status, const char *body)
{
	reply->http_status = http_status;
	snprintf(reply->content_type, sizeof(reply->content_type),
	         "text/plain; charset=utf-8");
	snprintf(reply->body, sizeof(reply->body), "%s", body ? body : "");
}

int wa_pc_content(const wa_message *msg, uint32_t declared,
                  const char *provider, wa_result *res, json_object **content,
                  json_object **part, const char **which)
{
	static const char *const parts[] = {"template", "media", "interactive"};
	uint32_t miss;
	json_object *o;

	*content = *part = NULL;
	*which = NULL;
	if (msg->struct_size < offsetof(wa_message, content_json) +
	                           sizeof(msg->content_json) ||
	    !msg->content_json || !*msg->content_json)
		return 0;
	miss = msg->content_kinds & ~declared;
	if (miss) {
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "%s does not send this content (kinds 0x%x); the "
		             "host should have refused it at accept.",
		             provider, (unsigned)miss);
		return -1;
	}
	o = wa_pc_json_parse(msg->content_json, strlen(msg->content_json));
	for (size_t i = 0; o && i < 3 && !*part; i++)
		if ((*part = wa_pc_json_path(o, parts[i])) &&
		    json_object_is_type(*part, json_type_object))
			*which = parts[i];
		else
			*part = NULL;
	if (!*part) {
		json_object_put(o);
		wa_pc_result(res, WA_RESULT_REJECT, 0, NULL,
		             "The message's content is not readable JSON with "
		             "a template, media or interactive member.");
		return -1;
	}
	*content = o;
	return 1;
}

const char *wa_pc_cstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
