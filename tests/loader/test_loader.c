/* test_loader.c - wa_provider_load accepts good plugins and refuses bad ones */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provider/loader.h"
#include "testing.h"

static char err[1024];

static const char *tp_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/tp_%s.so", WA_TP_DIR, name);
	return buf;
}

/* A refusal leaves nothing behind. */
static void check_refused(int rc, const wa_loaded_provider *p)
{
	CHECK_INT(rc, -1);
	CHECK(p->table == NULL);
	CHECK(!p->initialized);
	CHECK(p->state == NULL);
}

static void test_bad_names(void)
{
	static const char *const bad[] = {
	    "../x",
	    "Foo",
	    "",
	    "a/b.so",
	    "providers/mock.so",
	    "mock.so",
	    "x y",
	    "/tmp/mock",
	    "/tmp/mock.txt",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    NULL};
	wa_loaded_provider p;

	for (int i = 0; bad[i]; i++) {
		int rc =
		    wa_provider_load(bad[i], WA_TP_DIR, &p, err, sizeof(err));
		check_refused(rc, &p);
		CHECK_CONTAINS(err, "is not valid");
		CHECK_CONTAINS(err, "absolute path to a .so");
	}
	CHECK_INT(wa_provider_load(NULL, WA_TP_DIR, &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "is not valid");

	CHECK(wa_provider_name_valid("mock"));
	CHECK(wa_provider_name_valid("a-b_c9"));
	CHECK(wa_provider_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                             "aaaaaaaaaaaaaaaaaaaaaaa"));
	CHECK(!wa_provider_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                              "aaaaaaaaaaaaaaaaaaaaaaaaa"));
	CHECK(!wa_provider_name_valid(""));
	CHECK(!wa_provider_name_valid("Mock"));
	CHECK(!wa_provider_name_valid("a.b"));
	CHECK(!wa_provider_name_valid(NULL));
}

static void touch(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, "not an ELF file\n", 16) != 16)
			perror("write");
		close(fd);
	}
}

static void rm(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) != 0 && rmdir(path) != 0)
		perror(path);
}

static void test_missing_and_garbage(void)
{
	char dir[] = "/tmp/wa-loader-XXXXXX", want[512], sub[600];
	wa_loaded_provider p;
	int rc;

	CHECK(mkdtemp(dir) != NULL);

	/* Empty directory. */
	rc = wa_provider_load("foo", dir, &p, err, sizeof(err));
	check_refused(rc, &p);
	snprintf(want, sizeof(want),
	         "Provider \"foo\" not found: %s/foo.so does not exist (no "
	         "providers found in %s).",
	         dir, dir);
	CHECK_STR(err, want);

	/* The listing: sorted, .so stripped, other files ignored. */
	touch(dir, "zeta.so");
	touch(dir, "alpha.so");
	touch(dir, "notes.txt");
	snprintf(sub, sizeof(sub), "%s/dir.so", dir);
	CHECK(mkdir(sub, 0755) == 0);
	rc = wa_provider_load("foo", dir, &p, err, sizeof(err));
	check_refused(rc, &p);
	snprintf(want, sizeof(want),
	         "Provider \"foo\" not found: %s/foo.so does not exist "
	         "(available: alpha, dir, zeta).",
	         dir);
	CHECK_STR(err, want);

	/* Absolute path to a missing file: same sentence. */
	snprintf(sub, sizeof(sub), "%s/gone.so", dir);
	rc = wa_provider_load(sub, dir, &p, err, sizeof(err));
	check_refused(rc, &p);
	CHECK_CONTAINS(err,
	               "gone.so does not exist (available: alpha, dir, zeta)");

	/* A file that is not a shared object: dlopen's reason. */
	rc = wa_provider_load("alpha", dir, &p, err, sizeof(err));
	check_refused(rc, &p);
	CHECK_CONTAINS(err, "alpha.so could not be loaded: ");

	/* A directory. */
	rc = wa_provider_load("dir", dir, &p, err, sizeof(err));
	check_refused(rc, &p);
	CHECK_CONTAINS(err, "dir.so is not a regular file");

	rm(dir, "zeta.so");
	rm(dir, "alpha.so");
	rm(dir, "notes.txt");
	rm(dir, "dir.so");
	CHECK(rmdir(dir) == 0);

	/* The real build's providers are listed too. */
	rc = wa_provider_load("nosuch", getenv("WA_PROVIDER_BUILD_DIR"), &p,
	                      err, sizeof(err));
	check_refused(rc, &p);
	CHECK_CONTAINS(err, "nosuch.so does not exist (available: ");
	CHECK_CONTAINS(err, "mock");
}

/* Every broken plugin is refused with a sentence naming its file and the
 * reason. */
