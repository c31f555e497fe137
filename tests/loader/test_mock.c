/* test_mock.c - the mock provider, loaded through the real loader and host */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "provider/loader.h"
#include "testing.h"

static const char *const knobs[] = {"MOCK_DELAY_MS",
                                    "MOCK_RETRY_RATE",
                                    "MOCK_REJECT_RATE",
                                    "MOCK_SEED",
                                    "MOCK_FAIL_FIRST",
                                    "MOCK_RETRY_AFTER_MS",
                                    "MOCK_CONFIG_FAIL_FILE",
                                    "MOCK_RECORD_FILE",
                                    NULL};

static char err[1024];

/* Load mock.so with exactly the given "KEY=VALUE" knobs set. */
static int load(wa_loaded_provider *p, const char *const *env)
{
	for (int i = 0; knobs[i]; i++)
		unsetenv(knobs[i]);
	for (int i = 0; env && env[i]; i++) {
		char key[64];
		const char *eq = strchr(env[i], '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - env[i]), env[i]);
		setenv(key, eq + 1, 1);
	}
	err[0] = 0;
	return wa_provider_load("mock", getenv("WA_PROVIDER_BUILD_DIR"), p, err,
	                        sizeof(err));
}

static wa_result send_one(wa_loaded_provider *p, const char *id,
                          uint32_t attempt)
{
	wa_message msg = {.struct_size = sizeof(msg),
	                  .message_id = id,
	                  .external_id = "ext-1",
	                  .recipient_phone = "+5564999998888",
	                  .message_body = "hello",
	                  .attempt = attempt};
	wa_result res;

	memset(&res, 0, sizeof(res));
	res.struct_size = sizeof(res);
	p->table->send(p->state, &msg, &res);
	return res;
}

static int is_mock_id(const char *s)
{
	if (strncmp(s, "mock-", 5) != 0 || !s[5])
		return 0;
	for (s += 5; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void test_ok(void)
{
	static const char *const env[] = {"MOCK_DELAY_MS=0", NULL};
	wa_loaded_provider p;
	wa_result a, b;

	CHECK_INT(load(&p, env), 0);
	a = send_one(&p, "msg-a", 1);
	b = send_one(&p, "msg-b", 1);
	CHECK_INT(a.result_class, WA_RESULT_OK);
	CHECK_INT(a.upstream_status, 200);
	CHECK(is_mock_id(a.provider_message_id));
	CHECK_STR(a.error, "");
	CHECK(is_mock_id(b.provider_message_id));
	/* Distinct even within one millisecond, and close to now. */
	CHECK(strcmp(a.provider_message_id, b.provider_message_id) != 0);
	long long ms = atoll(a.provider_message_id + 5);
	CHECK(ms > wa_now_ms() - 60000 && ms < wa_now_ms() + 60000);
	wa_provider_unload(&p);
}

static void test_delay(void)
{
	static const char *const env[] = {"MOCK_DELAY_MS=50", NULL};
	wa_loaded_provider p;
	int64_t t0;

	CHECK_INT(load(&p, env), 0);
	t0 = wa_mono_ms();
	CHECK_INT(send_one(&p, "msg-d", 1).result_class, WA_RESULT_OK);
	CHECK(wa_mono_ms() - t0 >= 50);
	wa_provider_unload(&p);

	/* The default is the original prototype's 100 ms. */
	CHECK_INT(load(&p, NULL), 0);
	t0 = wa_mono_ms();
	CHECK_INT(send_one(&p, "msg-d", 1).result_class, WA_RESULT_OK);
	CHECK(wa_mono_ms() - t0 >= 100);
	wa_provider_unload(&p);
}

static void test_fail_first(void)
{
	static const char *const env[] = {"MOCK_DELAY_MS=0",
	                                  "MOCK_FAIL_FIRST=2",
	                                  "MOCK_RETRY_AFTER_MS=1500", NULL};
	wa_loaded_provider p;
	wa_result r;

	CHECK_INT(load(&p, env), 0);
	for (int m = 0; m < 2; m++) {
		const char *id = m ? "msg-y" : "msg-x";
		for (uint32_t a = 1; a <= 2; a++) {
			r = send_one(&p, id, a);
			CHECK_INT(r.result_class, WA_RESULT_RETRY);
			CHECK_INT(r.upstream_status, 503);
			CHECK_INT(r.retry_after_ms, 1500);
			CHECK_STR(r.provider_message_id, "");
		}
		r = send_one(&p, id, 3);
		CHECK_INT(r.result_class, WA_RESULT_OK);
		CHECK_INT(r.retry_after_ms, 0);
		CHECK(is_mock_id(r.provider_message_id));
	}
	wa_provider_unload(&p);
}

/* Outcomes of msg-0..msg-199 (attempt 1, then the same ids attempt 2). */
static void sequence(const char *const *env, int out[400])
{
	wa_loaded_provider p;
	char id[32];

	CHECK_INT(load(&p, env), 0);
	for (int i = 0; i < 400; i++) {
		snprintf(id, sizeof(id), "msg-%d", i % 200);
		out[i] =
		    (int)send_one(&p, id, (uint32_t)(1 + i / 200)).result_class;
	}
	wa_provider_unload(&p);
}

static int count(const int *v, int n, int cls)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		c += v[i] == cls;
	return c;
}

static void test_rates(void)
{
	static const char *const s42[] = {"MOCK_DELAY_MS=0", "MOCK_SEED=42",
	                                  "MOCK_RETRY_RATE=0.3",
	                                  "MOCK_REJECT_RATE=0.2", NULL};
	static const char *const s43[] = {"MOCK_DELAY_MS=0", "MOCK_SEED=43",
	                                  "MOCK_RETRY_RATE=0.3",
	                                  "MOCK_REJECT_RATE=0.2", NULL};
	static const char *const never[] = {"MOCK_DELAY_MS=0", NULL};
	static const char *const all_retry[] = {"MOCK_DELAY_MS=0",
	                                        "MOCK_RETRY_RATE=1", NULL};
	static const char *const all_reject[] = {"MOCK_DELAY_MS=0",
	                                         "MOCK_REJECT_RATE=1.0", NULL};
	static int a[400], b[400], c[400];
	wa_loaded_provider p;
	wa_result r;

	sequence(s42, a);
	sequence(s42, b);
	sequence(s43, c);
	CHECK(memcmp(a, b, sizeof(a)) == 0); /* same seed, same answers */
	CHECK(memcmp(a, c, sizeof(a)) != 0); /* another seed, others */
	/* Roughly the asked fractions (binomial, n = 400: far inside). */
	CHECK(count(a, 400, WA_RESULT_RETRY) > 80 &&
	      count(a, 400, WA_RESULT_RETRY) < 160);
	CHECK(count(a, 400, WA_RESULT_REJECT) > 45 &&
	      count(a, 400, WA_RESULT_REJECT) < 120);
	CHECK(count(a, 400, WA_RESULT_OK) > 150);
	/* The attempt counts: retrying a message is a fresh draw. */
	CHECK(memcmp(a, a + 200, 200 * sizeof(int)) != 0);

	sequence(never, a);
	CHECK_INT(count(a, 400, WA_RESULT_OK), 400);
	sequence(all_retry, a);
	CHECK_INT(count(a, 400, WA_RESULT_RETRY), 400);
	sequence(all_reject, a);
	CHECK_INT(count(a, 400, WA_RESULT_REJECT), 400);

	CHECK_INT(load(&p, all_reject), 0);
	r = send_one(&p, "msg-r", 1);
	CHECK_INT(r.upstream_status, 400);
	CHECK_STR(r.upstream_code, "mock_reject");
	CHECK(r.error[0] != 0);
	wa_provider_unload(&p);
}

static void test_config_fail_file(void)
{
	char path[] = "/tmp/wa-mock-cfg-XXXXXX", kv[64];
	const char *env[] = {"MOCK_DELAY_MS=0", kv, NULL};
	wa_loaded_provider p;
	wa_result r;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(kv, sizeof(kv), "MOCK_CONFIG_FAIL_FILE=%s", path);
	CHECK_INT(load(&p, env), 0);
	CHECK_INT(send_one(&p, "msg-c", 1).result_class, WA_RESULT_OK);

	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
	r = send_one(&p, "msg-c", 2);
	CHECK_INT(r.result_class, WA_RESULT_CONFIG);
	CHECK_STR(r.error, "mock credentials rejected (test)");
	CHECK_STR(r.provider_message_id, "");

	unlink(path); /* recovered */
	CHECK_INT(send_one(&p, "msg-c", 3).result_class, WA_RESULT_OK);
	wa_provider_unload(&p);
}

typedef struct worker_arg {
	wa_loaded_provider *p;
	int index;
	int ok;
} worker_arg;

static void *worker(void *arg)
{
	worker_arg *w = arg;
	char id[32];

	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "msg-%d-%d", w->index, i);
		for (uint32_t a = 1; a <= 3; a++)
			if (send_one(w->p, id, a).result_class == WA_RESULT_OK)
				w->ok++;
	}
	return NULL;
}

