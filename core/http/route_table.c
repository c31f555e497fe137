/* route_table.c - the HTTP API's routes: path, methods, auth, handlers */
#include "http/routes.h"

/* clang-format off */
const wa_route wa_routes[] = {
	{"/health", "GET", false, false, wa_route_health, NULL, "health"},
	{"/ready", "GET", false, false, wa_route_ready, NULL, "ready"},
	{"/v1/messages/send", "POST", true, true, NULL, wa_route_send, "send"},
	{"/v1/messages/batch", "POST", true, true, NULL, wa_route_batch, "batch"},
	{"/v1/messages", "GET", true, false, wa_route_find_message, NULL, "find"},
	{"/v1/messages/*", "GET", true, false, wa_route_get_message, NULL, "get"},
	{"/v1/messages/*/cancel", "POST", true, false, NULL, wa_route_cancel, "cancel"},
	{"/metrics", "GET", false, false, wa_route_metrics, NULL, "metrics"},
	{"/openapi.json", "GET", false, false, wa_route_openapi, NULL, "openapi"},
	{"/v1/providers/*/callback", "GET, POST", false, false, wa_route_callback,
	 wa_route_callback, "callback"},
	{NULL, NULL, false, false, NULL, NULL, NULL},
};
/* clang-format on */