static void test_refusals(void)
{
	static const struct {
		const char *name;
		const char *reason;
	} cases[] = {
	    {"no_entry", "is not a wadispatch provider for ABI 1: it does "
	                 "not export wa_provider_entry_v1."},
	    /* versions and sizes computed below */
	    {"null_entry", NULL},
	    {"bad_major", NULL},
	    {"new_minor", NULL},
	    {"small_size", NULL},
	    {"no_delivery", "has no way to deliver: it sets neither send nor "
	                    "the HTTP pair"},
	    {"half_pair", "sets build_request without parse_response: the "
	                  "HTTP pair needs both."},
	    {"half_pair2", "sets parse_response without build_request"},
	    {"both", "sets both send and the HTTP pair (build_request, "
	             "parse_response): it must set exactly one."},
	    {"init_fail", "Provider \"initfail\" (" WA_TP_DIR
	                  "/tp_init_fail.so) failed to start: upstream "
	                  "rejected the test token."},
	    {"bad_name", "declares the invalid name \"Bad Name\""},
	    {"no_name", "is incomplete: its table has no name."},
	    {"no_version", "is incomplete: its table has no version."},
	    {"no_init", "is incomplete: its table has no init function."},
	    {"undefined", "could not be loaded: "},
	};
	char path[512], file[64], small[160], computed[3][160];
	wa_loaded_provider p;

	snprintf(computed[0], sizeof(computed[0]),
	         "refused to load: wa_provider_entry_v1(1, %d) returned NULL",
	         WA_PROVIDER_ABI_MINOR);
	snprintf(computed[1], sizeof(computed[1]),
	         "was built for provider ABI 2.0, but this wadispatchd speaks "
	         "ABI 1.%d: the major versions must match.",
	         WA_PROVIDER_ABI_MINOR);
	snprintf(computed[2], sizeof(computed[2]),
	         "was built for provider ABI 1.%d, newer than this "
	         "wadispatchd's 1.%d",
	         WA_PROVIDER_ABI_MINOR + 1, WA_PROVIDER_ABI_MINOR);
	snprintf(small, sizeof(small),
	         "has a table of %zu bytes, smaller than the %zu bytes of ABI "
	         "1.0: it was not built against wadispatch/provider.h.",
	         offsetof(wa_provider, on_callback),
	         offsetof(wa_provider, on_callback) + sizeof(void *));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *reason = cases[i].reason    ? cases[i].reason
		                     : i >= 1 && i <= 3 ? computed[i - 1]
		                                        : small;
		int rc;

		/* By bare name and by absolute path: same refusal. */
		rc =
		    wa_provider_load(tp_path(cases[i].name, path, sizeof(path)),
		                     "/nonexistent", &p, err, sizeof(err));
		check_refused(rc, &p);
		snprintf(file, sizeof(file), "tp_%s.so", cases[i].name);
		CHECK_CONTAINS(err, file);
		CHECK_CONTAINS(err, reason);
		/* One sentence. */
		CHECK(err[0] >= 'A' && err[0] <= 'Z');
		CHECK(strchr(err, '\n') == NULL);
		if (strcmp(cases[i].name, "undefined") == 0)
			CHECK_CONTAINS(err, "tp_symbol_defined_nowhere");

		snprintf(file, sizeof(file), "tp_%s", cases[i].name);
		rc = wa_provider_load(file, WA_TP_DIR, &p, err, sizeof(err));
		check_refused(rc, &p);
		CHECK_CONTAINS(err, reason);
	}
}

