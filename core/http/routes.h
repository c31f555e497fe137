/* routes.h - the HTTP API: the route table and its handlers */
#ifndef WA_ROUTES_H
#define WA_ROUTES_H

#include "http/http.h"

/* The route table, ending with { NULL } (route_table.c). */
extern const wa_route wa_routes[];

/* Handlers (routes.c, routes_messages.c, routes_callback.c,
 * routes_metrics.c, routes_contacts.c). */
void wa_route_health(wa_req *r);
void wa_route_ready(wa_req *r);
void wa_route_send(wa_req *r);
void wa_route_batch(wa_req *r);
void wa_route_get_message(wa_req *r);
void wa_route_find_message(wa_req *r);
void wa_route_cancel(wa_req *r);
void wa_route_callback(wa_req *r);
void wa_route_metrics(wa_req *r);
/* routes_ops.c: the operators' routes (issue 15) */
void wa_route_list_messages(wa_req *r);
void wa_route_requeue(wa_req *r);
void wa_route_requeue_many(wa_req *r);
void wa_route_campaign(wa_req *r);
void wa_route_campaign_cancel(wa_req *r);
/* routes_stats.c */
void wa_route_stats(wa_req *r);
void wa_route_openapi(wa_req *r);
/* The operator console's static files (routes_console.c). */
void wa_route_console(wa_req *r);
/* routes_contacts.c: two-way messaging */
void wa_route_get_contact(wa_req *r);
void wa_route_list_inbound(wa_req *r);
void wa_route_list_suppressions(wa_req *r);
void wa_route_put_suppression(wa_req *r);
void wa_route_delete_suppression(wa_req *r);

/* Parse RFC 7240 "Prefer: wait=N": N (capped at max), or 0 when absent. */
int wa_prefer_wait(const char *prefer, int max);

#endif
