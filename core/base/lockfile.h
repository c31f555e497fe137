/* lockfile.h - one process per file: an fcntl lock held for the process's
 * life */
#ifndef WA_LOCKFILE_H
#define WA_LOCKFILE_H

#include <stddef.h>

/* Lock "<path>.lock" (created beside path, mode 0600) for the rest of the
 * process's life and write our pid into it. 0, or -1 with one sentence in
 * err naming path and, when known, the process holding it. */
int wa_lockfile_hold(const char *path, char *err, size_t err_len);

#endif