static void test_required_key(void)
{
	wa_loaded_provider p;
	int rc;

	unsetenv("LOADER_TEST_TOKEN");
	rc = wa_provider_load("tp_need_key", WA_TP_DIR, &p, err, sizeof(err));
	check_refused(rc, &p);
	CHECK_STR(err, "Provider \"needkey\" (" WA_TP_DIR "/tp_need_key.so) "
	               "needs LOADER_TEST_TOKEN: set it in the environment or "
	               "the config file.");

	/* Empty counts as unset. */
	setenv("LOADER_TEST_TOKEN", "", 1);
	rc = wa_provider_load("tp_need_key", WA_TP_DIR, &p, err, sizeof(err));
	check_refused(rc, &p);
	CHECK_CONTAINS(err, "needs LOADER_TEST_TOKEN");

	setenv("LOADER_TEST_TOKEN", "s3cret", 1);
	rc = wa_provider_load("tp_need_key", WA_TP_DIR, &p, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(wa_provider_key_is_secret(&p, "LOADER_TEST_TOKEN"));
	wa_provider_unload(&p);
	unsetenv("LOADER_TEST_TOKEN");
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void test_good_send(void)
{
	char path[512], dfile[] = "/tmp/wa-loader-destroy-XXXXXX";
	wa_message msg = {.struct_size = sizeof(msg),
	                  .message_id = "msg-1",
	                  .external_id = "ext-1",
	                  .recipient_phone = "+5564999998888",
	                  .message_body = "hello",
	                  .attempt = 3};
	wa_result res = {.struct_size = sizeof(res)};
	wa_loaded_provider p;
	int fd = mkstemp(dfile);

	CHECK(fd >= 0);
	close(fd);
	unlink(dfile);
	setenv("LOADER_TEST_GREETING", "ola", 1);
	setenv("LOADER_TEST_DESTROY_FILE", dfile, 1);

	/* Absolute path accepted as is; dir is not consulted. */
	CHECK_INT(wa_provider_load(tp_path("good_send", path, sizeof(path)),
	                           "/nonexistent", &p, err, sizeof(err)),
	          0);
	CHECK_STR(p.path, path);
	CHECK(p.initialized);
	CHECK(p.handle != NULL);
	CHECK(p.table != NULL);
	CHECK_STR(p.table->name, "goodsend");
	CHECK_STR(p.table->version, "0.0.1");
	CHECK(!wa_provider_is_http(&p));
	CHECK_STR(wa_provider_id_name(&p), "provider_message_id");
	CHECK(wa_provider_declares(&p, "LOADER_TEST_GREETING"));
	CHECK(!wa_provider_declares(&p, "NOPE"));
	CHECK(!wa_provider_key_is_secret(&p, "LOADER_TEST_GREETING"));
	CHECK(wa_provider_key_is_secret(&p, "LOADER_TEST_SECRET"));
	CHECK(!wa_provider_key_is_secret(&p, "NOPE"));
	/* The host services given to init. */
	CHECK_INT(p.host.abi_major, WA_PROVIDER_ABI_MAJOR);
	CHECK_INT(p.host.abi_minor, WA_PROVIDER_ABI_MINOR);
	CHECK_INT(p.host.struct_size, sizeof(wa_host));
	CHECK(p.host.log != NULL && p.host.config_get != NULL);
	CHECK_STR(p.host.config_get(&p.host, "LOADER_TEST_GREETING"), "ola");
	CHECK(p.host.config_get(&p.host, "LOADER_TEST_UNSET_KEY") == NULL);

	p.table->send(p.state, &msg, &res);
	CHECK_INT(res.result_class, WA_RESULT_OK);
	CHECK_STR(res.provider_message_id, "tp-msg-1-3");
	CHECK_STR(res.error, "ola"); /* config_get reached the plugin */

	/* destroy() runs exactly once; unload twice is harmless. */
	wa_provider_unload(&p);
	CHECK(p.table == NULL);
	CHECK(!p.initialized);
	wa_provider_unload(&p);
	wa_provider_unload(NULL);
	CHECK_INT(count_lines(dfile), 1);
	unlink(dfile);
	unsetenv("LOADER_TEST_GREETING");
	unsetenv("LOADER_TEST_DESTROY_FILE");
}

static void test_good_http(void)
{
	wa_loaded_provider p;
	wa_loaded_provider empty;

	/* By bare name from dir. */
	CHECK_INT(
	    wa_provider_load("tp_good_http", WA_TP_DIR, &p, err, sizeof(err)),
	    0);
	CHECK_STR(p.path, WA_TP_DIR "/tp_good_http.so");
	CHECK(wa_provider_is_http(&p));
	CHECK_STR(wa_provider_id_name(&p), "sid");
	CHECK(p.table->send == NULL);
	CHECK(p.table->on_callback == NULL);
	wa_provider_unload(&p);

	memset(&empty, 0, sizeof(empty));
	CHECK(!wa_provider_is_http(&empty));
	CHECK(!wa_provider_declares(&empty, "X"));
	CHECK_STR(wa_provider_id_name(NULL), "provider_message_id");
}

/* The real mock loads by name from the build's providers/. */
static void test_mock_by_name(void)
{
	wa_loaded_provider p;

	CHECK_INT(wa_provider_load("mock", getenv("WA_PROVIDER_BUILD_DIR"), &p,
	                           err, sizeof(err)),
	          0);
	CHECK_STR(p.table->name, "mock");
	CHECK_STR(wa_provider_id_name(&p), "mock_id");
	CHECK(!wa_provider_is_http(&p));
	CHECK_INT(p.table->default_rate, 0);
	CHECK(p.table->on_callback == NULL);
	CHECK(wa_provider_declares(&p, "MOCK_FAIL_FIRST"));
	wa_provider_unload(&p);
}

/* A tiny err buffer truncates but stays a C string. */
static void test_small_err(void)
{
	char small[16];
	wa_loaded_provider p;

	memset(small, 'x', sizeof(small));
	CHECK_INT(wa_provider_load("tp_bad_major", WA_TP_DIR, &p, small,
	                           sizeof(small)),
	          -1);
	CHECK(memchr(small, 0, sizeof(small)) != NULL);
}

int main(void)
{
	if (!getenv("WA_PROVIDER_BUILD_DIR")) {
		fprintf(stderr,
		        "WA_PROVIDER_BUILD_DIR is not set; run via ctest\n");
		return 1;
	}
	test_bad_names();
	test_missing_and_garbage();
	test_refusals();
	test_required_key();
	test_good_send();
	test_good_http();
	test_mock_by_name();
	test_small_err();
	return wa_t_report();
}
