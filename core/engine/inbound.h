/* inbound.h - two-way messaging: inbound messages and contact events into
 * the store, opt-out changes with their consequences (queued messages
 * canceled, signed webhook events queued). Writer thread, inside a
 * transaction: every function is a group of store write operations. */
#ifndef WA_ENGINE_INBOUND_H
#define WA_ENGINE_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "wadispatch/provider.h"

/* What one callback's items did (added up). */
typedef struct wa_twoway_counts {
	size_t stored;     /* new inbound messages */
	size_t duplicates; /* a provider's retry of a known one */
	size_t invalid;    /* no id or no valid sender: dropped */
	size_t opted_out, opted_in;
	long canceled; /* queued messages canceled by opt-outs */
} wa_twoway_counts;

/* The keyword lists (comma-separated, wa_keyword_match), borrowed. */
typedef struct wa_twoway_config {
	const char *stop_keywords;
	const char *start_keywords;
} wa_twoway_config;

/* Keep one inbound message of provider (once per provider id), queue its
 * message.received event and, for a new text that is a stop or start
 * keyword, opt its sender out or back in. 0 or -1 (err). */
int wa_inbound_store(wa_store *s, const wa_twoway_config *cfg,
                     const char *provider, const wa_inbound_message *m,
                     int64_t now_ms, wa_twoway_counts *c, char *err,
                     size_t err_len);
/* Apply a provider's contact event (opted out / in). 0 or -1. */
int wa_contact_event_store(wa_store *s, const char *provider,
                           const wa_contact_event *e, int64_t now_ms,
                           wa_twoway_counts *c, char *err, size_t err_len);
/* Opt phone (E.164) out or in from source at at_ms: on a change, queue
 * contact.opted_out / contact.opted_in and, for an opt-out, cancel the
 * phone's queued messages (*canceled, may be NULL). *changed false when
 * it already was in that state. 0 or -1. */
int wa_optout_set(wa_store *s, const char *phone, bool opted_out,
                  const char *source, const char *detail, int64_t at_ms,
                  bool *changed, long *canceled, char *err, size_t err_len);

#endif
