/* lockfile.c - one process per file: an fcntl lock held for the process's
 * life (the descriptor is never closed; the kernel drops the lock when the
 * process ends, however it ends) */
#include "base/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The holder's pid: the kernel's answer, else what it wrote in the file. */
static long holder_pid(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char buf[32] = "";
	ssize_t n;

	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK &&
	    fl.l_pid > 0)
		return (long)fl.l_pid;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0)
		return strtol(buf, NULL, 10);
	return 0;
}

int wa_lockfile_hold(const char *path, char *err, size_t err_len)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char lock[4200], pid[32];
	int fd, len;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock)) {
		snprintf(err, err_len, "The store path is too long.");
		return -1;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_len, "Cannot open the lock file \"%s\": %s.",
		         lock, strerror(errno));
		return -1;
	}
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		int e = errno;
		long other = holder_pid(fd);

		if (e == EAGAIN || e == EACCES) {
			if (other > 0)
				snprintf(err, err_len,
				         "Another wadispatchd (pid %ld) is "
				         "using the store \"%s\" (it holds "
				         "\"%s\"); stop it or give this one "
				         "another STORE_PATH.",
				         other, path, lock);
			else
				snprintf(err, err_len,
				         "Another process is using the store "
				         "\"%s\" (it holds \"%s\"); stop it "
				         "or give this one another STORE_PATH.",
				         path, lock);
		} else {
			snprintf(err, err_len, "Cannot lock \"%s\": %s.", lock,
			         strerror(e));
		}
		close(fd);
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		/* the lock holds without the pid; a second process then
		 * learns it from the kernel (F_GETLK) */
	}
	return 0; /* fd stays open: the lock lasts as long as we do */
}
