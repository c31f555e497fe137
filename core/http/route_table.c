/* route_table.c - the HTTP API's routes: path, methods, auth, handlers,
 * and whether only an operator key may call it (admin) */
#include "http/routes.h"

/* clang-format off */
const wa_route wa_routes[] = {
	{"/health", "GET", false, false, wa_route_health, NULL, "health", true, NULL, NULL, false},
	{"/ready", "GET", false, false, wa_route_ready, NULL, "ready", true, NULL, NULL, false},
	{"/v1/messages/send", "POST", true, true, NULL, wa_route_send, "send", false, NULL, NULL, false},
	{"/v1/messages/batch", "POST", true, true, NULL, wa_route_batch, "batch", false, NULL, NULL, false},
	{"/v1/messages", "GET", true, false, wa_route_find_message, NULL, "find", false, NULL, NULL, false},
	{"/v1/messages/retry", "POST", true, true, NULL, wa_route_requeue_many, "retry_many", false, NULL, NULL, true},
	{"/v1/messages/*", "GET", true, false, wa_route_get_message, NULL, "get", false, NULL, NULL, false},
	{"/v1/messages/*/cancel", "POST", true, false, NULL, wa_route_cancel, "cancel", false, NULL, NULL, false},
	{"/v1/messages/*/retry", "POST", true, false, NULL, wa_route_requeue, "retry", false, NULL, NULL, true},
	{"/v1/campaigns/*", "GET", true, false, wa_route_campaign, NULL, "campaign", false, NULL, NULL, false},
	{"/v1/campaigns/*/cancel", "POST", true, false, NULL, wa_route_campaign_cancel, "campaign_cancel", false, NULL, NULL, false},
	{"/v1/stats", "GET", true, false, wa_route_stats, NULL, "stats", false, NULL, NULL, true},
	{"/v1/contacts/*", "GET", true, false, wa_route_get_contact, NULL, "contact", false, NULL, NULL, false},
	{"/v1/inbound", "GET", true, false, wa_route_list_inbound, NULL, "inbound", false, NULL, NULL, false},
	{"/v1/suppressions", "GET", true, false, wa_route_list_suppressions, NULL, "suppressions", false, NULL, NULL, false},
	{"/v1/suppressions/*", "PUT, DELETE", true, false, NULL, NULL, "suppression", false,
	 wa_route_put_suppression, wa_route_delete_suppression, false},
	{"/metrics", "GET", false, false, wa_route_metrics, NULL, "metrics", false, NULL, NULL, false},
	{"/openapi.json", "GET", false, false, wa_route_openapi, NULL, "openapi", false, NULL, NULL, false},
	{"/console**", "GET", false, false, wa_route_console, NULL, "console", false, NULL, NULL, false},
	{"/v1/providers/*/callback", "GET, POST", false, false, wa_route_callback,
	 wa_route_callback, "callback", false, NULL, NULL, false},
	{NULL, NULL, false, false, NULL, NULL, NULL, false, NULL, NULL, false},
};
/* clang-format on */
