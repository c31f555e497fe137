/* test_loader_daemon.c - wadispatchd refuses to start with a bad provider */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testing.h"

static char out[65536];

/* Run the daemon with env (plus a private store and port) to completion. */
static int run(const char *const *extra)
{
	static char store_kv[400], port_kv[32];
	const char *env[16];
	char dir[] = "/tmp/wa-ldd-XXXXXX", path[300];
	size_t n = 0;
	int rc;

	if (!mkdtemp(dir))
		return -1;
	snprintf(store_kv, sizeof(store_kv), "STORE_PATH=%s/wa.db", dir);
	snprintf(port_kv, sizeof(port_kv), "PORT=%d", wa_h_free_port());
	env[n++] = "API_KEY=loader-test-key-0123456789";
	env[n++] = store_kv;
	env[n++] = port_kv;
	for (; *extra && n < 15; extra++)
		env[n++] = *extra;
	env[n] = NULL;
	out[0] = 0;
	rc = wa_h_run_daemon(env, NULL, out, sizeof(out));
	/* The daemon may have created its store before the provider check. */
	static const char *const files[] = {"wa.db", "wa.db-wal", "wa.db-shm",
	                                    NULL};
	for (int i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return rc;
}

int main(void)
{
	const char *pdir = getenv("WA_PROVIDER_BUILD_DIR");
	char kv[600], dir_kv[600];
	int rc;

	if (!pdir || !getenv("WA_DAEMON")) {
		fprintf(
		    stderr,
		    "WA_DAEMON / WA_PROVIDER_BUILD_DIR unset; run via ctest\n");
		return 1;
	}
	snprintf(dir_kv, sizeof(dir_kv), "PROVIDER_DIR=%s", pdir);

	/* A third-party plugin by absolute path, built for another major. */
	snprintf(kv, sizeof(kv), "WHATSAPP_PROVIDER=%s/tp_bad_major.so",
	         WA_TP_DIR);
	{
		const char *env[] = {kv, dir_kv, NULL};
		rc = run(env);
	}
	CHECK(rc > 0 && rc < 128); /* a clean refusal, not a crash */
	CHECK_CONTAINS(out, WA_TP_DIR "/tp_bad_major.so");
	CHECK_CONTAINS(out, "was built for provider ABI 2.0");
	CHECK_CONTAINS(out, "the major versions must match");

	/* An unknown name lists what the directory holds. */
	{
		const char *env[] = {"WHATSAPP_PROVIDER=nosuch", dir_kv, NULL};
		rc = run(env);
	}
	CHECK(rc > 0 && rc < 128);
	CHECK_CONTAINS(out, "nosuch.so does not exist (available: ");
	CHECK_CONTAINS(out, "mock");

	/* A bad name. */
	{
		const char *env[] = {"WHATSAPP_PROVIDER=../mock", dir_kv, NULL};
		rc = run(env);
	}
	CHECK(rc > 0 && rc < 128);
	CHECK_CONTAINS(out, "is not valid");

	/* A required key missing names the variable. */
	snprintf(kv, sizeof(kv), "WHATSAPP_PROVIDER=%s/tp_need_key.so",
	         WA_TP_DIR);
	{
		const char *env[] = {kv, dir_kv, NULL};
		unsetenv("LOADER_TEST_TOKEN");
		rc = run(env);
	}
	CHECK(rc > 0 && rc < 128);
	CHECK_CONTAINS(out, "needs LOADER_TEST_TOKEN");

	/* A mock knob that init() refuses. */
	{
		const char *env[] = {"WHATSAPP_PROVIDER=mock",
		                     "MOCK_RETRY_RATE=7", dir_kv, NULL};
		rc = run(env);
	}
	CHECK(rc > 0 && rc < 128);
	CHECK_CONTAINS(out, "MOCK_RETRY_RATE must be a number from 0 to 1");
	return wa_t_report();
}
