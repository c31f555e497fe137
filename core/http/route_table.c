/* route_table.c - the HTTP API's routes: path, methods, auth, handlers,
 * and whether only an operator key may call it (admin) */
#include "http/routes.h"

/* clang-format off */
const wa_route wa_routes[] = {
	{"/health", "GET", false, false, wa_route_health, NULL, "health", false},
	{"/ready", "GET", false, false, wa_route_ready, NULL, "ready", false},
	{"/v1/messages/send", "POST", true, true, NULL, wa_route_send, "send", false},
	{"/v1/messages/batch", "POST", true, true, NULL, wa_route_batch, "batch", false},
	{"/v1/messages", "GET", true, false, wa_route_find_message, NULL, "find", false},
	{"/v1/messages/retry", "POST", true, true, NULL, wa_route_requeue_many, "retry_many", true},
	{"/v1/messages/*", "GET", true, false, wa_route_get_message, NULL, "get", false},
	{"/v1/messages/*/cancel", "POST", true, false, NULL, wa_route_cancel, "cancel", false},
	{"/v1/messages/*/retry", "POST", true, false, NULL, wa_route_requeue, "retry", true},
	{"/v1/campaigns/*", "GET", true, false, wa_route_campaign, NULL, "campaign", false},
	{"/v1/campaigns/*/cancel", "POST", true, false, NULL, wa_route_campaign_cancel, "campaign_cancel", false},
	{"/v1/stats", "GET", true, false, wa_route_stats, NULL, "stats", true},
	{"/metrics", "GET", false, false, wa_route_metrics, NULL, "metrics", false},
	{"/openapi.json", "GET", false, false, wa_route_openapi, NULL, "openapi", false},
	{"/v1/providers/*/callback", "GET, POST", false, false, wa_route_callback,
	 wa_route_callback, "callback", false},
	{NULL, NULL, false, false, NULL, NULL, NULL, false},
};
/* clang-format on */
