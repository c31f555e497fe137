/* test_startup.c - bad configuration stops the daemon with one clear sentence
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testing.h"

static char out[16384];
static char pdir[1100];

static int run(const char *const *env, const char *const *args)
{
	out[0] = 0;
	return wa_h_run_daemon(env, args, out, sizeof(out));
}

int main(void)
{
	snprintf(pdir, sizeof(pdir), "PROVIDER_DIR=%s", wa_h_provider_dir());
	/* Make sure nothing leaks in from the caller's environment. */
	unsetenv("API_KEY");
	unsetenv("API_KEYS");
	unsetenv("WHATSAPP_PROVIDER");

	{
		const char *args[] = {"--version", NULL};
		CHECK_INT(run(NULL, args), 0);
		CHECK_CONTAINS(out, "wadispatchd ");
		CHECK_CONTAINS(out, "provider ABI 1.");
	}
	{
		const char *args[] = {"--help", NULL};
		CHECK_INT(run(NULL, args), 0);
		CHECK_CONTAINS(out, "API_KEY");
		CHECK_CONTAINS(out, "WHATSAPP_PROVIDER");
		CHECK_CONTAINS(out, "STORE_SYNC");
	}
	{
		const char *args[] = {"--bogus", NULL};
		CHECK(run(NULL, args) != 0);
	}
	{
		const char *env[] = {pdir, NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out, "API_KEY is not set");
	}
	{
		const char *env[] = {pdir, "API_KEY=some-long-key-123",
		                     "PORT=99999", NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out,
		               "PORT must be a whole number from 1 to 65535");
	}
	{
		const char *env[] = {pdir, "API_KEY=some-long-key-123",
		                     "WHATSAPP_PROVIDER=nosuch", NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out, "nosuch.so");
		CHECK_CONTAINS(out, "mock"); /* lists what exists */
	}
	{
		const char *env[] = {pdir, "API_KEY=some-long-key-123",
		                     "WHATSAPP_PROVIDER=../mock", NULL};
		CHECK(run(env, NULL) != 0);
	}
	{
		const char *env[] = {pdir, "API_KEY=some-long-key-123",
		                     "MOCK_DELAY_MS=soon", NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out, "MOCK_DELAY_MS");
	}
	{
		/* a misspelt provider setting is refused, not ignored */
		const char *env[] = {pdir, "API_KEY=some-long-key-123",
		                     "MOCK_DELAYMS=5", NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out, "Unknown setting MOCK_DELAYMS: the mock "
		                    "provider does not read it");
	}
	{
		const char *env[] = {pdir, "API_KEY=some-long-key-123",
		                     "STORE_PATH=/proc/nope/x.db", NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out, "/proc/nope/x.db");
	}
	{
		/* DATABASE_URL: no server there (port 1 on this machine) or
		 * not a connection string: one sentence, non-zero exit, the
		 * password never shown */
		const char *env[] = {
		    pdir, "API_KEY=some-long-key-123",
		    "DATABASE_URL=postgresql://wa:s3cretPW@127.0.0.1:1/wa",
		    NULL};
		CHECK(run(env, NULL) != 0);
		CHECK_CONTAINS(out, "Cannot connect to PostgreSQL");
		CHECK(strstr(out, "s3cretPW") == NULL);
		const char *env2[] = {
		    pdir, "API_KEY=some-long-key-123",
		    "DATABASE_URL=postgresql://wa:s3cret%zzPW@127.0.0.1/wa",
		    NULL};
		CHECK(run(env2, NULL) != 0);
		CHECK_CONTAINS(out, "DATABASE_URL is not a valid PostgreSQL");
		CHECK(strstr(out, "s3cret") == NULL);
		const char *env3[] = {pdir, "API_KEY=some-long-key-123",
		                      "DATABASE_URL=host=/nonexistent "
		                      "password=s3cretPW dbname=wa",
		                      NULL};
		CHECK(run(env3, NULL) != 0);
		CHECK_CONTAINS(out, "Cannot connect to PostgreSQL");
		CHECK(strstr(out, "s3cretPW") == NULL);
	}
	{
		/* --config: the file is read; the environment wins */
		char path[] = "/tmp/wa-conf-XXXXXX", db[64];
		int fd = mkstemp(path);
		const char *txt = "API_KEY=file-key-1234567\nPORT=3001 # "
		                  "comment\nLOG_LEVEL=warn\nNOT_A_SETTING=1\n";
		CHECK(fd >= 0 &&
		      write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt));
		close(fd);
		snprintf(db, sizeof(db), "STORE_PATH=%s.db", path);
		const char *env[] = {pdir, db, NULL};
		const char *args[] = {"--config", path, "--check-config", NULL};
		CHECK_INT(run(env, args), 0);
		CHECK_CONTAINS(out, "Configuration OK: provider mock");
		CHECK_CONTAINS(out, "Unknown setting NOT_A_SETTING");
		const char *env2[] = {pdir, db, "PORT=0", NULL};
		CHECK(run(env2, args) != 0);
		CHECK_CONTAINS(out, "PORT must be");
		FILE *f = fopen(path, "w");
		fputs("API_KEY\n", f);
		fclose(f);
		CHECK(run(env, args) != 0);
		CHECK_CONTAINS(out, ":1: expected KEY=VALUE");
		const char *missing[] = {"--config", "/nonexistent/wa.env",
		                         NULL};
		CHECK(run(env, missing) != 0);
		CHECK_CONTAINS(out,
		               "Cannot read config file /nonexistent/wa.env");
		unlink(path);
		snprintf(db, sizeof(db), "%s.db", path);
		unlink(db);
	}
	{
		/* the port is taken: one sentence, non-zero exit */
		wa_daemon a;
		char port[32], db[400];
		CHECK_INT(wa_h_daemon_init(&a), 0);
		const char *env[] = {"API_KEY=some-long-key-123",
		                     "BIND_ADDRESS=127.0.0.1", NULL};
		CHECK_INT(wa_h_daemon_start(&a, env), 0);
		snprintf(port, sizeof(port), "PORT=%d", a.port);
		snprintf(db, sizeof(db), "STORE_PATH=%s/other.db", a.dir);
		const char *env2[] = {pdir,
		                      port,
		                      db,
		                      "API_KEY=some-long-key-123",
		                      "BIND_ADDRESS=127.0.0.1",
		                      NULL};
		CHECK(run(env2, NULL) != 0);
		CHECK_CONTAINS(out, "Cannot listen on 127.0.0.1");
		/* the same SQLite file: refused, naming the file and the
		 * process holding it */
		char other_port[32], same_db[400], pid[32];
		snprintf(other_port, sizeof(other_port), "PORT=%d",
		         wa_h_free_port());
		snprintf(same_db, sizeof(same_db), "STORE_PATH=%s/wa.db",
		         a.dir);
		const char *env3[] = {pdir,
		                      other_port,
		                      same_db,
		                      "API_KEY=some-long-key-123",
		                      "BIND_ADDRESS=127.0.0.1",
		                      NULL};
		CHECK(run(env3, NULL) != 0);
		CHECK_CONTAINS(out, same_db + strlen("STORE_PATH="));
		snprintf(pid, sizeof(pid), "(pid %ld)", (long)a.pid);
		CHECK_CONTAINS(out, pid);
		CHECK_INT(wa_h_daemon_stop(&a, 15, 15000), 0);
	}
	return wa_t_report();
}