static void test_record_file(void)
{
	char path[] = "/tmp/wa-mock-rec-XXXXXX", kv[64], line[256];
	const char *env[] = {"MOCK_DELAY_MS=0", "MOCK_FAIL_FIRST=1", kv, NULL};
	const char *env2[] = {"MOCK_DELAY_MS=0", "MOCK_RETRY_RATE=0.5", kv,
	                      NULL};
	wa_loaded_provider p;
	pthread_t th[8];
	worker_arg wa[8];
	wa_result r;
	FILE *f;
	int fd = mkstemp(path), lines = 0, ok = 0, well_formed = 0;

	CHECK(fd >= 0);
	close(fd);
	snprintf(kv, sizeof(kv), "MOCK_RECORD_FILE=%s", path);

	/* One line per OK, none per RETRY. */
	CHECK_INT(load(&p, env), 0);
	CHECK_INT(send_one(&p, "msg-r1", 1).result_class, WA_RESULT_RETRY);
	r = send_one(&p, "msg-r1", 2);
	CHECK_INT(r.result_class, WA_RESULT_OK);
	wa_provider_unload(&p);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		char want[256];
		snprintf(want, sizeof(want), "msg-r1 ext-1 %s\n",
		         r.provider_message_id);
		CHECK(fgets(line, sizeof(line), f) != NULL);
		CHECK_STR(line, want);
		CHECK(fgets(line, sizeof(line), f) == NULL);
		fclose(f);
	}

	/* Many threads at once: lines == OK answers, none torn. */
	CHECK(truncate(path, 0) == 0);
	CHECK_INT(load(&p, env2), 0);
	for (int i = 0; i < 8; i++) {
		wa[i] = (worker_arg){.p = &p, .index = i};
		CHECK(pthread_create(&th[i], NULL, worker, &wa[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += wa[i].ok;
	}
	wa_provider_unload(&p);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		char a[64], b[64], c[64], extra[8];
		lines++;
		if (sscanf(line, "%63s %63s %63s %7s", a, b, c, extra) == 3 &&
		    strncmp(a, "msg-", 4) == 0 && strcmp(b, "ext-1") == 0 &&
		    is_mock_id(c))
			well_formed++;
	}
	if (f)
		fclose(f);
	CHECK(ok > 800 && ok < 2400);
	CHECK_INT(lines, ok);
	CHECK_INT(well_formed, ok);
	unlink(path);
}

static void test_bad_knobs(void)
{
	static const struct {
		const char *kv;
		const char *var;
	} bad[] = {
	    {"MOCK_DELAY_MS=abc", "MOCK_DELAY_MS"},
	    {"MOCK_DELAY_MS=-1", "MOCK_DELAY_MS"},
	    {"MOCK_DELAY_MS=60001", "MOCK_DELAY_MS"},
	    {"MOCK_DELAY_MS=10ms", "MOCK_DELAY_MS"},
	    {"MOCK_RETRY_RATE=1.5", "MOCK_RETRY_RATE"},
	    {"MOCK_RETRY_RATE=-0.1", "MOCK_RETRY_RATE"},
	    {"MOCK_RETRY_RATE=nan", "MOCK_RETRY_RATE"},
	    {"MOCK_RETRY_RATE=0.5x", "MOCK_RETRY_RATE"},
	    {"MOCK_REJECT_RATE=2", "MOCK_REJECT_RATE"},
	    {"MOCK_SEED=-1", "MOCK_SEED"},
	    {"MOCK_SEED=abc", "MOCK_SEED"},
	    {"MOCK_SEED=99999999999999999999999", "MOCK_SEED"},
	    {"MOCK_FAIL_FIRST=x", "MOCK_FAIL_FIRST"},
	    {"MOCK_RETRY_AFTER_MS=-5", "MOCK_RETRY_AFTER_MS"},
	    {"MOCK_RECORD_FILE=/nonexistent-dir/rec", "MOCK_RECORD_FILE"},
	};
	wa_loaded_provider p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *env[] = {bad[i].kv, NULL};
		CHECK_INT(load(&p, env), -1);
		CHECK_CONTAINS(err, "Provider \"mock\" (");
		CHECK_CONTAINS(err, "mock.so) failed to start: ");
		CHECK_CONTAINS(err, bad[i].var);
		CHECK(p.table == NULL);
	}
	{
		const char *env[] = {"MOCK_RETRY_RATE=0.6",
		                     "MOCK_REJECT_RATE=0.6", NULL};
		CHECK_INT(load(&p, env), -1);
		CHECK_CONTAINS(err, "MOCK_RETRY_RATE plus MOCK_REJECT_RATE");
	}
}

