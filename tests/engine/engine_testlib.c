/* engine_testlib.c - a store, writer, provider and engine for engine tests */
#include "engine_testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"

wa_engine_config et_config(void)
{
	wa_engine_config c = {
	    .workers = 8,
	    .rate = 0,
	    .max_attempts = 5,
	    .lease_ms = 30000,
	    .retry_base_ms = 10,
	    .retry_max_ms = 40,
	    .http_timeout_ms = 5000,
	    .http_connect_timeout_ms = 2000,
	    .http_max_response_bytes = 65536,
	    .probe_interval_ms = 50,
	};
	return c;
}

void et_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

void (*et_wrap_store)(wa_store *s);

static void kick(void *ud)
{
	wa_engine_kick(ud);
}

int et_rig_open(et_rig *r, bool sqlite, const char *provider,
                const wa_engine_config *cfg)
{
	char err[512] = "", path[512];
	const char *dir = getenv("WA_PROVIDER_BUILD_DIR");

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/wa-engine-test-XXXXXX");
	if (!mkdtemp(r->dir)) {
		perror("mkdtemp");
		return -1;
	}
	if (sqlite) {
		snprintf(path, sizeof(path), "%s/store.db", r->dir);
		r->store = wa_store_open_sqlite(path, false, err, sizeof(err));
	} else {
		r->store = wa_store_open_memory(err, sizeof(err));
	}
	if (!r->store)
		goto fail;
	if (et_wrap_store)
		et_wrap_store(r->store);
	r->writer = wa_writer_create(r->store, 10000, err, sizeof(err));
	if (!r->writer)
		goto fail;
	r->prov = calloc(1, sizeof(*r->prov));
	if (!r->prov || wa_provider_load(provider, dir ? dir : ".", r->prov,
	                                 err, sizeof(err)) != 0)
		goto fail;
	r->engine = wa_engine_create(cfg, r->store, r->writer, r->prov, err,
	                             sizeof(err));
	if (!r->engine)
		goto fail;
	/* as the daemon does: every commit kicks the engine */
	wa_writer_on_commit(r->writer, kick, r->engine);
	if (wa_engine_start(r->engine, err, sizeof(err)) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "rig: %s\n", err);
	et_rig_close(r, 0);
	return -1;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[600];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

void et_rig_close(et_rig *r, int64_t stop_ms)
{
	if (r->engine)
		wa_engine_stop(r->engine, wa_mono_ms() + stop_ms);
	/* as the daemon does: the writer's last commits still kick the
	 * (stopped) engine, so it goes after the writer */
	wa_writer_destroy(r->writer);
	wa_engine_destroy(r->engine);
	if (r->prov && r->prov->initialized)
		wa_provider_unload(r->prov);
	free(r->prov);
	wa_store_close(r->store);
	remove_dir(r->dir);
	memset(r, 0, sizeof(*r));
}

typedef struct ins {
	wa_new_message m;
	wa_insert_result res;
} ins;

static int insert_fn(wa_store *s, void *ud, char *err, size_t err_len)
{
	ins *x = ud;

	return s->ops->insert(s, &x->m, &x->res, err, err_len);
}

int et_insert(et_rig *r, const char *id, const char *body, int64_t ttl_ms)
{
	ins x = {0};
	char err[256] = "";
	int64_t now = wa_now_ms();

	snprintf(x.m.id, sizeof(x.m.id), "%s", id);
	x.m.external_id = id + 4; /* unique too */
	x.m.phone = "+5511999990000";
	x.m.body = body;
	x.m.provider = r->prov->table->name;
	x.m.created_ms = ttl_ms > 0 ? now : now - 1000;
	x.m.expires_ms = ttl_ms > 0 ? now + ttl_ms : now - 1;
	if (wa_writer_run(r->writer, insert_fn, &x, err, sizeof(err)) != 0) {
		fprintf(stderr, "insert %s: %s\n", id, err);
		return -1;
	}
	wa_engine_kick(r->engine);
	return 0;
}

long long et_count(et_rig *r, wa_msg_status st)
{
	wa_store_stats s;
	char err[256];

	if (r->store->ops->stats(r->store, &s, err, sizeof(err)) != 0)
		return -1;
	return s.count[st];
}

bool et_wait_until(et_rig *r, bool (*cond)(et_rig *r, void *ud), void *ud,
                   int64_t timeout_ms)
{
	int64_t end = wa_mono_ms() + timeout_ms;

	for (;;) {
		if (cond(r, ud))
			return true;
		if (wa_mono_ms() > end)
			return false;
		et_sleep_ms(5);
	}
}

static bool final_n(et_rig *r, void *ud)
{
	return et_count(r, WA_MSG_SENT) + et_count(r, WA_MSG_FAILED) ==
	       *(long long *)ud;
}

bool et_wait_final(et_rig *r, long long n, int64_t timeout_ms)
{
	return et_wait_until(r, final_n, &n, timeout_ms);
}

int et_get(et_rig *r, const char *id, wa_message_rec *out)
{
	char err[256];

	memset(out, 0, sizeof(*out));
	return r->store->ops->get(r->store, id, out, err, sizeof(err));
}
