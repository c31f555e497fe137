/* render.h - JSON renderings of messages for the HTTP API */
#ifndef WA_RENDER_H
#define WA_RENDER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "http/app.h"
#include "store/store.h"

/* {"status":..,"message_id":..,"provider_details":{[id_name:pmid,]
 * "provider":..,"queued_at":..}[,"error":..]} - the send answer. pmid and
 * error may be NULL or "". Returns a malloc'd string (len in *len). */
char *wa_render_send(const wa_app *app, const char *status, const char *id,
                     int64_t queued_ms, const char *pmid, const char *error,
                     size_t *len);

/* The full message for GET /v1/messages/{id}: malloc'd. */
char *wa_render_message(const wa_app *app, const wa_message_rec *m,
                        size_t *len);

/* The same as a JSON object (the caller puts it); the listing leaves the
 * history out. NULL when out of memory. */
json_object *wa_render_message_obj(const wa_app *app, const wa_message_rec *m,
                                   bool with_history);

/* {"queued": n, "sending": n, ...}: one member per status, from counts
 * indexed by wa_msg_status (stats and campaigns). */
json_object *wa_render_counts(const long long count[7]);

#endif