/* The log line of the original prototype, word for word. */
static void test_log_line(void)
{
	static const char *const env[] = {"MOCK_DELAY_MS=0", NULL};
	char path[] = "/tmp/wa-mock-log-XXXXXX";
	wa_loaded_provider p;
	int fd = mkstemp(path), saved;
	char *log = NULL;
	FILE *f;

	CHECK(fd >= 0);
	CHECK_INT(load(&p, env), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	send_one(&p, "msg-log", 1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	wa_provider_unload(&p);

	f = fopen(path, "r");
	if (f) {
		log = calloc(1, 8192);
		if (log && fread(log, 1, 8191, f) == 0)
			log[0] = 0;
		fclose(f);
	}
	CHECK_CONTAINS(log,
	               "[MOCK] Enviando para +5564999998888: \\\"hello\\\"");
	CHECK_CONTAINS(log, "\"component\":\"provider:mock\"");
	CHECK_CONTAINS(log, "\"level\":\"info\"");
	free(log);
	unlink(path);
}

int main(void)
{
	if (!getenv("WA_PROVIDER_BUILD_DIR")) {
		fprintf(stderr,
		        "WA_PROVIDER_BUILD_DIR is not set; run via ctest\n");
		return 1;
	}
	test_ok();
	test_delay();
	test_fail_first();
	test_rates();
	test_config_fail_file();
	test_record_file();
	test_bad_knobs();
	test_log_line();
	return wa_t_report();
}
