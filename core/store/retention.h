/* retention.h - deletes finished messages, inbound messages and idle
 * contacts older than RETENTION, in small batches through the writer, so
 * accepts keep flowing */
#ifndef WA_RETENTION_H
#define WA_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/writer.h"

typedef struct wa_retention wa_retention;

/* Every interval_ms (the first pass at once), delete finished messages
 * created more than keep_ms ago, batch rows per writer job, until a job
 * deletes fewer than batch. NULL with err on failure; a store without
 * purge (memory) gets a retention that does nothing. */
wa_retention *wa_retention_start(wa_store *store, wa_writer *w, int64_t keep_ms,
                                 int64_t interval_ms, size_t batch, char *err,
                                 size_t err_len);
/* Messages deleted so far. */
unsigned long long wa_retention_deleted(wa_retention *r);
/* Inbound messages and idle contacts deleted so far (store.h,
 * purge_twoway). */
unsigned long long wa_retention_deleted_twoway(wa_retention *r);
/* Stop (waits for a running job) and free; accepts NULL. */
void wa_retention_stop(wa_retention *r);

#endif
