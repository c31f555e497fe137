/* engine_testlib.h - a store, writer, provider and engine for engine tests */
#ifndef WA_ENGINE_TESTLIB_H
#define WA_ENGINE_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "provider/loader.h"
#include "store/store.h"
#include "store/writer.h"

typedef struct et_rig {
	wa_store *store;
	wa_writer *writer;
	wa_loaded_provider *prov;
	wa_engine *engine;
	char dir[256]; /* a temporary directory for files of this rig */
} et_rig;

/* When set, called on the store right after et_rig_open opens it (before
 * any thread uses it): a test can put its own ops in front. */
extern void (*et_wrap_store)(wa_store *s);

/* Settings that make tests fast: small backoff, short probe. */
wa_engine_config et_config(void);

/* Open a store (sqlite: in a temporary dir), a writer, load provider
 * (name in $WA_PROVIDER_BUILD_DIR or absolute path), create and start the
 * engine. 0 or -1 (printed). */
int et_rig_open(et_rig *r, bool sqlite, const char *provider,
                const wa_engine_config *cfg);
/* Stop (deadline now + stop_ms), destroy, unload, close, remove files. */
void et_rig_close(et_rig *r, int64_t stop_ms);

/* Insert one message through the writer; ttl_ms <= 0 means already
 * expired. id gets "msg-<tag>-<n>". Kicks the engine. 0 or -1. */
int et_insert(et_rig *r, const char *id, const char *body, int64_t ttl_ms);

/* Store counts by status. */
long long et_count(et_rig *r, wa_msg_status st);
/* Poll until cond(r, ud) or timeout_ms; true when it held. */
bool et_wait_until(et_rig *r, bool (*cond)(et_rig *r, void *ud), void *ud,
                   int64_t timeout_ms);
/* Poll until count(sent)+count(failed) == n. */
bool et_wait_final(et_rig *r, long long n, int64_t timeout_ms);
/* Read a message; 0 found. Caller frees with wa_message_rec_free. */
int et_get(et_rig *r, const char *id, wa_message_rec *out);

void et_sleep_ms(int ms);

#endif
