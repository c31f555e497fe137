/* ckpt_test.c - the SQLite store's checkpointer syncs the database file
 * after a run that stopped short of the WAL's last commit (sqlite_ckpt.c).
 *
 * SQLite itself syncs the file only after a checkpoint that copied every
 * frame. A reader's snapshot stops the checkpointer where it begins, as a
 * writer committing during the copy does under load: here the reader
 * holds a snapshot taken after a first batch of messages, a second batch
 * wakes the checkpointer, which copies the first batch's pages (the file
 * grows) and no further. Those pages must not stay dirty in
 * the page cache, which the kernel would otherwise write back only after
 * 30 seconds (vm.dirty_expire_centisecs) or the writer's own checkpoint
 * inside a commit; cachestat(2) counts them. Then the store reopens with
 * every message and an intact file.
 *
 * Skips (77) where cachestat is missing (Linux < 6.5) or the file system
 * keeps files in memory (tmpfs): no page of it is ever dirty there. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "store_util.h"
#include "testing.h"

enum { FIRST = 300, GROUPS = 30, GROUP = 200, WAIT_MS = 10000 };

int main(void)
{
	char path[1024];
	wa_store *s;
	sqlite3 *reader;
	struct stat sb;
	int64_t deadline;
	off_t s0;
	unsigned seed = 4242;
	long left = -1;
	const char *why;
	int fd;

	su_init("sqlite");
	s = su_open(path, sizeof(path));
	CHECK(s != NULL);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	if ((why = su_no_dirty_pages(fd)) != NULL) {
		printf("SKIP: %s\n", why);
		su_cleanup();
		return 77;
	}

	/* The first batch stays in the WAL (fewer frames than a run
	 * needs); the reader's snapshot ends there. */
	su_insert_random_group(s, 0, FIRST, &seed);
	CHECK(fstat(fd, &sb) == 0);
	s0 = sb.st_size;
	CHECK(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK_INT(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(su_sql_int(reader, "SELECT count(*) FROM messages"), FIRST);

	for (int g = 0; g < GROUPS; g++)
		su_insert_random_group(s, FIRST + g * GROUP, GROUP, &seed);

	/* The checkpointer has copied the first batch... */
	deadline = wa_mono_ms() + WAIT_MS;
	while (fstat(fd, &sb) == 0 && sb.st_size == s0 &&
	       wa_mono_ms() < deadline)
		usleep(10000);
	if (sb.st_size == s0)
		fprintf(stderr,
		        "the database file (%ld bytes) did not grow in "
		        "%d ms: no checkpoint ran\n",
		        (long)s0, WAIT_MS);
	CHECK(sb.st_size > s0);
	/* ...and written it back. */
	while ((left = su_unwritten(fd, true)) > 0 && wa_mono_ms() < deadline)
		usleep(10000);
	if (left > 0) {
		fprintf(stderr,
		        "%ld pages of the database file still unwritten %d ms "
		        "after the checkpoint\n",
		        left, WAIT_MS);
	}
	CHECK_INT(left, 0);

	CHECK_INT(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(reader);
	wa_store_close(s);
	close(fd);

	su_check_intact(path, FIRST + GROUPS * GROUP);
	su_cleanup();
	return su_report();
}
